// One unit though long, by rule: every statement that writes `inventory_levels` lives in this
// file, so the ATP formula and the push-mark rule have one meaning each and one place to check
// (test/inventory/read-model.rule.test.ts fails on a write of the table anywhere else).
import { and, asc, eq, inArray, or, sql, type SQL } from 'drizzle-orm';
import { rowsOf, type Db } from '../../db/database.js';
import { inventoryLevels, inventoryLots, safetyStockRules } from '../../db/schema/index.js';
import { jsonParam, inList, pairIn, ROWS_PER_STATEMENT, timestamptz as iso, valuesTable } from '../../db/sql-lists.js';
import { chunk } from '../../shared/collections.js';
import type { PositionChange } from '../inventory.models.js';
import { atpExpression, atpOf } from './atp-formula.js';
import { expiringLotUnitsSql, type ExpiryHorizon } from './expiry.js';

/**
 * The one writer of the read model (`inventory_levels`). Every INSERT, UPDATE and DELETE of the
 * table is here, so the ATP formula, the term updates and the push mark have one meaning each;
 * copies of them in other domains had drifted (test/inventory/read-model.rule.test.ts keeps it so).
 *
 * Guarantees a caller may rely on:
 * - Every operation runs on the executor it was created with: pass a transaction and the change
 *   commits with the caller's own rows (a reservation with its units, an order with its pending
 *   units) or not at all.
 * - A statement that changes a term stores the ATP of the new terms (`atpOf`, the one formula)
 *   in the same statement: no reader ever sees a term without its ATP.
 * - "Push no later than t" (`requestPush` and every mark set with a change) is
 *   `least(existing mark, t)`: a mark only ever moves earlier, and no mark means t. Only the sync,
 *   after Shopify refused a write, moves a mark later (`deferPush`, and only where the ATP is
 *   still the one the refused write was computed from), and only the push clears one: where it
 *   sent the value (`recordPushed`), found Shopify already right (`clearPushMarks`) or has
 *   nowhere to send it (`clearDuePushMarks`).
 * - Lists are written in a constant number of statements (chunks of ROWS_PER_STATEMENT rows).
 *   Writers that decide on a row's current values lock the rows first (`lockPositions`, in
 *   (sku, location) order), so two of them never wait on each other in a cycle.
 *
 * Positions without a row are never created here except by the ATP engine (`writeErpTerms`):
 * other domains' changes to a position nobody computed yet are ignored (the next sync creates
 * and pushes it).
 */

export interface PositionKey {
  readonly sku: string;
  readonly location: string;
}

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

export type LevelRow = typeof inventoryLevels.$inferSelect;

/** A position locked by `lockPositions`: its ATP and reserved units as the lock found them. */
export interface LockedPosition {
  sku: string;
  location: string;
  atp: number;
  reserved: number;
}

const chunks = <T>(items: readonly T[], size = ROWS_PER_STATEMENT): T[][] => chunk(items, size);

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
 * The units of `unconfirmed_take` that still count: those added after the last push set the
 * value whole (`last_pushed_at`), else none. Shopify's value below zero by no more than this is
 * a take of our own, not a sale beyond stock.
 */
export const unconfirmedTakeExpression: SQL<number> = sql<number>`(case when ${inventoryLevels.unconfirmedTakeAt} is not null
  and (${inventoryLevels.lastPushedAt} is null or ${inventoryLevels.unconfirmedTakeAt} >= ${inventoryLevels.lastPushedAt})
  then ${inventoryLevels.unconfirmedTake} else 0 end)`;

/**
 * The push mark after "push no later than `wanted`": the earlier of the two. PostgreSQL's `least`
 * ignores NULL arguments, so a position without a mark gets `wanted`.
 */
export function pushNoLaterThan(wanted: SQL): SQL {
  return sql`least(${inventoryLevels.pushRequestedAt}, ${wanted})`;
}

/** The same rule in TypeScript (tests, and callers that plan before they write). */
export function pushMarkAfter(existing: Date | null, wanted: Date): Date {
  return existing !== null && existing.getTime() <= wanted.getTime() ? existing : wanted;
}

export function comparePositions(a: PositionKey, b: PositionKey): number {
  return a.sku === b.sku ? (a.location < b.location ? -1 : a.location > b.location ? 1 : 0) : a.sku < b.sku ? -1 : 1;
}

