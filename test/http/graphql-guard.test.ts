import { getIntrospectionQuery } from 'graphql';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestGateway, type TestGateway } from '../support/gateway.js';

interface CostExtension {
  requestedQueryCost: number;
  actualQueryCost: number | null;
  throttleStatus: { maximumAvailable: number; currentlyAvailable: number; restoreRate: number };
}
type Body = {
  data?: Record<string, unknown> | null;
  errors?: Array<{ message: string; extensions?: Record<string, unknown> & { code?: string } }>;
  extensions?: { cost?: CostExtension };
};

const codes = (body: Body) => (body.errors ?? []).map((error) => error.extensions?.code);

/** Counts calls of the read services' methods: proof that nothing ran (or what did). */
function countCalls(target: object): () => number {
  let calls = 0;
  const record = target as Record<string, unknown>;
  for (const [name, value] of Object.entries(record)) {
    if (typeof value !== 'function') continue;
    const original = value as (...args: unknown[]) => unknown;
    record[name] = (...args: unknown[]) => {
      calls++;
      return original.apply(target, args);
    };
  }
  return () => calls;
}

describe('the GraphQL guard', () => {
  let gateway: TestGateway;
  let readCalls: () => number;

  beforeAll(async () => {
    // The production defaults (the test gateway lifts the cost limits unless told).
    gateway = await startTestGateway({ GRAPHQL_MAX_COST: '1000', GRAPHQL_BUCKET_SIZE: '1000', GRAPHQL_RESTORE_RATE: '50' });
    await gateway.services.inventory.whenReady();
    readCalls = countCalls(gateway.services.inventory.reads);
  });
  afterAll(async () => {
    await gateway.close();
  });

  it('refuses createApiKey through a named fragment to a read key, and creates nothing', async () => {
    const reader = await gateway.createKey(['read']);
    const before = (await gateway.services.auth.apiKeys.list()).length;
    const { status, body } = await gateway.graphql<Body>(reader, 'mutation { ...M } fragment M on Mutation { createApiKey(input: {name: "x", scopes: [ADMIN]}) { key } }');
    expect(status).toBe(200);
    expect(codes(body)).toEqual(['FORBIDDEN']);
    expect(body.data ?? null).toBeNull();
    expect((await gateway.services.auth.apiKeys.list()).length).toBe(before);
    expect(body.extensions?.cost?.actualQueryCost).toBeNull();
  });

  it('answers the standard introspection query to a key of any scope', async () => {
    const syncer = await gateway.createKey(['sync']);
    const { body } = await gateway.graphql<Body & { data: { __schema: { queryType: { name: string } } } }>(syncer, getIntrospectionQuery());
    expect(body.errors).toBeUndefined();
    expect(body.data.__schema.queryType.name).toBe('Query');
    expect(body.extensions?.cost?.requestedQueryCost).toBeGreaterThan(0);
  });

  it('refuses more aliases than the limit before any resolver runs', async () => {
    const reader = await gateway.createKey(['read']);
    const fields = Array.from({ length: 31 }, (_, i) => `p${i}: products(first: 1) { edges { node { sku } } }`).join(' ');
    const calls = readCalls();
    const { body } = await gateway.graphql<Body>(reader, `{ ${fields} }`);
    expect(codes(body)).toEqual(['MAX_ALIASES_EXCEEDED']);
    expect(body.errors?.[0]?.extensions).toMatchObject({ aliases: 31, maxAliases: 30 });
    expect(readCalls()).toBe(calls);
  });

  it('counts aliases repeated through fragments as often as they run', async () => {
    const reader = await gateway.createKey(['read']);
    const aliases = Array.from({ length: 8 }, (_, i) => `s${i}: serverInfo { name }`).join(' ');
    const query = `{ ...A ...B } fragment A on Query { ...F a1: serverInfo { name } } fragment B on Query { ...F } fragment F on Query { ${aliases} ...G } fragment G on Query { ${aliases} }`;
    const { body } = await gateway.graphql<Body>(reader, query);
    expect(codes(body)).toEqual(['MAX_ALIASES_EXCEEDED']);
    expect(body.errors?.[0]?.extensions?.aliases).toBe(33);
  });

  it('refuses a query over the maximum cost with MAX_COST_EXCEEDED before any resolver runs', async () => {
    const reader = await gateway.createKey(['read']);
    const calls = readCalls();
    const { status, body } = await gateway.graphql<Body>(reader, '{ products(first: 500) { edges { node { sku availability { onHand } } } } }');
    expect(status).toBe(200);
    expect(codes(body)).toEqual(['MAX_COST_EXCEEDED']);
    // 2 + 500 × (product 1 + availability 1)
    expect(body.errors?.[0]?.extensions).toMatchObject({ cost: 1002, maxCost: 1000 });
    expect(readCalls()).toBe(calls);
    expect(body.extensions?.cost).toMatchObject({ requestedQueryCost: 1002, actualQueryCost: null });
  });

  it('costs a products page as Shopify would, and charges only what the page really held', async () => {
    const reader = await gateway.createKey(['read']);
    const page = await gateway.graphql<{ data: { products: { edges: Array<{ node: { sku: string } }> } } }>(reader, '{ products(first: 3) { edges { node { sku } } } }');
    const skus = JSON.stringify(page.body.data.products.edges.map((edge) => edge.node.sku));
    expect(JSON.parse(skus)).toHaveLength(3);
    const query = `{ products(first: 100, filter: { skus: ${skus} }) { edges { node { sku availability { location { code } onHand } lots { number } } } pageInfo { hasNextPage } } }`;
    const { body } = await gateway.graphql<Body & { data: { products: { edges: Array<{ node: { availability: unknown[] } }> } } }>(reader, query);
    expect(body.errors).toBeUndefined();
    const cost = body.extensions!.cost!;
    // 2 + 100 × (product 1 + availability 1 + location 1 + lots 2)
    expect(cost.requestedQueryCost).toBe(502);
    expect(body.data.products.edges).toHaveLength(3);
    // Three products, each 1 + availability (1, and 1 for its location when it has a position) + lots 2.
    const perProduct = body.data.products.edges.map((edge) => 1 + (edge.node.availability.length > 0 ? 2 : 1) + 2);
    expect(cost.actualQueryCost).toBe(2 + perProduct.reduce((a, b) => a + b, 0));
    // The bucket keeps what was not used (it refills at 50/s in real time meanwhile).
    const { currentlyAvailable } = cost.throttleStatus;
    expect(currentlyAvailable).toBeGreaterThanOrEqual(1000 - 5 - cost.actualQueryCost!);
    expect(currentlyAvailable).toBeLessThanOrEqual(1000);
  });

  it('puts extensions.cost on every answer: data, field errors, refusals, validation and parse failures', async () => {
    const reader = await gateway.createKey(['read']);
    const answers = [
      await gateway.graphql<Body>(reader, '{ serverInfo { name } }'),
      await gateway.graphql<Body>(reader, '{ product(sku: "NO-SUCH-SKU") { sku } }'),
      await gateway.graphql<Body>(reader, 'mutation { pushInventory(input: {}) { id } }'),
      await gateway.graphql<Body>(reader, '{ nope }'),
      await gateway.graphql<Body>(reader, '{ serverInfo { '),
    ];
    for (const { body } of answers) {
      expect(body.extensions?.cost).toMatchObject({
        requestedQueryCost: expect.any(Number),
        throttleStatus: { maximumAvailable: 1000, currentlyAvailable: expect.any(Number), restoreRate: 50 },
      });
    }
    expect(answers[0]!.body.extensions!.cost).toMatchObject({ requestedQueryCost: 1, actualQueryCost: 1 });
    expect(answers[2]!.body.extensions!.cost).toMatchObject({ requestedQueryCost: 10, actualQueryCost: null });
    expect(answers[3]!.body.extensions!.cost).toMatchObject({ requestedQueryCost: 0, actualQueryCost: null });
  });

  it('charges a mutation 10 plus its payload', async () => {
    const admin = await gateway.createKey(['admin']);
    const { body } = await gateway.graphql<Body>(admin, 'mutation { createApiKey(input: {name: "costed", scopes: [READ]}) { key apiKey { id } } }');
    expect(body.errors).toBeUndefined();
    expect(body.extensions?.cost).toMatchObject({ requestedQueryCost: 11, actualQueryCost: 11 });
  });
});

