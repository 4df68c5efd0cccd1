import type { Registry } from 'prom-client';
import type { Config } from '../config.js';
import type { Database } from '../db/database.js';
import type { ErpConnector } from '../erp/erp-connector.js';
import type { Logger } from '../logger.js';
import type { ShopifyClient } from '../shopify/shopify-client.js';

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
}
