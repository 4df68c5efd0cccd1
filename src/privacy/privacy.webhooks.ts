import { z } from 'zod';
import type { PrivacyRequestTopic } from '../db/schema/index.js';
import type { WebhookTopicHandler } from '../http/webhook-topics.js';
import type { PrivacyService } from './privacy.service.js';

/**
 * Shopify's mandatory compliance topics. They are configured in the app's settings (not through
 * the Admin API), signed like every webhook, and answered within Shopify's 5 s: each handler only
 * parses and records the request; the service works on it after the answer.
 */
export const PRIVACY_TOPICS = ['customers/data_request', 'customers/redact', 'shop/redact'] as const satisfies readonly PrivacyRequestTopic[];

const numericId = z.union([z.number().int().nonnegative(), z.string().regex(/^\d+$/)]).transform(String);

const customerPayload = z.object({
  shop_domain: z.string().min(1),
  customer: z.object({ id: numericId, email: z.string().nullish(), phone: z.string().nullish() }),
  orders_requested: z.array(numericId).max(10_000).nullish(),
  orders_to_redact: z.array(numericId).max(10_000).nullish(),
  data_request: z.object({ id: numericId }).nullish(),
});

const shopPayload = z.object({ shop_domain: z.string().min(1) });

function parseJson(body: Buffer): unknown {
  try {
    return JSON.parse(body.toString('utf8'));
  } catch {
    return undefined;
  }
}

/** One handler per compliance topic, for the webhook route's topic registry. */
export function privacyWebhookHandlers(service: PrivacyService, shop: string): Record<PrivacyRequestTopic, WebhookTopicHandler> {
  const handle =
    (topic: PrivacyRequestTopic): WebhookTopicHandler =>
    async (delivery, log) => {
      const json = parseJson(delivery.body);
      const parsed = topic === 'shop/redact' ? shopPayload.safeParse(json) : customerPayload.safeParse(json);
      if (!parsed.success) {
        // Signed by Shopify but not what the topic promises: a retry would bring the same bytes.
        log.error({ issues: parsed.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`) }, 'compliance webhook with a body that does not parse: acknowledged, not recorded');
        return { result: 'malformed' };
      }
      const shopDomain = parsed.data.shop_domain;
      const customer = topic === 'shop/redact' ? null : (parsed.data as z.output<typeof customerPayload>);
      if (shopDomain.toLowerCase() !== shop.toLowerCase()) {
        log.warn({ shopDomain }, 'compliance webhook for another shop: acknowledged and ignored');
        return { result: 'ignored' };
      }
      const outcome = await service.recordRequest({
        shop,
        topic,
        // Shopify always sends one; without it, the request is still recorded once per body.
        webhookId: delivery.webhookId?.trim() || `${topic}:${delivery.eventId ?? ''}:${delivery.body.length}:${delivery.triggeredAt ?? ''}`,
        shopifyCustomerId: customer?.customer.id ?? null,
        customerEmail: customer?.customer.email?.trim() || null,
        orderIds: [...(customer?.orders_to_redact ?? customer?.orders_requested ?? [])],
        dataRequestId: customer?.data_request?.id ?? null,
      });
      return { result: outcome };
    };
  return {
    'customers/data_request': handle('customers/data_request'),
    'customers/redact': handle('customers/redact'),
    'shop/redact': handle('shop/redact'),
  };
}
