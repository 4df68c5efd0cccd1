import { randomBytes } from 'node:crypto';
import type { Logger } from '../logger.js';
import { isAppError } from '../shared/errors.js';
import type { InstallationRepository } from '../shopify/credentials/installation.repository.js';
import type { GrantedToken } from '../shopify/credentials/oauth-client.js';
import { missingScopes, REQUESTED_SCOPES } from './access-scopes.js';
import { isShopDomain, verifyOAuthQuery } from './oauth-signature.js';

/**
 * The authorization-code install of the Shopify app, and its uninstall:
 * - `beginInstall(shop)`: the shop must be a `*.myshopify.com` domain and the one this gateway
 *   serves; a single-use `state` nonce (10 minutes) is stored and the merchant is sent to
 *   Shopify's authorize page with the scopes and `PUBLIC_URL`'s callback;
 * - `completeInstall(query)`: the callback's HMAC (constant time), the shop, the timestamp (at
 *   most 10 minutes old) and the nonce (used once, not expired, issued for that shop) are
 *   checked, in that order, before the code is exchanged for an expiring offline token, which is
 *   stored sealed. Any failure stores nothing and says which check failed;
 * - `uninstall(shop)`: `app/uninstalled` drops the stored tokens and marks the shop uninstalled,
 *   which stops pushes and order submission (switches.service.ts); installing again resumes them.
 */
export type InstallRefusalCode =
  | 'INSTALL_NOT_CONFIGURED'
  | 'SHOP_INVALID'
  | 'SHOP_FOREIGN'
  | 'HMAC_INVALID'
  | 'TIMESTAMP_STALE'
  | 'STATE_UNKNOWN'
  | 'STATE_USED'
  | 'STATE_EXPIRED'
  | 'CODE_REFUSED';

export interface InstallRefusal {
  readonly ok: false;
  readonly status: 400 | 403 | 502;
  readonly code: InstallRefusalCode;
  readonly message: string;
}

export type BeginInstallResult = { readonly ok: true; readonly redirectTo: string } | InstallRefusal;
export type CompleteInstallResult = { readonly ok: true; readonly shop: string; readonly scopes: string[]; readonly missingScopes: string[] } | InstallRefusal;

export interface ShopifyInstallServiceDeps {
  /** The shop this gateway serves. */
  readonly shop: string;
  readonly apiKey: string | undefined;
  /** The client secret, and the previous one during a rotation. */
  readonly apiSecrets: readonly string[];
  readonly publicUrl: string | undefined;
  /** Where Shopify's pages are (`https://{shop}`, or the simulator). */
  readonly adminBaseUrl: string;
  readonly repository: InstallationRepository;
  readonly exchangeCode: (code: string) => Promise<GrantedToken>;
  readonly log: Logger;
  readonly now: () => Date;
  /** Called after an install or an uninstall changed the stored state. */
  readonly onChange?: () => void;
}

export const STATE_LIFETIME_MS = 10 * 60_000;
export const CALLBACK_MAX_AGE_MS = 10 * 60_000;
export const CALLBACK_PATH = '/auth/shopify/callback';
export const INSTALL_PATH = '/auth/shopify/install';

const refuse = (status: 400 | 403 | 502, code: InstallRefusalCode, message: string): InstallRefusal => ({ ok: false, status, code, message });

export interface ShopifyInstallService {
  beginInstall(shop: string | undefined): Promise<BeginInstallResult>;
  completeInstall(query: URLSearchParams): Promise<CompleteInstallResult>;
  uninstall(shop: string): Promise<boolean>;
}

