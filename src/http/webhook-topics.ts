import type { Logger } from '../logger.js';
import type { VerifiedDelivery } from '../shopify/webhook-delivery.js';

export type { VerifiedDelivery } from '../shopify/webhook-delivery.js';

/**
 * The webhook topic registry: which topics the gateway handles on `POST /webhooks/shopify`, and
 * who handles each. Domain modules declare theirs (`DomainModule.webhookTopics`); the
 * composition root registers them all here, and the route dispatches on it.
 */

/**
 * What a topic handler made of a signed delivery, for the answer and the metrics. Each handler
 * uses a few fixed words (`stored`, `duplicate`, `malformed`, `ignored`, `recorded`): they are a
 * metric label, so never a value taken from the request.
 */
export interface WebhookHandled {
  readonly result: string;
}

/**
 * Handles one signed delivery of its topic, quickly: Shopify waits 5 s at most, so a handler
 * records what arrived (durably, before it resolves) and does the work after the answer.
 * Throwing answers 500 (Shopify retries); an AppError with code WEBHOOK_INBOX_FULL answers 503.
 */
export type WebhookTopicHandler = (delivery: VerifiedDelivery, log: Logger) => Promise<WebhookHandled>;

/**
 * The topics the gateway handles, each with its handler: the one allow-list of topics. The metric
 * label of a topic is the topic only when it is in it (`other` otherwise), so requests with
 * made-up topics cannot add metric series.
 */
export interface WebhookTopicRegistry {
  /** Routes deliveries of `topic` to `handler`; a topic has one handler (registering it twice throws). */
  register(topic: string, handler: WebhookTopicHandler): void;
  handlerFor(topic: string | undefined): WebhookTopicHandler | undefined;
  /** `topic` when it is handled, `other` otherwise: the bounded set of metric labels. */
  labelOf(topic: string | undefined): string;
  topics(): string[];
}

export function createWebhookTopicRegistry(): WebhookTopicRegistry {
  const handlers = new Map<string, WebhookTopicHandler>();
  return {
    register(topic, handler) {
      if (handlers.has(topic)) throw new Error(`webhook topic ${topic} already has a handler`);
      handlers.set(topic, handler);
    },
    handlerFor(topic) {
      return topic === undefined ? undefined : handlers.get(topic.trim());
    },
    labelOf(topic) {
      return topic !== undefined && handlers.has(topic.trim()) ? topic.trim() : 'other';
    },
    topics() {
      return [...handlers.keys()].sort();
    },
  };
}
