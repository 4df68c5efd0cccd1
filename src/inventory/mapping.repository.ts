import { and, asc, eq, gt, lt, ne, sql, type SQL } from 'drizzle-orm';
import { rowsOf, type Db } from '../db/database.js';
import {
  catalogueRefreshes,
  erpKitComponents,
  erpLocations,
  erpProducts,
  locationMappings,
  shopifyLocations,
  shopifyVariants,
  skuAbbreviations,
  skuMappingConflicts,
  skuMappings,
  skuNormalizationSettings,
} from '../db/schema/index.js';
import { createInventoryLevelsWriter } from './read-model/inventory-levels.writer.js';
import type { CatalogueSource } from '../db/schema/index.js';
import type { Location as ErpLocation, Product as ErpProduct } from '../erp/erp-connector.js';
import type { ShopifyLocation, ShopifyVariant } from '../shopify/shopify-client.js';
import type {
  AmbiguousSku,
  LocationMapping,
  LocationMappingSource,
  LocationView,
  NormalizationRules,
  PushTarget,
  SkuMapping,
  SkuMappingSource,
  UnitConversion,
  UnmappedShopifyVariant,
} from './inventory.models.js';
import type { MatchableVariant } from './sku-matching.js';

/** Rows per multi-row INSERT: well under PostgreSQL's 65,535 parameters at ≤ 10 columns. */
const INSERT_CHUNK = 1_000;

