import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { SimulatorClock } from './clock.js';

/**
 * Shopify's OAuth endpoints for one app on the simulated shop, so every credential path of the
 * gateway runs over HTTP in tests:
 * - `GET /admin/oauth/authorize?client_id&scope&redirect_uri&state[&grant_options[]=]`: the
 *   merchant approves at once; redirects (302) to `redirect_uri` with `code`, `hmac`, `host`,
 *   `shop`, `state` and `timestamp`, the hmac being hex HMAC-SHA256 (app secret) of the other
 *   parameters sorted and joined as `k=v&…`, as Shopify signs it;
 * - `POST /admin/oauth/access_token` (JSON or form): the authorization code (single use, 10
 *   minutes) for an offline token, expiring (`expiring=1`: 1 hour, with a refresh token of 90
 *   days) or not; `grant_type=refresh_token` for a new pair; `grant_type=client_credentials`
 *   for a 24-hour token. Wrong client id or secret: 401 `invalid_client`.
 *
 * Issued tokens carry the scopes granted (what the merchant approved: the requested ones, or
 * `approvedScopes` when set) and expire on the simulator's clock; the Admin API answers 401 to an
 * expired, revoked or unknown token.
 */
export interface OAuthOptions {
  /** Scopes the merchant approves at authorize time (default: what was asked). */
  approvedScopes?: string[];
  /** Scopes of a client-credentials token (default: the app's configured scopes). */
  clientCredentialsScopes?: string[];
  clientCredentialsTokenSeconds?: number;
  expiringTokenSeconds?: number;
  refreshTokenSeconds?: number;
}

export interface IssuedToken {
  readonly scopes: readonly string[];
  /** Epoch ms on the simulator's clock; null for a token that does not expire. */
  readonly expiresAt: number | null;
}

export type OAuthGrantName = 'authorization_code' | 'refresh_token' | 'client_credentials';

interface RefreshRecord {
  scopes: readonly string[];
  expiresAt: number;
}

const CODE_LIFETIME_MS = 10 * 60_000;

/** Shopify's query signature: hex HMAC-SHA256 of the sorted `k=v` pairs other than hmac/signature. */
export function signOAuthQuery(params: Iterable<[string, string]>, secret: string): string {
  const message = [...params]
    .filter(([key]) => key !== 'hmac' && key !== 'signature')
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([key, value]) => `${key}=${value}`)
    .join('&');
  return createHmac('sha256', secret).update(message).digest('hex');
}

export class SimulatedOAuth {
  readonly #tokens = new Map<string, IssuedToken>();
  readonly #refreshTokens = new Map<string, RefreshRecord>();
  readonly #codes = new Map<string, { scopes: readonly string[]; expiresAt: number }>();
  readonly #grants: Record<OAuthGrantName, number> = { authorization_code: 0, refresh_token: 0, client_credentials: 0 };

  constructor(
    private readonly app: {
      apiKey: string;
      apiSecret: () => string;
      shopDomain: string;
      clock: SimulatorClock;
      defaultScopes: () => readonly string[];
      options: OAuthOptions;
    },
  ) {}

  /** A live token's grant, or undefined when unknown, revoked or expired. */
  lookup(token: string): IssuedToken | undefined {
    const issued = this.#tokens.get(token);
    if (!issued) return undefined;
    if (issued.expiresAt !== null && issued.expiresAt <= this.app.clock.now()) return undefined;
    return issued;
  }

