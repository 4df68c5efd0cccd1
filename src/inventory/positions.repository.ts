import { and, asc, eq, sql, type SQL } from 'drizzle-orm';
import { rowsOf, type Db } from '../db/database.js';
import { atpExpression, erpKitComponents, erpKitStock, erpLocations, erpProducts, inventoryLevels, locationMappings, safetyStockRules } from '../db/schema/index.js';
import type { PositionChange, PositionRecord, SafetyStockRule } from './inventory.models.js';
import { inList, jsonParam } from './mapping.repository.js';
import type { PositionKey } from './push-requests.js';

/**
 * The ATP engine's reads and writes of the read model. Every write is a constant number of
 * statements whatever the number of positions (lists travel as one jsonb parameter), and ATP is
 * always recomputed with `atpExpression`, the one formula, over the row's current terms.
 */

/** ERP terms of one position, as read from the ERP (or derived, for a kit). */
export interface TermsRow {
  readonly sku: string;
  readonly location: string;
  readonly onHand: number;
  readonly allocated: number;
  readonly wholesaleCommitted: number;
  /** Write only when the position already exists (zeroing a SKU the ERP no longer knows). */
  readonly onlyExisting?: boolean;
}

type LevelRow = typeof inventoryLevels.$inferSelect;

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

/**
 * The safety stock of the position (sku, location) under the shop's rules: the most specific
 * rule wins, SKU at the location, then the SKU anywhere, then the location, then the default; 0
 * without any rule. The one place precedence is decided.
 */
export function safetyStockSql(shop: string, sku: SQL, location: SQL): SQL {
  return sql`coalesce((
    select r.quantity from ${safetyStockRules} r
    where r.shop = ${shop} and r.sku in (${sku}, '') and r.location in (${location}, '')
    order by (r.sku <> '') desc, (r.location <> '') desc
    limit 1), 0)`;
}

/**
 * The ATP of a row made of these terms (seven columns, in the order of the formula's terms:
 * on_hand, allocated, wholesale_committed, safety_stock, reserved, pending_orders,
 * unexplained_shopify_drop), computed by `atpExpression` itself: the derived table is named
 * `inventory_levels`, so the formula's column references read these values. This lets one
 * upsert write new ERP terms and their ATP together while keeping the one formula.
 */
function atpOf(terms: SQL): SQL {
  return sql`(select ${atpExpression} from (select ${terms}) as inventory_levels(on_hand, allocated, wholesale_committed, safety_stock, reserved, pending_orders, unexplained_shopify_drop))`;
}

interface WrittenRow {
  sku: string;
  location: string;
  on_hand: number;
  allocated: number;
  wholesale_committed: number;
  safety_stock: number;
  available_to_promise: number;
  previous_on_hand: number | null;
  previous_allocated: number | null;
  previous_wholesale_committed: number | null;
  previous_safety_stock: number | null;
  previous_available_to_promise: number | null;
}

interface PreviousRow {
  sku: string;
  location: string;
  on_hand: number | null;
  allocated: number | null;
  wholesale_committed: number | null;
  safety_stock: number | null;
  available_to_promise: number | null;
}

const keysOf = (rows: ReadonlyArray<{ sku: string; location: string }>) => rows.map(({ sku, location }) => ({ sku, location }));

/** `(sku, location)` of the table among these keys. */
function keyIn(keys: ReadonlyArray<{ sku: string; location: string }>): SQL {
  return sql`(${inventoryLevels.sku}, ${inventoryLevels.location}) in (
    select k.sku, k.location from jsonb_to_recordset(${jsonParam(keysOf(keys))}) as k(sku text, location text))`;
}

/**
 * Recomputes ATP of these positions with the formula and returns their full rows; with
 * `markPush`, positions whose ATP changed are marked for the event push (same statement).
 */
async function recomputeAtp(db: Db, shop: string, where: SQL, at: Date, markPush: boolean): Promise<LevelRow[]> {
  const atIso = at.toISOString();
  return db
    .update(inventoryLevels)
    .set({
      availableToPromise: atpExpression,
      computedAt: at,
      ...(markPush
        ? {
            // Right-hand sides read the row before this update: the old ATP against the new one.
            pushRequestedAt: sql`case when ${inventoryLevels.availableToPromise} <> ${atpExpression}
              then coalesce(${inventoryLevels.pushRequestedAt}, ${atIso}::timestamptz) else ${inventoryLevels.pushRequestedAt} end`,
          }
        : {}),
    })
    .where(and(eq(inventoryLevels.shop, shop), where))
    .returning();
}

