import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Logger } from '../logger.js';
import type { OrdersMetrics } from './orders.metrics.js';
import type { WebhookInboxService } from './webhook-inbox.service.js';
import { verifyShopifyWebhook } from './webhook-signature.js';

/**
 * `POST /webhooks/shopify`: every Shopify webhook topic. The body is kept as the exact bytes
 * received (a content-type parser for this route only), the signature is checked on them before
 * anything parses them, and the delivery is stored before the answer, which comes within
 * milliseconds: processing happens after it. Answers:
 * - 401, nothing stored: missing or wrong `X-Shopify-Hmac-Sha256`;
 * - 413: a body over `maxBytes` (fastify refuses it before the handler);
 * - 200: stored, a duplicate, a topic the gateway does not handle, or a signed body that does
 *   not parse (stored as FAILED, visible in the API: a 5xx would only make Shopify send it again);
 * - 500 only when the delivery could not be stored (the database away): Shopify retries it.
 */
export interface ShopifyWebhookRouteOptions {
  readonly inbox: WebhookInboxService;
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
      const topic = header(request, 'x-shopify-topic');
      const webhookId = header(request, 'x-shopify-webhook-id');
      const secrets = options.secrets();
      if (secrets.length === 0 && !warnedNoSecret) {
        warnedNoSecret = true;
        options.log.error('no webhook secret is configured (SHOPIFY_API_SECRET): every webhook is refused');
      }
      if (!verifyShopifyWebhook(secrets, body, header(request, 'x-shopify-hmac-sha256'))) {
        options.metrics.webhooks.inc({ topic: topic ?? 'none', result: 'rejected' });
        request.log.warn({ topic, webhookId }, 'webhook with a missing or wrong signature refused');
        return reply.code(401).send({ error: 'invalid webhook signature' });
      }
      const result = await options.inbox.receive({
        topic,
        shopDomain: header(request, 'x-shopify-shop-domain'),
        webhookId,
        eventId: header(request, 'x-shopify-event-id'),
        apiVersion: header(request, 'x-shopify-api-version'),
        triggeredAt: header(request, 'x-shopify-triggered-at'),
        body,
      });
      return reply.code(200).send({ result: result.result });
    });
  };
}