describe('limits and buckets as configured, and bounded lists', () => {
  let gateway: TestGateway;
  let clock = 1_000_000;
  let readCalls: () => number;
  beforeAll(async () => {
    gateway = await startTestGateway(
      { GRAPHQL_MAX_DEPTH: '4', GRAPHQL_MAX_COST: '1000', GRAPHQL_BUCKET_SIZE: '200', GRAPHQL_RESTORE_RATE: '20', GRAPHQL_INTROSPECTION: 'off', GRAPHQL_MAX_TOKENS: '1000' },
      { graphqlClock: () => clock },
    );
    await gateway.services.inventory.whenReady();
    readCalls = countCalls(gateway.services.inventory.reads);
  });
  afterAll(async () => {
    await gateway.close();
  });

  it('refuses a query deeper than the limit before any resolver runs', async () => {
    const reader = await gateway.createKey(['read']);
    const calls = readCalls();
    // products > edges > node > availability > location: depth 5.
    const { status, body } = await gateway.graphql<Body>(reader, '{ products(first: 1) { edges { node { availability { location { code } } } } } }');
    expect(status).toBe(200);
    expect(codes(body)).toEqual(['MAX_DEPTH_EXCEEDED']);
    expect(body.errors?.[0]?.extensions).toMatchObject({ depth: 5, maxDepth: 4 });
    expect(readCalls()).toBe(calls);
    const shallower = await gateway.graphql<Body>(reader, '{ products(first: 1) { edges { node { availability { onHand } } } } }');
    expect(shallower.body.errors).toBeUndefined();
  });

  it('refuses introspection when it is off, to every key, and still answers __typename', async () => {
    const admin = await gateway.createKey(['admin']);
    const reader = await gateway.createKey(['read']);
    for (const key of [admin, reader]) {
      const { body } = await gateway.graphql<Body>(key, '{ __schema { queryType { name } } }');
      expect(codes(body)).toEqual(['GRAPHQL_VALIDATION_FAILED']);
      expect(body.data ?? null).toBeNull();
    }
    const typename = await gateway.graphql<Body>(reader, '{ __typename }');
    expect(typename.body.data).toEqual({ __typename: 'Query' });
  });

  it('stops parsing a document with more tokens than the limit, and runs nothing', async () => {
    const reader = await gateway.createKey(['read']);
    const calls = readCalls();
    const { status, body } = await gateway.graphql<Body>(reader, `{ products(first: 1) { edges { node { ${'sku '.repeat(1_000)} } } } }`);
    expect(status).toBe(400);
    expect(codes(body)).toEqual(['GRAPHQL_PARSE_FAILED']);
    expect(body.errors?.[0]?.message).toMatch(/contains more th.. 1000 tokens/);
    expect(readCalls()).toBe(calls);
    expect(body.extensions?.cost).toMatchObject({ requestedQueryCost: 0, actualQueryCost: null });
  });

  it('throttles a key that exceeds its bucket, and lets it back in at the restore rate', async () => {
    const reader = await gateway.createKey(['read']);
    const other = await gateway.createKey(['read']);
    // skuMappingReport weighs 10, counts 1: 11 points requested and used, whatever the catalogue.
    const query = '{ skuMappingReport(limit: 1) { counts { mapped } } }';
    const statuses: number[] = [];
    for (let i = 0; i < 18; i++) {
      const { body } = await gateway.graphql<Body>(reader, query);
      expect(codes(body)).toEqual([]);
      expect(body.extensions?.cost).toMatchObject({ requestedQueryCost: 11, actualQueryCost: 11 });
      statuses.push(body.extensions!.cost!.throttleStatus.currentlyAvailable);
    }
    expect(statuses).toEqual(Array.from({ length: 18 }, (_, i) => 200 - 11 * (i + 1)));

    const calls = readCalls();
    const throttled = (await gateway.graphql<Body>(reader, query)).body;
    expect(codes(throttled)).toEqual(['THROTTLED']);
    expect(throttled.data ?? null).toBeNull();
    expect(readCalls()).toBe(calls);
    expect(throttled.extensions?.cost).toEqual({
      requestedQueryCost: 11,
      actualQueryCost: null,
      throttleStatus: { maximumAvailable: 200, currentlyAvailable: 2, restoreRate: 20 },
    });
    // (11 − 2) / 20 points per second, rounded up.
    expect(throttled.errors?.[0]?.extensions?.retryAfterSeconds).toBe(1);

    // Another key has its own bucket.
    expect(codes((await gateway.graphql<Body>(other, query)).body)).toEqual([]);

    // 0.4 s later 10 points are there, one short; at 0.45 s the request is answered.
    clock += 400;
    const early = (await gateway.graphql<Body>(reader, query)).body;
    expect(codes(early)).toEqual(['THROTTLED']);
    expect(early.extensions?.cost?.throttleStatus.currentlyAvailable).toBe(10);
    clock += 50;
    const recovered = (await gateway.graphql<Body>(reader, query)).body;
    expect(codes(recovered)).toEqual([]);
    expect(recovered.extensions?.cost?.throttleStatus.currentlyAvailable).toBe(0);

    // A full bucket after (200 / 20) seconds, never more.
    clock += 60_000;
    const full = (await gateway.graphql<Body>(reader, '{ serverInfo { name } }')).body;
    expect(full.extensions?.cost?.throttleStatus.currentlyAvailable).toBe(199);
  });

  it('answers locations, safetyStockRules and apiKeys within their bound, and RESULT_TOO_LARGE beyond it naming what to use', async () => {
    const ask = <T = Body>(key: string, query: string) => {
      clock += 60_000; // a full bucket for every request: this test is about the lists
      return gateway.graphql<T>(key, query);
    };
    const reader = await gateway.createKey(['read']);
    const admin = await gateway.createKey(['admin']);
    const all = await ask<Body & { data: { locations: Array<{ code: string; warehouseCode: string }> } }>(reader, '{ locations { code warehouseCode } }');
    expect(all.body.errors).toBeUndefined();
    const count = all.body.data.locations.length;
    expect(count).toBeGreaterThan(1);

    const cut = await ask<Body>(reader, `{ locations(first: ${count - 1}) { code } }`);
    expect(codes(cut.body)).toEqual(['RESULT_TOO_LARGE']);
    expect(cut.body.errors?.[0]?.message).toContain('warehouse');

    const warehouse = all.body.data.locations[0]!.warehouseCode;
    const one = await ask<Body & { data: { locations: Array<{ warehouseCode: string }> } }>(reader, `{ locations(warehouse: "${warehouse}") { warehouseCode } }`);
    expect(one.body.data.locations.every((l) => l.warehouseCode === warehouse)).toBe(true);

    const tooMany = await ask<Body>(reader, '{ locations(first: 0) { code } }');
    expect(codes(tooMany.body)).toEqual(['BAD_USER_INPUT']);

    const keys = await ask<Body>(admin, '{ apiKeys(first: 1) { id } }');
    expect(codes(keys.body)).toEqual(['RESULT_TOO_LARGE']);
    const allKeys = await ask<Body & { data: { apiKeys: unknown[] } }>(admin, '{ apiKeys { id } }');
    expect(allKeys.body.data.apiKeys.length).toBe((await gateway.services.auth.apiKeys.list()).length);

    const rules = await ask<Body & { data: { safetyStockRules: unknown[] } }>(reader, '{ safetyStockRules(first: 1) { quantity } }');
    expect(rules.body.errors).toBeUndefined();
  });

  it('reads lots across the catalogue only within the bound, and inventoryDrift within its bound', async () => {
    const ask = <T = Body>(key: string, query: string) => {
      clock += 60_000;
      return gateway.graphql<T>(key, query);
    };
    const reader = await gateway.createKey(['read']);
    const cut = await ask<Body>(reader, '{ lots(first: 1) { number } }');
    expect(codes(cut.body)).toEqual(['RESULT_TOO_LARGE']);
    expect(cut.body.errors?.[0]?.message).toMatch(/narrow with sku/);
    const page = await ask<{ data: { products: { edges: Array<{ node: { sku: string } }> } } }>(reader, '{ products(first: 1) { edges { node { sku } } } }');
    const sku = page.body.data.products.edges[0]!.node.sku;
    const lots = await ask<Body & { data: { lots: Array<{ sku: string }> } }>(reader, `{ lots(sku: "${sku}") { number sku } }`);
    expect(lots.body.errors).toBeUndefined();
    expect(lots.body.data.lots.every((lot) => lot.sku === sku)).toBe(true);
    const drift = await ask<Body>(reader, '{ inventoryDrift(first: 10) { sku } }');
    expect(codes(drift.body).filter((code) => code !== 'RESULT_TOO_LARGE')).toEqual([]);
  });
});