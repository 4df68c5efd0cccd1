import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { TrytonRpcClient } from '../../src/erp/tryton/tryton-rpc-client.js';
import { createLogger } from '../../src/logger.js';
import { startShopifySimulator, type ShopifySimulator } from '../../src/simulators/shopify/index.js';
import { LOTS_METAFIELD_KEY, LOTS_METAFIELD_NAMESPACE, type LotsMetafieldValue } from '../../src/sync/lots-push.js';
import { TrytonErpFixture } from '../../scripts/lib/tryton-fixture.js';
import { startTestGateway, type TestGateway } from '../support/gateway.js';
import { describeWithTryton, trytonCredentials, trytonEnvironment } from '../support/tryton.js';

/**
 * Expiry against a real Tryton (with stock_lot_sled: lots carry `expiration_date`) and the
 * Shopify simulator: a lot received with an expiry inside the sellable horizon stops counting in
 * the ATP, and Shopify's `available` drops by its units; a lot received later reaches the
 * variant's `stockbridge.lots` metafield in one delta run. Start Tryton with
 * `bash scripts/tryton.sh start` and `eval "$(bash scripts/tryton.sh env)"`; skipped otherwise.
 */

const warehouses = ['WH', 'WH-EAST', 'WH-WEST'];

function daysFromToday(days: number): string {
  const date = new Date();
  date.setUTCDate(date.getUTCDate() + days);
  return date.toISOString().slice(0, 10);
}

type Body<T> = { data?: T | null; errors?: Array<{ message: string }> };

describeWithTryton('expiry-aware ATP with a real Tryton', () => {
  const sku = `EXP${randomBytes(3).toString('hex').toUpperCase()}`;
  let simulator: ShopifySimulator;
  let gateway: TestGateway;
  let key: string;

  beforeAll(async () => {
    const fixture = new TrytonErpFixture(new TrytonRpcClient({ ...trytonCredentials!, logger: createLogger('silent') }));
    await fixture.createProducts([{ sku, name: `Adhesive ${sku}`, lotTracked: true }]);
    await fixture.receiveMany('WH', [
      { sku, quantity: 10, lot: { number: `${sku}-FRESH`, expiresOn: daysFromToday(400) } },
      { sku, quantity: 6, lot: { number: `${sku}-SOON`, expiresOn: daysFromToday(5) } },
    ]);
    simulator = await startShopifySimulator({
      plan: 'standard',
      catalogue: {
        locations: warehouses.map((code) => ({ key: code, name: code })),
        products: [{ title: sku, variants: [{ sku, levels: Object.fromEntries(warehouses.map((code) => [code, 999])) }] }],
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
    key = await gateway.createKey(['read', 'sync', 'admin']);
  }, 180_000);

  afterAll(async () => {
    await gateway?.close();
    await simulator?.close();
  });

  const push = (full: boolean) =>
    gateway.graphql<Body<{ pushInventory: { status: string; itemsFailed: number } }>>(
      key,
      'mutation($skus: [String!], $full: Boolean) { pushInventory(input: { skus: $skus, full: $full }) { status itemsFailed } }',
      { skus: [sku], full },
    );
  const atWarehouse = async () => {
    const answer = await gateway.graphql<Body<{ product: { availability: Array<{ onHand: number; expiringSoon: number; availableToPromise: number }>; lots: Array<{ number: string; expiresOn: string }> } }>>(
      key,
      'query($sku: String!) { product(sku: $sku) { availability(location: "WH") { onHand expiringSoon availableToPromise } lots(location: "WH") { number expiresOn } } }',
      { sku },
    );
    return answer.body.data!.product;
  };

  it('a lot that expires within the horizon stops counting, and Shopify’s available drops by its units', { timeout: 120_000 }, async () => {
    expect((await push(true)).body.data?.pushInventory).toMatchObject({ status: 'SUCCEEDED', itemsFailed: 0 });
    const before = await atWarehouse();
    expect(before.availability).toEqual([{ onHand: 16, expiringSoon: 0, availableToPromise: 16 }]);
    // FEFO, with Tryton's expiry dates.
    expect(before.lots).toEqual([
      { number: `${sku}-SOON`, expiresOn: daysFromToday(5) },
      { number: `${sku}-FRESH`, expiresOn: daysFromToday(400) },
    ]);
    expect(simulator.state.level({ sku, location: 'WH' })?.quantities.available).toBe(16);

    const set = await gateway.graphql<Body<{ setSellableShelfLife: { rule: { days: number } | null; userErrors: unknown[] } }>>(
      key,
      'mutation($sku: String!) { setSellableShelfLife(input: { sku: $sku, days: 10 }) { rule { days } userErrors { code } } }',
      { sku },
    );
    expect(set.body.data?.setSellableShelfLife).toEqual({ rule: { days: 10 }, userErrors: [] });
    expect((await atWarehouse()).availability).toEqual([{ onHand: 16, expiringSoon: 6, availableToPromise: 10 }]);

    expect((await push(false)).body.data?.pushInventory).toMatchObject({ status: 'SUCCEEDED', itemsFailed: 0 });
    expect(simulator.state.level({ sku, location: 'WH' })?.quantities.available).toBe(10);
  });

  it('a lot received in Tryton reaches the variant’s stockbridge.lots metafield in one delta run', { timeout: 120_000 }, async () => {
    const lotsInShopify = async () => {
      const product = await gateway.graphql<Body<{ product: { shopifyVariantId: string } }>>(key, 'query($sku: String!) { product(sku: $sku) { shopifyVariantId } }', { sku });
      const fields = await gateway.deps.shopify.getVariantMetafields([product.body.data!.product.shopifyVariantId], LOTS_METAFIELD_NAMESPACE);
      const value = fields.find((field) => field.key === LOTS_METAFIELD_KEY)?.value;
      return value ? (JSON.parse(value) as LotsMetafieldValue).lots.map((lot) => ({ number: lot.number, location: lot.location, quantity: lot.quantity, expiresOn: lot.expiresOn })) : [];
    };
    // The earlier pushes wrote the lots that were there (soonest expiry first).
    expect((await lotsInShopify()).map((lot) => lot.number)).toEqual([`${sku}-SOON`, `${sku}-FRESH`]);

    // The delta has run before (a running gateway's feed has a position; its first run only takes one).
    expect(await gateway.scheduler.runNow('sync.delta')).toMatchObject({ status: 'SUCCEEDED' });
    const fixture = new TrytonErpFixture(new TrytonRpcClient({ ...trytonCredentials!, logger: createLogger('silent') }));
    await fixture.receiveMany('WH', [{ sku, quantity: 4, lot: { number: `${sku}-NEW`, expiresOn: daysFromToday(200) } }]);
    // One run of the delta: Tryton's stock feed names the SKU, the ATP refresh reads its lots, the push writes them.
    const outcome = await gateway.scheduler.runNow('sync.delta');
    expect(outcome).toMatchObject({ status: 'SUCCEEDED' });
    expect(await lotsInShopify()).toEqual([
      { number: `${sku}-SOON`, location: 'WH', quantity: 6, expiresOn: daysFromToday(5) },
      { number: `${sku}-NEW`, location: 'WH', quantity: 4, expiresOn: daysFromToday(200) },
      { number: `${sku}-FRESH`, location: 'WH', quantity: 10, expiresOn: daysFromToday(400) },
    ]);
  });
});
