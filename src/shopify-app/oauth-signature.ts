import { createHmac, timingSafeEqual } from 'node:crypto';

/**
 * Shopify's signature of an OAuth redirect's query: hex HMAC-SHA256, keyed with the app's client
 * secret, of every parameter but `hmac` and `signature`, sorted by name and joined as `k=v&…`.
 * Compared in constant time; a secret in rotation may be given as a second candidate.
 */
export function oauthQueryMessage(query: URLSearchParams): string {
  return [...query.entries()]
    .filter(([key]) => key !== 'hmac' && key !== 'signature')
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([key, value]) => `${key}=${value}`)
    .join('&');
}

export function verifyOAuthQuery(query: URLSearchParams, secrets: readonly string[]): boolean {
  const given = query.get('hmac');
  if (!given || !/^[0-9a-f]{64}$/i.test(given)) return false;
  const givenBytes = Buffer.from(given.toLowerCase(), 'hex');
  const message = oauthQueryMessage(query);
  let ok = false;
  for (const secret of secrets) {
    const expected = createHmac('sha256', secret).update(message).digest();
    // Every candidate is compared, so the time taken does not say which one matched.
    if (timingSafeEqual(expected, givenBytes)) ok = true;
  }
  return ok;
}

/** `acme.myshopify.com`: what Shopify sends as `shop`, nothing else (no scheme, path or port). */
export function isShopDomain(value: string | null | undefined): value is string {
  return typeof value === 'string' && /^[a-zA-Z0-9][a-zA-Z0-9-]*\.myshopify\.com$/.test(value);
}
