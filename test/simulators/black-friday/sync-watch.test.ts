import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { planCatalogue, shopCatalogue } from '../../../src/simulators/black-friday/catalogue.js';
import { emptyLedger } from '../../../src/simulators/black-friday/ledger.js';
import { startSyncWatch } from '../../../src/simulators/black-friday/sync-watch.js';
import { startShopifySimulator, type ShopifySimulator } from '../../../src/simulators/shopify/index.js';

/**
 * The run's sync watch against the real store simulator: a receipt counts as shown only once the
 * store's level has risen by its units net of Shopify's own sales since (an order placed there
 * meanwhile), and one never shown is counted as such when the watch stops.
 */
describe('Black Friday sync watch', () => {
  let simulator: ShopifySimulator;
  const plan = planCatalogue({ skus: 4, totalOrders: 10, runId: 'SW', locations: ['WH', 'WH-EAST'] });
  const sku = plan.hot[0]!;
  beforeAll(async () => {
    simulator = await startShopifySimulator({ plan: 'plus', catalogue: shopCatalogue(plan) });
  });
  afterAll(() => simulator.close());

  it('times a receipt until the store shows it, net of the sales Shopify made meanwhile, and counts one never shown', async () => {
    simulator.state.setQuantity({ sku, location: 'WH', quantity: 10 });
    const ledger = emptyLedger();
    const watch = startSyncWatch({ simulator, ledger, everyMs: 10, timeoutMs: 60_000 });

    await watch.receipt(sku, 'WH', 5, () => {});
    // A shopper buys 2 at that location: Shopify shows 8, the push has not come.
    const sold = simulator.state.placeOrder({ lines: [{ sku, quantity: 2 }], location: 'WH' });
    expect(sold.placed).toBe(true);
    ledger.accepted.push({ reference: 'gid://shopify/Order/1', placedAt: Date.now(), lines: [{ sku, location: 'WH', quantity: 2 }], cancelled: false });
    await sleep(120);
    // A push computed before the receipt (the ATP less the sale) does not count.
    simulator.state.setQuantity({ sku, location: 'WH', quantity: 9 });
    await sleep(80);
    // The push with the receipt in it: 10 + 5 − 2.
    simulator.state.setQuantity({ sku, location: 'WH', quantity: 13 });
    await sleep(60);

    // A second receipt elsewhere that the store never shows.
    await watch.receipt(sku, 'WH-EAST', 4, () => {});
    const figures = watch.stop();

    expect(figures).toMatchObject({ receipts: 2, samples: 1, notShown: 1 });
    expect(figures.max).toBeGreaterThanOrEqual(190);
    expect(figures.max).toBeLessThan(5_000);
    expect(figures.timed).toHaveLength(1);
  });
});
