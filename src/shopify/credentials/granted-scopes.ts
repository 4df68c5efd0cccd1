import { z } from 'zod';
import { AppError } from '../../shared/errors.js';
import type { ShopifyTokenProvider } from './token-provider.js';

/**
 * The scopes Shopify granted the token in use: from the grant's answer when the gateway obtained
 * the token itself, else from `currentAppInstallation { accessScopes { handle } }` (a static
 * token). Also reports the `Date` header of Shopify's answer, for the doctor's clock check.
 */
const answer = z.object({
  data: z.object({ currentAppInstallation: z.object({ accessScopes: z.array(z.object({ handle: z.string() })) }) }),
});

export interface GrantedScopesReading {
  scopes: string[];
  /** Shopify's clock (the Date header) when the answer came from the Admin API; null otherwise. */
  serverDate: Date | null;
  /** Whether the API version was served (false: HTTP 404 for the version). */
  versionServed: boolean;
  /** The version Shopify says it answered with (`X-Shopify-API-Version`): another one means ours is no longer supported. */
  servedVersion: string | null;
}

export async function readGrantedScopes(options: {
  tokens: ShopifyTokenProvider;
  shop: string;
  adminUrl?: string;
  apiVersion: string;
  /** Ask the Admin API even when the grant said (the doctor checks the version and the clock too). */
  alwaysQuery?: boolean;
}): Promise<GrantedScopesReading> {
  const token = await options.tokens.getToken();
  if (!options.alwaysQuery) {
    const fromGrant = await options.tokens.grantedScopes();
    if (fromGrant && fromGrant.length > 0) return { scopes: fromGrant, serverDate: null, versionServed: true, servedVersion: null };
  }
  const base = (options.adminUrl ?? `https://${options.shop}`).replace(/\/+$/, '');
  const response = await postReadQuery(`${base}/admin/api/${options.apiVersion}/graphql.json`, token);
  const date = response.headers.get('date');
  const serverDate = date ? new Date(date) : null;
  const servedVersion = response.headers.get('x-shopify-api-version');
  if (response.status === 404) return { scopes: [], serverDate, versionServed: false, servedVersion };
  if (!response.ok) {
    throw new AppError(response.status === 401 ? 'SHOPIFY_UNAUTHORIZED' : 'SHOPIFY_UNAVAILABLE', `Shopify answered HTTP ${response.status} to the access-scopes query`, { httpStatus: response.status });
  }
  const parsed = answer.parse(await response.json());
  return { scopes: parsed.data.currentAppInstallation.accessScopes.map((scope) => scope.handle).sort(), serverDate, versionServed: true, servedVersion };
}

/**
 * The access-scopes query is a read, so a request that never got an answer (a connection reset
 * or refused, a socket closed under a reused keep-alive connection) is sent again, up to three
 * times a short moment apart; the last failure names its cause instead of undici's "fetch failed".
 */
async function postReadQuery(url: string, token: string): Promise<Response> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await fetch(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-shopify-access-token': token },
        body: JSON.stringify({ query: 'query GrantedScopes { currentAppInstallation { accessScopes { handle } } }' }),
        signal: AbortSignal.timeout(15_000),
      });
    } catch (error) {
      if (attempt >= 3 || !(error instanceof TypeError)) {
        const cause = error instanceof Error && error.cause instanceof Error ? `: ${error.cause.message}` : '';
        throw new AppError('SHOPIFY_UNAVAILABLE', `Shopify could not be reached at ${new URL(url).origin}${cause}`);
      }
      await new Promise((resolve) => setTimeout(resolve, 250 * attempt));
    }
  }
}
