/**
 * What the GraphQL guard adds to one request: its Apollo hooks as Apollo calls them, around a
 * typical `products(first: 100)` page with availability at three locations and two lots per
 * product (the answer's size drives the actual-cost walk). Before execution: the walk of the
 * operation with fragments expanded (depth, aliases, scopes, requested cost) and the key's
 * bucket; after: the actual cost from the returned lists and the refund. Parsing and validation
 * are Apollo's and happen with or without the guard, so they are not counted.
 * Target: p50 under 1 ms.
 *
 *   npx tsx bench/graphql-guard.bench.ts [iterations=20000]
 */
import { makeExecutableSchema } from '@graphql-tools/schema';
import { parse, type OperationDefinitionNode } from 'graphql';
import { createGraphqlGuard, defaultGraphqlGuardOptions } from '../src/http/graphql-guard/graphql-guard.js';
import { actualCost, analyzeOperation, fragmentsOf } from '../src/http/graphql-guard/operation-analysis.js';
import { buildResolvers, loadTypeDefs } from '../src/http/graphql-schema.js';

const iterations = Number(process.argv[2] ?? 20_000);

const query = `query Page($after: String) {
  products(first: 100, after: $after) {
    edges { node { sku name shopifySku
      availability { location { code shopifyLocationId } onHand allocated safetyStock wholesaleCommitted reserved pendingShopifyOrders availableToPromise shopifyAvailable computedAt }
      lots { number location quantity expiresOn } } }
    pageInfo { hasNextPage endCursor } } }`;

const document = parse(query);
const operation = document.definitions[0] as OperationDefinitionNode;
const fragments = fragmentsOf(document);

const data = {
  products: {
    edges: Array.from({ length: 100 }, (_, i) => ({
      node: {
        sku: `SKU-${i}`,
        name: `Product ${i}`,
        shopifySku: `sku-${i}`,
        availability: ['WH1', 'WH2', 'WH3'].map((code) => ({
          location: { code, shopifyLocationId: `gid://shopify/Location/${code}` },
          onHand: 10, allocated: 1, safetyStock: 0, wholesaleCommitted: 0, reserved: 0, pendingShopifyOrders: 0,
          availableToPromise: 9, shopifyAvailable: 9, computedAt: '2026-12-06T00:00:00.000Z',
        })),
        lots: [1, 2].map((n) => ({ number: `L${n}`, location: 'WH1', quantity: 5, expiresOn: null })),
      },
    })),
    pageInfo: { hasNextPage: true, endCursor: 'x' },
  },
};

const schema = makeExecutableSchema({ typeDefs: loadTypeDefs(), resolvers: buildResolvers() as never });
// A bucket that never runs dry: the figure is the guard's work, not its refusals.
const guard = createGraphqlGuard(schema, { ...defaultGraphqlGuardOptions, bucketSize: 1e12, restoreRate: 1e12 });
const contextValue = { principal: { keyId: 'bench', name: 'bench', scopes: new Set(['read']) } };

type Listener = {
  didResolveOperation(context: unknown): Promise<void>;
  executionDidStart(context: unknown): Promise<void>;
  willSendResponse(context: unknown): Promise<void>;
};

async function oneRequest(): Promise<void> {
  const listener = (await guard.plugin.requestDidStart!({ contextValue } as never)) as unknown as Listener;
  const request = { variables: { after: null } };
  await listener.didResolveOperation({ operation, document, request, contextValue });
  await listener.executionDidStart({});
  const response = { body: { kind: 'single', singleResult: { data } } };
  await listener.willSendResponse({ response, operation, document, request, contextValue });
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

function measure(run: () => unknown): number[] {
  const times: number[] = [];
  for (let i = 0; i < iterations; i++) {
    const started = performance.now();
    run();
    times.push(performance.now() - started);
  }
  return times.sort((a, b) => a - b);
}

async function measureAsync(run: () => Promise<unknown>): Promise<number[]> {
  const times: number[] = [];
  for (let i = 0; i < iterations; i++) {
    const started = performance.now();
    await run();
    times.push(performance.now() - started);
  }
  return times.sort((a, b) => a - b);
}

const format = (times: number[]) =>
  `p50 ${(percentile(times, 50) * 1000).toFixed(1)} µs, p99 ${(percentile(times, 99) * 1000).toFixed(1)} µs, max ${(times.at(-1)! * 1000).toFixed(0)} µs`;

// Warm-up, so the figures are of optimised code.
for (let i = 0; i < 2_000; i++) await oneRequest();

const analysis = analyzeOperation(guard.rules, operation, fragments, { after: null });
const actual = actualCost(guard.rules, operation, fragments, { after: null }, data);
process.stdout.write(
  `typical products(first: 100) page with availability (3 locations) and lots (2 per product): ` +
    `requested cost ${analysis.cost}, actual ${actual}, depth ${analysis.depth}; ${iterations} iterations\n`,
);
process.stdout.write(`  walk before execution (depth, aliases, scopes, requested cost): ${format(measure(() => analyzeOperation(guard.rules, operation, fragments, { after: null })))}\n`);
process.stdout.write(`  actual cost from the answer (300 positions, 200 lots):         ${format(measure(() => actualCost(guard.rules, operation, fragments, { after: null }, data)))}\n`);
const whole = await measureAsync(oneRequest);
process.stdout.write(`  the guard's Apollo hooks, all added per request:                ${format(whole)}\n`);
const p50 = percentile(whole, 50);
process.stdout.write(`  target p50 < 1 ms: ${p50 < 1 ? 'met' : 'NOT met'} (${(p50 * 1000).toFixed(1)} µs)\n`);
