import { createHmac, timingSafeEqual } from 'node:crypto';

/**
 * Shopify's webhook signature: `X-Shopify-Hmac-Sha256` is the base64 HMAC-SHA256 of the raw body
 * keyed with the app's client secret. Checked on the exact bytes received, before anything
 * parses them, and compared in constant time so the answer's timing reveals nothing about the
 * expected digest. Several secrets may be given: during a rotation Shopify signs with the old one
 * for up to an hour.
 */
export function verifyShopifyWebhook(secrets: readonly string[], rawBody: Buffer, signature: string | undefined): boolean {
  if (!signature || secrets.length === 0) return false;
  const received = Buffer.from(signature.trim(), 'base64');
  // A SHA-256 digest is 32 bytes; anything else cannot match (and its length is no secret).
  if (received.length !== 32) return false;
  let valid = false;
  for (const secret of secrets) {
    if (!secret) continue;
    const expected = createHmac('sha256', secret).update(rawBody).digest();
    // Every secret is checked, so the time taken does not say which one matched.
    if (timingSafeEqual(expected, received)) valid = true;
  }
  return valid;
}
