import type { JobDefinition } from '../scheduler/job.js';
import type { FulfilmentsService } from './fulfilments.service.js';

/**
 * Follows the ERP's shipment feed and writes the shipments to Shopify. Safe to re-run after a
 * partial run: shipments are recorded (each once) before the watermark moves, both under the
 * run's fence, and each is written by a claimed worker that looks up a lost answer before it
 * sends anything again.
 */
export function createFulfilmentsJob(
  service: FulfilmentsService,
  options: {
    intervalMs?: number;
    /** False while the Shopify app is uninstalled: shipments are still recorded, written after the re-install. */
    shopInstalled?: () => Promise<boolean>;
  } = {},
): JobDefinition {
  return {
    name: 'fulfilments.shipments',
    intervalMs: options.intervalMs ?? 60_000,
    timeoutMs: 10 * 60_000,
    runOnStart: true,
    async run({ fence, signal }) {
      const feed = await service.pollShipments({ fence, signal });
      if (options.shopInstalled && !(await options.shopInstalled())) return { ...feed, skipped: true, reason: 'the Shopify app is uninstalled' };
      const outcomes = await service.processDue({ signal });
      return { ...feed, ...outcomes };
    },
  };
}