  /** How many tokens each grant has issued (tests count renewals). */
  grants(): Readonly<Record<OAuthGrantName, number>> {
    return { ...this.#grants };
  }

  /** Every issued token and refresh token stops working (an uninstall). */
  revokeAll(): void {
    this.#tokens.clear();
    this.#refreshTokens.clear();
    this.#codes.clear();
  }

  /** Expires one issued token now (tests of the 401 path). */
  expire(token: string): void {
    const issued = this.#tokens.get(token);
    if (issued) this.#tokens.set(token, { ...issued, expiresAt: this.app.clock.now() - 1 });
  }

  handleAuthorize(url: URL, response: ServerResponse): void {
    const params = url.searchParams;
    const redirectUri = params.get('redirect_uri');
    if (params.get('client_id') !== this.app.apiKey || !redirectUri) {
      response.writeHead(400, { 'Content-Type': 'text/plain; charset=utf-8' });
      response.end('Oauth error invalid_request: The client_id or redirect_uri is missing or unknown.');
      return;
    }
    const requested = (params.get('scope') ?? '').split(',').map((s) => s.trim()).filter(Boolean);
    const scopes = this.app.options.approvedScopes ?? requested;
    const code = randomBytes(16).toString('hex');
    this.#codes.set(code, { scopes, expiresAt: this.app.clock.now() + CODE_LIFETIME_MS });
    const back = new URL(redirectUri);
    const answer: Array<[string, string]> = [
      ['code', code],
      ['host', Buffer.from(`admin.shopify.com/store/${this.app.shopDomain.replace(/\.myshopify\.com$/, '')}`).toString('base64url')],
      ['shop', this.app.shopDomain],
      ['state', params.get('state') ?? ''],
      ['timestamp', String(Math.floor(this.app.clock.now() / 1000))],
    ];
    for (const [key, value] of answer) back.searchParams.set(key, value);
    back.searchParams.set('hmac', signOAuthQuery(answer, this.app.apiSecret()));
    response.writeHead(302, { Location: back.toString() });
    response.end();
  }

  async handleAccessToken(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const fields = await readFields(request);
    const send = (status: number, body: unknown) => {
      response.writeHead(status, { 'Content-Type': 'application/json; charset=utf-8', Date: new Date(this.app.clock.now()).toUTCString() });
      response.end(JSON.stringify(body));
    };
    if (!sameText(fields.client_id, this.app.apiKey) || !sameText(fields.client_secret, this.app.apiSecret())) {
      send(401, { error: 'invalid_client', error_description: 'Client authentication failed.' });
      return;
    }
    const now = this.app.clock.now();
    const options = this.app.options;
    const grantType = fields.grant_type ?? (fields.code ? 'authorization_code' : undefined);
    switch (grantType) {
      case 'client_credentials': {
        this.#grants.client_credentials += 1;
        const scopes = options.clientCredentialsScopes ?? this.app.defaultScopes();
        const seconds = options.clientCredentialsTokenSeconds ?? 86_399;
        send(200, { access_token: this.#issue(scopes, now + seconds * 1000), scope: scopes.join(','), expires_in: seconds });
        return;
      }
      case 'authorization_code': {
        const code = fields.code ? this.#codes.get(fields.code) : undefined;
        if (fields.code) this.#codes.delete(fields.code);
        if (!code || code.expiresAt <= now) {
          send(400, { error: 'invalid_request', error_description: 'The authorization code was not found or was already used' });
          return;
        }
        this.#grants.authorization_code += 1;
        if (fields.expiring !== '1') {
          send(200, { access_token: this.#issue(code.scopes, null), scope: code.scopes.join(',') });
          return;
        }
        send(200, this.#expiringPair(code.scopes, now));
        return;
      }
      case 'refresh_token': {
        const record = fields.refresh_token ? this.#refreshTokens.get(fields.refresh_token) : undefined;
        if (!record || record.expiresAt <= now) {
          send(400, { error: 'invalid_grant', error_description: 'The refresh token is invalid or expired' });
          return;
        }
        this.#refreshTokens.delete(fields.refresh_token!);
        this.#grants.refresh_token += 1;
        send(200, this.#expiringPair(record.scopes, now));
        return;
      }
      default:
        send(400, { error: 'unsupported_grant_type', error_description: `grant_type ${grantType ?? '(none)'} is not supported` });
    }
  }

  #expiringPair(scopes: readonly string[], now: number) {
    const options = this.app.options;
    const seconds = options.expiringTokenSeconds ?? 3600;
    const refreshSeconds = options.refreshTokenSeconds ?? 90 * 86_400;
    const refreshToken = `shprt_${randomBytes(16).toString('hex')}`;
    this.#refreshTokens.set(refreshToken, { scopes, expiresAt: now + refreshSeconds * 1000 });
    return {
      access_token: this.#issue(scopes, now + seconds * 1000),
      scope: scopes.join(','),
      expires_in: seconds,
      refresh_token: refreshToken,
      refresh_token_expires_in: refreshSeconds,
    };
  }

  #issue(scopes: readonly string[], expiresAt: number | null): string {
    const token = `shpat_${randomBytes(16).toString('hex')}`;
    this.#tokens.set(token, { scopes: [...scopes], expiresAt });
    return token;
  }
}

function sameText(given: string | undefined, expected: string): boolean {
  if (given === undefined) return false;
  const a = Buffer.from(given);
  const b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b);
}

async function readFields(request: IncomingMessage): Promise<Record<string, string | undefined>> {
  const chunks: Buffer[] = [];
  for await (const chunk of request) chunks.push(chunk as Buffer);
  const raw = Buffer.concat(chunks).toString('utf8');
  const contentType = request.headers['content-type'] ?? '';
  try {
    const fields = contentType.includes('application/json') ? (JSON.parse(raw) as Record<string, unknown>) : Object.fromEntries(new URLSearchParams(raw));
    return Object.fromEntries(Object.entries(fields).map(([key, value]) => [key, value === undefined || value === null ? undefined : String(value)]));
  } catch {
    return {};
  }
}
