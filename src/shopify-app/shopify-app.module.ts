import type { DomainModule, ModuleDeps } from '../domain-module.js';
import { isAppError } from '../shared/errors.js';
import { readGrantedScopes } from '../shopify/credentials/granted-scopes.js';
import type { ShopifyCredentials } from '../shopify/credentials/credentials.js';
import { missingScopes } from './access-scopes.js';
import { createShopifyInstallService, type ShopifyInstallService } from './install.service.js';
import { shopifyInstallRoutes } from './install.routes.js';

/**
 * The Shopify app's place in the gateway: the install routes, the `app/uninstalled` handler, and
 * at start the go-live switches (written from INVENTORY_PUSH / ORDERS_TO_ERP when set, then
 * logged) and the check that the token's granted scopes cover what is switched on.
 */
export interface ShopifyAppModule extends DomainModule<'shopifyApp', ShopifyInstallService> {
  /** Applies the start-up switches, logs them, checks the granted scopes (never throws for Shopify being away). */
  start(): Promise<void>;
}

export interface ShopifyAppModuleOptions {
  readonly credentials: ShopifyCredentials;
  /** The go-live switches (the domain's own service, given through the composition root). */
  readonly switches: NonNullable<ModuleDeps['switches']>;
  readonly adminBaseUrl: string;
}

export function createShopifyAppModule(deps: ModuleDeps, options: ShopifyAppModuleOptions): ShopifyAppModule {
  const log = deps.log.child({ component: 'shopify-app' });
  const { credentials, switches } = options;
  const onChange = () => {
    credentials.forget();
    switches.invalidate();
  };
  const secrets = [deps.config.shopify.apiSecret, deps.config.webhookSecretPrevious].filter((secret): secret is string => Boolean(secret));
  const install = createShopifyInstallService({
    shop: deps.shop,
    apiKey: credentials.box && credentials.oauth ? deps.config.shopify.apiKey : undefined,
    apiSecrets: secrets,
    publicUrl: deps.config.publicUrl,
    adminBaseUrl: options.adminBaseUrl,
    repository: credentials.installations,
    exchangeCode: (code) => credentials.oauth!.exchangeCode(code),
    log,
    now: deps.now,
    onChange,
  });

  return {
    name: 'shopifyApp',
    services: install,
    routes: [shopifyInstallRoutes(install)],
    webhookTopics: {
      'app/uninstalled': async (delivery, handlerLog) => {
        if (delivery.shopDomain && delivery.shopDomain.toLowerCase() !== deps.shop.toLowerCase()) {
          handlerLog.warn({ shopDomain: delivery.shopDomain }, 'app/uninstalled for another shop: ignored');
          return { result: 'ignored' };
        }
        await install.uninstall(deps.shop);
        return { result: 'recorded' };
      },
    },

    async start() {
      const wanted = deps.config.switchesAtStart;
      if (wanted.inventoryPush || wanted.ordersToErp) {
        await switches.set(
          { inventoryPush: wanted.inventoryPush, ordersToErp: wanted.ordersToErp },
          `env at start (${[wanted.inventoryPush && `INVENTORY_PUSH=${wanted.inventoryPush}`, wanted.ordersToErp && `ORDERS_TO_ERP=${wanted.ordersToErp}`].filter(Boolean).join(' ')})`,
        );
      }
      const state = await switches.state();
      log.info(
        { inventoryPush: state.inventoryPush, ordersToErp: state.ordersToErp, shopInstalled: state.shopInstalled, setBy: state.setBy },
        `go-live switches: inventory push ${state.shopInstalled ? state.inventoryPush : 'off (app uninstalled)'}, orders to ERP ${state.shopInstalled ? state.ordersToErp : 'off (app uninstalled)'}`,
      );
      try {
        const granted = await readGrantedScopes({ tokens: credentials.tokens, shop: deps.shop, adminUrl: deps.config.shopify.shop ? deps.config.shopify.adminUrl : options.adminBaseUrl, apiVersion: deps.config.shopify.apiVersion });
        const missing = missingScopes(granted.scopes, { inventoryPush: state.inventoryPush });
        if (missing.length > 0) {
          log.error(
            { missingScopes: missing.map((need) => need.scope), granted: granted.scopes },
            `the Shopify token lacks access scopes: ${missing.map((need) => `${need.scope} (${need.feature})`).join('; ')}. Add them to the app (shopify.app.toml) and install it again`,
          );
        } else {
          log.info({ scopes: granted.scopes }, 'Shopify access scopes cover what is switched on');
        }
      } catch (error) {
        if (isAppError(error) && (error.code === 'SHOPIFY_NOT_INSTALLED' || error.code === 'SHOPIFY_REINSTALL_NEEDED')) {
          log.warn({ code: error.code }, `${error.message}; inventory pushes and order submission wait for the install`);
        } else {
          log.warn({ err: error }, 'could not read the Shopify token and its scopes at start; `npm run cli -- doctor` says more');
        }
      }
    },
  };
}
