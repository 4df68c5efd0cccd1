import { and, asc, eq, sql, type SQL } from 'drizzle-orm';
import { rowsOf, type Db } from '../db/database.js';
import { erpKitComponents, erpKitStock, erpLocations, erpProducts, inventoryLevels, locationMappings, safetyStockRules } from '../db/schema/index.js';
import type { PositionRecord, SafetyStockRule } from './inventory.models.js';
import { inList, jsonParam } from '../db/sql-lists.js';
import type { PositionKey } from './push-requests.js';
import { expiringSoon } from './read-model/atp-formula.js';

/**
 * The ATP engine's reads of the read model, and its own tables (kit stock, safety stock rules).
 * Its writes of the read model (ERP terms, kits' on-hand, safety stock) go through the one
 * writer, ./read-model/inventory-levels.writer.ts.
 */

/** A level's row as a position needs it (the sync's bookkeeping columns left out). */
type LevelRow = Omit<typeof inventoryLevels.$inferSelect, 'unconfirmedTake' | 'unconfirmedTakeAt'>;

export function toPositionRecord(row: LevelRow): PositionRecord {
  return {
    sku: row.sku,
    location: row.location,
    onHand: row.onHand,
    allocated: row.allocated,
    safetyStock: row.safetyStock,
    wholesaleCommitted: row.wholesaleCommitted,
    reserved: row.reserved,
    pendingOrders: row.pendingOrders,
    unexplainedShopifyDrop: row.unexplainedShopifyDrop,
    // A negative drop is a credit the sync releases at its next reading; it never adds stock.
    pendingShopifyOrders: row.pendingOrders + Math.max(0, row.unexplainedShopifyDrop),
    expiringLotUnits: row.expiringLotUnits,
    expiringSoon: expiringSoon(row),
    availableToPromise: row.availableToPromise,
    erpReadAt: row.erpReadAt,
    computedAt: row.computedAt,
    shopifyAvailable: row.shopifyAvailable,
    shopifyReadAt: row.shopifyReadAt,
    lastPushedQuantity: row.lastPushedQuantity,
    lastPushedAt: row.lastPushedAt,
    pushRequestedAt: row.pushRequestedAt,
  };
}

const keysOf = (rows: ReadonlyArray<{ sku: string; location: string }>) => rows.map(({ sku, location }) => ({ sku, location }));

/** `(sku, location)` of the table among these keys. */
function keyIn(keys: ReadonlyArray<{ sku: string; location: string }>): SQL {
  return sql`(${inventoryLevels.sku}, ${inventoryLevels.location}) in (
    select k.sku, k.location from jsonb_to_recordset(${jsonParam(keysOf(keys))}) as k(sku text, location text))`;
}