export function createShopifyInstallService(deps: ShopifyInstallServiceDeps): ShopifyInstallService {
  const { repository, log } = deps;
  const configured = () => Boolean(deps.apiKey && deps.apiSecrets.length > 0 && deps.publicUrl);
  const notConfigured = () =>
    refuse(400, 'INSTALL_NOT_CONFIGURED', 'The install needs SHOPIFY_API_KEY, SHOPIFY_API_SECRET and PUBLIC_URL to be set on the gateway.');
  const checkShop = (shop: string | null | undefined): InstallRefusal | null => {
    if (!isShopDomain(shop)) return refuse(400, 'SHOP_INVALID', `"${shop ?? ''}" is not a shop domain: give the store's address ending in .myshopify.com.`);
    if (shop.toLowerCase() !== deps.shop.toLowerCase()) return refuse(403, 'SHOP_FOREIGN', `This gateway serves ${deps.shop}, not ${shop}.`);
    return null;
  };

  return {
    async beginInstall(shop) {
      if (!configured()) return notConfigured();
      const problem = checkShop(shop);
      if (problem) return problem;
      const nonce = randomBytes(32).toString('hex');
      await repository.createState(nonce, deps.shop, new Date(deps.now().getTime() + STATE_LIFETIME_MS));
      const url = new URL(`${deps.adminBaseUrl.replace(/\/+$/, '')}/admin/oauth/authorize`);
      url.searchParams.set('client_id', deps.apiKey!);
      url.searchParams.set('scope', REQUESTED_SCOPES.join(','));
      url.searchParams.set('redirect_uri', `${deps.publicUrl!.replace(/\/+$/, '')}${CALLBACK_PATH}`);
      url.searchParams.set('state', nonce);
      // Empty grant option: an offline (shop) token, not one per staff member.
      url.searchParams.append('grant_options[]', '');
      return { ok: true, redirectTo: url.toString() };
    },

    async completeInstall(query) {
      if (!configured()) return notConfigured();
      const shop = query.get('shop');
      if (!isShopDomain(shop)) return refuse(400, 'SHOP_INVALID', `"${shop ?? ''}" is not a shop domain.`);
      if (!verifyOAuthQuery(query, deps.apiSecrets)) {
        log.warn({ shop }, 'install callback with a wrong or missing hmac refused');
        return refuse(403, 'HMAC_INVALID', "The request's signature (hmac) is wrong: it did not come from Shopify, or was altered.");
      }
      const foreign = checkShop(shop);
      if (foreign) return foreign;
      const timestamp = Number(query.get('timestamp'));
      const ageMs = deps.now().getTime() - timestamp * 1000;
      if (!Number.isFinite(timestamp) || ageMs > CALLBACK_MAX_AGE_MS || ageMs < -CALLBACK_MAX_AGE_MS) {
        return refuse(403, 'TIMESTAMP_STALE', 'The request is too old (or from the future): start the install again.');
      }
      const state = query.get('state') ?? '';
      const consumed = await repository.consumeState(state, deps.shop, deps.now());
      if (consumed === 'unknown' || consumed === 'other_shop') return refuse(403, 'STATE_UNKNOWN', 'This install was not started here (unknown state): start it again from the install link.');
      if (consumed === 'used') return refuse(403, 'STATE_USED', 'This install link was already used: start the install again.');
      if (consumed === 'expired') return refuse(403, 'STATE_EXPIRED', 'This install took too long (the state expired): start it again.');
      const code = query.get('code');
      if (!code) return refuse(400, 'CODE_REFUSED', 'Shopify sent no authorization code.');
      let token: GrantedToken;
      try {
        token = await deps.exchangeCode(code);
      } catch (error) {
        log.warn({ shop, code: isAppError(error) ? error.code : undefined }, 'Shopify refused the authorization code');
        return refuse(502, 'CODE_REFUSED', `Shopify did not exchange the authorization code: ${isAppError(error) ? error.message : 'no answer'}`);
      }
      await repository.saveInstall(deps.shop, 'authorization_code', token, deps.now());
      const missing = missingScopes(token.scopes, { inventoryPush: 'on' }).map((need) => need.scope);
      log.info({ shop, scopes: token.scopes, missingScopes: missing, expiresAt: token.expiresAt }, 'Shopify app installed (expiring offline token stored)');
      deps.onChange?.();
      return { ok: true, shop: deps.shop, scopes: token.scopes, missingScopes: missing };
    },

    async uninstall(shop) {
      const changed = await repository.markUninstalled(shop, deps.now());
      log.warn({ shop, known: changed }, 'Shopify app uninstalled: tokens dropped, pushes and order submission stopped for the shop');
      deps.onChange?.();
      return changed;
    },
  };
}
