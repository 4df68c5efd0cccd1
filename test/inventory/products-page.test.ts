import { makeExecutableSchema } from '@graphql-tools/schema';
import { and, eq, sql } from 'drizzle-orm';
import { createRequire } from 'node:module';
import type * as GraphQLModule from 'graphql';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inventoryLevels } from '../../src/db/schema/index.js';
import type { AppServices, GraphQLContext, RequestLoaders } from '../../src/http/graphql-context.js';
import { buildResolvers, loadTypeDefs } from '../../src/http/graphql-schema.js';
import { createInventoryReadService } from '../../src/inventory/inventory-read.service.js';
import { createInventoryLoaders } from '../../src/inventory/inventory.loaders.js';
import type { PositionRecord } from '../../src/inventory/inventory.models.js';
import type { Lot } from '../../src/erp/erp-connector.js';
import { createLiveNodeCache } from '../../src/shopify/live-nodes.js';
import { testDatabaseKind } from '../support/database.js';
import { startTestGateway, type TestGateway } from '../support/gateway.js';
import { countingDb } from './support.js';

// The CommonJS build of graphql, the one @graphql-tools/schema builds its schema with.
const { graphql: execute } = createRequire(import.meta.url)('graphql') as typeof GraphQLModule;

// GraphQL answers are read by field path; typing every selection would only restate the query.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Loose = any;

/**
 * A products page reads its positions and lots in the page's own statement (JSON columns,
 * src/inventory/page-terms.ts) and answers them without a promise per product. These tests hold
 * it to the per-kind reads it replaces: the same records (timestamps to the millisecond, FEFO
 * order, a location scope), the same GraphQL answer as `product(sku:)` through the DataLoaders,
 * and the same statements whatever the shape of the selection (fragments, arguments).
 */
