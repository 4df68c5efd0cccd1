import { and, asc, eq, gt, isNotNull, isNull, sql, type SQL } from 'drizzle-orm';
import { rowsOf, type Db } from '../db/database.js';
import { erpProducts, inventoryLevels, inventoryLots, locationMappings as locationMappingTable, shopifyVariants, skuMappingConflicts, skuMappings } from '../db/schema/index.js';
import type { Lot } from '../erp/erp-connector.js';
import { listBound, withinBound } from '../shared/list-bounds.js';
import { decodeCursor, invalidCursor, pageSize, toConnection, type Connection } from '../shared/pagination.js';
import type { AmbiguousSku, DriftRecord, LocationView, PositionRecord, ProductFilter, ProductView, SafetyStockRule, SellableShelfLifeRule, SkuMappingReport } from './inventory.models.js';
import { inList } from '../db/sql-lists.js';
import { createLocationMappingRepository } from './location-mapping.repository.js';
import { createPushTargetsRepository } from './push-targets.repository.js';
import { toSkuMapping } from './sku-mapping.repository.js';
import type { MappingService } from './mapping.service.js';
import { createPositionsRepository } from './positions.repository.js';
import { lotsColumn, parseLots, parsePositions, positionsColumn, type PageInclude, type PageTerms } from './page-terms.js';
import { createInventoryLotsReader, type LotPosition } from './read-model/inventory-lots.reader.js';
import { createShelfLifeRulesRepository } from './shelf-life-rules.repository.js';
import { toShopifyUnits } from './unit-conversion.js';

/**
 * What the GraphQL read API asks of the inventory domain. Everything comes from the read model
 * (lots included) and the catalogue tables, never from the ERP; every batch method costs one
 * database round trip.
 */
export interface InventoryReadService {
  findProduct(sku: string): Promise<ProductView | null>;
  /** Products by ERP SKU (one query): the product loader's batch; unknown SKUs are absent. */
  getProductsBySkus(skus: readonly string[]): Promise<Map<string, ProductView>>;
  /**
   * Active products of the ERP catalogue in SKU order, one page (src/shared/pagination.ts); with
   * `include`, each product's positions and lots (at the page's location scope) are read in the
   * page's own statement (./page-terms.ts) and come back in `included`.
   */
  listProducts(args: { first?: number | null; after?: string | null; filter?: ProductFilter | null; withTotalCount?: boolean; include?: PageInclude }): Promise<ProductPage>;
  /** Read-model positions of these SKUs, by SKU (one query): the availability loader's batch. */
  getAvailabilityBySkus(skus: readonly string[]): Promise<Map<string, PositionRecord[]>>;
  /** Active locations in code order, optionally of one warehouse; bounded by `first` (src/shared/list-bounds.ts). */
  listLocations(args?: { warehouse?: string | null; first?: number | null }): Promise<LocationView[]>;
  /** Every ERP location the catalogue knows, inactive ones included, by code (one query; there are few). */
  getLocationsByCode(): Promise<Map<string, LocationView>>;
  /**
   * Stored lots of these SKUs (every location, or these), by SKU then FEFO (soonest expiry
   * first, no expiry last, then number): the lot loader's batch, one query.
   */
  getLotsBySkus(skus: readonly string[], locations?: readonly string[]): Promise<readonly Lot[]>;
  /** Stored lots of one SKU or of every SKU, optionally at one location, FEFO; bounded by `first`. */
  listLots(args: { sku?: string | null; location?: string | null; first?: number | null }): Promise<readonly Lot[]>;
  /** The same lots, one page (src/shared/pagination.ts). */
  listLotsPage(args: { sku?: string | null; location?: string | null; first?: number | null; after?: string | null; withTotalCount?: boolean }): Promise<Connection<Lot>>;
  getMappingReport(options?: { limit?: number }): Promise<SkuMappingReport>;
  /**
   * Pushable positions whose ATP (Shopify units) differs from Shopify's last read `available`,
   * in SKU then Shopify location order; bounded by `first` (src/shared/list-bounds.ts).
   */
  getDrift(args: { location?: string | null; sku?: string | null; first?: number | null }): Promise<DriftRecord[]>;
  /** The same drift, one page (src/shared/pagination.ts). */
  listDrift(args: { location?: string | null; sku?: string | null; first?: number | null; after?: string | null; withTotalCount?: boolean }): Promise<Connection<DriftRecord>>;
  /** Per-SKU sellable shelf life rules in SKU order, optionally of one SKU; bounded by `first`. */
  listSellableShelfLifeRules(args: { sku?: string | null; first?: number | null }): Promise<SellableShelfLifeRule[]>;
  /** Safety stock rules, optionally of one SKU or location; bounded by `first`. */
  listSafetyStockRules(args: { sku?: string | null; location?: string | null; first?: number | null }): Promise<SafetyStockRule[]>;
}

