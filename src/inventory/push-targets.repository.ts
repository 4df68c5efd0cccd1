import { and, asc, eq, gt, sql, type SQL } from 'drizzle-orm';
import { rowsOf, type Db } from '../db/database.js';
import { erpLocations, locationMappings, shopifyLocations, shopifyVariants, skuMappings } from '../db/schema/index.js';
import { inList } from '../db/sql-lists.js';
import type { PushTarget } from './inventory.models.js';

/**
 * Push targets: where a SKU's stock goes in Shopify, read across the catalogues and the mappings.
 * Reads only; every table it joins has its own writer.
 */
export function createPushTargetsRepository(db: Db, shop: string) {
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

  return {
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
  };
}

export type PushTargetsRepository = ReturnType<typeof createPushTargetsRepository>;
