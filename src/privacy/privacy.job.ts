import type { JobDefinition } from '../scheduler/job.js';
import type { PrivacyService } from './privacy.service.js';

/**
 * Works on GDPR requests still PENDING: the safety net behind the start each request gets right
 * after it is recorded, and the retry of redactions that waited for orders in flight. Safe to
 * re-run: a redaction writes only rows that still hold personal data.
 */
export function createPrivacyRequestsJob(service: PrivacyService, options: { intervalMs?: number } = {}): JobDefinition {
  return {
    name: 'privacy.requests',
    intervalMs: options.intervalMs ?? 60_000,
    timeoutMs: 10 * 60_000,
    runOnStart: true,
    async run({ signal }) {
      return service.processPending({ signal });
    },
  };
}

/**
 * Removes raw webhook bodies and settled orders' customer data older than RETENTION_DAYS. Hourly:
 * the retention is counted in days, and each run only touches what aged past it since the last.
 * Safe to re-run and to abort: each statement redacts a bounded batch on its own.
 */
export function createRetentionJob(service: PrivacyService, options: { intervalMs?: number } = {}): JobDefinition {
  return {
    name: 'privacy.retention',
    intervalMs: options.intervalMs ?? 60 * 60_000,
    timeoutMs: 30 * 60_000,
    runOnStart: true,
    async run({ signal }) {
      return service.applyRetention({ signal });
    },
  };
}