describe(`a products page with its positions and lots (${testDatabaseKind})`, () => {
  let gateway: TestGateway;

  beforeAll(async () => {
    gateway = await startTestGateway();
    await gateway.services.inventory.whenReady();
    // Every timestamp of a few positions set, with microseconds (a Date keeps milliseconds).
    const shop = gateway.deps.shop;
    const [some] = await gateway.database.db
      .select({ sku: inventoryLevels.sku })
      .from(inventoryLevels)
      .where(eq(inventoryLevels.shop, shop))
      .orderBy(inventoryLevels.sku)
      .limit(1);
    await gateway.database.db
      .update(inventoryLevels)
      .set({
        erpReadAt: sql`'2026-12-06 17:52:01.123999+00'::timestamptz`,
        shopifyReadAt: sql`'2026-12-06 17:52:02.000001+00'::timestamptz`,
        lastPushedAt: sql`'1969-12-31 23:59:59.9995+00'::timestamptz`,
        pushRequestedAt: sql`'2026-12-06 17:52:03.5+00'::timestamptz`,
        pendingCountedAt: sql`'2026-12-06 17:52:04.999999+00'::timestamptz`,
        shopifyAvailable: 7,
        lastPushedQuantity: 5,
        unexplainedShopifyDrop: 0.25,
      })
      .where(and(eq(inventoryLevels.shop, shop), eq(inventoryLevels.sku, some!.sku)));
  }, 120_000);

  afterAll(async () => {
    await gateway?.close();
  });

  function lotsBySku(lots: readonly Lot[]): Map<string, Lot[]> {
    const out = new Map<string, Lot[]>();
    for (const lot of lots) out.set(lot.sku, [...(out.get(lot.sku) ?? []), lot]);
    return out;
  }

  it('reads the same positions and lots as the per-kind reads, timestamps and FEFO order included', async () => {
    const reads = gateway.services.inventory.reads;
    const page = await reads.listProducts({ first: 100, include: { positions: true, lots: true } });
    const skus = page.edges.map((edge) => edge.node.sku);
    expect(skus).toHaveLength(100);
    const positions = await reads.getAvailabilityBySkus(skus);
    const lots = lotsBySku(await reads.getLotsBySkus(skus));
    let stamped = 0;
    let withLots = 0;
    for (const sku of skus) {
      const included = page.included!.get(sku)!;
      expect(included.positions).toEqual(positions.get(sku) ?? []);
      expect(included.lots).toEqual(lots.get(sku) ?? []);
      stamped += (included.positions ?? []).filter((position: PositionRecord) => position.lastPushedAt !== null && position.shopifyReadAt !== null).length;
      withLots += included.lots!.length > 0 ? 1 : 0;
    }
    expect(stamped).toBeGreaterThan(0);
    expect(withLots).toBeGreaterThan(0);
    const first = page.included!.get(skus[0]!)!.positions![0]!;
    expect(first.erpReadAt?.toISOString()).toBe('2026-12-06T17:52:01.123Z');
    expect(first.lastPushedAt?.toISOString()).toBe('1969-12-31T23:59:59.999Z');
    expect(first.pendingShopifyOrders).toBe(first.pendingOrders + 0.25);

    // A location scope: only its lots; every position still comes (the resolver filters them).
    const location = first.location;
    const scoped = await reads.listProducts({ first: 100, filter: { location }, include: { positions: true, lots: true } });
    const scopedSkus = scoped.edges.map((edge) => edge.node.sku);
    const scopedLots = lotsBySku(await reads.getLotsBySkus(scopedSkus, [location]));
    for (const sku of scopedSkus) expect(scoped.included!.get(sku)!.lots).toEqual(scopedLots.get(sku) ?? []);
    // Without `include`, nothing more is read.
    expect((await reads.listProducts({ first: 5 })).included).toBeUndefined();
  });

  it('answers each product as product(sku:) does through the DataLoaders, in 2 statements whatever the selection', async () => {
    const counted = countingDb(gateway.database);
    const inventory = gateway.services.inventory;
    const reads = createInventoryReadService({ db: counted.db, shop: gateway.deps.shop, mapping: inventory.mapping });
    const schema = makeExecutableSchema({ typeDefs: loadTypeDefs(), resolvers: buildResolvers(gateway.modules) as never });
    const run = async (source: string, variables: Record<string, unknown> = {}) => {
      const contextValue = {
        services: { ...gateway.services, inventory: { ...inventory, reads } } as AppServices,
        loaders: { inventory: createInventoryLoaders(reads, createLiveNodeCache(gateway.deps.shopify)) } as unknown as RequestLoaders,
      } as GraphQLContext;
      counted.reset();
      const result = await execute({ schema, source, variableValues: variables, contextValue });
      expect(result.errors).toBeUndefined();
      return { data: result.data as Loose, statements: counted.queries() };
    };
    const fields = `sku availability { location { code name shopifyLocationId mappingSource } onHand allocated safetyStock wholesaleCommitted
      reserved pendingShopifyOrders expiringSoon availableToPromise shopifyAvailable shopifyReadAt lastPushedQuantity lastPushedAt
      computedAt erpReadAt pushPending } lots { number sku location quantity expiresOn }`;

    const page = await run(`{ products(first: 40) { edges { node { ${fields} } } } }`);
    expect(page.statements).toBe(2);
    const nodes = page.data.products.edges.map((edge: Loose) => edge.node);
    const one = await run(`{ ${nodes.map((node: Loose, i: number) => `p${i}: product(sku: ${JSON.stringify(node.sku)}) { ${fields} }`).join('\n')} }`);
    expect(nodes.map((_node: Loose, i: number) => one.data[`p${i}`])).toEqual(nodes);

    // Through fragments, the same page and the same statements.
    const fragments = await run(`{ products(first: 40) { ...Page } }
      fragment Page on ProductConnection { edges { ... on ProductEdge { node { ...Node } } } }
      fragment Node on Product { ${fields} }`);
    expect(fragments).toEqual(page);

    // lots(location:) and availability(location:) answer their own argument: lots from their own read.
    const location = nodes[0].availability[0].location.code;
    const argued = await run(`query A($location: String) { products(first: 40) { edges { node { sku
        availability(location: $location) { location { code } availableToPromise } lots(location: $location) { number location } } } } }`, { location });
    expect(argued.statements).toBe(3);
    for (const [i, node] of (argued.data.products.edges as Loose[]).map((edge) => edge.node).entries()) {
      expect(node.availability).toEqual(nodes[i].availability.filter((p: Loose) => p.location.code === location).map((p: Loose) => ({ location: { code: location }, availableToPromise: p.availableToPromise })));
      expect(node.lots).toEqual(nodes[i].lots.filter((lot: Loose) => lot.location === location).map((lot: Loose) => ({ number: lot.number, location })));
    }

    // Neither selected: the page alone.
    expect((await run(`{ products(first: 40) { edges { node { sku name } } } }`)).statements).toBe(1);
  });
});
