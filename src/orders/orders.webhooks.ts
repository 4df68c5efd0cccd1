import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Logger } from '../logger.js';
import { isAppError } from '../shared/errors.js';
import type { OrdersMetrics } from './orders.metrics.js';
import { verifyShopifyWebhook } from './webhook-signature.js';
import type { VerifiedDelivery, WebhookHandled, WebhookTopicRegistry } from '../http/webhook-topics.js';

/**
 * `POST /webhooks/shopify`: every Shopify webhook topic. The body is kept as the exact bytes
 * received (a content-type parser for this route only), the signature is checked on them before
 * anything parses them, and the delivery goes to its topic's handler, which records it before
 * the answer; the work happens after it. Answers:
 * - 401, nothing stored: missing or wrong `X-Shopify-Hmac-Sha256` (the current secret, or the
 *   previous one during a rotation);
 * - 413: a body over `maxBytes` (fastify refuses it before the handler);
 * - 200: recorded, a duplicate, a topic the gateway does not handle, or a signed body that does
 *   not parse (stored as FAILED, visible in the API: a 5xx would only make Shopify send it again);
 * - 503: the inbox's write queue is full (a flood while the database is slow): nothing stored,
 *   Shopify retries;
 * - 500 only when the delivery could not be recorded (the database away): Shopify retries it.
 */
export interface ShopifyWebhookRouteOptions {
  readonly topics: WebhookTopicRegistry;
  /** Secrets that may sign deliveries (the app's client secret; two during a rotation). */
  readonly secrets: () => readonly string[];
  readonly maxBytes: number;
  readonly metrics: OrdersMetrics;
  readonly log: Logger;
}

export const SHOPIFY_WEBHOOK_PATH = '/webhooks/shopify';

function header(request: FastifyRequest, name: string): string | undefined {
  const value = request.headers[name];
  return Array.isArray(value) ? value[0] : value;
}

export function shopifyWebhookRoute(options: ShopifyWebhookRouteOptions) {
  let warnedNoSecret = false;
  return async function register(app: FastifyInstance): Promise<void> {
    // This plugin's scope only: every content type arrives as the raw Buffer.
    app.removeAllContentTypeParsers();
    app.addContentTypeParser('*', { parseAs: 'buffer', bodyLimit: options.maxBytes }, (_request, body, done) => done(null, body));

    app.post(SHOPIFY_WEBHOOK_PATH, { bodyLimit: options.maxBytes }, async (request: FastifyRequest, reply: FastifyReply) => {
      const body = Buffer.isBuffer(request.body) ? request.body : Buffer.alloc(0);
      // The domain's logger (not the framework's request logger), with the request id; one child
      // per delivery, made only once the delivery goes to its handler.
      const reqId = String(request.id);
      const topic = header(request, 'x-shopify-topic')?.trim();
      const webhookId = header(request, 'x-shopify-webhook-id');
      const secrets = options.secrets();
      if (secrets.length === 0 && !warnedNoSecret) {
        warnedNoSecret = true;
        options.log.error('no webhook secret is configured (SHOPIFY_API_SECRET): every webhook is refused');
      }
      if (!verifyShopifyWebhook(secrets, body, header(request, 'x-shopify-hmac-sha256'))) {
        // Nothing of an unsigned request is trusted, its topic included: always `other`.
        options.metrics.webhooks.inc({ topic: 'other', result: 'rejected' });
        options.log.warn({ reqId, topic: topic?.slice(0, 100), webhookId: webhookId?.slice(0, 100) }, 'webhook with a missing or wrong signature refused');
        return reply.code(401).send({ error: { code: 'WEBHOOK_SIGNATURE_INVALID', message: 'invalid webhook signature', requestId: String(request.id) } });
      }
      const label = options.topics.labelOf(topic);
      const handler = options.topics.handlerFor(topic);
      if (!handler) {
        options.metrics.webhooks.inc({ topic: label, result: 'ignored' });
        options.log.info({ reqId, topic: topic?.slice(0, 100) || null, webhookId }, 'webhook topic not handled: acknowledged and ignored');
        return reply.code(200).send({ result: 'ignored' });
      }
      const delivery: VerifiedDelivery = {
        topic,
        shopDomain: header(request, 'x-shopify-shop-domain'),
        webhookId,
        eventId: header(request, 'x-shopify-event-id'),
        apiVersion: header(request, 'x-shopify-api-version'),
        triggeredAt: header(request, 'x-shopify-triggered-at'),
        body,
      };
      const log = options.log.child({ reqId, topic, webhookId });
      let handled: WebhookHandled;
      try {
        handled = await handler(delivery, log);
      } catch (error) {
        if (isAppError(error) && error.code === 'WEBHOOK_INBOX_FULL') {
          options.metrics.webhooks.inc({ topic: label, result: 'saturated' });
          log.warn('webhook inbox queue full: answered 503, Shopify will retry');
          return reply
            .code(503)
            .header('retry-after', '5')
            .send({ error: { code: 'WEBHOOK_INBOX_FULL', message: 'the webhook inbox is saturated; retry later', requestId: String(request.id) } });
        }
        options.metrics.webhooks.inc({ topic: label, result: 'error' });
        throw error;
      }
      options.metrics.webhooks.inc({ topic: label, result: handled.result });
      return reply.code(200).send({ result: handled.result });
    });
  };
}