function changesOf(previous: ReadonlyMap<string, PreviousRow>, rows: readonly LevelRow[]): PositionChange[] {
  const changes: PositionChange[] = [];
  for (const row of rows) {
    const before = previous.get(`${row.sku}|${row.location}`);
    const changed =
      !before ||
      before.available_to_promise !== row.availableToPromise ||
      before.on_hand !== row.onHand ||
      before.allocated !== row.allocated ||
      before.wholesale_committed !== row.wholesaleCommitted ||
      before.safety_stock !== row.safetyStock;
    if (changed) {
      changes.push({ sku: row.sku, location: row.location, previousAvailableToPromise: before?.available_to_promise ?? null, availableToPromise: row.availableToPromise });
    }
  }
  return changes;
}

function previousByKey(result: unknown): Map<string, PreviousRow> {
  const map = new Map<string, PreviousRow>();
  for (const row of rowsOf<PreviousRow>(result)) {
    if (row.on_hand === null) continue; // written, but new: no previous values
    map.set(`${row.sku}|${row.location}`, {
      ...row,
      on_hand: Number(row.on_hand),
      allocated: Number(row.allocated),
      wholesale_committed: Number(row.wholesale_committed),
      safety_stock: Number(row.safety_stock),
      available_to_promise: Number(row.available_to_promise),
    });
  }
  return map;
}

function writtenKeys(result: unknown): Array<{ sku: string; location: string }> {
  return rowsOf<PreviousRow>(result).map(({ sku, location }) => ({ sku, location }));
}

