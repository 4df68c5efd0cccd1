import { makeExecutableSchema } from '@graphql-tools/schema';
import { and, eq } from 'drizzle-orm';
import { createRequire } from 'node:module';
import type * as GraphQLModule from 'graphql';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inventoryLevels } from '../../src/db/schema/index.js';
import type { AppServices, GraphQLContext, RequestLoaders } from '../../src/http/graphql-context.js';
import { buildResolvers, loadTypeDefs } from '../../src/http/graphql-schema.js';
import { createInventoryReadService } from '../../src/inventory/inventory-read.service.js';
import { createInventoryLoaders } from '../../src/inventory/inventory.loaders.js';
import { createLiveNodeCache } from '../../src/shopify/live-nodes.js';
import { startTestGateway, type TestGateway } from '../support/gateway.js';
import { countingDb } from './support.js';

// The CommonJS build of graphql, the one @graphql-tools/schema builds its schema with.
const { graphql: execute } = createRequire(import.meta.url)('graphql') as typeof GraphQLModule;

// GraphQL answers are read by field path; typing every selection would only restate the query.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Loose = any;

let gateway: TestGateway;
let readKey: string;
let adminKey: string;

beforeAll(async () => {
  gateway = await startTestGateway();
  await gateway.services.inventory.whenReady();
  [readKey, adminKey] = await Promise.all([gateway.createKey(['read']), gateway.createKey(['read', 'admin'])]);
}, 120_000);

afterAll(async () => {
  await gateway?.close();
});

async function query(key: string, document: string, variables?: Record<string, unknown>): Promise<Loose> {
  const { body } = await gateway.graphql<Loose>(key, document, variables);
  return body;
}

const PAGE = `
  query Page($first: Int, $after: String, $filter: ProductFilter) {
    products(first: $first, after: $after, filter: $filter) {
      edges { cursor node {
        sku name shopifySku shopifyVariantId shopifyInventoryItemId mappingStatus
        availability { sku location { code name shopifyLocationId } onHand allocated safetyStock wholesaleCommitted reserved
                       pendingShopifyOrders expiringSoon availableToPromise shopifyAvailable lastPushedAt computedAt }
        lots { number sku location quantity expiresOn }
      } }
      pageInfo { hasNextPage endCursor }
    }
  }`;

