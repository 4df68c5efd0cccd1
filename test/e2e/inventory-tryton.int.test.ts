import { afterAll, beforeAll, expect, it } from 'vitest';
import { startShopifySimulator, type ShopifySimulator } from '../../src/simulators/shopify/index.js';
import { startTestGateway, type TestGateway } from '../support/gateway.js';
import { describeWithTryton, trytonEnvironment } from '../support/tryton.js';

/**
 * End to end against a real Tryton (scripts/tryton.sh) and the Shopify simulator: after a full
 * push, every mapped item-location in the store equals the ATP computed from Tryton's numbers.
 * Runs when ERP_URL and the other ERP_* variables are set; skipped otherwise.
 */
/** Products the seed script puts in Tryton, with stock in its warehouses. */
const seededSkus = ['RAW-1', 'SKU-2', 'SKU-3'];
const warehouses = ['WH', 'WH-EAST', 'WH-WEST'];

describeWithTryton('inventory end to end with a real Tryton', () => {
  let simulator: ShopifySimulator;
  let gateway: TestGateway;

  beforeAll(async () => {
    simulator = await startShopifySimulator({
      plan: 'standard',
      catalogue: {
        // Named after the ERP's warehouse codes, so the first start maps them automatically.
        locations: warehouses.map((code) => ({ key: code, name: code })),
        products: seededSkus.map((sku) => ({
          title: sku,
          // Deliberately wrong numbers in the store: the push must correct every one.
          variants: [{ sku, levels: Object.fromEntries(warehouses.map((code) => [code, 999])) }],
        })),
      },
    });
    gateway = await startTestGateway({
      ERP_CONNECTOR: 'tryton',
      ...trytonEnvironment(),
      SHOPIFY_SHOP: simulator.shopDomain,
      SHOPIFY_ACCESS_TOKEN: simulator.accessToken,
      SHOPIFY_API_SECRET: simulator.apiSecret,
      SHOPIFY_ADMIN_URL: simulator.adminUrl,
    });
    await gateway.services.inventory.whenReady();
  }, 120_000);

  afterAll(async () => {
    await gateway?.close();
    await simulator?.close();
  });

  it('sets every mapped item-location in Shopify to the ATP computed from Tryton\u2019s numbers', async () => {
    const key = await gateway.createKey(['read', 'sync', 'admin']);
    const locations = await gateway.graphql<{ data: { locations: Array<{ code: string; shopifyLocationId: string | null }> } }>(
      key,
      '{ locations { code shopifyLocationId } }',
    );
    const mapped = locations.body.data.locations.filter((l) => warehouses.includes(l.code));
    expect(mapped.map((l) => l.code).sort()).toEqual([...warehouses].sort());
    expect(mapped.every((l) => l.shopifyLocationId)).toBe(true);

    const run = await gateway.graphql<{ data: { pushInventory: { status: string; itemsFailed: number } } }>(
      key,
      'mutation { pushInventory(input: { full: true }) { status itemsFailed } }',
    );
    expect(run.body.data.pushInventory).toMatchObject({ status: 'SUCCEEDED', itemsFailed: 0 });

    // Tryton's own numbers, read directly through the connector, through the formula.
    const { levels } = await gateway.deps.erp.getStockBySkus(seededSkus, warehouses);
    let compared = 0;
    for (const sku of seededSkus) {
      for (const location of warehouses) {
        const level = levels.find((l) => l.sku === sku && l.location === location);
        const expected = Math.max(0, Math.floor((level?.onHand ?? 0) - (level?.allocated ?? 0) - (level?.wholesaleCommitted ?? 0)));
        const inShopify = simulator.state.level({ sku, location });
        expect({ sku, location, available: inShopify?.quantities.available }).toEqual({ sku, location, available: expected });
        compared += 1;
      }
    }
    expect(compared).toBe(seededSkus.length * warehouses.length);
  });
});
