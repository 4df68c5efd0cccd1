import { makeExecutableSchema } from '@graphql-tools/schema';
import { parse, type OperationDefinitionNode } from 'graphql';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { readSchemaRules } from '../../src/http/graphql-guard/field-rules.js';
import { actualCost, analyzeOperation, fragmentsOf } from '../../src/http/graphql-guard/operation-analysis.js';
import { buildResolvers, loadTypeDefs } from '../../src/http/graphql-schema.js';

const rules = readSchemaRules(makeExecutableSchema({ typeDefs: loadTypeDefs(), resolvers: buildResolvers() as never }));

function analyze(query: string, variables: Record<string, unknown> = {}, operationName?: string) {
  const document = parse(query);
  const operation = document.definitions.find(
    (d): d is OperationDefinitionNode => d.kind === 'OperationDefinition' && (!operationName || d.name?.value === operationName),
  )!;
  return { ...analyzeOperation(rules, operation, fragmentsOf(document), variables), document, operation };
}

describe('the cost of an operation, as Shopify counts it', () => {
  it('counts a connection as 2 + first × node, with first from a literal, a variable or the default', () => {
    expect(analyze('{ products(first: 10) { edges { node { sku } } } }').cost).toBe(12);
    expect(analyze('query($n: Int) { products(first: $n) { edges { node { sku } } } }', { n: 7 }).cost).toBe(9);
    expect(analyze('query($n: Int = 4) { products(first: $n) { edges { node { sku } } } }').cost).toBe(6);
    // No first: the connection's default page (50), or the SDL default (syncRuns: 20).
    expect(analyze('{ products { edges { node { sku } } } }').cost).toBe(52);
    expect(analyze('{ syncRuns { edges { node { id } } } }').cost).toBe(22);
    // pageInfo and cursors are free; nested objects count per node.
    expect(analyze('{ products(first: 10) { pageInfo { hasNextPage } edges { cursor node { sku availability { location { code } } } } } }').cost).toBe(32);
  });

  it('counts bounded lists by first or their declared size, and declared weights', () => {
    expect(analyze('{ locations { code } }').cost).toBe(100);
    expect(analyze('{ locations(first: 5) { code } }').cost).toBe(5);
    // The root lots list reads the read model: it costs its elements only, no weight of its own.
    expect(analyze('{ lots(sku: "A", first: 10) { number } }').cost).toBe(10);
    // Live Shopify fields weigh what they cost Shopify's bucket: 3 per product, 2 per order.
    expect(analyze('{ products(first: 100) { edges { node { sku shopify { price } } } } }').cost).toBe(402);
    expect(analyze('{ orders(first: 100) { edges { node { id shopify { financialStatus } } } } }').cost).toBe(302);
    expect(analyze('{ webhookSubscriptionHealth { healthy } }').cost).toBe(50);
    expect(analyze('{ serverInfo { name } }').cost).toBe(1);
  });

  it('counts a mutation as 10 plus its payload, and a union as its costliest member', () => {
    expect(analyze('mutation { releaseReservation(id: "x") { id } }').cost).toBe(10);
    const reserve = analyze(`mutation { reserveInventory(input: {sku: "A", location: "L", quantity: 1, reference: "r", idempotencyKey: "k"}) {
      ... on Reservation { id history { actor } } ... on NotFound { errorCode } } }`);
    expect(reserve.cost).toBe(11);
  });

  it('leaves out what @skip and @include leave out, and reads only the operation named', () => {
    expect(analyze('query($on: Boolean!) { a: products(first: 10) @include(if: $on) { edges { node { sku } } } serverInfo { name } }', { on: false }).cost).toBe(1);
    expect(analyze('query($on: Boolean!) { a: products(first: 10) @include(if: $on) { edges { node { sku } } } serverInfo { name } }', { on: true }).cost).toBe(13);
    const two = 'query Cheap { serverInfo { name } } query Dear { products(first: 100) { edges { node { sku } } } }';
    expect(analyze(two, {}, 'Cheap').cost).toBe(1);
    expect(analyze(two, {}, 'Dear').cost).toBe(102);
  });

  it('measures a fragment bomb in time linear in the document, and prices it at what execution would do', () => {
    // Each fragment spreads the next twice: 2^30 copies of serverInfo if expanded naively.
    const levels = 30;
    const fragments = Array.from({ length: levels }, (_, i) =>
      i === levels - 1 ? `fragment F${i} on Query { serverInfo { name } }` : `fragment F${i} on Query { ...F${i + 1} ...F${i + 1} }`,
    ).join('\n');
    // A naive expansion would visit a billion fields and never return within the test's timeout.
    const result = analyze(`{ ...F0 }\n${fragments}`);
    expect(result.cost).toBe(2 ** (levels - 1));
    expect(result.depth).toBe(1);
  });

  it('finds the scopes of fields reached only through fragments, and root fields that declare none', () => {
    const result = analyze('mutation { ...M } fragment M on Mutation { ... on Mutation { createApiKey(input: {name: "x", scopes: [ADMIN]}) { key } } }');
    expect([...result.scopes]).toEqual(['admin']);
    const nested = analyze('{ webhookDeliveries(first: 1) { edges { node { ...D } } } } fragment D on WebhookDelivery { body }');
    expect([...nested.scopes]).toEqual(['admin']);
    expect(analyze('{ __schema { queryType { name } } }').introspection).toBe(true);
  });

  it('charges after execution only the pages and lists really returned', () => {
    const { operation, document } = analyze('{ products(first: 100) { edges { node { sku availability { onHand } lots { number } } } } }');
    const data = {
      products: {
        edges: [
          { node: { sku: 'A', availability: [{ onHand: 1 }, { onHand: 2 }], lots: [{ number: '1' }] } },
          { node: { sku: 'B', availability: [], lots: [] } },
        ],
      },
    };
    // 2 + 2 × (product 1 + availability 1 + lots 2)
    expect(actualCost(rules, operation, fragmentsOf(document), {}, data)).toBe(10);
  });
});

describe('the guard configuration', () => {
  it('turns introspection off by default in production only, and lets GRAPHQL_INTROSPECTION decide', () => {
    expect(loadConfig({}).graphql.introspection).toBe(true);
    expect(loadConfig({ NODE_ENV: 'production' }).graphql.introspection).toBe(false);
    expect(loadConfig({ NODE_ENV: 'production', GRAPHQL_INTROSPECTION: 'on' }).graphql.introspection).toBe(true);
    expect(loadConfig({ GRAPHQL_INTROSPECTION: 'off' }).graphql.introspection).toBe(false);
  });

  it('has Shopify-like defaults and refuses malformed limits', () => {
    expect(loadConfig({}).graphql).toMatchObject({ maxDepth: 12, maxAliases: 30, maxTokens: 5000, maxCost: 1000, bucketSize: 1000, restoreRate: 50 });
    expect(() => loadConfig({ GRAPHQL_MAX_COST: 'lots', GRAPHQL_RESTORE_RATE: '0' })).toThrow(/GRAPHQL_MAX_COST[\s\S]*GRAPHQL_RESTORE_RATE|GRAPHQL_RESTORE_RATE[\s\S]*GRAPHQL_MAX_COST/);
  });
});
