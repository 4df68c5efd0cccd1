import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { SimulatedErp } from '../../src/erp/simulated/simulated-erp.js';
import { SimulatedErpConnector } from '../../src/erp/simulated/simulated-erp-connector.js';
import { createInventoryModule, type InventoryModule } from '../../src/inventory/inventory.module.js';
import { AdminApiShopifyClient } from '../../src/shopify/admin-api-shopify-client.js';
import { startShopifySimulator, type ShopifySimulator } from '../../src/simulators/shopify/index.js';
import { createTestDatabase, type TestDatabase } from '../support/database.js';
import { createMemoryLogger } from '../support/gateway.js';

let database: TestDatabase;
let simulator: ShopifySimulator;
let shopify: AdminApiShopifyClient;
let inventory: InventoryModule;
const memory = createMemoryLogger();
const erp = new SimulatedErp();

beforeAll(async () => {
  erp.addWarehouse({ code: 'LDS', name: 'Leeds plant' });
  erp.addProduct({ sku: 'HINGE-BUTT-75-BLK', name: 'Hinge' });
  erp.seedStock({ sku: 'HINGE-BUTT-75-BLK', location: 'LDS', quantity: 12 });
  [database, simulator] = await Promise.all([
    createTestDatabase(),
    startShopifySimulator({
      logger: memory.log,
      catalogue: { locations: [{ key: 'LDS', name: 'Leeds plant' }], products: [{ title: 'Hinge', variants: [{ sku: 'hinge-butt-75-black' }] }] },
    }),
  ]);
  shopify = new AdminApiShopifyClient({ shopDomain: simulator.shopDomain, accessToken: simulator.accessToken, adminUrl: simulator.adminUrl, logger: memory.log, metrics: new Registry() });
  const connector = new SimulatedErpConnector(erp, { logger: memory.log, policy: { maxAttempts: 1, timeoutMs: 1_000 } });
  inventory = createInventoryModule(
    {
      config: loadConfig({}),
      log: memory.log,
      database,
      metrics: new Registry(),
      erp: connector,
      shopify,
      shop: simulator.shopDomain,
      webhookSecret: simulator.apiSecret,
      now: () => new Date(),
    },
    { defaultAbbreviations: { BLK: 'black' } },
  );
}, 60_000);

afterAll(async () => {
  await inventory?.stop();
  await shopify?.close();
  await simulator?.close();
  await database?.close();
});

describe('the inventory module', () => {
  it('starts with the ERP down: reads the Shopify side, logs what failed, and the catalogue job completes the rest', async () => {
    erp.fail({ mode: 'down' });
    await inventory.start();
    await inventory.services.whenReady();
    const failed = memory.lines().filter((line) => line.msg === 'inventory first-start step failed; the catalogue job will retry');
    expect(failed.map((line) => line.step)).toEqual(['ERP catalogue', 'read model']);
    expect((await inventory.services.mapping.getMappingReport()).unmappedShopifyVariants.map((v) => v.sku)).toEqual(['hinge-butt-75-black']);

    erp.recover();
    const [job] = inventory.jobs ?? [];
    expect(job!.name).toBe('inventory.catalogue-refresh');
    const outcome = await job!.run({ log: memory.log, runId: 'test', signal: new AbortController().signal, scheduledAt: new Date(), fence: { job: 'test', token: 1 } });
    expect(outcome).toMatchObject({ erpProducts: 1, shopifyVariants: 1, mapped: 1, locationsAutoMapped: 1 });
    // The demo's abbreviations seeded at first start let the rules find the respelled SKU.
    expect((await inventory.services.mapping.findSkuMappingsBySkus(['HINGE-BUTT-75-BLK']))[0]).toMatchObject({ shopifySku: 'hinge-butt-75-black', source: 'RULE' });
    await inventory.services.atp.refreshPositions('all');
    expect((await inventory.services.mapping.getPushTargets(['HINGE-BUTT-75-BLK'])).map((t) => t.location)).toEqual(['LDS']);
  });
});
