import { and, asc, eq, lt, sql } from 'drizzle-orm';
import type { Db } from '../db/database.js';
import { shopifyLocations, shopifyVariants } from '../db/schema/index.js';
import { inList, ROWS_PER_INSERT } from '../db/sql-lists.js';
import { chunk } from '../shared/collections.js';
import type { ShopifyLocation, ShopifyVariant } from '../shopify/shopify-client.js';
import { catalogueGenerations } from './catalogue-refreshes.repository.js';
import type { MatchableVariant } from './sku-matching.js';

/**
 * One shop's Shopify catalogue as last read: variants and locations (`shopify_variants`,
 * `shopify_locations`). The one writer of those tables; writes of a listing carry its refresh
 * generation (see catalogue-refreshes.repository.ts).
 */

export function createShopifyCatalogueRepository(db: Db, shop: string) {
  const { stillNewest, generationOrCurrent } = catalogueGenerations(shop);
  return {
    /**
     * Upserts variants as seen by refresh `generation` (default: the newest refresh's, for a
     * variant looked up on its own); a row a newer refresh already wrote is left as it saw it.
     */
    async upsertShopifyVariants(variants: readonly ShopifyVariant[], at: Date, generation?: number): Promise<void> {
      const seen = generationOrCurrent('shopify-variants', generation);
      for (const part of chunk(variants, ROWS_PER_INSERT)) {
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
  };
}

export type ShopifyCatalogueRepository = ReturnType<typeof createShopifyCatalogueRepository>;