/** A page of products, and what its statement read beside them (by SKU) when asked to. */
export interface ProductPage extends Connection<ProductView> {
  readonly included?: ReadonlyMap<string, PageTerms>;
}

// ---------------------------------------------------------------------------- implementation

export interface InventoryReadServiceDeps {
  readonly db: Db;
  readonly shop: string;
  readonly mapping: MappingService;
}


/** A products cursor holds the SKU: the catalogue's key, unique per shop. */
function productCursor(after: string): string {
  const [sku] = decodeCursor('products', after, 1);
  return typeof sku === 'string' ? sku : invalidCursor('products', after);
}

/** A lots cursor holds the lot's whole FEFO key (expiry, number, SKU, location): unique per lot. */
function lotCursor(after: string): LotPosition {
  const [expiresOn, number, sku, location] = decodeCursor('lots', after, 4);
  const valid = (expiresOn === null || typeof expiresOn === 'string') && typeof number === 'string' && typeof sku === 'string' && typeof location === 'string';
  return valid ? { expiresOn, number, sku, location } : invalidCursor('lots', after);
}

/** A drift cursor holds the entry's SKU and Shopify location: one entry per pair. */
function driftCursor(after: string): { sku: string; shopifyLocationId: string } {
  const [sku, shopifyLocationId] = decodeCursor('inventoryDrift', after, 2);
  if (typeof sku !== 'string' || typeof shopifyLocationId !== 'string') invalidCursor('inventoryDrift', after);
  return { sku: sku as string, shopifyLocationId: shopifyLocationId as string };
}

