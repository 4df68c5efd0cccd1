import type { JobDefinition } from '../scheduler/job.js';
import type { HealthService } from './health.service.js';

/**
 * Every minute, on the scheduler's instance: oversells seen in Shopify's numbers (an `available`
 * read below zero), then each success metric judged against its threshold (an alert per
 * crossing, deduplicated in the `alerts` table however many instances evaluate), the daily digest
 * of unmapped SKUs, and retention of the samples. Safe to re-run: every alert and incident is
 * keyed.
 */
export function createHealthJob(health: HealthService): JobDefinition {
  return {
    name: 'health.evaluate',
    intervalMs: 60_000,
    timeoutMs: 5 * 60_000,
    runOnStart: true,
    async run() {
      const oversells = await health.detectNegativeAvailable();
      const metrics = await health.evaluate();
      await health.prune();
      return {
        oversellsRecorded: oversells,
        breached: (['syncLatencySeconds', 'errorRate', 'oversellIncidents', 'manualInterventions'] as const).filter((name) => metrics[name].status === 'BREACHED'),
      };
    },
  };
}
