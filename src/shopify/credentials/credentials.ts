import type { Config } from '../../config.js';
import type { Database } from '../../db/database.js';
import type { Logger } from '../../logger.js';
import { createSecretBox, type SecretBox } from '../../secrets/secret-box.js';
import { AppError } from '../../shared/errors.js';
import { createInstallationRepository, type InstallationRepository } from './installation.repository.js';
import { ShopifyOAuthClient } from './oauth-client.js';
import { StoredTokenProvider } from './stored-token-provider.js';
import { createStaticTokenProvider, type ShopifyTokenProvider } from './token-provider.js';

/**
 * Picks the token provider for the configured store (the composition root's one decision about
 * credentials): the demo's simulator token, `SHOPIFY_ACCESS_TOKEN`, or a token the gateway
 * obtains itself (`SHOPIFY_GRANT` client_credentials or authorization_code) and keeps sealed in
 * the database under `ENCRYPTION_KEY`.
 */
export interface ShopifyCredentials {
  readonly tokens: ShopifyTokenProvider;
  /** Null without ENCRYPTION_KEY (nothing can be stored sealed). */
  readonly box: SecretBox | null;
  readonly installations: InstallationRepository;
  /** The token endpoint client (null without SHOPIFY_API_KEY and SHOPIFY_API_SECRET). */
  readonly oauth: ShopifyOAuthClient | null;
  /** Where Shopify's pages and API are for this store (`https://{shop}`, or the simulator's URL). */
  readonly adminBaseUrl: string;
  /** Forget cached tokens (after an install or uninstall here). */
  forget(): void;
}

export function secretBoxOf(config: Config): SecretBox | null {
  if (!config.encryptionKey) return null;
  return createSecretBox(config.encryptionKey, config.encryptionKeyPrevious ? [config.encryptionKeyPrevious] : []);
}

export function createShopifyCredentials(options: {
  config: Config;
  database: Database;
  log: Logger;
  shop: string;
  adminUrl: string | undefined;
  /** The demo simulator's token: used as a static token. */
  demoToken?: string;
  now?: () => Date;
}): ShopifyCredentials {
  const { config, log, shop } = options;
  const box = secretBoxOf(config);
  const adminBaseUrl = (options.adminUrl ?? `https://${shop}`).replace(/\/+$/, '');
  const installations = createInstallationRepository(options.database.db, box);
  const oauth =
    config.shopify.apiKey && config.shopify.apiSecret && !options.demoToken
      ? new ShopifyOAuthClient({ shop, adminUrl: options.adminUrl, apiKey: config.shopify.apiKey, apiSecret: config.shopify.apiSecret, now: options.now })
      : null;
  if (options.demoToken) return { tokens: createStaticTokenProvider(options.demoToken), box, installations, oauth, adminBaseUrl, forget: () => {} };
  const grant = config.shopify.grant;
  if (grant === 'static') {
    if (!config.shopify.accessToken) throw new AppError('CONFIG_INVALID', 'SHOPIFY_ACCESS_TOKEN is required (or SHOPIFY_API_KEY and SHOPIFY_API_SECRET for the client-credentials grant)');
    return { tokens: createStaticTokenProvider(config.shopify.accessToken), box, installations, oauth, adminBaseUrl, forget: () => {} };
  }
  if (!oauth) throw new AppError('CONFIG_INVALID', `SHOPIFY_GRANT=${grant} needs SHOPIFY_API_KEY and SHOPIFY_API_SECRET`);
  if (!box) throw new AppError('CONFIG_INVALID', `SHOPIFY_GRANT=${grant} needs ENCRYPTION_KEY: the tokens are stored encrypted`);
  const provider = new StoredTokenProvider({ shop, grant, repository: installations, oauth, log: log.child({ component: 'shopify-credentials' }), now: options.now });
  return { tokens: provider, box, installations, oauth, adminBaseUrl, forget: () => provider.forget() };
}
