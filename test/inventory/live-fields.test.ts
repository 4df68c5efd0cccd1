import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLiveNodeCache, LIVE_FIELDS_TTL_MS } from '../../src/shopify/live-nodes.js';
import { startTestGateway, type TestGateway } from '../support/gateway.js';

// GraphQL answers are read by field path; typing every selection would only restate the query.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Loose = any;

let gateway: TestGateway;
let readKey: string;

beforeAll(async () => {
  gateway = await startTestGateway();
  await gateway.services.inventory.whenReady();
  readKey = await gateway.createKey(['read']);
}, 120_000);

afterAll(async () => {
  await gateway?.close();
});

const LIVE_PAGE = `
  query Live($first: Int, $after: String) {
    products(first: $first, after: $after, filter: { mapped: true }) {
      edges { node {
        sku shopifyVariantId
        shopify { productId productTitle productStatus variantId variantTitle price inventoryPolicy tracked }
        erp { name stockTracked active components { sku quantity } }
      } }
    }
  }`;

const liveCalls = () => gateway.demo!.shopify.state.requestLog().filter((entry) => entry.operationName === 'LiveNodes');
const numericId = (gid: string) => Number(gid.slice(gid.lastIndexOf('/') + 1));

describe('Product.shopify and Product.erp', () => {
  it('reads 100 products with their live Shopify fields in one Shopify call, under 1,000 cost points on both sides, and shows what Shopify charged', async () => {
    const before = liveCalls().length;
    const { body } = await gateway.graphql<Loose>(readKey, LIVE_PAGE, { first: 100 });
    expect(body.errors).toBeUndefined();
    const edges = body.data.products.edges;
    expect(edges).toHaveLength(100);
    expect(liveCalls().length - before).toBe(1);

    const shop = gateway.demo!.shopify.state.shop;
    for (const { node } of edges) {
      const variant = shop.variants.get(numericId(node.shopifyVariantId))!;
      const product = shop.products.get(variant.productId)!;
      expect(node.shopify).toMatchObject({ variantId: node.shopifyVariantId, variantTitle: variant.title, price: variant.price, productTitle: product.title, productStatus: product.status });
      expect(['DENY', 'CONTINUE']).toContain(node.shopify.inventoryPolicy);
      expect(node.erp.name.length).toBeGreaterThan(0);
    }
    expect(body.extensions.cost.requestedQueryCost).toBeLessThan(1000);
    expect(body.extensions.shopifyCost.calls).toBe(1);
    expect(body.extensions.shopifyCost.requestedQueryCost).toBeGreaterThan(0);
    expect(body.extensions.shopifyCost.requestedQueryCost).toBeLessThan(1000);
    expect(body.extensions.shopifyCost.actualQueryCost).toBeGreaterThan(0);
  });

  it('answers the same page again from the instance cache: no Shopify call, the hits counted', async () => {
    await gateway.graphql<Loose>(readKey, LIVE_PAGE, { first: 20 });
    const before = liveCalls().length;
    const { body } = await gateway.graphql<Loose>(readKey, LIVE_PAGE, { first: 20 });
    expect(body.errors).toBeUndefined();
    expect(liveCalls().length).toBe(before);
    expect(body.extensions.shopifyCost).toMatchObject({ calls: 0, requestedQueryCost: 0, cacheHits: 20 });
  });

  it('shows a price changed in Shopify only once the cached entry is older than the documented 30 seconds', async () => {
    let clock = 1_000_000;
    const cache = createLiveNodeCache(gateway.deps.shopify, { now: () => clock });
    const { body } = await gateway.graphql<Loose>(readKey, LIVE_PAGE, { first: 1 });
    const variantId = body.data.products.edges[0].node.shopifyVariantId as string;
    const variant = gateway.demo!.shopify.state.shop.variants.get(numericId(variantId))!;

    const priceBefore = variant.price;
    expect(await cache.loader().load(variantId)).toMatchObject({ kind: 'variant', price: priceBefore });
    variant.price = '1234.50';
    clock += LIVE_FIELDS_TTL_MS - 1;
    const cachedLoader = cache.loader();
    expect(await cachedLoader.load(variantId)).toMatchObject({ price: priceBefore });
    expect(cachedLoader.usage.calls).toBe(0);
    clock += 2;
    const freshLoader = cache.loader();
    expect(await freshLoader.load(variantId)).toMatchObject({ price: '1234.50' });
    expect(freshLoader.usage.calls).toBe(1);
  });

  it('answers null for an unmapped product, without asking Shopify', async () => {
    const before = liveCalls().length;
    const { body } = await gateway.graphql<Loose>(readKey, `{ products(first: 5, filter: { mapped: false }) { edges { node { sku mappingStatus shopify { price } erp { name } } } } }`);
    expect(body.errors).toBeUndefined();
    expect(body.data.products.edges.length).toBeGreaterThan(0);
    for (const { node } of body.data.products.edges) expect(node.shopify).toBeNull();
    expect(liveCalls().length).toBe(before);
    expect(body.extensions.shopifyCost).toBeUndefined();
  });
});
