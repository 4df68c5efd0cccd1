import { z } from 'zod';
import { AppError } from '../../shared/errors.js';

/**
 * Shopify's token endpoint, `POST https://{shop}/admin/oauth/access_token` (or the simulator's
 * `SHOPIFY_ADMIN_URL`), for the three grants the gateway uses: client credentials, the
 * authorization code of an install (asking for an expiring offline token) and the refresh of
 * such a token. Answers are parsed with zod; a refusal is `SHOPIFY_TOKEN_REFUSED` with Shopify's
 * error text (never the secrets sent).
 */
export interface GrantedToken {
  accessToken: string;
  scopes: string[];
  /** Null for a token that does not expire. */
  expiresAt: Date | null;
  refreshToken: string | null;
  refreshTokenExpiresAt: Date | null;
}

export interface ShopifyOAuthClientOptions {
  shop: string;
  /** Base URL instead of `https://{shop}` (simulator, proxy). */
  adminUrl?: string;
  apiKey: string;
  apiSecret: string;
  now?: () => Date;
  timeoutMs?: number;
}

const tokenAnswer = z.object({
  access_token: z.string().min(1),
  scope: z.string().default(''),
  expires_in: z.number().int().positive().optional(),
  refresh_token: z.string().min(1).optional(),
  refresh_token_expires_in: z.number().int().positive().optional(),
});

export function parseScopes(scope: string): string[] {
  return [
    ...new Set(
      scope
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean),
    ),
  ].sort();
}

export class ShopifyOAuthClient {
  readonly #url: string;
  readonly #now: () => Date;

  constructor(private readonly options: ShopifyOAuthClientOptions) {
    this.#url = `${(options.adminUrl ?? `https://${options.shop}`).replace(/\/+$/, '')}/admin/oauth/access_token`;
    this.#now = options.now ?? (() => new Date());
  }

  clientCredentials(): Promise<GrantedToken> {
    return this.#post({ grant_type: 'client_credentials' }, 'client credentials');
  }

  /** The install's code for an expiring offline token (`expiring=1`). */
  exchangeCode(code: string): Promise<GrantedToken> {
    return this.#post({ code, expiring: '1' }, 'authorization code');
  }

  refresh(refreshToken: string): Promise<GrantedToken> {
    return this.#post({ grant_type: 'refresh_token', refresh_token: refreshToken }, 'refresh token');
  }

  async #post(fields: Record<string, string>, grant: string): Promise<GrantedToken> {
    const sentAt = this.#now();
    let response: Response | undefined;
    // One more try after a network failure (a kept-alive connection the server had closed): asking
    // again is safe for every grant here (a refresh token stays usable until its successor is used).
    for (let attempt = 1; !response; attempt++) {
      try {
        response = await fetch(this.#url, {
          method: 'POST',
          headers: { 'content-type': 'application/json', accept: 'application/json' },
          body: JSON.stringify({ client_id: this.options.apiKey, client_secret: this.options.apiSecret, ...fields }),
          signal: AbortSignal.timeout(this.options.timeoutMs ?? 15_000),
        });
      } catch (error) {
        if (attempt < 2 && !(error instanceof Error && error.name === 'TimeoutError')) continue;
        throw new AppError('SHOPIFY_UNAVAILABLE', `Shopify's token endpoint did not answer (${grant}): ${error instanceof Error ? error.message : String(error)}`, { grant });
      }
    }
    const text = await response.text();
    if (!response.ok) {
      let reason = text.slice(0, 200);
      try {
        const body = JSON.parse(text) as { error?: string; error_description?: string; errors?: string };
        reason = [body.error, body.error_description ?? body.errors].filter(Boolean).join(': ') || reason;
      } catch {
        // not JSON: keep the text
      }
      const code = response.status >= 500 || response.status === 429 ? 'SHOPIFY_UNAVAILABLE' : 'SHOPIFY_TOKEN_REFUSED';
      throw new AppError(code, `Shopify refused the ${grant} grant (HTTP ${response.status}): ${reason}`, { grant, httpStatus: response.status });
    }
    let parsed;
    try {
      parsed = tokenAnswer.parse(JSON.parse(text));
    } catch {
      throw new AppError('SHOPIFY_BAD_RESPONSE', `Shopify's answer to the ${grant} grant has no access token`, { grant });
    }
    const at = (seconds: number | undefined) => (seconds === undefined ? null : new Date(sentAt.getTime() + seconds * 1000));
    return {
      accessToken: parsed.access_token,
      scopes: parseScopes(parsed.scope),
      expiresAt: at(parsed.expires_in),
      refreshToken: parsed.refresh_token ?? null,
      refreshTokenExpiresAt: at(parsed.refresh_token_expires_in),
    };
  }
}
