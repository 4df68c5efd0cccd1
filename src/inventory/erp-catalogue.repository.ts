import { and, asc, eq, lt, sql } from 'drizzle-orm';
import type { Db } from '../db/database.js';
import { erpKitComponents, erpLocations, erpProducts } from '../db/schema/index.js';
import { inList, jsonParam, ROWS_PER_INSERT } from '../db/sql-lists.js';
import type { Location as ErpLocation, Product as ErpProduct } from '../erp/erp-connector.js';
import { chunk } from '../shared/collections.js';
import { catalogueGenerations } from './catalogue-refreshes.repository.js';

/**
 * The ERP catalogue as last read: locations, products and kit components (`erp_locations`,
 * `erp_products`, `erp_kit_components`), shared by the shops on one ERP. The one writer of those
 * tables; writes of a listing carry its refresh generation (see catalogue-refreshes.repository.ts).
 */

export function createErpCatalogueRepository(db: Db, shop: string) {
  const { stillNewest, generationOrCurrent } = catalogueGenerations(shop);
  return {
    /**
     * Upserts the ERP's locations as seen by refresh `generation` (default: the newest refresh's);
     * a row a newer refresh already wrote is left as that refresh saw it.
     */
    async upsertErpLocations(locations: readonly ErpLocation[], at: Date, generation?: number): Promise<void> {
      const seen = generationOrCurrent('erp-locations', generation);
      for (const part of chunk(locations, ROWS_PER_INSERT)) {
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
      for (const part of chunk(products, ROWS_PER_INSERT)) {
        const written = await db
          .insert(erpProducts)
          .values(
            part.map((p) => ({
              sku: p.sku,
              name: p.name,
              stockTracked: p.stockTracked,
              components: p.components.map((c) => ({ sku: c.sku, quantity: c.quantity })),
              unit: p.unit,
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
              unit: sql`excluded.unit`,
              active: true,
              refreshedAt: sql`excluded.refreshed_at`,
            },
            setWhere: sql`(${erpProducts.name}, ${erpProducts.stockTracked}, ${erpProducts.components}, ${erpProducts.unit}, ${erpProducts.active})
              is distinct from (excluded.name, excluded.stock_tracked, excluded.components, excluded.unit, true)`,
          })
          .returning({ sku: erpProducts.sku });
        if (written.length === 0) continue;
        const changed = new Set(written.map((row) => row.sku));
        await db.delete(erpKitComponents).where(inList(erpKitComponents.kitSku, [...changed]));
        const components = part
          .filter((p) => changed.has(p.sku))
          .flatMap((p) => p.components.map((c) => ({ kitSku: p.sku, componentSku: c.sku, quantity: c.quantity })));
        for (const rows of chunk(components, ROWS_PER_INSERT)) {
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
  };
}

export type ErpCatalogueRepository = ReturnType<typeof createErpCatalogueRepository>;
