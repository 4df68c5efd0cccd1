import type { AlertSender } from '../alerts/alert-sender.js';
import type { JobDefinition } from '../scheduler/job.js';
import type { OrderPollService } from './order-poll.service.js';
import type { OrderProcessor } from './order-processor.service.js';
import type { OrderWorker } from './order-worker.js';
import type { WebhookInboxRepository } from './webhook-inbox.repository.js';
import type { OrdersMetrics } from './orders.metrics.js';
import type { WebhookSubscriptionService } from './webhook-subscriptions.service.js';

/**
 * The orders domain's scheduled jobs. Each is safe to re-run after a partial run: deliveries and
 * orders are claimed and settled one by one, the poll's watermark moves only after the orders it
 * covers are in the pipeline, and allocation checks only ever release what the ERP holds.
 */
export interface OrderJobsOptions {
  readonly shop: string;
  readonly worker: OrderWorker;
  readonly processor: OrderProcessor;
  readonly poll: OrderPollService;
  readonly subscriptions: WebhookSubscriptionService;
  readonly inboxRepository: WebhookInboxRepository;
  readonly alerts: AlertSender;
  readonly metrics: OrdersMetrics;
  readonly pollIntervalMs: number;
  /** False while the Shopify app is uninstalled (switches.service.ts): the poll waits for the re-install. */
  readonly shopInstalled?: () => Promise<boolean>;
  /** This gateway's webhook address: missing subscriptions are created again when it is known. */
  readonly webhookAddress: () => string | null;
}

export function createOrderJobs(options: OrderJobsOptions): JobDefinition[] {
  return [
    {
      // The safety net under the in-process worker: drains what any instance stored and left
      // (it crashed after the 200, or sleeps), and orders whose retry time has come.
      name: 'orders.pipeline',
      intervalMs: 30_000,
      timeoutMs: 5 * 60_000,
      runOnStart: true,
      async run({ signal, log }) {
        const result = await options.worker.drainOnce(signal);
        const counts = await options.inboxRepository.countByStatus(options.shop);
        options.metrics.inboxPending.set(counts.PENDING);
        if (result.deliveries > 0 || result.orders > 0) log.info(result, 'order pipeline drained');
        return { ...result, inbox: counts };
      },
    },
    {
      name: 'orders.poll',
      intervalMs: options.pollIntervalMs,
      timeoutMs: 10 * 60_000,
      runOnStart: true,
      async run({ signal, log }) {
        if (options.shopInstalled && !(await options.shopInstalled())) return { skipped: true, reason: 'the Shopify app is uninstalled' };
        const result = await options.poll.poll({ signal });
        if (result.missed > 0 || result.cancellations > 0) log.warn(result, 'the order poll found what the webhooks missed');
        return { ...result };
      },
    },
    {
      name: 'orders.allocation',
      intervalMs: 60_000,
      timeoutMs: 5 * 60_000,
      runOnStart: true,
      async run({ signal, log }) {
        const result = await options.processor.checkAllocations({ signal });
        if (result.allocated > 0) log.info(result, 'orders allocated in the ERP: their pending units released');
        return { ...result };
      },
    },
    {
      name: 'orders.webhook-subscriptions',
      intervalMs: 15 * 60_000,
      timeoutMs: 60_000,
      runOnStart: true,
      async run({ log }) {
        const address = options.webhookAddress();
        const health = await options.subscriptions.status(address);
        if (health.healthy) return { healthy: true, present: health.present.length };
        if (address) {
          const registered = await options.subscriptions.register(address);
          log.warn({ missing: health.missing, created: registered.created.map((subscription) => subscription.topic) }, 'webhook subscriptions were missing: created again');
          options.alerts.send({
            code: 'WEBHOOK_SUBSCRIPTIONS_MISSING',
            severity: 'warning',
            message: `Shopify had no subscription for ${health.missing.join(', ')} to ${address}; they were created again (the poll covered the gap)`,
            details: { missing: health.missing, address },
          });
          return { healthy: false, recreated: registered.created.length };
        }
        options.alerts.send({
          code: 'WEBHOOK_SUBSCRIPTIONS_MISSING',
          severity: 'warning',
          message: `Shopify has no subscription for ${health.missing.join(', ')}; set PUBLIC_URL or run \`npm run cli -- webhooks register --address URL\` (orders arrive through the poll until then)`,
          details: { missing: health.missing },
        });
        return { healthy: false, missing: health.missing };
      },
    },
  ];
}