describe('the inventory read API (demo gateway)', () => {
  it('pages through products with every ATP term at every warehouse, computed from the ERP', async () => {
    const first = await query(readKey, PAGE, { first: 100 });
    expect(first.errors).toBeUndefined();
    const { edges, pageInfo } = first.data.products;
    expect(edges).toHaveLength(100);
    expect(pageInfo.hasNextPage).toBe(true);
    const second = await query(readKey, PAGE, { first: 100, after: pageInfo.endCursor });
    expect(second.data.products.edges[0].node.sku > edges[99].node.sku).toBe(true);

    const erp = gateway.deps.erp;
    const plain = edges.map((e: Loose) => e.node).filter((n: Loose) => !n.sku.startsWith('KIT-')).slice(0, 20);
    const stock = await erp.getStockBySkus(plain.map((n: Loose) => n.sku));
    for (const level of stock.levels) {
      const row = plain.find((n: Loose) => n.sku === level.sku).availability.find((a: Loose) => a.location.code === level.location);
      expect(row).toMatchObject({ onHand: level.onHand, allocated: level.allocated, wholesaleCommitted: level.wholesaleCommitted, reserved: 0, pendingShopifyOrders: 0 });
      // Demo lots that expired before today count as expiringSoon (SELLABLE_SHELF_LIFE_DAYS 0).
      expect(row.expiringSoon).toBeLessThanOrEqual(Math.max(0, level.onHand - level.allocated));
      expect(row.availableToPromise).toBe(Math.max(0, Math.floor(level.onHand - level.allocated - level.wholesaleCommitted - row.expiringSoon)));
      expect(row.location.shopifyLocationId).toMatch(/^gid:\/\/shopify\/Location\//);
    }
    const withLots = edges.filter((e: Loose) => e.node.lots.length > 0);
    expect(withLots.length).toBeGreaterThan(0);
  });

  it('finds the demo shop’s untidy SKUs through the normalization rules, and lists the rest', async () => {
    const report = await query(
      readKey,
      `{ skuMappingReport { mapped { erpSku shopifySku source } unmappedErpSkus unmappedShopifySkus ambiguous { erpSku reason candidates { variantId } }
          unmappedLocations counts { mapped unmappedErpSkus unmappedShopifySkus ambiguous } } }`,
    );
    const { mapped, unmappedShopifySkus, ambiguous, counts, unmappedLocations } = report.data.skuMappingReport;
    const respelled = mapped.filter((m: Loose) => m.shopifySku !== m.erpSku);
    expect(respelled.length).toBeGreaterThan(10);
    expect(respelled.every((m: Loose) => m.shopifySku === m.shopifySku.toLowerCase())).toBe(true);
    expect(unmappedShopifySkus).toEqual(expect.arrayContaining(['GIFT-CARD-25', 'MERCH-TSHIRT-M', 'SAMPLE-PACK']));
    expect(ambiguous.length).toBeGreaterThan(0);
    expect(ambiguous.every((a: Loose) => a.reason === 'SEVERAL_SHOPIFY_VARIANTS' && a.candidates.length === 2)).toBe(true);
    expect(counts.unmappedErpSkus).toBeGreaterThan(0);
    expect(unmappedLocations).toEqual([]);

    const one = await query(readKey, `query P($sku: String!) { product(sku: $sku) { sku mappingStatus shopifySku } }`, { sku: ambiguous[0].erpSku });
    expect(one.data.product).toMatchObject({ mappingStatus: 'AMBIGUOUS', shopifySku: null });
    expect((await query(readKey, `{ product(sku: "NO-SUCH") { sku } }`)).data.product).toBeNull();
  });

  it('filters products by SKU list, location and mapping', async () => {
    const all = await query(readKey, PAGE, { first: 5 });
    const skus = all.data.products.edges.map((e: Loose) => e.node.sku).slice(0, 3);
    const bySku = await query(readKey, PAGE, { filter: { skus } });
    expect(bySku.data.products.edges.map((e: Loose) => e.node.sku)).toEqual(skus);

    const atLeeds = await query(readKey, PAGE, { first: 3, filter: { location: 'LDS' } });
    for (const edge of atLeeds.data.products.edges) expect(edge.node.availability.map((a: Loose) => a.location.code)).toEqual(['LDS']);

    const unmapped = await query(readKey, PAGE, { first: 250, filter: { mapped: false } });
    const statuses = new Set(unmapped.data.products.edges.map((e: Loose) => e.node.mappingStatus));
    expect([...statuses].sort()).toEqual(['AMBIGUOUS', 'UNMAPPED']);
    const mapped = await query(readKey, PAGE, { first: 20, filter: { mapped: true } });
    expect(mapped.data.products.edges.every((e: Loose) => e.node.mappingStatus === 'MAPPED' && e.node.shopifyInventoryItemId)).toBe(true);
  });

  it('lists locations with their Shopify location, and lots of one SKU from the read model', async () => {
    const { data } = await query(readKey, `{ locations { code name kind shopifyLocationId shopifyLocationName mappingSource } }`);
    const warehouses = data.locations.filter((l: Loose) => l.kind === 'WAREHOUSE');
    expect(warehouses.map((l: Loose) => [l.code, l.mappingSource])).toEqual([
      ['BHM', 'AUTO'],
      ['GLA', 'AUTO'],
      ['LDS', 'AUTO'],
    ]);
    expect(warehouses.every((l: Loose) => l.name === l.shopifyLocationName)).toBe(true);

    const page = await query(readKey, PAGE, { first: 200 });
    const lotted = page.data.products.edges.find((e: Loose) => e.node.lots.length > 0).node;
    const lots = await query(readKey, `query L($sku: String) { lots(sku: $sku) { number sku location quantity expiresOn } }`, { sku: lotted.sku });
    expect(lots.data.lots).toEqual(lotted.lots);
  });

  it('shows drift against Shopify’s last read available, in Shopify units', async () => {
    const page = await query(readKey, PAGE, { first: 50, filter: { mapped: true, location: 'LDS' } });
    const node = page.data.products.edges[0].node;
    const atp = node.availability[0].availableToPromise;
    // What the sync does when it reads Shopify's levels.
    await gateway.database.db
      .update(inventoryLevels)
      .set({ shopifyAvailable: atp + 4, shopifyReadAt: new Date() })
      .where(and(eq(inventoryLevels.sku, node.sku), eq(inventoryLevels.location, 'LDS')));
    const drift = await query(readKey, `{ inventoryDrift(location: "LDS") { sku location erpLocations availableToPromise shopifyAvailable difference } }`);
    expect(drift.data.inventoryDrift).toContainEqual({ sku: node.sku, location: 'LDS', erpLocations: ['LDS'], availableToPromise: atp, shopifyAvailable: atp + 4, difference: 4 });
    const elsewhere = await query(readKey, `{ inventoryDrift(location: "BHM") { sku } }`);
    expect(elsewhere.data.inventoryDrift.map((d: Loose) => d.sku)).not.toContain(node.sku);
  });

  it('maps SKUs and locations and sets safety stock with an admin key only', async () => {
    const report = await query(readKey, `{ skuMappingReport { ambiguous { erpSku candidates { variantId } } } }`);
    const { erpSku, candidates } = report.data.skuMappingReport.ambiguous[0];

    const forbidden = await query(readKey, `mutation M($input: MapSkuInput!) { mapSku(input: $input) { sku } }`, { input: { erpSku, shopifyVariantId: candidates[0].variantId } });
    expect(forbidden.errors[0].extensions.code).toBe('FORBIDDEN');

    const mapped = await query(
      adminKey,
      `mutation M($input: MapSkuInput!) { mapSku(input: $input) { sku mappingStatus shopifyVariantId unitConversion { erpUnits shopifyUnits } } }`,
      { input: { erpSku, shopifyVariantId: candidates[0].variantId, unitConversion: { erpUnits: 1, shopifyUnits: 10 } } },
    );
    expect(mapped.data.mapSku).toEqual({ sku: erpSku, mappingStatus: 'MAPPED', shopifyVariantId: candidates[0].variantId, unitConversion: { erpUnits: 1, shopifyUnits: 10 } });

    const unknownSku = await query(adminKey, `mutation M($input: MapSkuInput!) { mapSku(input: $input) { sku } }`, { input: { erpSku: 'NO-SUCH', shopifySku: 'X' } });
    expect(unknownSku.errors[0].extensions.code).toBe('UNKNOWN_SKU');

    const safety = await query(
      adminKey,
      `mutation S($input: SetSafetyStockInput!) { setSafetyStock(input: $input) { sku location { code } safetyStock availableToPromise onHand allocated wholesaleCommitted } }`,
      { input: { sku: erpSku, location: 'LDS', quantity: 2 } },
    );
    const [position] = safety.data.setSafetyStock;
    expect(position).toMatchObject({ sku: erpSku, location: { code: 'LDS' }, safetyStock: 2 });
    expect(position.availableToPromise).toBe(Math.max(0, Math.floor(position.onHand - position.allocated - position.wholesaleCommitted - 2)));

    const locations = await query(adminKey, `{ locations { code shopifyLocationId } }`);
    const leeds = locations.data.locations.find((l: Loose) => l.code === 'LDS').shopifyLocationId;
    const moved = await query(adminKey, `mutation L($input: MapLocationInput!) { mapLocation(input: $input) { code shopifyLocationId mappingSource } }`, {
      input: { erpLocation: 'GLA', shopifyLocationId: leeds },
    });
    expect(moved.data.mapLocation).toEqual({ code: 'GLA', shopifyLocationId: leeds, mappingSource: 'MANUAL' });
  });
});

describe('DataLoader batching', () => {
  it('answers a page of 100 products with availability at every location and their lots in a constant number of database round trips, without the ERP', async () => {
    const counted = countingDb(gateway.database);
    const inventory = gateway.services.inventory;
    const reads = createInventoryReadService({ db: counted.db, shop: gateway.deps.shop, mapping: inventory.mapping });
    const schema = makeExecutableSchema({ typeDefs: loadTypeDefs(), resolvers: buildResolvers(gateway.modules) as never });
    const erp = gateway.demo!.erp;

    const cost = async (first: number) => {
      const context = {
        services: { ...gateway.services, inventory: { ...inventory, reads } } as AppServices,
        loaders: { inventory: createInventoryLoaders(reads, createLiveNodeCache(gateway.deps.shopify)) } as unknown as RequestLoaders,
      } as GraphQLContext;
      counted.reset();
      erp.resetRoundTrips();
      const result = await execute({ schema, source: PAGE, variableValues: { first }, contextValue: context });
      expect(result.errors).toBeUndefined();
      const edges = (result.data as Loose).products.edges;
      expect(edges).toHaveLength(first);
      expect(edges.every((e: Loose) => e.node.availability.length === 3)).toBe(true);
      return { erp: erp.roundTrips(), db: counted.queries() };
    };

    const ten = await cost(10);
    const hundred = await cost(100);
    // The page with its positions and lots in one statement, one locations query; no ERP call.
    expect(hundred).toEqual(ten);
    expect(hundred.db).toBe(2);
    expect(hundred.erp).toBe(0);
  });
});
