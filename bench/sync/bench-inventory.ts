/**
 * Shared by the sync benchmarks: the inventory module of a bench, started on a database of the
 * bench's own against a store process (bench-store.ts) and an ERP connector, with the module
 * adapters (`ModuleDeps`) the bench builds its sync module from.
 */
import type { Config } from '../../src/config.js';
import type { Database } from '../../src/db/database.js';
import type { ModuleDeps } from '../../src/domain-module.js';
import type { ErpConnector } from '../../src/erp/erp-connector.js';
import { createInventoryModule, type InventoryModule } from '../../src/inventory/inventory.module.js';
import { createPushSignal } from '../../src/inventory/push-signal.js';
import type { Logger } from '../../src/logger.js';
import { createMetricsRegistry } from '../../src/metrics.js';
import { AdminApiShopifyClient } from '../../src/shopify/admin-api-shopify-client.js';
import { openBenchDatabase, type StoreProcess } from './bench-store.js';

export interface BenchInventory {
  readonly database: Database;
  readonly shopify: AdminApiShopifyClient;
  readonly deps: ModuleDeps;
  readonly pushSignal: ReturnType<typeof createPushSignal>;
  readonly inventory: InventoryModule;
  /** Stops the inventory module and closes the Shopify client, the store process and the database (dropped on PostgreSQL). */
  close(): Promise<void>;
}

/** Opens and migrates the bench database, then starts the inventory module and waits until it is ready. */
export async function startBenchInventory(store: StoreProcess, erp: ErpConnector, log: Logger, config: Config): Promise<BenchInventory> {
  const { database, drop } = await openBenchDatabase();
  await database.migrate();
  const metrics = createMetricsRegistry({ defaultMetrics: false });
  const shopify = new AdminApiShopifyClient({ shopDomain: store.shopDomain, accessToken: store.accessToken, adminUrl: store.adminUrl, logger: log, metrics });
  const deps: ModuleDeps = { config, log, database, metrics, erp, shopify, shop: store.shopDomain, webhookSecret: store.apiSecret, now: () => new Date() };
  const pushSignal = createPushSignal();
  const inventory = createInventoryModule(deps, { pushSignal });
  await inventory.start();
  await inventory.services.whenReady();
  return {
    database,
    shopify,
    deps,
    pushSignal,
    inventory,
    async close() {
      await inventory.stop();
      await shopify.close();
      await store.close();
      await database.close();
      await drop();
    },
  };
}
