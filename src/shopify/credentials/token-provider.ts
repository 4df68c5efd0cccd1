/**
 * Where the Admin API transport gets the access token for each request. One port, three
 * implementations chosen in the composition root:
 * - static (`SHOPIFY_ACCESS_TOKEN`): one store, a token made elsewhere; nothing to renew;
 * - client credentials (`stored-token-provider.ts`): apps of the merchant's own organisation,
 *   a token of about 24 hours fetched at start and again before it expires;
 * - authorization code (the same class): installed through `/auth/shopify/install`, an expiring
 *   offline token (1 hour) renewed with its refresh token (about 90 days).
 *
 * Guarantee: `getToken` answers a token that is not known to be expired (renewing first when it
 * is due), or throws an `AppError` (`SHOPIFY_NOT_INSTALLED`, `SHOPIFY_REINSTALL_NEEDED`,
 * `SHOPIFY_TOKEN_REFUSED`); it never logs or exposes the token. `renewAfterRejection` is what a
 * caller does once after Shopify answered 401 to a token: it renews unless someone already has
 * (the token in hand is no longer the current one) and says whether retrying can help.
 */
export interface ShopifyTokenProvider {
  readonly kind: 'static' | 'client_credentials' | 'authorization_code';
  getToken(): Promise<string>;
  renewAfterRejection(rejected: string): Promise<boolean>;
  /** Scopes Shopify granted the current token, when it said (the grant's answer); null when unknown. */
  grantedScopes(): Promise<string[] | null>;
}

/** `SHOPIFY_ACCESS_TOKEN`: a token made outside the gateway; a 401 cannot be cured by asking again. */
export function createStaticTokenProvider(token: string): ShopifyTokenProvider {
  return {
    kind: 'static',
    getToken: async () => token,
    renewAfterRejection: async () => false,
    grantedScopes: async () => null,
  };
}
