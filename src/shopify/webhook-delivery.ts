/**
 * A Shopify webhook delivery whose HMAC was checked on its raw bytes (`POST /webhooks/shopify`),
 * with Shopify's headers; nothing in the body is parsed yet. The route makes it; the topic
 * handlers of the domains receive it.
 */
export interface VerifiedDelivery {
  readonly topic: string | undefined;
  readonly shopDomain: string | undefined;
  readonly webhookId: string | undefined;
  readonly eventId: string | undefined;
  readonly apiVersion: string | undefined;
  readonly triggeredAt: string | undefined;
  readonly body: Buffer;
}
