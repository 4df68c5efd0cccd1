import type { JobDefinition } from '../scheduler/job.js';
import type { AtpService } from './atp.service.js';

/** Hourly: a lot crosses the horizon at midnight UTC; it stops counting within the hour. */
const INTERVAL_MS = 60 * 60 * 1_000;

/**
 * Time passing: lots whose expiry crossed the sellable horizon since the last evaluation stop
 * counting in the ATP, and the positions whose ATP fell are marked for the event push (through
 * the read model's writer), so Shopify's `available` drops without waiting for an ERP change.
 * One statement over the positions with dated lots; no ERP call. Safe to re-run: a second run
 * the same day finds nothing to change. Runs at start too, for an instance that was down at
 * midnight.
 */
export function createExpiryJob(atp: AtpService): JobDefinition {
  return {
    name: 'inventory.expiry',
    intervalMs: INTERVAL_MS,
    timeoutMs: 10 * 60 * 1_000,
    runOnStart: true,
    async run() {
      const changes = await atp.reevaluateExpiry();
      return {
        positionsChanged: changes.length,
        atpLowered: changes.filter((c) => c.previousAvailableToPromise !== null && c.availableToPromise < c.previousAvailableToPromise).length,
      };
    },
  };
}