export function createInventoryReadService(deps: InventoryReadServiceDeps): InventoryReadService {
  const { db, shop, mapping } = deps;
  const lots = createInventoryLotsReader(db, shop);
  const shelfLifeRules = createShelfLifeRulesRepository(db, shop);
  const locationViews = createLocationMappingRepository(db, shop);
  const pushTargets = createPushTargetsRepository(db, shop);
  const positions = createPositionsRepository(db, shop);

  /**
   * Products with their mapping and ambiguity, in one query; with `include`, each product's
   * positions and lots (at `lotsAt`) in the same statement, in `terms`.
   */
  async function selectProducts(where: SQL | undefined, limit?: number, include?: PageInclude & { lotsAt: string | null }): Promise<Array<ProductView & { terms?: PageTerms }>> {
    const query = db
      .select({
        product: erpProducts,
        mapping: skuMappings,
        tracked: shopifyVariants.tracked,
        conflict: skuMappingConflicts,
        positions: include?.positions ? positionsColumn(shop, erpProducts.sku) : sql<unknown>`null`,
        lots: include?.lots ? lotsColumn(shop, erpProducts.sku, include.lotsAt) : sql<unknown>`null`,
      })
      .from(erpProducts)
      .leftJoin(skuMappings, and(eq(skuMappings.shop, shop), eq(skuMappings.erpSku, erpProducts.sku)))
      .leftJoin(shopifyVariants, and(eq(shopifyVariants.shop, shop), eq(shopifyVariants.variantId, skuMappings.shopifyVariantId)))
      .leftJoin(skuMappingConflicts, and(eq(skuMappingConflicts.shop, shop), eq(skuMappingConflicts.erpSku, erpProducts.sku)))
      .where(where)
      .orderBy(asc(erpProducts.sku));
    const rows = limit === undefined ? await query : await query.limit(limit);
    return rows.map(({ product, mapping: m, tracked, conflict, positions, lots: lotsRead }) => ({
      ...(include
        ? {
            terms: {
              ...(include.positions ? { positions: parsePositions(shop, product.sku, positions) } : {}),
              ...(include.lots ? { lots: parseLots(product.sku, lotsRead) } : {}),
            },
          }
        : {}),
      sku: product.sku,
      name: product.name,
      stockTracked: product.stockTracked,
      active: product.active,
      components: product.components,
      unit: product.unit,
      mapping: m ? toSkuMapping({ mapping: m, tracked }) : null,
      ambiguous: conflict && !m ? { erpSku: conflict.erpSku, reason: conflict.reason as AmbiguousSku['reason'], candidates: conflict.candidates, competingErpSkus: conflict.competingErpSkus } : null,
    }));
  }

  /** Drift entries in (SKU, Shopify location) order, the keyset of the connection; one statement. */
  function driftSql(filter: { location?: string | null; sku?: string | null }): SQL {
    const scope = and(
      filter.location
        ? sql`t.shopify_location_id in (select lm.shopify_location_id from ${locationMappingTable} lm where lm.shop = ${shop} and lm.erp_location = ${filter.location})`
        : undefined,
      filter.sku ? sql`t.sku = ${filter.sku}` : undefined,
    ) ?? sql`true`;
    return sql`
        with targets as (${pushTargets.pushTargetsSql(sql`true`)}),
        groups as (
          select t.sku, t.shopify_location_id, t.inventory_item_id, t.erp_units, t.shopify_units,
                 array_agg(t.location order by t.location) as erp_locations,
                 sum(il.available_to_promise) as atp,
                 (array_agg(il.shopify_available order by il.shopify_read_at desc nulls last)
                    filter (where il.shopify_available is not null))[1] as shopify_available
          from targets t
          join ${inventoryLevels} il on il.shop = ${shop} and il.sku = t.sku and il.location = t.location
          where ${scope}
          group by t.sku, t.shopify_location_id, t.inventory_item_id, t.erp_units, t.shopify_units
        ),
        drift as (
          select * from groups
          where shopify_available is not null
            and shopify_available <> floor(atp * shopify_units / erp_units::float8 + 1e-9)
        )`;
  }

  async function selectDrift(filter: { location?: string | null; sku?: string | null }, after: { sku: string; shopifyLocationId: string } | null, limit: number): Promise<DriftRow[]> {
    const continues = after ? sql`(sku, shopify_location_id) > (${after.sku}, ${after.shopifyLocationId})` : sql`true`;
    const result = await db.execute(sql`${driftSql(filter)}
        select * from drift where ${continues}
        order by sku, shopify_location_id
        limit ${limit}`);
    return rowsOf<DriftRow>(result);
  }

  async function countLots(filter: { sku?: string | null; location?: string | null }): Promise<number> {
    const [row] = await db
      .select({ count: sql<number>`count(*)::int` })
      .from(inventoryLots)
      .where(
        and(
          eq(inventoryLots.shop, shop),
          filter.sku ? eq(inventoryLots.sku, filter.sku) : undefined,
          filter.location ? eq(inventoryLots.location, filter.location) : undefined,
        ),
      );
    return Number(row?.count ?? 0);
  }

  async function countDrift(filter: { location?: string | null; sku?: string | null }): Promise<number> {
    const [row] = rowsOf<{ count: number | string }>(await db.execute(sql`${driftSql(filter)} select count(*)::int as count from drift`));
    return Number(row?.count ?? 0);
  }

  async function getLotsBySkus(skus: readonly string[], locations?: readonly string[]): Promise<readonly Lot[]> {
    return lots.getLotsBySkus(skus, locations ? { locations } : {});
  }

  return {
    async findProduct(sku) {
      const [product] = await selectProducts(eq(erpProducts.sku, sku));
      return product ?? null;
    },

    async getProductsBySkus(skus) {
      const products = skus.length === 0 ? [] : await selectProducts(inList(erpProducts.sku, skus));
      return new Map(products.map((p) => [p.sku, p]));
    },

    async listProducts({ first, after, filter, withTotalCount, include }) {
      const size = pageSize(first);
      const location = filter?.location?.trim() || null;
      const matching = and(
        eq(erpProducts.active, true),
        filter?.skus ? inList(erpProducts.sku, filter.skus) : undefined,
        location
          ? sql`exists (select 1 from ${inventoryLevels} l where l.shop = ${shop} and l.sku = ${erpProducts.sku} and l.location = ${location})`
          : undefined,
        filter?.mapped === true ? isNotNull(skuMappings.erpSku) : filter?.mapped === false ? isNull(skuMappings.erpSku) : undefined,
      );
      const countMatching = async (): Promise<number> => {
        const [row] = await db
          .select({ count: sql<number>`count(*)::int` })
          .from(erpProducts)
          .leftJoin(skuMappings, and(eq(skuMappings.shop, shop), eq(skuMappings.erpSku, erpProducts.sku)))
          .where(matching);
        return Number(row?.count ?? 0);
      };
      const [rows, totalCount] = await Promise.all([
        selectProducts(and(matching, after ? gt(erpProducts.sku, productCursor(after)) : undefined), size + 1, include && { ...include, lotsAt: location }),
        withTotalCount ? countMatching() : null,
      ]);
      const page = toConnection('products', rows, {
        first: size,
        after,
        keyOf: (product) => [product.sku],
        nodeOf: ({ terms: _terms, ...product }): ProductView => ({ ...product, locationScope: location }),
        totalCount,
      });
      if (!include) return page;
      return { ...page, included: new Map(rows.flatMap((row) => (row.terms ? [[row.sku, row.terms] as const] : []))) };
    },

    getAvailabilityBySkus: (skus) => positions.getPositionsBySkus(skus),

    async listLocations({ warehouse, first } = {}) {
      const bound = listBound(first);
      const all = await mapping.listLocations();
      const matching = warehouse ? all.filter((location) => location.warehouseCode === warehouse) : all;
      return withinBound(matching, bound, 'locations', 'narrow with warehouse, or pass a larger first');
    },

    async getLocationsByCode() {
      const views = await locationViews.listLocationViews('all');
      return new Map(views.map((view) => [view.code, view]));
    },

    getLotsBySkus,

    async listLots({ sku, location, first }) {
      const bound = listBound(first);
      const found = await lots.listLots({ sku, location, limit: bound + 1 });
      return withinBound(found, bound, 'lots', 'narrow with sku or location, or pass a larger first', 'lotsConnection');
    },

    async listLotsPage({ sku, location, first, after, withTotalCount }) {
      const size = pageSize(first);
      const [rows, totalCount] = await Promise.all([
        lots.listLots({ sku, location, after: after ? lotCursor(after) : null, limit: size + 1 }),
        withTotalCount ? countLots({ sku, location }) : null,
      ]);
      return toConnection('lots', rows, { first: size, after, keyOf: (lot) => [lot.expiresOn, lot.number, lot.sku, lot.location], totalCount });
    },

    async listSellableShelfLifeRules({ sku, first }) {
      const bound = listBound(first);
      const rules = await shelfLifeRules.listRules({ sku, limit: bound + 1 });
      return withinBound(rules, bound, 'sellableShelfLifeRules', 'narrow with sku, or pass a larger first');
    },

    async listSafetyStockRules({ sku, location, first }) {
      const bound = listBound(first);
      const rules = (await positions.listSafetyStockRules()).filter(
        (rule) => (!sku || rule.sku === sku) && (!location || rule.location === location),
      );
      return withinBound(rules, bound, 'safetyStockRules', 'narrow with sku or location, or pass a larger first');
    },

    getMappingReport: (options) => mapping.getMappingReport(options),

    async getDrift({ location, sku, first }) {
      const bound = listBound(first);
      const rows = withinBound(
        await selectDrift({ location, sku }, null, bound + 1),
        bound,
        'inventoryDrift',
        'narrow with sku or location (a full reconcile corrects drift)',
        'inventoryDriftConnection',
      );
      return rows.map(toDriftRecord);
    },

    async listDrift({ location, sku, first, after, withTotalCount }) {
      const size = pageSize(first);
      const [rows, totalCount] = await Promise.all([
        selectDrift({ location, sku }, after ? driftCursor(after) : null, size + 1),
        withTotalCount ? countDrift({ location, sku }) : null,
      ]);
      return toConnection('inventoryDrift', rows, {
        first: size,
        after,
        keyOf: (row) => [row.sku, row.shopify_location_id],
        nodeOf: toDriftRecord,
        totalCount,
      });
    },
  };
}

function toDriftRecord(row: DriftRow): DriftRecord {
  const conversion = { erpUnits: Number(row.erp_units), shopifyUnits: Number(row.shopify_units) };
  const availableToPromise = toShopifyUnits(Number(row.atp), conversion);
  const shopifyAvailable = Number(row.shopify_available);
  const erpLocations = parseTextArray(row.erp_locations);
  return {
    sku: row.sku,
    location: erpLocations.join('+'),
    erpLocations,
    shopifyLocationId: row.shopify_location_id,
    inventoryItemId: row.inventory_item_id,
    availableToPromise,
    shopifyAvailable,
    difference: shopifyAvailable - availableToPromise,
  };
}

interface DriftRow {
  sku: string;
  shopify_location_id: string;
  inventory_item_id: string;
  erp_units: number;
  shopify_units: number;
  erp_locations: string[] | string;
  atp: number | string;
  shopify_available: number | string;
}

/** Both drivers parse text[] to arrays; a raw `{A,B}` literal is handled too. */
function parseTextArray(value: string[] | string): string[] {
  if (Array.isArray(value)) return value;
  return value.replace(/^\{|\}$/g, '').split(',').filter(Boolean).map((item) => item.replace(/^"|"$/g, ''));
}
