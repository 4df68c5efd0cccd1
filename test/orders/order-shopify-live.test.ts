import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLiveNodeCache, LIVE_FIELDS_TTL_MS } from '../../src/shopify/live-nodes.js';
import { startTestGateway, type TestGateway } from '../support/gateway.js';
import { waitFor } from '../support/waiting.js';

// GraphQL answers are read by field path; typing every selection would only restate the query.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Loose = any;

/**
 * `Order.shopify`, through the gateway and the simulated store, as `Product.shopify` is tested
 * (test/inventory/live-fields.test.ts): a page of orders reads its live Shopify fields in one
 * Shopify call, with what Shopify charged in `extensions.shopifyCost`; the same page again is
 * answered from the instance's cache; an edit in Shopify shows once the documented 30 s passed.
 */

let gateway: TestGateway;
let readKey: string;
const ORDERS = 12;
const placed: Array<{ id: string; legacyId: number }> = [];

beforeAll(async () => {
  gateway = await startTestGateway();
  await gateway.services.inventory.whenReady();
  readKey = await gateway.createKey(['read']);
  const level = gateway.demo!.shopify.state
    .levels()
    .find((candidate) => candidate.sku && candidate.quantities.available >= ORDERS && !['GIFT-CARD-25', 'MERCH-TSHIRT-M', 'SAMPLE-PACK'].includes(candidate.sku));
  for (let i = 0; i < ORDERS; i += 1) {
    const result = gateway.demo!.shopify.state.placeOrder({ lines: [{ sku: level!.sku!, quantity: 1 }], location: level!.locationId, financialStatus: i % 2 === 0 ? 'PAID' : 'PENDING' });
    if (!result.placed) throw new Error(`refused: ${result.message}`);
    placed.push({ id: result.order.id, legacyId: result.order.legacyId });
  }
  for (const order of placed) await waitFor(() => gateway.services.orders.findOrder(order.id), (found) => found !== null, { timeoutMs: 60_000, intervalMs: 50 });
}, 180_000);

afterAll(async () => {
  await gateway?.close();
});

const PAGE = `query Page($first: Int) { orders(first: $first) { edges { node { id shopifyOrderId shopify { financialStatus fulfillmentStatus cancelledAt } } } } }`;
const liveCalls = () => gateway.demo!.shopify.state.requestLog().filter((entry) => entry.operationName === 'LiveNodes');

describe('Order.shopify', () => {
  it('reads a page of orders with their Shopify financial and fulfilment status in one Shopify call, and shows what Shopify charged', async () => {
    const before = liveCalls().length;
    const { body } = await gateway.graphql<Loose>(readKey, PAGE, { first: ORDERS });
    expect(body.errors).toBeUndefined();
    const edges = body.data.orders.edges as Array<{ node: { shopifyOrderId: string; shopify: { financialStatus: string; fulfillmentStatus: string; cancelledAt: string | null } } }>;
    expect(edges).toHaveLength(ORDERS);
    expect(liveCalls().length - before).toBe(1);

    const shop = gateway.demo!.shopify.state.shop;
    for (const { node } of edges) {
      const order = placed.find((candidate) => candidate.id === node.shopifyOrderId)!;
      const record = shop.orders.get(order.legacyId)!;
      expect(node.shopify).toEqual({ financialStatus: record.financialStatus, fulfillmentStatus: record.fulfillmentStatus, cancelledAt: null });
    }
    expect(new Set(edges.map((edge) => edge.node.shopify.financialStatus))).toEqual(new Set(['PAID', 'PENDING']));
    expect(body.extensions.shopifyCost.calls).toBe(1);
    expect(body.extensions.shopifyCost.requestedQueryCost).toBeGreaterThan(0);
    expect(body.extensions.shopifyCost.requestedQueryCost).toBeLessThan(1000);
    expect(body.extensions.shopifyCost.actualQueryCost).toBeGreaterThan(0);
    expect(body.extensions.cost.requestedQueryCost).toBeLessThan(1000);
  });

  it('answers the same page again from the instance cache: no Shopify call, the hits counted', async () => {
    const before = liveCalls().length;
    const { body } = await gateway.graphql<Loose>(readKey, PAGE, { first: ORDERS });
    expect(body.errors).toBeUndefined();
    expect(liveCalls().length).toBe(before);
    expect(body.extensions.shopifyCost).toMatchObject({ calls: 0, requestedQueryCost: 0, cacheHits: ORDERS });
  });

  it('shows a status changed in Shopify only once the cached entry is older than the documented 30 seconds', async () => {
    let clock = 1_000_000;
    const cache = createLiveNodeCache(gateway.deps.shopify, { now: () => clock });
    const order = placed[0]!;
    const record = gateway.demo!.shopify.state.shop.orders.get(order.legacyId)!;
    const statusBefore = record.financialStatus;
    expect(await cache.loader().load(order.id)).toMatchObject({ kind: 'order', financialStatus: statusBefore });

    record.financialStatus = 'REFUNDED';
    clock += LIVE_FIELDS_TTL_MS - 1;
    const cached = cache.loader();
    expect(await cached.load(order.id)).toMatchObject({ financialStatus: statusBefore });
    expect(cached.usage.calls).toBe(0);
    clock += 2;
    const fresh = cache.loader();
    expect(await fresh.load(order.id)).toMatchObject({ financialStatus: 'REFUNDED' });
    expect(fresh.usage.calls).toBe(1);
  });
});
