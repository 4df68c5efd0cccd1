import { afterEach, describe, expect, it } from 'vitest';
import { ManualClock, startShopifySimulator, type ShopifySimulator } from '../../../src/simulators/shopify/index.js';
import { graphql } from './support.js';

const catalogue = {
  locations: [{ key: 'WH', name: 'Warehouse' }],
  generate: { products: 300, skuPrefix: 'GEN-', available: 5 },
};

const PAGE_OF_VARIANTS = '{ productVariants(first: 250) { nodes { id inventoryItem { id } } } }';

describe('Shopify simulator: query cost and the leaky bucket', () => {
  let simulator: ShopifySimulator;
  afterEach(async () => {
    await simulator.close();
  });

  it('computes the requested cost with Shopify rules: objects 1, scalars 0, connections 2 + first × node', async () => {
    simulator = await startShopifySimulator({ catalogue });
    // location 1 + inventoryLevels 2 + 10 × (level 1 + item 1 + quantities 1)
    const levels = await graphql(
      simulator,
      `query($id: ID!) { location(id: $id) { name inventoryLevels(first: 10) { edges { cursor node { id item { sku } quantities(names: ["available"]) { quantity } } } pageInfo { hasNextPage } } } }`,
      { id: simulator.state.levels()[0]!.locationId },
    );
    expect(levels.body.extensions?.cost?.requestedQueryCost).toBe(33);
    expect(levels.body.extensions?.cost?.actualQueryCost).toBe(33);
    // nested connections multiply: 2 + 5 × (1 + (2 + 3 × 1))
    const nested = await graphql(simulator, '{ products(first: 5) { nodes { title variants(first: 3) { nodes { sku } } } } }');
    expect(nested.body.extensions?.cost?.requestedQueryCost).toBe(32);
    // nodes(ids:) costs one node per id
    const ids = simulator.state.levels().slice(0, 4).map((level) => level.inventoryItemId);
    const byIds = await graphql(simulator, 'query($ids: [ID!]!) { nodes(ids: $ids) { ... on InventoryItem { id sku } } }', { ids });
    expect(byIds.body.extensions?.cost?.requestedQueryCost).toBe(4);
  });

  it('charges a mutation its flat 10 points whatever it selects', async () => {
    simulator = await startShopifySimulator({ catalogue });
    const answer = await graphql(
      simulator,
      `mutation { webhookSubscriptionCreate(topic: ORDERS_CREATE, webhookSubscription: { uri: "https://example.test/hooks" }) { webhookSubscription { id topic uri } userErrors { field message } } }`,
    );
    expect(answer.body.extensions?.cost).toMatchObject({ requestedQueryCost: 10, actualQueryCost: 10 });
  });

  it('refunds the difference when fewer objects come back than were requested', async () => {
    simulator = await startShopifySimulator({ catalogue, clock: new ManualClock() });
    const answer = await graphql(simulator, '{ productVariants(first: 100, query: "sku:GEN-000001") { nodes { id } } }');
    expect(answer.body.extensions?.cost).toEqual({
      requestedQueryCost: 102,
      actualQueryCost: 3,
      throttleStatus: { maximumAvailable: 2000, currentlyAvailable: 1997, restoreRate: 100 },
    });
  });

  it('refuses a query over 1,000 points with MAX_COST_EXCEEDED and no cost extension, without touching the bucket', async () => {
    simulator = await startShopifySimulator({ catalogue, clock: new ManualClock() });
    // 2 + 250 × (variant 1 + inventoryItem 1 + (2 + 10 × level 1))
    const answer = await graphql(simulator, '{ productVariants(first: 250) { nodes { id inventoryItem { inventoryLevels(first: 10) { nodes { id } } } } } }');
    expect(answer.status).toBe(200);
    expect(answer.body.data).toBeUndefined();
    expect(answer.body.extensions).toBeUndefined();
    expect(answer.body.errors).toEqual([
      {
        message: expect.stringMatching(/^Query cost is 3502, which exceeds the single query max cost limit \(1000\)\./),
        extensions: { code: 'MAX_COST_EXCEEDED', cost: 3502, maxCost: 1000, documentation: 'https://shopify.dev/api/usage/limits#rate-limits' },
      },
    ]);
    expect(simulator.state.bucket().currentlyAvailable).toBe(2000);
  });

  it('answers THROTTLED at HTTP 200 once the bucket cannot hold the requested cost, exactly as Shopify does', async () => {
    simulator = await startShopifySimulator({ catalogue, clock: new ManualClock() });
    const costs: number[] = [];
    for (let i = 0; i < 3; i++) {
      const answer = await graphql(simulator, PAGE_OF_VARIANTS);
      expect(answer.body.errors).toBeUndefined();
      costs.push(answer.body.extensions!.cost!.actualQueryCost!);
    }
    expect(costs).toEqual([502, 502, 502]);
    const throttled = await graphql(simulator, PAGE_OF_VARIANTS);
    expect(throttled.status).toBe(200);
    expect(throttled.body).toEqual({
      errors: [{ message: 'Throttled', extensions: { code: 'THROTTLED', documentation: 'https://shopify.dev/api/usage/rate-limits' } }],
      extensions: { cost: { requestedQueryCost: 502, actualQueryCost: null, throttleStatus: { maximumAvailable: 2000, currentlyAvailable: 494, restoreRate: 100 } } },
    });
    const log = simulator.state.requestLog();
    expect(log.map((entry) => [entry.throttled, entry.currentlyAvailableBefore])).toEqual([
      [false, 2000],
      [false, 1498],
      [false, 996],
      [true, 494],
    ]);
  });

  it('restores the bucket at the plan rate as time passes', async () => {
    const clock = new ManualClock();
    simulator = await startShopifySimulator({ catalogue, clock });
    simulator.state.setBucketAvailable(0);
    expect((await graphql(simulator, PAGE_OF_VARIANTS)).body.errors?.[0]?.extensions?.code).toBe('THROTTLED');
    clock.advance(5_000);
    const stillShort = await graphql(simulator, PAGE_OF_VARIANTS);
    expect(stillShort.body.extensions?.cost?.throttleStatus.currentlyAvailable).toBe(500);
    expect(stillShort.body.errors?.[0]?.extensions?.code).toBe('THROTTLED');
    clock.advance(20);
    const served = await graphql(simulator, PAGE_OF_VARIANTS);
    expect(served.body.errors).toBeUndefined();
    expect(served.body.extensions?.cost?.throttleStatus.currentlyAvailable).toBe(0);
    clock.advance(60_000);
    expect(simulator.state.bucket().currentlyAvailable).toBe(2000);
  });

  it('keeps one bucket per access token', async () => {
    simulator = await startShopifySimulator({ catalogue, clock: new ManualClock(), additionalAccessTokens: ['shpat_other_app'] });
    simulator.state.setBucketAvailable(0);
    expect((await graphql(simulator, PAGE_OF_VARIANTS)).body.errors?.[0]?.extensions?.code).toBe('THROTTLED');
    const other = await graphql(simulator, PAGE_OF_VARIANTS, {}, { token: 'shpat_other_app' });
    expect(other.body.errors).toBeUndefined();
  });

  it('takes its limits from the plan, and a plan change applies at once', async () => {
    simulator = await startShopifySimulator({ catalogue, clock: new ManualClock(), plan: 'plus' });
    let answer = await graphql(simulator, '{ shop { name } }');
    expect(answer.body.extensions?.cost?.throttleStatus).toEqual({ maximumAvailable: 20000, currentlyAvailable: 19999, restoreRate: 1000 });
    simulator.state.setPlan('standard');
    answer = await graphql(simulator, '{ shop { name } }');
    expect(answer.body.extensions?.cost?.throttleStatus).toEqual({ maximumAvailable: 2000, currentlyAvailable: 1999, restoreRate: 100 });
    simulator.state.setPlan('enterprise');
    expect(simulator.state.plan()).toEqual({ name: 'enterprise', maximumAvailable: 40000, restoreRate: 2000 });
  });
});
