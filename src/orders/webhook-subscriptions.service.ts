import type { Logger } from '../logger.js';
import type { ShopifyClient, WebhookSubscription } from '../shopify/shopify-client.js';

/**
 * The topics the gateway needs, in the GraphQL enum form `webhookSubscriptionCreate` takes: the
 * order pipeline's, and the sync's `inventory_levels/update` (merchants' edits, src/sync/).
 */
export const REQUIRED_WEBHOOK_TOPICS = ['ORDERS_CREATE', 'ORDERS_UPDATED', 'ORDERS_CANCELLED', 'REFUNDS_CREATE', 'INVENTORY_LEVELS_UPDATE'] as const;

export interface WebhookHealth {
  /** The address checked (this gateway's `/webhooks/shopify`), or null when it is not known. */
  readonly address: string | null;
  readonly healthy: boolean;
  /** Required topics with a subscription to the address. */
  readonly present: ReadonlyArray<{ readonly topic: string; readonly id: string }>;
  /** Required topics with none: their events reach the gateway only through the poll. */
  readonly missing: readonly string[];
  /** Subscriptions of required topics to other addresses (an old deployment, a tunnel). */
  readonly elsewhere: ReadonlyArray<{ readonly topic: string; readonly uri: string }>;
  readonly checkedAt: Date;
}

export interface RegisterResult {
  readonly created: readonly WebhookSubscription[];
  readonly existing: readonly WebhookSubscription[];
}

/**
 * Shopify's webhook subscriptions for this gateway. Shopify deletes an API-made subscription
 * whose deliveries keep failing, so the health check runs on a schedule and re-registers what is
 * missing when the gateway knows its own address.
 */
export interface WebhookSubscriptionService {
  /** Creates a subscription for every required topic the address lacks (existing ones are kept). */
  register(address: string): Promise<RegisterResult>;
  status(address: string | null): Promise<WebhookHealth>;
}

/** `https://gw.example.com` or `.../webhooks/shopify` → the webhook route's address. */
export function webhookAddressOf(base: string): string {
  const trimmed = base.replace(/\/+$/, '');
  return trimmed.endsWith('/webhooks/shopify') ? trimmed : `${trimmed}/webhooks/shopify`;
}

function sameAddress(a: string, b: string): boolean {
  return a.replace(/\/+$/, '') === b.replace(/\/+$/, '');
}

export function createWebhookSubscriptionService(options: { shopify: ShopifyClient; log: Logger; now?: () => Date }): WebhookSubscriptionService {
  const now = options.now ?? (() => new Date());
  return {
    async register(address) {
      const existingAll = await options.shopify.listWebhookSubscriptions();
      const created: WebhookSubscription[] = [];
      const existing: WebhookSubscription[] = [];
      for (const topic of REQUIRED_WEBHOOK_TOPICS) {
        const found = existingAll.find((subscription) => subscription.topic === topic && sameAddress(subscription.uri, address));
        if (found) {
          existing.push(found);
          continue;
        }
        const subscription = await options.shopify.createWebhookSubscription({
          topic,
          uri: address,
          name: `stockbridge-${topic.toLowerCase().replace(/_/g, '-')}`,
        });
        options.log.info({ topic, uri: address, id: subscription.id }, 'webhook subscription created');
        created.push(subscription);
      }
      return { created, existing };
    },

    async status(address) {
      const subscriptions = await options.shopify.listWebhookSubscriptions();
      const required = new Set<string>(REQUIRED_WEBHOOK_TOPICS);
      const present: Array<{ topic: string; id: string }> = [];
      const missing: string[] = [];
      for (const topic of REQUIRED_WEBHOOK_TOPICS) {
        const found = subscriptions.find((subscription) => subscription.topic === topic && (address === null || sameAddress(subscription.uri, address)));
        if (found) present.push({ topic, id: found.id });
        else missing.push(topic);
      }
      const elsewhere =
        address === null
          ? []
          : subscriptions.filter((subscription) => required.has(subscription.topic) && !sameAddress(subscription.uri, address)).map((subscription) => ({ topic: subscription.topic, uri: subscription.uri }));
      return { address, healthy: missing.length === 0, present, missing, elsewhere, checkedAt: now() };
    },
  };
}
