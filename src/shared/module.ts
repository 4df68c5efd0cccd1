import type { Registry } from 'prom-client';
import type { Config } from '../config.js';
import type { Database } from '../db/database.js';
import type { ErpConnector } from '../erp/erp-connector.js';
import type { Logger } from '../logger.js';
import type { ShopifyCredentials } from '../shopify/credentials/credentials.js';
import type { ShopifyClient } from '../shopify/shopify-client.js';
import type { SwitchesService } from '../switches/switches.service.js';

/**
 * What every domain module is built from in the composition root (src/gateway.ts). Modules get
 * ports (ErpConnector, ShopifyClient), never implementations.
 */
export interface ModuleDeps {
  readonly config: Config;
  readonly log: Logger;
  readonly database: Database;
  readonly metrics: Registry;
  readonly erp: ErpConnector;
  readonly shopify: ShopifyClient;
  /** The shop domain this gateway serves; every Shopify-side row carries it. */
  readonly shop: string;
  /** The secret that signs this shop's webhooks (SHOPIFY_API_SECRET, or the simulator's). */
  readonly webhookSecret: string | undefined;
  readonly now: () => Date;
  /**
   * The go-live switches (INVENTORY_PUSH, ORDERS_TO_ERP, and the app's install state) that
   * pushes and order submission read before each run; absent in tests that build modules alone
   * (everything on).
   */
  readonly switches?: SwitchesService;
  /** How the Shopify token is obtained and stored (the composition root's choice). */
  readonly credentials?: ShopifyCredentials;
}