/** The distinct positions of these rows, in (sku, location) order. */
export function sortedPositions(rows: readonly PositionKey[]): PositionKey[] {
  const unique = new Map(rows.map((row) => [`${row.sku}\u0000${row.location}`, { sku: row.sku, location: row.location }]));
  return [...unique.values()].sort(comparePositions);
}

/** `(sku, location)` of the table among these positions, as `sku = a and location in (…) or …`. */
function positionsCondition(positions: readonly PositionKey[]): SQL {
  const bySku = new Map<string, string[]>();
  for (const { sku, location } of positions) bySku.set(sku, [...(bySku.get(sku) ?? []), location]);
  return or(...[...bySku].map(([sku, locations]) => and(eq(inventoryLevels.sku, sku), inArray(inventoryLevels.location, [...new Set(locations)]))))!;
}

/** `(sku, location)` of the table among these keys, as one jsonb parameter (any number of keys). */
function keyIn(keys: readonly PositionKey[]): SQL {
  return pairIn(inventoryLevels.sku, inventoryLevels.location, keys.map(({ sku, location }) => [sku, location] as const));
}

/** Sums the deltas of each position; the result is in (sku, location) order. */
function totalsByPosition<T extends PositionKey & Record<K, number>, K extends string>(changes: readonly T[], fields: readonly K[]): Array<PositionKey & Record<K, number>> {
  const totals = new Map<string, PositionKey & Record<K, number>>();
  for (const change of changes) {
    const key = `${change.sku}\u0000${change.location}`;
    const total = totals.get(key) ?? ({ sku: change.sku, location: change.location, ...Object.fromEntries(fields.map((f) => [f, 0])) } as PositionKey & Record<K, number>);
    for (const field of fields) (total as Record<K, number>)[field] += change[field];
    totals.set(key, total);
  }
  return [...totals.values()].sort(comparePositions);
}