export function createPositionsRepository(db: Db, shop: string) {
  return {
    /**
     * Writes the ERP terms of these positions (creating new ones), their safety stock from the
     * rules and their ATP, in one statement. Returns how many were written and which changed.
     */
    async writeErpTerms(rows: readonly TermsRow[], at: Date): Promise<{ written: number; changes: PositionChange[] }> {
      if (rows.length === 0) return { written: 0, changes: [] };
      const incoming = rows.map((r) => ({
        sku: r.sku,
        location: r.location,
        on_hand: r.onHand,
        allocated: r.allocated,
        wholesale_committed: r.wholesaleCommitted,
        only_existing: r.onlyExisting ?? false,
      }));
      const atIso = at.toISOString();
      const result = await db.execute(sql`
        with incoming as (
          select * from jsonb_to_recordset(${jsonParam(incoming)})
            as x(sku text, location text, on_hand float8, allocated float8, wholesale_committed float8, only_existing boolean)
        ),
        previous as (
          select l.sku, l.location, l.on_hand, l.allocated, l.wholesale_committed, l.safety_stock, l.available_to_promise
          from ${inventoryLevels} l join incoming i on i.sku = l.sku and i.location = l.location
          where l.shop = ${shop}
        ),
        written as (
          insert into ${inventoryLevels} (shop, sku, location, on_hand, allocated, wholesale_committed, safety_stock, available_to_promise, erp_read_at, computed_at)
          select ${shop}, i.sku, i.location, i.on_hand, i.allocated, i.wholesale_committed, s.safety_stock,
                 ${atpOf(sql`i.on_hand, i.allocated, i.wholesale_committed, s.safety_stock, 0::float8 as reserved, 0::float8 as pending_orders, 0::float8 as unexplained_shopify_drop`)},
                 ${atIso}::timestamptz, ${atIso}::timestamptz
          from incoming i
          cross join lateral (select ${safetyStockSql(shop, sql`i.sku`, sql`i.location`)} as safety_stock) s
          where not i.only_existing or exists (select 1 from previous p where p.sku = i.sku and p.location = i.location)
          on conflict (shop, sku, location) do update set
            on_hand = excluded.on_hand,
            allocated = excluded.allocated,
            wholesale_committed = excluded.wholesale_committed,
            safety_stock = excluded.safety_stock,
            available_to_promise = ${atpOf(sql`excluded.on_hand, excluded.allocated, excluded.wholesale_committed, excluded.safety_stock,
              ${inventoryLevels}.reserved, ${inventoryLevels}.pending_orders, ${inventoryLevels}.unexplained_shopify_drop`)},
            erp_read_at = excluded.erp_read_at,
            computed_at = excluded.computed_at
          returning sku, location, on_hand, allocated, wholesale_committed, safety_stock, available_to_promise
        )
        select w.sku, w.location, w.on_hand, w.allocated, w.wholesale_committed, w.safety_stock, w.available_to_promise,
               p.on_hand as previous_on_hand, p.allocated as previous_allocated, p.wholesale_committed as previous_wholesale_committed,
               p.safety_stock as previous_safety_stock, p.available_to_promise as previous_available_to_promise
        from written w left join previous p on p.sku = w.sku and p.location = w.location`);
      const written = rowsOf<WrittenRow>(result);
      const changes: PositionChange[] = [];
      for (const row of written) {
        const atp = Number(row.available_to_promise);
        const previousAtp = row.previous_available_to_promise === null ? null : Number(row.previous_available_to_promise);
        const changed =
          previousAtp === null ||
          previousAtp !== atp ||
          Number(row.previous_on_hand) !== Number(row.on_hand) ||
          Number(row.previous_allocated) !== Number(row.allocated) ||
          Number(row.previous_wholesale_committed) !== Number(row.wholesale_committed) ||
          Number(row.previous_safety_stock) !== Number(row.safety_stock);
        if (changed) changes.push({ sku: row.sku, location: row.location, previousAvailableToPromise: previousAtp, availableToPromise: atp });
      }
      return { written: written.length, changes };
    },

    /**
     * Sets the on_hand of existing kit positions (own stock + buildable) and recomputes their
     * ATP, marking changed ones for the event push: for recomputes Stockbridge itself caused.
     */
    async writeKitOnHand(rows: ReadonlyArray<{ sku: string; location: string; onHand: number }>, at: Date): Promise<PositionChange[]> {
      if (rows.length === 0) return [];
      const incoming = rows.map((r) => ({ sku: r.sku, location: r.location, on_hand: r.onHand }));
      const first = await db.execute(sql`
        with incoming as (
          select * from jsonb_to_recordset(${jsonParam(incoming)}) as x(sku text, location text, on_hand float8)
        ),
        previous as (
          select l.sku, l.location, l.on_hand, l.allocated, l.wholesale_committed, l.safety_stock, l.available_to_promise
          from ${inventoryLevels} l join incoming i on i.sku = l.sku and i.location = l.location
          where l.shop = ${shop}
        ),
        written as (
          update ${inventoryLevels} set on_hand = i.on_hand
          from incoming i
          where ${inventoryLevels.shop} = ${shop} and ${inventoryLevels.sku} = i.sku and ${inventoryLevels.location} = i.location
          returning ${inventoryLevels.sku} as sku, ${inventoryLevels.location} as location
        )
        select w.sku, w.location, p.on_hand, p.allocated, p.wholesale_committed, p.safety_stock, p.available_to_promise
        from written w left join previous p on p.sku = w.sku and p.location = w.location`);
      const keys = writtenKeys(first);
      if (keys.length === 0) return [];
      const rowsAfter = await recomputeAtp(db, shop, keyIn(keys), at, true);
      return changesOf(previousByKey(first), rowsAfter);
    },

    /**
     * Re-applies the safety stock rules to every position in scope (a SKU, a location, both or
     * all), recomputes ATP and marks changed positions for push: two statements.
     */
    async applySafetyStock(scope: { sku: string | null; location: string | null }, at: Date): Promise<LevelRow[]> {
      const where = and(
        scope.sku === null ? undefined : eq(inventoryLevels.sku, scope.sku),
        scope.location === null ? undefined : eq(inventoryLevels.location, scope.location),
      );
      await db
        .update(inventoryLevels)
        .set({ safetyStock: safetyStockSql(shop, sql`${inventoryLevels.sku}`, sql`${inventoryLevels.location}`) })
        .where(and(eq(inventoryLevels.shop, shop), where));
      return recomputeAtp(db, shop, where ?? sql`true`, at, true);
    },

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
