import { and, asc, eq, ne, sql, type SQL } from 'drizzle-orm';
import { rowsOf, type Db } from '../db/database.js';
import { erpProducts, shopifyVariants, skuMappingConflicts, skuMappings } from '../db/schema/index.js';
import { inList, ROWS_PER_INSERT } from '../db/sql-lists.js';
import { chunk } from '../shared/collections.js';
import type { AmbiguousSku, SkuMapping, SkuMappingSource, UnitConversion, UnmappedShopifyVariant } from './inventory.models.js';

/**
 * One shop's SKU mappings (ERP SKU -> Shopify variant, with the unit conversion) and the
 * ambiguities the matcher could not decide (`sku_mappings`, `sku_mapping_conflicts`): the one
 * writer of those tables. Writers that decide on the current mappings take `lockMappings` first.
 */

type SkuMappingRow = typeof skuMappings.$inferSelect;

interface SkuMappingJoined {
  mapping: SkuMappingRow;
  tracked: boolean | null;
}

/** A stored mapping joined with its variant's `tracked` (null: the variant is gone) as the API's SkuMapping. */
export function toSkuMapping({ mapping, tracked }: SkuMappingJoined): SkuMapping {
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

export function createSkuMappingRepository(db: Db, shop: string) {
  const mappingWithVariant = (where: SQL | undefined) =>
    db
      .select({ mapping: skuMappings, tracked: shopifyVariants.tracked })
      .from(skuMappings)
      .leftJoin(shopifyVariants, and(eq(shopifyVariants.shop, skuMappings.shop), eq(shopifyVariants.variantId, skuMappings.shopifyVariantId)))
      .where(and(eq(skuMappings.shop, shop), where))
      .orderBy(asc(skuMappings.erpSku));

  return {
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
      for (const part of chunk(rows, ROWS_PER_INSERT)) {
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
      for (const part of chunk(conflicts, ROWS_PER_INSERT)) {
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

    /** Serialises matching runs and manual mappings of this shop across instances (until commit). */
    async lockMappings(): Promise<void> {
      await db.execute(sql`select pg_advisory_xact_lock(hashtext(${`stockbridge.mapping:${shop}`}))`);
    },
  };
}

export type SkuMappingRepository = ReturnType<typeof createSkuMappingRepository>;