interface WrittenRow {
  sku: string;
  location: string;
  on_hand: number;
  allocated: number;
  wholesale_committed: number;
  safety_stock: number;
  expiring_lot_units: number;
  available_to_promise: number;
  previous_on_hand: number | null;
  previous_allocated: number | null;
  previous_wholesale_committed: number | null;
  previous_safety_stock: number | null;
  previous_expiring_lot_units: number | null;
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

export function createInventoryLevelsWriter(db: Db, shop: string) {
  const ofShop = sql`${inventoryLevels.shop} = ${shop}`;
  const matchesV = sql`${ofShop} and ${inventoryLevels.sku} = v.sku and ${inventoryLevels.location} = v.location`;

  /**
   * A condition for a statement's WHERE that locks the shop's rows matching `condition` in
   * (sku, location) order before the statement changes any of them: an uncorrelated sub-select
   * (an InitPlan, run once before the first row), whose `inventory_levels` columns bind to its
   * own scan. Every statement here that changes several rows carries it, so two of them (or one
   * and a `lockPositions`) never take the same rows in different orders: multi-row UPDATEs lock
   * in their plan's order, and the push's, the inbox's and the ERP refresh's writes of the same
   * hot positions deadlocked at 10,000 orders a minute.
   */
  function lockedFirst(condition: SQL | undefined): SQL {
    return sql`(select count(*) from (select 1 from ${inventoryLevels} where ${ofShop}${condition ? sql` and ${condition}` : sql``}
      order by ${inventoryLevels.sku}, ${inventoryLevels.location} for update) as locked_first) >= 0`;
  }
  /** lockedFirst over these positions. */
  const lockedFirstKeys = (keys: readonly PositionKey[]) => lockedFirst(keyIn(keys));

  /**
   * Recomputes the ATP of these positions with the formula and returns their full rows; with
   * `markPush`, positions whose ATP changed are marked "push no later than `at`" (same statement).
   */
  async function recomputeAtp(where: SQL | undefined, at: Date, markPush: boolean): Promise<LevelRow[]> {
    return db
      .update(inventoryLevels)
      .set({
        availableToPromise: atpExpression,
        computedAt: at,
        ...(markPush
          ? {
              // Right-hand sides read the row before this update: the old ATP against the new one.
              pushRequestedAt: sql`case when ${inventoryLevels.availableToPromise} <> ${atpExpression}
                then ${pushNoLaterThan(iso(at))} else ${inventoryLevels.pushRequestedAt} end`,
            }
          : {}),
      })
      .where(and(sql`${ofShop}`, where, lockedFirst(where)))
      .returning();
  }

  /**
   * Locks the positions' rows (SELECT … FOR UPDATE) in (sku, location) order and returns their
   * ATP and reserved units. Every writer of a position's terms that decides on its current
   * values (a reservation, an order's pending units) locks this way first, so two of them never
   * wait on each other in a cycle; positions without a row are absent from the answer.
   */
  function lockPositions(positions: readonly PositionKey[]): Promise<LockedPosition[]> {
    if (positions.length === 0) return Promise.resolve([]);
    return db
      .select({ sku: inventoryLevels.sku, location: inventoryLevels.location, atp: atpExpression, reserved: inventoryLevels.reserved })
      .from(inventoryLevels)
      .where(and(sql`${ofShop}`, positionsCondition(sortedPositions(positions))))
      .orderBy(asc(inventoryLevels.sku), asc(inventoryLevels.location))
      .for('update');
  }

  /** `lockPositions` returning the whole rows (their terms as the lock found them). */
  function lockRows(positions: readonly PositionKey[]): Promise<LevelRow[]> {
    if (positions.length === 0) return Promise.resolve([]);
    return db
      .select()
      .from(inventoryLevels)
      .where(and(sql`${ofShop}`, positionsCondition(sortedPositions(positions))))
      .orderBy(asc(inventoryLevels.sku), asc(inventoryLevels.location))
      .for('update');
  }

  return {
    // ------------------------------------------------------------ the ATP engine's terms

    /**
     * Writes the ERP terms of these positions (creating new ones), their safety stock from the
     * rules, their expiring lot units (from the stored lots, under `horizon`: write the page's
     * lots first, in the same transaction) and their ATP, in one statement. Returns how many were
     * written and which changed. No push mark: ERP-driven changes are the delta sync's to push.
     */
    async writeErpTerms(rows: readonly TermsRow[], at: Date, horizon: ExpiryHorizon): Promise<{ written: number; changes: PositionChange[] }> {
      if (rows.length === 0) return { written: 0, changes: [] };
      const incoming = rows.map((r) => ({
        sku: r.sku,
        location: r.location,
        on_hand: r.onHand,
        allocated: r.allocated,
        wholesale_committed: r.wholesaleCommitted,
        only_existing: r.onlyExisting ?? false,
      }));
      const result = await db.execute(sql`
        with incoming as (
          select * from jsonb_to_recordset(${jsonParam(incoming)})
            as x(sku text, location text, on_hand float8, allocated float8, wholesale_committed float8, only_existing boolean)
        ),
        previous as (
          select l.sku, l.location, l.on_hand, l.allocated, l.wholesale_committed, l.safety_stock, l.expiring_lot_units, l.available_to_promise
          from ${inventoryLevels} l join incoming i on i.sku = l.sku and i.location = l.location
          where l.shop = ${shop}
        ),
        written as (
          insert into ${inventoryLevels} (shop, sku, location, on_hand, allocated, wholesale_committed, safety_stock, expiring_lot_units, available_to_promise, erp_read_at, computed_at)
          select ${shop}, i.sku, i.location, i.on_hand, i.allocated, i.wholesale_committed, s.safety_stock, e.units,
                 ${atpOf({
                   on_hand: sql`i.on_hand`,
                   allocated: sql`i.allocated`,
                   wholesale_committed: sql`i.wholesale_committed`,
                   safety_stock: sql`s.safety_stock`,
                   reserved: sql`0::float8`,
                   pending_orders: sql`0::float8`,
                   unexplained_shopify_drop: sql`0::float8`,
                   expiring_lot_units: sql`e.units`,
                 })},
                 ${iso(at)}, ${iso(at)}
          from incoming i
          cross join lateral (select ${safetyStockSql(shop, sql`i.sku`, sql`i.location`)} as safety_stock) s
          cross join lateral (select ${expiringLotUnitsSql(shop, sql`i.sku`, sql`i.location`, horizon)} as units) e
          where (not i.only_existing or exists (select 1 from previous p where p.sku = i.sku and p.location = i.location))
            and ${lockedFirst(sql`(${inventoryLevels.sku}, ${inventoryLevels.location}) in (select sku, location from incoming)`)}
          on conflict (shop, sku, location) do update set
            on_hand = excluded.on_hand,
            allocated = excluded.allocated,
            wholesale_committed = excluded.wholesale_committed,
            safety_stock = excluded.safety_stock,
            expiring_lot_units = excluded.expiring_lot_units,
            available_to_promise = ${atpOf({
              on_hand: sql`excluded.on_hand`,
              allocated: sql`excluded.allocated`,
              wholesale_committed: sql`excluded.wholesale_committed`,
              safety_stock: sql`excluded.safety_stock`,
              expiring_lot_units: sql`excluded.expiring_lot_units`,
            })},
            erp_read_at = excluded.erp_read_at,
            computed_at = excluded.computed_at
          returning sku, location, on_hand, allocated, wholesale_committed, safety_stock, expiring_lot_units, available_to_promise
        )
        select w.sku, w.location, w.on_hand, w.allocated, w.wholesale_committed, w.safety_stock, w.expiring_lot_units, w.available_to_promise,
               p.on_hand as previous_on_hand, p.allocated as previous_allocated, p.wholesale_committed as previous_wholesale_committed,
               p.safety_stock as previous_safety_stock, p.expiring_lot_units as previous_expiring_lot_units,
               p.available_to_promise as previous_available_to_promise
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
          Number(row.previous_safety_stock) !== Number(row.safety_stock) ||
          Number(row.previous_expiring_lot_units) !== Number(row.expiring_lot_units);
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
          where ${ofShop} and ${inventoryLevels.sku} = i.sku and ${inventoryLevels.location} = i.location
            and ${lockedFirst(sql`(${inventoryLevels.sku}, ${inventoryLevels.location}) in (select sku, location from incoming)`)}
          returning ${inventoryLevels.sku} as sku, ${inventoryLevels.location} as location
        )
        select w.sku, w.location, p.on_hand, p.allocated, p.wholesale_committed, p.safety_stock, p.available_to_promise
        from written w left join previous p on p.sku = w.sku and p.location = w.location`);
      const keys = rowsOf<PreviousRow>(first).map(({ sku, location }) => ({ sku, location }));
      if (keys.length === 0) return [];
      const rowsAfter = await recomputeAtp(keyIn(keys), at, true);
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
        .where(and(sql`${ofShop}`, where, lockedFirst(where)));
      return recomputeAtp(where, at, true);
    },

    /**
     * Re-evaluates the expiring lot units of the positions in scope (these SKUs' positions, or
     * every position with dated lots or expiring units) under `horizon`. Where they changed, it
     * stores them with the ATP of the new terms and marks positions whose ATP changed "push no
     * later than `at`", in one statement: for time passing (the expiry job) and shelf-life rule
     * changes. Returns the positions whose expiring units changed.
     */
    async applyExpiry(scope: { skus: readonly string[] } | 'all', horizon: ExpiryHorizon, at: Date): Promise<PositionChange[]> {
      if (scope !== 'all' && scope.skus.length === 0) return [];
      const candidates =
        scope === 'all'
          ? sql`(l.expiring_lot_units <> 0 or exists (
              select 1 from ${inventoryLots} x where x.shop = ${shop} and x.sku = l.sku and x.location = l.location and x.expires_on is not null))`
          : inList(sql`l.sku`, scope.skus);
      const fresh = atpOf({ expiring_lot_units: sql`f.units` });
      const result = await db.execute(sql`
        with fresh as (
          select l.sku, l.location, l.available_to_promise as previous_atp,
                 ${expiringLotUnitsSql(shop, sql`l.sku`, sql`l.location`, horizon)} as units
          from ${inventoryLevels} l
          where l.shop = ${shop} and ${candidates}
        )
        update ${inventoryLevels}
        set expiring_lot_units = f.units,
            available_to_promise = ${fresh},
            computed_at = ${iso(at)},
            push_requested_at = case when ${inventoryLevels.availableToPromise} <> ${fresh}
              then ${pushNoLaterThan(iso(at))} else ${inventoryLevels.pushRequestedAt} end
        from fresh f
        where ${ofShop} and ${inventoryLevels.sku} = f.sku and ${inventoryLevels.location} = f.location
          and ${inventoryLevels.expiringLotUnits} <> f.units
          and ${lockedFirst(sql`(${inventoryLevels.sku}, ${inventoryLevels.location}) in (select sku, location from fresh)`)}
        returning ${inventoryLevels.sku} as sku, ${inventoryLevels.location} as location, f.previous_atp, ${inventoryLevels.availableToPromise} as atp`);
      return rowsOf<{ sku: string; location: string; previous_atp: number; atp: number }>(result).map((row) => ({
        sku: row.sku,
        location: row.location,
        previousAvailableToPromise: Number(row.previous_atp),
        availableToPromise: Number(row.atp),
      }));
    },

    // ------------------------------------------------------------ other domains' terms

    lockPositions,
    lockRows,

    /**
     * Adds `delta` units to `reserved` of each position (negative frees them), stores the ATP of
     * the new terms and marks the positions "push no later than `at`" (every reservation change
     * leads to a push; the push writes only values that differ). Locks first (see lockPositions),
     * then one statement.
     */
    async adjustReserved(changes: readonly (PositionKey & { delta: number })[], at: Date): Promise<void> {
      const totals = totalsByPosition(changes, ['delta']);
      if (totals.length === 0) return;
      await lockPositions(totals);
      for (const page of chunks(totals)) {
        const rows = page.map(({ sku, location, delta }) => sql`(${sku}::text, ${location}::text, ${delta}::double precision)`);
        await db.execute(sql`
          update ${inventoryLevels}
          set reserved = ${inventoryLevels.reserved} + v.delta,
              available_to_promise = ${atpOf({ reserved: sql`${inventoryLevels.reserved} + v.delta` })},
              computed_at = ${iso(at)},
              push_requested_at = ${pushNoLaterThan(iso(at))}
          from ${valuesTable(rows, 'sku, location, delta')}
          where ${matchesV} and ${lockedFirstKeys(page)}`);
      }
    },

    /**
     * Takes decided units: adds each `quantity` to `reserved` only where the ATP before covers it,
     * stores the new ATP and marks the position "push no later than `at`", in one statement.
     * Returns how many positions took their units. The caller holds the rows' locks (it decided
     * under them), so the guard always holds; a caller that sees fewer than it asked for must
     * fail its transaction rather than promise units that are not there.
     */
    async takeReserved(takes: readonly (PositionKey & { quantity: number })[], at: Date): Promise<number> {
      if (takes.length === 0) return 0;
      let taken = 0;
      for (const page of chunks(takes)) {
        const rows = page.map(({ sku, location, quantity }) => sql`(${sku}::text, ${location}::text, ${quantity}::integer)`);
        const result = await db.execute(sql`
          update ${inventoryLevels}
          set reserved = ${inventoryLevels.reserved} + v.quantity,
              available_to_promise = ${atpOf({ reserved: sql`${inventoryLevels.reserved} + v.quantity` })},
              computed_at = ${iso(at)},
              push_requested_at = ${pushNoLaterThan(iso(at))}
          from ${valuesTable(rows, 'sku, location, quantity')}
          where ${matchesV} and ${lockedFirstKeys(page)} and ${atpExpression} >= v.quantity
          returning ${inventoryLevels.sku}`);
        taken += rowsOf(result).length;
      }
      return taken;
    },

    /**
     * `takeReserved` as a statement for the caller to embed in one of its own (a data-modifying
     * CTE: the reservation's rows, its lines and the units in one statement, one round trip).
     * `source` is a query yielding `(sku text, location text, quantity integer)`, one row per
     * position; the statement returns the sku of each position that took its units. Same guard,
     * same ATP and push mark as `takeReserved`; the caller locks the rows first in the same
     * statement and must fail it when fewer positions took their units than it asked for.
     */
    takeReservedStatement(source: SQL, at: Date): SQL {
      return sql`update ${inventoryLevels}
          set reserved = ${inventoryLevels.reserved} + v.quantity,
              available_to_promise = ${atpOf({ reserved: sql`${inventoryLevels.reserved} + v.quantity` })},
              computed_at = ${iso(at)},
              push_requested_at = ${pushNoLaterThan(iso(at))}
          from (${source}) as v
          where ${matchesV} and ${atpExpression} >= v.quantity
          returning ${inventoryLevels.sku}`;
    },

    /**
     * Moves `pending_orders` of each position by `delta` (never below 0) and takes `explain` off
     * `unexplained_shopify_drop` (the order handshake with the sync: units an order adds for the
     * first time explain Shopify's drop, and `pending_counted_at` records when), stores the ATP of the new terms and marks the positions
     * "push no later than `at`", in one statement. The caller locks the positions first
     * (lockPositions) when it decides on their rows.
     */
    async adjustPendingOrders(changes: readonly (PositionKey & { delta: number; explain: number })[], at: Date): Promise<void> {
      const totals = totalsByPosition(changes, ['delta', 'explain']);
      for (const page of chunks(totals)) {
        const rows = page.map((c) => sql`(${c.sku}::text, ${c.location}::text, ${c.delta}::double precision, ${c.explain}::double precision)`);
        await db.execute(sql`
          update ${inventoryLevels}
          set pending_orders = greatest(0, ${inventoryLevels.pendingOrders} + v.delta),
              unexplained_shopify_drop = ${inventoryLevels.unexplainedShopifyDrop} - v.explain,
              pending_counted_at = case when v.explain > 0 then greatest(${iso(at)}, clock_timestamp()) else ${inventoryLevels.pendingCountedAt} end,
              available_to_promise = ${atpOf({
                pending_orders: sql`greatest(0, ${inventoryLevels.pendingOrders} + v.delta)`,
                unexplained_shopify_drop: sql`${inventoryLevels.unexplainedShopifyDrop} - v.explain`,
              })},
              computed_at = ${iso(at)},
              push_requested_at = ${pushNoLaterThan(iso(at))}
          from ${valuesTable(rows, 'sku, location, delta, explain')}
          where ${matchesV} and ${lockedFirstKeys(page)}`);
      }
    },

    // ------------------------------------------------------------ the sync's terms and values

    /**
     * Adds `delta` to each position's unexplained Shopify drop (relatively, so an order's
     * handshake that lands meanwhile is kept) and stores the ATP of the new terms, in one
     * statement per chunk. No push mark: the sync plans this position's push itself.
     */
    async addUnexplainedDrop(changes: readonly (PositionKey & { delta: number })[], at: Date): Promise<void> {
      const totals = totalsByPosition(changes, ['delta']);
      for (const page of chunks(totals)) {
        const rows = page.map((c) => sql`(${c.sku}::text, ${c.location}::text, ${c.delta}::float8)`);
        await db.execute(sql`
          update ${inventoryLevels}
          set unexplained_shopify_drop = ${inventoryLevels.unexplainedShopifyDrop} + v.delta,
              available_to_promise = ${atpOf({ unexplained_shopify_drop: sql`${inventoryLevels.unexplainedShopifyDrop} + v.delta` })},
              computed_at = ${iso(at)}
          from ${valuesTable(rows, 'sku, location, delta')}
          where ${matchesV} and ${lockedFirstKeys(page)}`);
      }
    },

    /**
     * What one push plan learned, per position, applied only where the baseline is still the
     * one the plan started from (`shopify_read_at` as the plan loaded it, to the millisecond):
     * `delta` added to the unexplained drop (with its ATP) and, when the plan read Shopify, that
     * reading as the new baseline. Two instances reading the same fall from the same baseline
     * thus count it once: the second finds the baseline moved and applies nothing (its plan's
     * write still goes through Shopify's compare-and-set). Returns the positions applied.
     */
    async applyPlannedReadings(
      changes: readonly (PositionKey & { delta: number; baselineAt: Date | null; reading: { available: number; at: Date } | null })[],
      at: Date,
    ): Promise<PositionKey[]> {
      const applied: PositionKey[] = [];
      for (const page of chunks(changes)) {
        const rows = page.map(
          (c) =>
            sql`(${c.sku}::text, ${c.location}::text, ${c.delta}::float8, ${c.baselineAt ? iso(c.baselineAt) : null}::timestamptz, ${c.reading?.available ?? null}::int, ${c.reading ? iso(c.reading.at) : null}::timestamptz)`,
        );
        const result = await db.execute<{ sku: string; location: string }>(sql`
          update ${inventoryLevels}
          set unexplained_shopify_drop = ${inventoryLevels.unexplainedShopifyDrop} + v.delta,
              available_to_promise = ${atpOf({ unexplained_shopify_drop: sql`${inventoryLevels.unexplainedShopifyDrop} + v.delta` })},
              shopify_available = coalesce(v.available, ${inventoryLevels.shopifyAvailable}),
              shopify_read_at = coalesce(v.read_at, ${inventoryLevels.shopifyReadAt}),
              computed_at = ${iso(at)}
          from ${valuesTable(rows, 'sku, location, delta, baseline_at, available, read_at')}
          where ${matchesV} and ${lockedFirstKeys(page)} and date_trunc('milliseconds', ${inventoryLevels.shopifyReadAt}) is not distinct from v.baseline_at
          returning ${inventoryLevels.sku}, ${inventoryLevels.location}`);
        applied.push(...rowsOf<{ sku: string; location: string }>(result));
      }
      return applied;
    },

    /** Shopify's `available` as read at `at`, unless a newer reading or write is already recorded. */
    async recordShopifyReadings(readings: readonly (PositionKey & { available: number; at: Date })[]): Promise<void> {
      for (const page of chunks(readings)) {
        const rows = page.map((r) => sql`(${r.sku}::text, ${r.location}::text, ${r.available}::int, ${r.at.toISOString()}::timestamptz)`);
        await db.execute(sql`
          update ${inventoryLevels} set shopify_available = v.available, shopify_read_at = v.at
          from ${valuesTable(rows, 'sku, location, available, at')}
          where ${matchesV} and ${lockedFirstKeys(page)} and (${inventoryLevels.shopifyReadAt} is null or ${inventoryLevels.shopifyReadAt} < v.at)`);
      }
    },

    /**
     * Units a reservation's take of our own may have taken out of Shopify's `available` without
     * `shopify_available` showing it (its answer never came, or its give-back did not land),
     * Shopify units per position, as of `at`. They add up until a push sets the value whole
     * (`last_pushed_at` later than the last of them); a take after that starts a new count. The
     * positions are marked for push: Shopify may offer less than their ATP.
     */
    async recordUnconfirmedTakes(takes: readonly (PositionKey & { units: number })[], at: Date): Promise<void> {
      const totals = totalsByPosition(takes, ['units']).filter((take) => take.units > 0);
      for (const page of chunks(totals)) {
        const rows = page.map((t) => sql`(${t.sku}::text, ${t.location}::text, ${t.units}::int)`);
        await db.execute(sql`
          update ${inventoryLevels}
          set unconfirmed_take = ${unconfirmedTakeExpression} + v.units,
              unconfirmed_take_at = greatest(${inventoryLevels.unconfirmedTakeAt}, ${iso(at)}::timestamptz),
              push_requested_at = ${pushNoLaterThan(iso(at))}
          from ${valuesTable(rows, 'sku, location, units')}
          where ${matchesV} and ${lockedFirstKeys(page)}`);
      }
    },

    /**
     * Values Shopify applied: the value set becomes the last read and the last pushed value; the
     * push mark is cleared where the ATP is still `atp`, the one the push was computed from (a
     * change that landed meanwhile keeps its mark).
     *
     * With `sent` (when the write left, and the value it replaced), a baseline recorded after the
     * sending with another value than the replaced one is kept: the write landed before it (a
     * compare-and-set write cannot land after a change), so it is newer, e.g. a reservation's take
     * out of Shopify right after the write. Overwriting it with the write's value would make the
     * next reading count the take as a sale again.
     */
    async recordPushed(positions: readonly (PositionKey & { quantity: number; atp: number; replaced?: number | null })[], at: Date, sentAt?: Date): Promise<void> {
      for (const page of chunks(positions)) {
        const rows = page.map((p) => sql`(${p.sku}::text, ${p.location}::text, ${p.quantity}::int, ${p.atp}::int, ${p.replaced ?? null}::int)`);
        const newer = sentAt
          ? sql`(${inventoryLevels.shopifyReadAt} >= ${iso(sentAt)} and ${inventoryLevels.shopifyAvailable} is distinct from v.replaced)`
          : sql`false`;
        await db.execute(sql`
          update ${inventoryLevels} set
            shopify_available = case when ${newer} then ${inventoryLevels.shopifyAvailable} else v.quantity end,
            shopify_read_at = case when ${newer} then ${inventoryLevels.shopifyReadAt} else ${iso(at)} end,
            last_pushed_quantity = v.quantity, last_pushed_at = ${iso(at)},
            push_requested_at = case when ${inventoryLevels.availableToPromise} = v.atp then null else ${inventoryLevels.pushRequestedAt} end
          from ${valuesTable(rows, 'sku, location, quantity, atp, replaced')}
          where ${matchesV} and ${lockedFirstKeys(page)}`);
      }
    },

    // ------------------------------------------------------------ push marks

    /**
     * Push these positions no later than `at`, in the caller's transaction: the push that later
     * sends them clears the mark, so a crash between the change and the push loses nothing. One
     * statement whatever the count.
     */
    async requestPush(positions: readonly PositionKey[], at: Date): Promise<void> {
      if (positions.length === 0) return;
      await db
        .update(inventoryLevels)
        .set({ pushRequestedAt: pushNoLaterThan(iso(at)) })
        .where(and(sql`${ofShop}`, positionsCondition(positions), lockedFirst(positionsCondition(positions))));
    },

    /** Push every position of these SKUs (or at this location, or both) no later than `at`: one statement. */
    async requestPushFor(scope: { skus?: readonly string[]; location?: string }, at: Date): Promise<void> {
      if (scope.skus && scope.skus.length === 0) return;
      const inScope = and(scope.skus ? inList(inventoryLevels.sku, scope.skus) : undefined, scope.location ? eq(inventoryLevels.location, scope.location) : undefined);
      await db
        .update(inventoryLevels)
        .set({ pushRequestedAt: pushNoLaterThan(iso(at)) })
        .where(and(sql`${ofShop}`, inScope, lockedFirst(inScope)));
    },

    /** Push each position no later than its own `at` (a held drop's release time, for one). */
    async requestPushAt(positions: readonly (PositionKey & { at: Date })[]): Promise<void> {
      for (const page of chunks(positions)) {
        const rows = page.map((p) => sql`(${p.sku}::text, ${p.location}::text, ${p.at.toISOString()}::timestamptz)`);
        await db.execute(sql`
          update ${inventoryLevels} set push_requested_at = ${pushNoLaterThan(sql`v.at`)}
          from ${valuesTable(rows, 'sku, location, at')}
          where ${matchesV} and ${lockedFirstKeys(page)}`);
      }
    },

    /**
     * The sync's retry after Shopify refused a write: the mark moves to `at`, later than it was.
     * The one operation that delays a push. With `atp` (the ATP the refused write was computed
     * from) it delays only positions whose ATP is still that one: a change that landed while the
     * write was in flight is "push no later than" its own time, like any other. A change made
     * after it (any `requestPush` and every term update above) brings the push forward again.
     */
    async deferPush(positions: readonly (PositionKey & { at: Date; atp?: number | undefined })[]): Promise<void> {
      for (const page of chunks(positions)) {
        const rows = page.map((p) => sql`(${p.sku}::text, ${p.location}::text, ${p.at.toISOString()}::timestamptz, ${p.atp ?? null}::int)`);
        await db.execute(sql`
          update ${inventoryLevels}
          set push_requested_at = case when v.atp is null or ${inventoryLevels.availableToPromise} = v.atp then v.at else ${pushNoLaterThan(sql`v.at`)} end
          from ${valuesTable(rows, 'sku, location, at, atp')}
          where ${matchesV} and ${lockedFirstKeys(page)}`);
      }
    },

    /** Positions whose Shopify value is already right: their marks are cleared where the ATP is still `atp`. */
    async clearPushMarks(positions: readonly (PositionKey & { atp: number })[]): Promise<void> {
      for (const page of chunks(positions)) {
        const rows = page.map((p) => sql`(${p.sku}::text, ${p.location}::text, ${p.atp}::int)`);
        await db.execute(sql`
          update ${inventoryLevels} set push_requested_at = null
          from ${valuesTable(rows, 'sku, location, atp')}
          where ${matchesV} and ${lockedFirstKeys(page)} and ${inventoryLevels.pushRequestedAt} is not null and ${inventoryLevels.availableToPromise} = v.atp`);
      }
    },

    /** Clears the marks of these positions that are due by `now` (nothing can be sent for them). */
    async clearDuePushMarks(positions: readonly PositionKey[], now: Date): Promise<void> {
      for (const page of chunks(positions)) {
        const rows = page.map((p) => sql`(${p.sku}::text, ${p.location}::text)`);
        await db.execute(sql`
          update ${inventoryLevels} set push_requested_at = null
          from ${valuesTable(rows, 'sku, location')}
          where ${matchesV} and ${lockedFirstKeys(page)} and ${inventoryLevels.pushRequestedAt} <= ${iso(now)}`);
      }
    },
  };
}

export type InventoryLevelsWriter = ReturnType<typeof createInventoryLevelsWriter>;