export function createPositionsRepository(db: Db, shop: string) {
  return {
    /** Positions are kept at every active ERP warehouse, and at every other mapped ERP location. */
    async positionLocations(): Promise<string[]> {
      const result = await db.execute<{ code: string }>(sql`
        select code from ${erpLocations} where active and kind = 'warehouse'
        union
        select lm.erp_location from ${locationMappings} lm join ${erpLocations} el on el.code = lm.erp_location and el.active
        where lm.shop = ${shop}
        order by 1`);
      return rowsOf<{ code: string }>(result).map((row) => row.code);
    },

    /** ATP of these SKUs at every location: sku → location → ATP. */
    async readAtp(skus: readonly string[]): Promise<Map<string, Map<string, number>>> {
      const out = new Map<string, Map<string, number>>();
      if (skus.length === 0) return out;
      const rows = await db
        .select({ sku: inventoryLevels.sku, location: inventoryLevels.location, atp: inventoryLevels.availableToPromise })
        .from(inventoryLevels)
        .where(and(eq(inventoryLevels.shop, shop), inList(inventoryLevels.sku, skus)));
      for (const row of rows) {
        const bySku = out.get(row.sku) ?? new Map<string, number>();
        bySku.set(row.location, row.atp);
        out.set(row.sku, bySku);
      }
      return out;
    },

    /** Replaces the stored own stock of these kits (stock-tracked kits' rows; others' are removed). */
    async replaceKitStock(kitSkus: readonly string[], rows: ReadonlyArray<{ sku: string; location: string; onHand: number }>, at: Date): Promise<void> {
      if (kitSkus.length === 0) return;
      await db.delete(erpKitStock).where(inList(erpKitStock.sku, kitSkus));
      if (rows.length > 0) await db.insert(erpKitStock).values(rows.map((r) => ({ ...r, readAt: at })));
    },

    async readKitStock(kitSkus: readonly string[]): Promise<Map<string, number>> {
      if (kitSkus.length === 0) return new Map();
      const rows = await db.select().from(erpKitStock).where(inList(erpKitStock.sku, kitSkus));
      return new Map(rows.map((row) => [`${row.sku}|${row.location}`, row.onHand]));
    },

    /** Kits that use any of these SKUs directly. */
    async findKitsUsing(componentSkus: readonly string[]): Promise<string[]> {
      if (componentSkus.length === 0) return [];
      const rows = await db
        .selectDistinct({ sku: erpKitComponents.kitSku })
        .from(erpKitComponents)
        .innerJoin(erpProducts, and(eq(erpProducts.sku, erpKitComponents.kitSku), eq(erpProducts.active, true)))
        .where(inList(erpKitComponents.componentSku, componentSkus));
      return rows.map((row) => row.sku);
    },

    /** Every active kit's definition (a few percent of a catalogue). */
    async listKitDefinitions(): Promise<Map<string, { readonly stockTracked: boolean; readonly components: ReadonlyArray<{ sku: string; quantity: number }> }>> {
      const rows = await db
        .select({ sku: erpProducts.sku, stockTracked: erpProducts.stockTracked, components: erpProducts.components })
        .from(erpProducts)
        .where(and(eq(erpProducts.active, true), sql`jsonb_array_length(${erpProducts.components}) > 0`));
      return new Map(rows.map((row) => [row.sku, { stockTracked: row.stockTracked, components: row.components }]));
    },

    async getPositions(keys: readonly PositionKey[]): Promise<PositionRecord[]> {
      if (keys.length === 0) return [];
      const rows = await db
        .select()
        .from(inventoryLevels)
        .where(and(eq(inventoryLevels.shop, shop), keyIn(keys)))
        .orderBy(asc(inventoryLevels.sku), asc(inventoryLevels.location));
      return rows.map(toPositionRecord);
    },

    async getPositionsBySkus(skus: readonly string[]): Promise<Map<string, PositionRecord[]>> {
      const out = new Map<string, PositionRecord[]>();
      if (skus.length === 0) return out;
      const rows = await db
        .select()
        .from(inventoryLevels)
        .where(and(eq(inventoryLevels.shop, shop), inList(inventoryLevels.sku, skus)))
        .orderBy(asc(inventoryLevels.sku), asc(inventoryLevels.location));
      for (const row of rows) out.set(row.sku, [...(out.get(row.sku) ?? []), toPositionRecord(row)]);
      return out;
    },

    async countPositions(): Promise<number> {
      const [row] = await db.select({ count: sql<number>`count(*)::int` }).from(inventoryLevels).where(eq(inventoryLevels.shop, shop));
      return row?.count ?? 0;
    },

    // ------------------------------------------------------------ safety stock rules

    async upsertSafetyStockRule(rule: { sku: string | null; location: string | null; quantity: number }, at: Date): Promise<void> {
      const values = { shop, sku: rule.sku ?? '', location: rule.location ?? '', quantity: rule.quantity, updatedAt: at };
      await db
        .insert(safetyStockRules)
        .values(values)
        .onConflictDoUpdate({ target: [safetyStockRules.shop, safetyStockRules.sku, safetyStockRules.location], set: { quantity: values.quantity, updatedAt: at } });
    },

    async deleteSafetyStockRule(rule: { sku: string | null; location: string | null }): Promise<void> {
      await db
        .delete(safetyStockRules)
        .where(and(eq(safetyStockRules.shop, shop), eq(safetyStockRules.sku, rule.sku ?? ''), eq(safetyStockRules.location, rule.location ?? '')));
    },

    async listSafetyStockRules(): Promise<SafetyStockRule[]> {
      const rows = await db
        .select()
        .from(safetyStockRules)
        .where(eq(safetyStockRules.shop, shop))
        .orderBy(asc(safetyStockRules.sku), asc(safetyStockRules.location));
      return rows.map((row) => ({ sku: row.sku || null, location: row.location || null, quantity: row.quantity, updatedAt: row.updatedAt }));
    },
  };
}

export type PositionsRepository = ReturnType<typeof createPositionsRepository>;