function chunks<T>(items: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

/** A list as one jsonb parameter: one bind value whatever its length (no parameter limit). */
export function jsonParam(value: unknown): SQL {
  return sql`${JSON.stringify(value)}::jsonb`;
}

/** `column = any(list)` for lists of any length, as one parameter (an index scan still applies). */
export function inList(column: SQL | SQL.Aliased | { getSQL(): SQL }, values: readonly string[]): SQL {
  return sql`${column} = any(array(select jsonb_array_elements_text(${jsonParam(values)})))`;
}

type SkuMappingRow = typeof skuMappings.$inferSelect;

interface SkuMappingJoined {
  mapping: SkuMappingRow;
  tracked: boolean | null;
}

function toSkuMapping({ mapping, tracked }: SkuMappingJoined): SkuMapping {
  return {
    erpSku: mapping.erpSku,
    source: mapping.source as SkuMappingSource,
    shopifySku: mapping.shopifySku,
    shopifyVariantId: mapping.shopifyVariantId,
    shopifyInventoryItemId: mapping.shopifyInventoryItemId,
    conversion: { erpUnits: mapping.erpUnits, shopifyUnits: mapping.shopifyUnits },
    tracked: tracked ?? false,
    variantExists: tracked !== null,
    updatedAt: mapping.updatedAt,
  };
}

export function createMappingRepository(db: Db, shop: string) {
  const mappingWithVariant = (where: SQL | undefined) =>
    db
      .select({ mapping: skuMappings, tracked: shopifyVariants.tracked })
      .from(skuMappings)
      .leftJoin(shopifyVariants, and(eq(shopifyVariants.shop, skuMappings.shop), eq(shopifyVariants.variantId, skuMappings.shopifyVariantId)))
      .where(and(eq(skuMappings.shop, shop), where))
      .orderBy(asc(skuMappings.erpSku));

  /**
   * The one definition of "pushable": a mapped SKU whose variant is in the catalogue and tracked,
   * at an active ERP location mapped to an active Shopify location.
   */
  const pushTargetsWhere = (where: SQL) => sql`
    select m.erp_sku as sku, lm.erp_location as location, lm.shopify_location_id, m.shopify_inventory_item_id as inventory_item_id,
           m.shopify_variant_id as variant_id, m.shopify_sku, m.erp_units, m.shopify_units
    from ${skuMappings} m
    join ${shopifyVariants} v on v.shop = m.shop and v.variant_id = m.shopify_variant_id and v.tracked
    join ${locationMappings} lm on lm.shop = m.shop
    join ${shopifyLocations} sl on sl.shop = lm.shop and sl.location_id = lm.shopify_location_id and sl.is_active
    join ${erpLocations} el on el.code = lm.erp_location and el.active
    where m.shop = ${shop} and ${where}
    order by m.erp_sku, lm.erp_location`;

  interface PushTargetRow {
    sku: string;
    location: string;
    shopify_location_id: string;
    inventory_item_id: string;
    variant_id: string;
    shopify_sku: string | null;
    erp_units: number;
    shopify_units: number;
  }
  const toPushTarget = (row: PushTargetRow): PushTarget => ({
    sku: row.sku,
    location: row.location,
    shopifyLocationId: row.shopify_location_id,
    inventoryItemId: row.inventory_item_id,
    variantId: row.variant_id,
    shopifySku: row.shopify_sku,
    conversion: { erpUnits: Number(row.erp_units), shopifyUnits: Number(row.shopify_units) },
  });

  /** The ERP's catalogue is shared by the shops on one ERP: its refreshes are counted once. */
  const scopeOf = (source: CatalogueSource) => (source.startsWith('erp-') ? '*' : shop);
  /** The generation of the newest refresh of a listing (0 before any). */
  const currentGeneration = (source: CatalogueSource) =>
    sql`coalesce((select ${catalogueRefreshes.generation} from ${catalogueRefreshes} where ${catalogueRefreshes.scope} = ${scopeOf(source)} and ${catalogueRefreshes.source} = ${source}), 0)`;
  /** True while `generation` is still the newest refresh of the listing (no later one started). */
  const stillNewest = (source: CatalogueSource, generation: number) => sql`${currentGeneration(source)} = ${generation}`;
  const generationOrCurrent = (source: CatalogueSource, generation: number | undefined) => (generation === undefined ? currentGeneration(source) : sql`${generation}::bigint`);

  return {
    // ------------------------------------------------------------ catalogue refreshes

    /**
     * Starts a refresh of one listing: the next generation, drawn before anything is listed.
     * Rows it writes carry it; an older refresh never overwrites them, and only the newest may
     * retire rows it did not see.
     */
    async beginCatalogueRefresh(source: CatalogueSource): Promise<number> {
      const [row] = await db
        .insert(catalogueRefreshes)
        .values({ scope: scopeOf(source), source, generation: 1, startedAt: sql`now()` })
        .onConflictDoUpdate({
          target: [catalogueRefreshes.scope, catalogueRefreshes.source],
          set: { generation: sql`${catalogueRefreshes.generation} + 1`, startedAt: sql`now()` },
        })
        .returning({ generation: catalogueRefreshes.generation });
      return row!.generation;
    },

    /** Records a complete listing (and, the first time, that the first fill is done). */
    async completeCatalogueRefresh(source: CatalogueSource, generation: number): Promise<void> {
      await db
        .update(catalogueRefreshes)
        .set({
          completedGeneration: sql`greatest(coalesce(${catalogueRefreshes.completedGeneration}, 0), ${generation}::bigint)`,
          completedAt: sql`now()`,
          firstCompletedAt: sql`coalesce(${catalogueRefreshes.firstCompletedAt}, now())`,
        })
        .where(and(eq(catalogueRefreshes.scope, scopeOf(source)), eq(catalogueRefreshes.source, source)));
    },

    /** When each listing was first and last completely read (absent: never). */
    async listCatalogueRefreshes(): Promise<Array<{ source: CatalogueSource; firstCompletedAt: Date | null; completedAt: Date | null; generation: number }>> {
      const rows = await db
        .select({ source: catalogueRefreshes.source, firstCompletedAt: catalogueRefreshes.firstCompletedAt, completedAt: catalogueRefreshes.completedAt, generation: catalogueRefreshes.generation })
        .from(catalogueRefreshes)
        .where(sql`${catalogueRefreshes.scope} in ('*', ${shop})`);
      return rows;
    },

    // ------------------------------------------------------------ the ERP catalogue

    /**
     * Upserts the ERP's locations as seen by refresh `generation` (default: the newest refresh's);
     * a row a newer refresh already wrote is left as that refresh saw it.
     */
    async upsertErpLocations(locations: readonly ErpLocation[], at: Date, generation?: number): Promise<void> {
      const seen = generationOrCurrent('erp-locations', generation);
      for (const part of chunks(locations, INSERT_CHUNK)) {
        await db
          .insert(erpLocations)
          .values(
            part.map((l) => ({ code: l.code, name: l.name, kind: l.kind, parentCode: l.parentCode, warehouseCode: l.warehouseCode, active: true, refreshedAt: at, seenGeneration: seen })),
          )
          .onConflictDoUpdate({
            target: erpLocations.code,
            set: {
              name: sql`excluded.name`,
              kind: sql`excluded.kind`,
              parentCode: sql`excluded.parent_code`,
              warehouseCode: sql`excluded.warehouse_code`,
              active: true,
              refreshedAt: sql`excluded.refreshed_at`,
              seenGeneration: sql`excluded.seen_generation`,
            },
            setWhere: sql`${erpLocations.seenGeneration} <= excluded.seen_generation`,
          });
      }
    },

    /** Retires locations refresh `generation` did not list, only while it is the newest refresh. */
    async deactivateErpLocationsNotSeenIn(generation: number): Promise<void> {
      await db
        .update(erpLocations)
        .set({ active: false })
        .where(and(lt(erpLocations.seenGeneration, generation), stillNewest('erp-locations', generation)));
    },

    async listErpLocations(): Promise<Array<typeof erpLocations.$inferSelect>> {
      return db.select().from(erpLocations).orderBy(asc(erpLocations.code));
    },

    /**
     * Upserts products; only rows that differ are written (a catalogue re-read is mostly reads),
     * and kit components are replaced for those alone. Three statements per 1,000 at most.
     */
    async upsertErpProducts(products: readonly ErpProduct[], at: Date): Promise<void> {
      for (const part of chunks(products, INSERT_CHUNK)) {
        const written = await db
          .insert(erpProducts)
          .values(
            part.map((p) => ({
              sku: p.sku,
              name: p.name,
              stockTracked: p.stockTracked,
              components: p.components.map((c) => ({ sku: c.sku, quantity: c.quantity })),
              active: true,
              refreshedAt: at,
            })),
          )
          .onConflictDoUpdate({
            target: erpProducts.sku,
            set: {
              name: sql`excluded.name`,
              stockTracked: sql`excluded.stock_tracked`,
              components: sql`excluded.components`,
              active: true,
              refreshedAt: sql`excluded.refreshed_at`,
            },
            setWhere: sql`(${erpProducts.name}, ${erpProducts.stockTracked}, ${erpProducts.components}, ${erpProducts.active})
              is distinct from (excluded.name, excluded.stock_tracked, excluded.components, true)`,
          })
          .returning({ sku: erpProducts.sku });
        if (written.length === 0) continue;
        const changed = new Set(written.map((row) => row.sku));
        await db.delete(erpKitComponents).where(inList(erpKitComponents.kitSku, [...changed]));
        const components = part
          .filter((p) => changed.has(p.sku))
          .flatMap((p) => p.components.map((c) => ({ kitSku: p.sku, componentSku: c.sku, quantity: c.quantity })));
        for (const rows of chunks(components, INSERT_CHUNK)) {
          await db.insert(erpKitComponents).values(rows).onConflictDoNothing();
        }
      }
    },

    /**
     * Products a complete listing did not contain: inactive (ATP 0), their mappings kept for when
     * they return. With a refresh generation, only while that refresh is still the newest (an
     * older listing must not retire what a newer one saw).
     */
    async deactivateErpProductsNotIn(seen: readonly string[], generation?: number): Promise<string[]> {
      const rows = await db
        .update(erpProducts)
        .set({ active: false })
        // An anti-join, not `<> all(array)`: that compares every row with the whole list.
        .where(
          and(
            eq(erpProducts.active, true),
            generation === undefined ? undefined : stillNewest('erp-products', generation),
            sql`not exists (select 1 from jsonb_array_elements_text(${jsonParam(seen)}) as seen(sku) where seen.sku = ${erpProducts.sku})`,
          ),
        )
        .returning({ sku: erpProducts.sku });
      return rows.map((row) => row.sku);
    },

    async deactivateErpProducts(skus: readonly string[]): Promise<void> {
      if (skus.length === 0) return;
      await db.update(erpProducts).set({ active: false }).where(inList(erpProducts.sku, skus));
    },

    async countErpProducts(): Promise<number> {
      const [row] = await db.select({ count: sql<number>`count(*)::int` }).from(erpProducts);
      return row?.count ?? 0;
    },

    async findErpProducts(skus: readonly string[]): Promise<Array<typeof erpProducts.$inferSelect>> {
      if (skus.length === 0) return [];
      return db.select().from(erpProducts).where(inList(erpProducts.sku, skus));
    },

    /** Active products that hold or make stock (stock-tracked, or kits): the ones worth mapping. */
    async listMatchableErpSkus(): Promise<string[]> {
      const rows = await db
        .select({ sku: erpProducts.sku })
        .from(erpProducts)
        .where(and(eq(erpProducts.active, true), sql`(${erpProducts.stockTracked} or jsonb_array_length(${erpProducts.components}) > 0)`))
        .orderBy(asc(erpProducts.sku));
      return rows.map((row) => row.sku);
    },

    // ------------------------------------------------------------ the Shopify catalogue

    /**
     * Upserts variants as seen by refresh `generation` (default: the newest refresh's, for a
     * variant looked up on its own); a row a newer refresh already wrote is left as it saw it.
     */
    async upsertShopifyVariants(variants: readonly ShopifyVariant[], at: Date, generation?: number): Promise<void> {
      const seen = generationOrCurrent('shopify-variants', generation);
      for (const part of chunks(variants, INSERT_CHUNK)) {
        await db
          .insert(shopifyVariants)
          .values(
            part.map((v) => ({
              shop,
              variantId: v.variantId,
              sku: v.sku,
              productId: v.productId,
              productTitle: v.productTitle,
              variantTitle: v.variantTitle,
              inventoryItemId: v.inventoryItemId,
              tracked: v.tracked,
              seenAt: at,
              seenGeneration: seen,
            })),
          )
          .onConflictDoUpdate({
            target: [shopifyVariants.shop, shopifyVariants.variantId],
            set: {
              sku: sql`excluded.sku`,
              productId: sql`excluded.product_id`,
              productTitle: sql`excluded.product_title`,
              variantTitle: sql`excluded.variant_title`,
              inventoryItemId: sql`excluded.inventory_item_id`,
              tracked: sql`excluded.tracked`,
              seenAt: sql`greatest(${shopifyVariants.seenAt}, excluded.seen_at)`,
              seenGeneration: sql`excluded.seen_generation`,
            },
            setWhere: sql`${shopifyVariants.seenGeneration} <= excluded.seen_generation`,
          });
      }
    },

    /** Drops variants refresh `generation` did not list, only while it is the newest refresh. */
    async deleteShopifyVariantsNotSeenIn(generation: number): Promise<number> {
      const rows = await db
        .delete(shopifyVariants)
        .where(and(eq(shopifyVariants.shop, shop), lt(shopifyVariants.seenGeneration, generation), stillNewest('shopify-variants', generation)))
        .returning({ id: shopifyVariants.variantId });
      return rows.length;
    },

    async listMatchableVariants(): Promise<MatchableVariant[]> {
      return db
        .select({ variantId: shopifyVariants.variantId, sku: shopifyVariants.sku, inventoryItemId: shopifyVariants.inventoryItemId, tracked: shopifyVariants.tracked })
        .from(shopifyVariants)
        .where(eq(shopifyVariants.shop, shop))
        .orderBy(asc(shopifyVariants.variantId));
    },

    async findVariantsById(variantIds: readonly string[]): Promise<Array<typeof shopifyVariants.$inferSelect>> {
      if (variantIds.length === 0) return [];
      return db.select().from(shopifyVariants).where(and(eq(shopifyVariants.shop, shop), inList(shopifyVariants.variantId, variantIds)));
    },

    /** Variants whose SKU equals `sku` ignoring case (as Shopify's SKU search does). */
    async findVariantsBySkuIgnoringCase(sku: string): Promise<Array<typeof shopifyVariants.$inferSelect>> {
      return db
        .select()
        .from(shopifyVariants)
        .where(and(eq(shopifyVariants.shop, shop), sql`lower(${shopifyVariants.sku}) = lower(${sku})`))
        .orderBy(asc(shopifyVariants.variantId));
    },

    async countShopifyVariants(): Promise<number> {
      const [row] = await db.select({ count: sql<number>`count(*)::int` }).from(shopifyVariants).where(eq(shopifyVariants.shop, shop));
      return row?.count ?? 0;
    },

    /**
     * Upserts the shop's locations as listed by refresh `generation`. A row a newer refresh
     * already wrote keeps what that refresh saw: an older listing that arrives late never
     * overwrites it (nor its active flag).
     */
    async upsertShopifyLocations(locations: readonly ShopifyLocation[], at: Date, generation: number): Promise<void> {
      if (locations.length === 0) return;
      await db
        .insert(shopifyLocations)
        .values(
          locations.map((l) => ({ shop, locationId: l.id, name: l.name, isActive: l.isActive, fulfillsOnlineOrders: l.fulfillsOnlineOrders, seenAt: at, seenGeneration: generation })),
        )
        .onConflictDoUpdate({
          target: [shopifyLocations.shop, shopifyLocations.locationId],
          set: {
            name: sql`excluded.name`,
            isActive: sql`excluded.is_active`,
            fulfillsOnlineOrders: sql`excluded.fulfills_online_orders`,
            seenAt: sql`excluded.seen_at`,
            seenGeneration: sql`excluded.seen_generation`,
          },
          setWhere: sql`${shopifyLocations.seenGeneration} <= excluded.seen_generation`,
        });
    },

    /**
     * Locations Shopify no longer lists are kept but inactive, so their mappings never push.
     * Only the newest refresh retires, and only what it did not see.
     */
    async deactivateShopifyLocationsNotSeenIn(generation: number): Promise<void> {
      await db
        .update(shopifyLocations)
        .set({ isActive: false })
        .where(and(eq(shopifyLocations.shop, shop), lt(shopifyLocations.seenGeneration, generation), stillNewest('shopify-locations', generation)));
    },

    async listShopifyLocations(): Promise<Array<typeof shopifyLocations.$inferSelect>> {
      return db.select().from(shopifyLocations).where(eq(shopifyLocations.shop, shop)).orderBy(asc(shopifyLocations.name));
    },

    // ------------------------------------------------------------ SKU mappings

    async listSkuMappings(): Promise<SkuMapping[]> {
      return (await mappingWithVariant(undefined)).map(toSkuMapping);
    },

    async listSkuMappingsBySource(source: SkuMappingSource): Promise<SkuMapping[]> {
      return (await mappingWithVariant(eq(skuMappings.source, source))).map(toSkuMapping);
    },

    async findSkuMappingsBySkus(erpSkus: readonly string[]): Promise<SkuMapping[]> {
      if (erpSkus.length === 0) return [];
      return (await mappingWithVariant(inList(skuMappings.erpSku, erpSkus))).map(toSkuMapping);
    },

    async findSkuMappingsByVariantIds(variantIds: readonly string[]): Promise<SkuMapping[]> {
      if (variantIds.length === 0) return [];
      return (await mappingWithVariant(inList(skuMappings.shopifyVariantId, variantIds))).map(toSkuMapping);
    },

    async upsertSkuMapping(input: {
      erpSku: string;
      source: SkuMappingSource;
      variant: { variantId: string; sku: string | null; inventoryItemId: string };
      conversion: UnitConversion;
      at: Date;
    }): Promise<void> {
      const values = {
        shop,
        erpSku: input.erpSku,
        source: input.source,
        shopifyVariantId: input.variant.variantId,
        shopifySku: input.variant.sku,
        shopifyInventoryItemId: input.variant.inventoryItemId,
        erpUnits: input.conversion.erpUnits,
        shopifyUnits: input.conversion.shopifyUnits,
        updatedAt: input.at,
      };
      await db
        .insert(skuMappings)
        .values(values)
        .onConflictDoUpdate({ target: [skuMappings.shop, skuMappings.erpSku], set: values });
    },

    async deleteSkuMappings(erpSkus: readonly string[], source?: SkuMappingSource): Promise<void> {
      if (erpSkus.length === 0) return;
      await db
        .delete(skuMappings)
        .where(and(eq(skuMappings.shop, shop), inList(skuMappings.erpSku, erpSkus), source ? eq(skuMappings.source, source) : undefined));
    },

    /** Removes whatever other ERP SKU holds this variant by rule (a manual mapping takes it over). */
    async deleteRuleMappingsOfVariant(variantId: string, exceptErpSku: string): Promise<void> {
      await db
        .delete(skuMappings)
        .where(
          and(eq(skuMappings.shop, shop), eq(skuMappings.shopifyVariantId, variantId), eq(skuMappings.source, 'RULE'), ne(skuMappings.erpSku, exceptErpSku)),
        );
    },

    async insertRuleMappings(rows: ReadonlyArray<{ erpSku: string; variant: { variantId: string; sku: string | null; inventoryItemId: string } }>, at: Date): Promise<void> {
      for (const part of chunks(rows, INSERT_CHUNK)) {
        await db.insert(skuMappings).values(
          part.map(({ erpSku, variant }) => ({
            shop,
            erpSku,
            source: 'RULE',
            shopifyVariantId: variant.variantId,
            shopifySku: variant.sku,
            shopifyInventoryItemId: variant.inventoryItemId,
            updatedAt: at,
          })),
        );
      }
    },

    async replaceConflicts(conflicts: readonly AmbiguousSku[], at: Date): Promise<void> {
      await db.delete(skuMappingConflicts).where(eq(skuMappingConflicts.shop, shop));
      for (const part of chunks(conflicts, INSERT_CHUNK)) {
        await db.insert(skuMappingConflicts).values(
          part.map((c) => ({
            shop,
            erpSku: c.erpSku,
            reason: c.reason,
            candidates: c.candidates.map(({ variantId, sku, inventoryItemId }) => ({ variantId, sku, inventoryItemId })),
            competingErpSkus: [...c.competingErpSkus],
            detectedAt: at,
          })),
        );
      }
    },

    async listConflicts(): Promise<AmbiguousSku[]> {
      const rows = await db.select().from(skuMappingConflicts).where(eq(skuMappingConflicts.shop, shop)).orderBy(asc(skuMappingConflicts.erpSku));
      return rows.map((row) => ({
        erpSku: row.erpSku,
        reason: row.reason as AmbiguousSku['reason'],
        candidates: row.candidates,
        competingErpSkus: row.competingErpSkus,
      }));
    },

    /** Active, mappable ERP SKUs with neither a mapping nor an ambiguity. */
    async listUnmappedErpSkus(): Promise<string[]> {
      const result = await db.execute<{ sku: string }>(sql`
        select p.sku from ${erpProducts} p
        where p.active and (p.stock_tracked or jsonb_array_length(p.components) > 0)
          and not exists (select 1 from ${skuMappings} m where m.shop = ${shop} and m.erp_sku = p.sku)
          and not exists (select 1 from ${skuMappingConflicts} c where c.shop = ${shop} and c.erp_sku = p.sku)
        order by p.sku`);
      return rowsOf<{ sku: string }>(result).map((row) => row.sku);
    },

    /** Variants no mapping uses and no ambiguity names. */
    async listUnmappedShopifyVariants(): Promise<UnmappedShopifyVariant[]> {
      const result = await db.execute<{ variant_id: string; sku: string | null; product_title: string; variant_title: string }>(sql`
        select v.variant_id, v.sku, v.product_title, v.variant_title from ${shopifyVariants} v
        where v.shop = ${shop}
          and not exists (select 1 from ${skuMappings} m where m.shop = v.shop and m.shopify_variant_id = v.variant_id)
          and not exists (
            select 1 from ${skuMappingConflicts} c, jsonb_array_elements(c.candidates) candidate
            where c.shop = v.shop and candidate->>'variantId' = v.variant_id)
        order by v.sku nulls last, v.variant_id`);
      return rowsOf<{ variant_id: string; sku: string | null; product_title: string; variant_title: string }>(result).map((row) => ({
        variantId: row.variant_id,
        sku: row.sku,
        productTitle: row.product_title,
        variantTitle: row.variant_title,
      }));
    },

    // ------------------------------------------------------------ locations

    async listLocationMappings(): Promise<LocationMapping[]> {
      const rows = await db.select().from(locationMappings).where(eq(locationMappings.shop, shop)).orderBy(asc(locationMappings.erpLocation));
      return rows.map((row) => ({ erpLocation: row.erpLocation, shopifyLocationId: row.shopifyLocationId, source: row.source as LocationMappingSource }));
    },

    async upsertLocationMapping(erpLocation: string, shopifyLocationId: string, source: LocationMappingSource, at: Date): Promise<void> {
      const values = { shop, erpLocation, shopifyLocationId, source, updatedAt: at };
      await db
        .insert(locationMappings)
        .values(values)
        .onConflictDoUpdate({ target: [locationMappings.shop, locationMappings.erpLocation], set: values });
    },

    async deleteLocationMapping(erpLocation: string): Promise<void> {
      await db.delete(locationMappings).where(and(eq(locationMappings.shop, shop), eq(locationMappings.erpLocation, erpLocation)));
    },

    /** ERP locations with their mapping: these codes, or the active ones (and inactive ones still mapped), or all. */
    async listLocationViews(codes?: readonly string[] | 'all'): Promise<LocationView[]> {
      const rows = await db
        .select({
          code: erpLocations.code,
          name: erpLocations.name,
          kind: erpLocations.kind,
          warehouseCode: erpLocations.warehouseCode,
          active: erpLocations.active,
          shopifyLocationId: locationMappings.shopifyLocationId,
          source: locationMappings.source,
          shopifyLocationName: shopifyLocations.name,
        })
        .from(erpLocations)
        .leftJoin(locationMappings, and(eq(locationMappings.shop, shop), eq(locationMappings.erpLocation, erpLocations.code)))
        .leftJoin(shopifyLocations, and(eq(shopifyLocations.shop, shop), eq(shopifyLocations.locationId, locationMappings.shopifyLocationId)))
        .where(
          codes === 'all'
            ? undefined
            : codes
              ? inList(erpLocations.code, codes)
              : sql`(${erpLocations.active} or ${locationMappings.erpLocation} is not null)`,
        )
        .orderBy(asc(erpLocations.warehouseCode), sql`${erpLocations.kind} <> 'warehouse'`, asc(erpLocations.code));
      return rows.map((row) => ({
        code: row.code,
        name: row.name,
        kind: row.kind as LocationView['kind'],
        warehouseCode: row.warehouseCode,
        active: row.active,
        shopifyLocationId: row.shopifyLocationId,
        shopifyLocationName: row.shopifyLocationName,
        mappingSource: (row.source as LocationMappingSource | null) ?? null,
      }));
    },

    // ------------------------------------------------------------ normalization rules

    async getNormalizationRules(): Promise<NormalizationRules | null> {
      const [settings] = await db.select().from(skuNormalizationSettings).where(eq(skuNormalizationSettings.shop, shop));
      if (!settings) return null;
      const abbreviations = await db.select().from(skuAbbreviations).where(eq(skuAbbreviations.shop, shop)).orderBy(asc(skuAbbreviations.abbreviation));
      return {
        ignoreCase: settings.ignoreCase,
        ignoreSeparators: settings.ignoreSeparators,
        separators: settings.separators,
        ignoreWhitespace: settings.ignoreWhitespace,
        abbreviations: Object.fromEntries(abbreviations.map((row) => [row.abbreviation, row.expansion])),
      };
    },

    async setNormalizationRules(rules: NormalizationRules, at: Date): Promise<void> {
      const values = {
        shop,
        ignoreCase: rules.ignoreCase,
        ignoreSeparators: rules.ignoreSeparators,
        separators: rules.separators,
        ignoreWhitespace: rules.ignoreWhitespace,
        updatedAt: at,
      };
      await db.insert(skuNormalizationSettings).values(values).onConflictDoUpdate({ target: skuNormalizationSettings.shop, set: values });
      await db.delete(skuAbbreviations).where(eq(skuAbbreviations.shop, shop));
      const pairs = Object.entries(rules.abbreviations);
      if (pairs.length > 0) await db.insert(skuAbbreviations).values(pairs.map(([abbreviation, expansion]) => ({ shop, abbreviation, expansion })));
    },

    /** Seeds the rules only when the shop has none yet (first start); true when it did. */
    async seedNormalizationRules(rules: NormalizationRules, at: Date): Promise<boolean> {
      const inserted = await db
        .insert(skuNormalizationSettings)
        .values({ shop, ignoreCase: rules.ignoreCase, ignoreSeparators: rules.ignoreSeparators, separators: rules.separators, ignoreWhitespace: rules.ignoreWhitespace, updatedAt: at })
        .onConflictDoNothing()
        .returning({ shop: skuNormalizationSettings.shop });
      if (inserted.length === 0) return false;
      const pairs = Object.entries(rules.abbreviations);
      if (pairs.length > 0) await db.insert(skuAbbreviations).values(pairs.map(([abbreviation, expansion]) => ({ shop, abbreviation, expansion }))).onConflictDoNothing();
      return true;
    },

    // ------------------------------------------------------------ push targets

    async getPushTargets(skus: readonly string[]): Promise<PushTarget[]> {
      if (skus.length === 0) return [];
      const result = await db.execute(pushTargetsWhere(inList(sql`m.erp_sku`, skus)));
      return rowsOf<PushTargetRow>(result).map(toPushTarget);
    },

    async listPushTargets(after: string | null, first: number): Promise<{ items: PushTarget[]; lastSku: string | null; more: boolean }> {
      // A page of pushable SKUs first, then all their locations: pages never split a SKU.
      const skuRows = await db
        .selectDistinct({ sku: skuMappings.erpSku })
        .from(skuMappings)
        .innerJoin(shopifyVariants, and(eq(shopifyVariants.shop, skuMappings.shop), eq(shopifyVariants.variantId, skuMappings.shopifyVariantId), eq(shopifyVariants.tracked, true)))
        .where(and(eq(skuMappings.shop, shop), after === null ? undefined : gt(skuMappings.erpSku, after)))
        .orderBy(asc(skuMappings.erpSku))
        .limit(first + 1);
      const more = skuRows.length > first;
      const skus = skuRows.slice(0, first).map((row) => row.sku);
      if (skus.length === 0) return { items: [], lastSku: null, more: false };
      const result = await db.execute(pushTargetsWhere(inList(sql`m.erp_sku`, skus)));
      return { items: rowsOf<PushTargetRow>(result).map(toPushTarget), lastSku: skus[skus.length - 1]!, more };
    },

    async getPushTargetsByItems(inventoryItemIds: readonly string[]): Promise<PushTarget[]> {
      if (inventoryItemIds.length === 0) return [];
      const result = await db.execute(pushTargetsWhere(inList(sql`m.shopify_inventory_item_id`, inventoryItemIds)));
      return rowsOf<PushTargetRow>(result).map(toPushTarget);
    },

    /** The SQL of every push target (for joins in read queries). */
    pushTargetsSql: pushTargetsWhere,

    // ------------------------------------------------------------ push marks

    /**
     * Push every position of these SKUs (or at this location) no later than `at`, through the
     * read model's one writer: one statement whatever the count.
     */
    async markPushRequested(scope: { skus?: readonly string[]; location?: string }, at: Date): Promise<void> {
      await createInventoryLevelsWriter(db, shop).requestPushFor(scope, at);
    },

    /** Serialises matching runs and manual mappings of this shop across instances (until commit). */
    async lockMappings(): Promise<void> {
      await db.execute(sql`select pg_advisory_xact_lock(hashtext(${`stockbridge.mapping:${shop}`}))`);
    },
  };
}

export type MappingRepository = ReturnType<typeof createMappingRepository>;
