import type { Logger } from '../../logger.js';
import { AppError } from '../../shared/errors.js';
import type { GrantKind, Installation, InstallationRepository } from './installation.repository.js';
import type { GrantedToken, ShopifyOAuthClient } from './oauth-client.js';
import type { ShopifyTokenProvider } from './token-provider.js';

/**
 * A token the gateway obtains and keeps itself, stored sealed in `shopify_installations` and
 * shared by every instance on the database:
 * - `client_credentials`: a new token from the client-credentials grant (at start, before the
 *   old one expires, and after a 401);
 * - `authorization_code`: the install's expiring offline token, renewed with its refresh token
 *   (Shopify answers a new pair; both are stored together).
 *
 * Renewal is single-flight within the process and runs under the row's lock across processes:
 * the instance that gets the lock looks at the row again and renews only when the token there
 * is still due (or is the one Shopify just refused), so N instances renew once and the others
 * pick the new token up from the row. The token is cached in memory until it is due.
 */
export interface StoredTokenProviderOptions {
  shop: string;
  grant: GrantKind;
  repository: InstallationRepository;
  oauth: Pick<ShopifyOAuthClient, 'clientCredentials' | 'refresh'>;
  log: Logger;
  now?: () => Date;
  /** Renew this long before the token expires (default 5 minutes). */
  renewBeforeMs?: number;
}

interface Cached {
  token: string;
  expiresAt: Date | null;
  scopes: string[];
}

export class StoredTokenProvider implements ShopifyTokenProvider {
  readonly kind: GrantKind;
  #cached: Cached | null = null;
  #inFlight: Promise<Cached> | null = null;
  readonly #now: () => Date;
  readonly #renewBeforeMs: number;

  constructor(private readonly options: StoredTokenProviderOptions) {
    this.kind = options.grant;
    this.#now = options.now ?? (() => new Date());
    this.#renewBeforeMs = options.renewBeforeMs ?? 5 * 60_000;
  }

  async getToken(): Promise<string> {
    if (this.#cached && !this.#due(this.#cached.expiresAt)) return this.#cached.token;
    return (await this.#singleFlight(null)).token;
  }

  async renewAfterRejection(rejected: string): Promise<boolean> {
    try {
      const fresh = await this.#singleFlight(rejected);
      return fresh.token !== rejected;
    } catch (error) {
      this.options.log.warn({ err: error, shop: this.options.shop }, 'Shopify refused the token and a new one could not be obtained');
      return false;
    }
  }

  async grantedScopes(): Promise<string[] | null> {
    if (!this.#cached) await this.getToken();
    return this.#cached?.scopes ?? null;
  }

  /** Forgets the cached token (after an uninstall or a re-install seen by another instance). */
  forget(): void {
    this.#cached = null;
  }

  #due(expiresAt: Date | null): boolean {
    return expiresAt !== null && expiresAt.getTime() - this.#renewBeforeMs <= this.#now().getTime();
  }

  #usable(installation: Installation, rejected: string | null): installation is Installation & { accessToken: string } {
    return installation.status === 'installed' && installation.accessToken !== null && installation.accessToken !== rejected && !this.#due(installation.accessTokenExpiresAt);
  }

  #singleFlight(rejected: string | null): Promise<Cached> {
    this.#inFlight ??= this.#load(rejected).finally(() => {
      this.#inFlight = null;
    });
    return this.#inFlight;
  }

  async #load(rejected: string | null): Promise<Cached> {
    const { repository, shop, grant } = this.options;
    const stored = await repository.find(shop);
    if (stored) this.#refuseUnless(stored);
    if (stored && this.#usable(stored, rejected)) return this.#remember(stored);
    // Nothing to refresh before the install: no row is made for a shop that never installed.
    if (grant === 'authorization_code' && !stored?.refreshToken) {
      throw new AppError('SHOPIFY_NOT_INSTALLED', `the app is not installed on ${shop} yet: open /auth/shopify/install?shop=${shop}`);
    }
    const renewed = await repository.renewLocked(
      shop,
      grant,
      async (current) => {
        this.#refuseUnless(current);
        if (this.#usable(current, rejected)) return null;
        return this.#obtain(current);
      },
      this.#now(),
    );
    if (!renewed.accessToken) throw new AppError('SHOPIFY_NOT_INSTALLED', `no Shopify token is stored for ${shop}`);
    return this.#remember(renewed as Installation & { accessToken: string });
  }

  #refuseUnless(installation: Installation): void {
    if (installation.status === 'uninstalled') {
      this.#cached = null;
      throw new AppError('SHOPIFY_NOT_INSTALLED', `the app was uninstalled from ${installation.shop}; install it again (GET /auth/shopify/install?shop=${installation.shop})`);
    }
  }

  async #obtain(current: Installation): Promise<GrantedToken> {
    const { oauth, shop, log } = this.options;
    if (this.options.grant === 'client_credentials') {
      const token = await oauth.clientCredentials();
      log.info({ shop, expiresAt: token.expiresAt, scopes: token.scopes }, 'Shopify access token obtained (client-credentials grant)');
      return token;
    }
    if (!current.refreshToken) {
      throw new AppError('SHOPIFY_NOT_INSTALLED', `the app is not installed on ${shop} yet: open /auth/shopify/install?shop=${shop}`);
    }
    if (current.refreshTokenExpiresAt && current.refreshTokenExpiresAt.getTime() <= this.#now().getTime()) {
      throw new AppError('SHOPIFY_REINSTALL_NEEDED', `the refresh token for ${shop} expired on ${current.refreshTokenExpiresAt.toISOString()}: install the app again`);
    }
    const token = await oauth.refresh(current.refreshToken);
    log.info({ shop, expiresAt: token.expiresAt }, 'Shopify access token refreshed (expiring offline token)');
    return token;
  }

  #remember(installation: Installation & { accessToken: string }): Cached {
    this.#cached = { token: installation.accessToken, expiresAt: installation.accessTokenExpiresAt, scopes: installation.scopes };
    return this.#cached;
  }
}
