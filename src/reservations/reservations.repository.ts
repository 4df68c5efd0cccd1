// One unit though long: the reservation aggregate (reservations, their units and events) and its
// changes to the read model's reserved term, which must commit in the same transaction; this is
// the one writer of the reservation tables.
import { and, asc, desc, eq, inArray, lt, or, sql, type SQL } from 'drizzle-orm';
import type { Db } from '../db/database.js';
import { isTransientConflict } from '../db/database-errors.js';
import { inventoryLevels, reservationEvents, reservationLines, reservations } from '../db/schema/index.js';
import { createInventoryLevelsWriter, sortedPositions, type PositionKey } from '../inventory/read-model/inventory-levels.writer.js';
import { findIdempotencyReplays, idempotencyKeyOf, toReservation } from './idempotency-replays.js';
import { reserveInOneStatement, type FastReservation, type FastResult } from './reserve-statement.js';
import { decideWithStore, groupPositions, type StoreTakeContext, type TakePosition, type Granted } from './store-take.js';
import { StoreUnavailableError } from '../inventory/inventory.port.js';
import { atpExpression } from '../inventory/read-model/atp-formula.js';
import {
  ERP_CONFIRMATION_ACTOR,
  EXPIRY_ACTOR,
  type ReservationRecord,
  type ReservationActor,
  type ReservationLineInput,
  type ReservationLineRecord,
  type ShortLine,
  type ReservationEventRecord,
  type ReservationFilter,
  type ReservationStatus,
} from './reservations.models.js';

/**
 * Every read and write of reservations, and the only caller that changes
 * `inventory_levels.reserved` (through the read model's writer,
 * src/inventory/read-model/inventory-levels.writer.ts, in this repository's transaction). Each
 * method is one transaction: the reservation row, its audit event, the `reserved` term with the
 * ATP recomputed from it, and the push mark commit together or not at all.
 */

export interface NewReservation extends FastReservation {
  /** At least one; no two for the same position (the service checks). */
  readonly lines: readonly ReservationLineInput[];
}

export type ReserveResult =
  | FastResult
  /** Nothing was held; every line that could not be is named. */
  | { readonly kind: 'refused'; readonly lines: readonly ShortLine[] }
  /** Shopify did not answer the take within its budget: nothing was held (the key is not used up). */
  | { readonly kind: 'store-unavailable'; readonly message: string };

export type TransitionResult =
  | { readonly kind: 'done'; readonly reservation: ReservationRecord; readonly lines: readonly ReservationLineRecord[] }
  | { readonly kind: 'not-found' }
  | { readonly kind: 'not-active'; readonly reservation: ReservationRecord }
  /** It was still ACTIVE but past `expiresAt`: it has just been expired instead. */
  | { readonly kind: 'expired'; readonly reservation: ReservationRecord; readonly lines: readonly ReservationLineRecord[] }
  /** Lines asked for by number that the reservation does not have; nothing changed. */
  | { readonly kind: 'lines-not-found'; readonly reservation: ReservationRecord; readonly lines: readonly number[] }
  /** Lines asked for that are no longer ACTIVE; nothing changed. */
  | { readonly kind: 'lines-not-active'; readonly reservation: ReservationRecord; readonly lines: readonly ReservationLineRecord[] };

export type ExtendResult =
  | { readonly kind: 'done'; readonly reservation: ReservationRecord }
  | { readonly kind: 'not-found' }
  | { readonly kind: 'not-active'; readonly reservation: ReservationRecord }
  | { readonly kind: 'expired'; readonly reservation: ReservationRecord; readonly lines: readonly ReservationLineRecord[] };

type ReservationRow = typeof reservations.$inferSelect;

type LineRow = typeof reservationLines.$inferSelect;

function toLine(row: LineRow): ReservationLineRecord {
  return {
    reservationId: row.reservationId,
    line: row.line,
    sku: row.sku,
    location: row.location,
    quantity: row.quantity,
    status: row.status,
    committedAt: row.committedAt,
    closedAt: row.closedAt,
    erpConfirmedAt: row.erpConfirmedAt,
  };
}

/** Rows per INSERT of lines: 11 parameters each stays far below PostgreSQL's 65,535. */
const LINES_PER_INSERT = 1_000;

/**
 * Runs `work` in a transaction, again (a few times) when PostgreSQL aborts it for a deadlock or
 * a serialization failure: both are safe to retry because the transaction left nothing behind.
 */
async function inTransaction<T>(db: Db, work: (tx: Db) => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await db.transaction((tx) => work(tx as unknown as Db));
    } catch (error) {
      if (attempt >= 5 || !isTransientConflict(error)) throw error;
    }
  }
}

/**
 * Adds `delta` units to `reserved` of each position (negative frees them), recomputes the ATP
 * and marks the positions for the event push, in the caller's transaction (the writer locks the
 * positions in a fixed order first).
 */
async function adjustReserved(tx: Db, shop: string, changes: readonly { sku: string; location: string; delta: number }[], at: Date): Promise<void> {
  await createInventoryLevelsWriter(tx, shop).adjustReserved(changes, at);
}

/**
 * Locks the positions' rows in (sku, location) order and returns their ATP. Every transaction of
 * this domain takes position locks this way, so two of them never wait on each other in a cycle.
 */
function lockPositions(tx: Db, shop: string, positions: readonly PositionKey[]) {
  return createInventoryLevelsWriter(tx, shop).lockPositions(positions);
}

/**
 * lockPositions (same rows, same order, same lock) with what a take out of Shopify needs of each
 * position beside its ATP: its baseline and unexplained drop, read under the lock in the same
 * statement instead of one more round trip while the lock is held.
 */
function lockPositionsForTake(tx: Db, shop: string, positions: readonly PositionKey[]) {
  const sorted = sortedPositions(positions);
  return tx
    .select({
      sku: inventoryLevels.sku,
      location: inventoryLevels.location,
      atp: atpExpression,
      shopifyAvailable: inventoryLevels.shopifyAvailable,
      shopifyReadAt: inventoryLevels.shopifyReadAt,
      unexplainedShopifyDrop: inventoryLevels.unexplainedShopifyDrop,
    })
    .from(inventoryLevels)
    .where(and(eq(inventoryLevels.shop, shop), or(...sorted.map((p) => and(eq(inventoryLevels.sku, p.sku), eq(inventoryLevels.location, p.location))))))
    .orderBy(asc(inventoryLevels.sku), asc(inventoryLevels.location))
    .for('update');
}

/** Sends a query now (a Drizzle query is sent when first awaited), so several go out on the transaction's connection in this order. */
function sendNow<T>(query: PromiseLike<T>): Promise<T> {
  return new Promise<T>((resolve, reject) => query.then(resolve, reject));
}

/** Lines whose units count in `reserved`: ACTIVE ones, and COMMITTED ones the ERP has not shown yet. */
const countsInReserved = sql`(${reservationLines.status} = 'ACTIVE' or (${reservationLines.status} = 'COMMITTED' and ${reservationLines.erpConfirmedAt} is null))`;

async function recordEvents(tx: Db, events: readonly ReservationEventRecord[]): Promise<void> {
  if (events.length === 0) return;
  await tx.insert(reservationEvents).values(events.map((event) => ({ ...event, lines: event.lines ? [...event.lines] : null })));
}

/**
 * Brings each reservation row in line with its lines after they changed: ACTIVE while any line
 * is, then COMMITTED if any line was committed, else `closing` (RELEASED or EXPIRED);
 * `committedAt` is its first line's commit, `erpConfirmedAt` set once every committed line is
 * confirmed. One statement for all of them. Returns the rows as they now are, in `heads` order.
 */
async function settleHeads(tx: Db, heads: readonly ReservationRow[], closing: 'RELEASED' | 'EXPIRED', at: Date): Promise<ReservationRecord[]> {
  if (heads.length === 0) return [];
  const stats = await tx
    .select({
      id: reservationLines.reservationId,
      active: sql<number>`(count(*) filter (where ${reservationLines.status} = 'ACTIVE'))::int`,
      committed: sql<number>`(count(*) filter (where ${reservationLines.status} = 'COMMITTED'))::int`,
      unconfirmed: sql<number>`(count(*) filter (where ${reservationLines.status} = 'COMMITTED' and ${reservationLines.erpConfirmedAt} is null))::int`,
      firstCommitMs: sql<number | null>`(extract(epoch from min(${reservationLines.committedAt})) * 1000)::float8`,
    })
    .from(reservationLines)
    .where(inArray(reservationLines.reservationId, heads.map((head) => head.id)))
    .groupBy(reservationLines.reservationId);
  const statsById = new Map(stats.map((row) => [row.id, row]));
  const settled = heads.map((head): ReservationRow => {
    const stat = statsById.get(head.id);
    const active = Number(stat?.active ?? 0);
    const committed = Number(stat?.committed ?? 0);
    const status: ReservationStatus = active > 0 ? 'ACTIVE' : committed > 0 ? 'COMMITTED' : closing;
    const firstCommit = stat?.firstCommitMs === null || stat?.firstCommitMs === undefined ? null : new Date(Number(stat.firstCommitMs));
    return {
      ...head,
      status,
      updatedAt: at,
      committedAt: head.committedAt ?? firstCommit,
      closedAt: status === 'RELEASED' || status === 'EXPIRED' ? (head.closedAt ?? at) : null,
      erpConfirmedAt: status === 'COMMITTED' && Number(stat?.unconfirmed ?? 0) === 0 ? (head.erpConfirmedAt ?? at) : null,
    };
  });
  const iso = (value: Date | null) => (value ? value.toISOString() : null);
  const values = settled.map(
    (row) => sql`(${row.id}::uuid, ${row.status}::text, ${iso(row.committedAt)}::timestamptz, ${iso(row.closedAt)}::timestamptz, ${iso(row.erpConfirmedAt)}::timestamptz)`,
  );
  await tx.execute(sql`
    update ${reservations} as r
    set status = v.status, updated_at = ${at.toISOString()}::timestamptz, committed_at = v.committed_at, closed_at = v.closed_at, erp_confirmed_at = v.erp_confirmed_at
    from (values ${sql.join(values, sql`, `)}) as v(id, status, committed_at, closed_at, erp_confirmed_at)
    where r.id = v.id`);
  return settled.map(toReservation);
}

/**
 * Moves the given ACTIVE lines of one locked reservation to `to`, frees their units (a commit
 * keeps them counted until the ERP shows the order; see confirmCommittedReservations), settles
 * the reservation row and records one event. `partial` names the lines when the caller chose
 * them (a partial release or commit), null when the whole reservation moved.
 */
async function closeLines(
  tx: Db,
  shop: string,
  head: ReservationRow,
  lineNumbers: readonly number[],
  to: Exclude<ReservationStatus, 'ACTIVE'>,
  actor: string,
  at: Date,
  partial: readonly number[] | null,
): Promise<{ reservation: ReservationRecord; lines: ReservationLineRecord[] }> {
  const rows =
    lineNumbers.length === 0
      ? []
      : await tx
          .update(reservationLines)
          .set({ status: to, updatedAt: at, ...(to === 'COMMITTED' ? { committedAt: at } : { closedAt: at }) })
          .where(and(eq(reservationLines.reservationId, head.id), inArray(reservationLines.line, [...lineNumbers]), eq(reservationLines.status, 'ACTIVE')))
          .returning();
  if (to === 'COMMITTED') {
    // ATP does not change at a commit, but the positions are marked anyway: every transition
    // leads to a push, and the push writes only values that differ.
    await createInventoryLevelsWriter(tx, shop).requestPush(sortedPositions(rows), at);
  } else {
    await adjustReserved(
      tx,
      shop,
      rows.map((row) => ({ sku: row.sku, location: row.location, delta: -row.quantity })),
      at,
    );
  }
  const [reservation] = await settleHeads(tx, [head], to === 'COMMITTED' ? 'RELEASED' : to, at);
  const reason: ReservationEventRecord['reason'] = partial
    ? to === 'COMMITTED'
      ? 'LINES_COMMITTED'
      : 'LINES_RELEASED'
    : to;
  await recordEvents(tx, [{ reservationId: head.id, fromStatus: 'ACTIVE', toStatus: reservation!.status, actor, reason, lines: partial, occurredAt: at }]);
  return { reservation: reservation!, lines: rows.sort((a, b) => a.line - b.line).map(toLine) };
}

/**
 * Expires locked ACTIVE reservations whole: their ACTIVE lines become EXPIRED and free their
 * units; a reservation with committed lines ends COMMITTED, any other EXPIRED.
 */
async function expireHeads(tx: Db, shop: string, heads: readonly ReservationRow[], at: Date): Promise<{ reservations: ReservationRecord[]; lines: ReservationLineRecord[] }> {
  if (heads.length === 0) return { reservations: [], lines: [] };
  const rows = await tx
    .update(reservationLines)
    .set({ status: 'EXPIRED', updatedAt: at, closedAt: at })
    .where(and(inArray(reservationLines.reservationId, heads.map((head) => head.id)), eq(reservationLines.status, 'ACTIVE')))
    .returning();
  await adjustReserved(
    tx,
    shop,
    rows.map((row) => ({ sku: row.sku, location: row.location, delta: -row.quantity })),
    at,
  );
  const settled = await settleHeads(tx, heads, 'EXPIRED', at);
  await recordEvents(
    tx,
    settled.map((reservation) => ({
      reservationId: reservation.id,
      fromStatus: 'ACTIVE',
      toStatus: reservation.status,
      actor: EXPIRY_ACTOR,
      reason: 'EXPIRED',
      lines: null,
      occurredAt: at,
    })),
  );
  return { reservations: settled, lines: rows.map(toLine) };
}

/**
 * How far before `inventory_levels.erp_read_at` the ERP read behind it may have begun. The ATP
 * engine stamps `erp_read_at` when it writes the terms, after the ERP answered; a read that began
 * before a commit and was stamped after it does not show the order, so a commit counts as shown
 * only by terms stamped more than this after it. 0 is exact once `erp_read_at` is the moment the
 * read began. Larger is safe (the units count twice a little longer: the ATP is low, never high).
 */
export const DEFAULT_ERP_READ_MARGIN_MS = 10_000;

/**
 * Stops counting committed lines in `reserved` once the ERP's figures for their position were
 * read after the commit (`erp_read_at - margin > committed_at`): from then on the wholesale order
 * is in the ERP's own terms (wholesale committed, allocated, or already shipped out of on-hand),
 * and counting it here too would subtract it twice. Before then it keeps counting, so it is never
 * subtracted zero times either. (A commit means the order has been entered in the ERP, so every
 * ERP read that begins after it shows the order.) A reservation is confirmed (`erpConfirmedAt`)
 * once all its committed lines are.
 *
 * Runs in the caller's transaction. The ATP engine may call it in the transaction that writes
 * fresh ERP terms (then both changes become visible together and the ATP never dips); the
 * reservations job calls it for every position as a backstop, after asking the ATP engine to
 * re-read SKUs whose commitments no read has shown yet. `positions` limits it to those positions.
 * Returns the lines it confirmed.
 */
export async function confirmCommittedReservations(
  tx: Db,
  shop: string,
  at: Date,
  options: { positions?: readonly PositionKey[] | undefined; erpReadMarginMs?: number | undefined } = {},
): Promise<ReservationLineRecord[]> {
  const { positions } = options;
  if (positions && positions.length === 0) return [];
  const marginMs = options.erpReadMarginMs ?? DEFAULT_ERP_READ_MARGIN_MS;
  const confirmedByErp = sql`${reservationLines.committedAt} < (
    select ${inventoryLevels.erpReadAt} - make_interval(secs => ${marginMs / 1000}::float8) from ${inventoryLevels}
    where ${inventoryLevels.shop} = ${reservationLines.shop} and ${inventoryLevels.sku} = ${reservationLines.sku}
      and ${inventoryLevels.location} = ${reservationLines.location})`;
  const inPositions = positions
    ? or(...sortedPositions(positions).map((p) => and(eq(reservationLines.sku, p.sku), eq(reservationLines.location, p.location))))
    : undefined;
  const rows = await tx
    .update(reservationLines)
    .set({ erpConfirmedAt: at, updatedAt: at })
    .where(
      and(
        eq(reservationLines.shop, shop),
        eq(reservationLines.status, 'COMMITTED'),
        sql`${reservationLines.erpConfirmedAt} is null`,
        confirmedByErp,
        inPositions,
      ),
    )
    .returning();
  if (rows.length === 0) return [];
  const heads = await tx
    .select()
    .from(reservations)
    .where(inArray(reservations.id, [...new Set(rows.map((row) => row.reservationId))]))
    .orderBy(asc(reservations.id))
    .for('update');
  const settled = await settleHeads(tx, heads, 'RELEASED', at);
  await recordEvents(
    tx,
    settled.map((reservation) => ({
      reservationId: reservation.id,
      fromStatus: reservation.status,
      toStatus: reservation.status,
      actor: ERP_CONFIRMATION_ACTOR,
      reason: 'ERP_CONFIRMED',
      lines: null,
      occurredAt: at,
    })),
  );
  await adjustReserved(
    tx,
    shop,
    rows.map((row) => ({ sku: row.sku, location: row.location, delta: -row.quantity })),
    at,
  );
  return rows.map(toLine);
}

/**
 * Takes the decided units: adds each `delta` to `reserved` only where the ATP before covers it,
 * recomputes the ATP and marks the position for the push, in one statement (every round trip
 * here is spent holding the positions' row locks). The rows are already locked by the caller,
 * so the guard always holds; should it ever not, the whole transaction fails rather than promise
 * units that are not there.
 */
async function takeUnits(tx: Db, shop: string, takes: readonly { sku: string; location: string; delta: number }[], at: Date): Promise<void> {
  if (takes.length === 0) return;
  const taken = await createInventoryLevelsWriter(tx, shop).takeReserved(
    takes.map(({ sku, location, delta }) => ({ sku, location, quantity: delta })),
    at,
  );
  if (taken !== takes.length) {
    throw new Error(`reservation guard failed on ${takes.length - taken} locked position(s): refusing the whole batch`);
  }
}

function visibleTo(actor: ReservationActor): SQL | undefined {
  return actor.seesAll ? undefined : eq(reservations.createdBy, actor.id);
}

/** Units per position, summed (one take per position: the guard checks the total). */
function totalsOf(takes: readonly { sku: string; location: string; delta: number }[]): Array<{ sku: string; location: string; delta: number }> {
  const totals = new Map<string, { sku: string; location: string; delta: number }>();
  for (const take of takes) {
    const key = `${take.sku}\u0000${take.location}`;
    const total = totals.get(key);
    if (total) total.delta += take.delta;
    else totals.set(key, { ...take });
  }
  return sortedPositions([...totals.values()]).map((position) => totals.get(`${position.sku}\u0000${position.location}`)!);
}

/**
 * Locks one reservation the actor may see, then its lines (always in this order: reservation,
 * lines, positions), or null.
 */
async function lockReservation(tx: Db, shop: string, actor: ReservationActor, id: string): Promise<{ head: ReservationRow; lines: LineRow[] } | null> {
  const [head] = await tx
    .select()
    .from(reservations)
    .where(and(eq(reservations.shop, shop), eq(reservations.id, id), visibleTo(actor)))
    .for('update');
  if (!head) return null;
  const lines = await tx.select().from(reservationLines).where(eq(reservationLines.reservationId, id)).orderBy(asc(reservationLines.line)).for('update');
  return { head, lines };
}

export function createReservationsRepository(db: Db, shop: string) {
  /** What `list` and `count` read: the shop's reservations the actor sees, filtered. */
  const listConditions = (actor: ReservationActor, filter: ReservationFilter): SQL | undefined =>
    and(
      eq(reservations.shop, shop),
      visibleTo(actor),
      // Any line's position matches; the first line's is also on the reservation row itself.
      filter.sku || filter.location
        ? or(
            and(filter.sku ? eq(reservations.sku, filter.sku) : undefined, filter.location ? eq(reservations.location, filter.location) : undefined),
            sql`exists (select 1 from ${reservationLines} where ${reservationLines.reservationId} = ${reservations.id}${
              filter.sku ? sql` and ${reservationLines.sku} = ${filter.sku}` : sql``
            }${filter.location ? sql` and ${reservationLines.location} = ${filter.location}` : sql``})`,
          )
        : undefined,
      filter.status ? eq(reservations.status, filter.status) : undefined,
      filter.reference ? eq(reservations.reference, filter.reference) : undefined,
      filter.idempotencyKey ? eq(reservations.idempotencyKey, filter.idempotencyKey) : undefined,
      filter.createdBy ? eq(reservations.createdBy, filter.createdBy) : undefined,
    );

  /**
   * The request-by-request decision in one transaction (see reserveBatch). With `store`, the
   * groups' positions are locked too and the take out of Shopify's `available` happens here,
   * before the lines are inserted and the units taken, the row locks held (store-take.ts).
   */
  function decideInTransaction(inputs: readonly NewReservation[], store: StoreTakeContext | undefined): Promise<ReserveResult[]> {
    return inTransaction(db, async (tx) => {
      const results: ReserveResult[] = new Array<ReserveResult>(inputs.length);
      const keyOf = idempotencyKeyOf;
      const positionOf = (line: PositionKey) => `${line.sku}\u0000${line.location}`;
      const at = new Date(Math.max(...inputs.map((input) => input.at.getTime())));

      // The new rows and their RESERVED audit events in one statement (a data-modifying CTE).
      const created = tx.$with('created').as(
        tx
          .insert(reservations)
          .values(
            inputs.map((input) => ({
              shop,
              sku: input.lines[0]!.sku,
              location: input.lines[0]!.location,
              quantity: input.lines[0]!.quantity,
              reference: input.reference,
              idempotencyKey: input.idempotencyKey,
              requestHash: input.requestHash,
              status: 'ACTIVE' as const,
              expiresAt: input.expiresAt,
              createdBy: input.createdBy,
              createdAt: input.at,
              updatedAt: input.at,
            })),
          )
          .onConflictDoNothing({ target: [reservations.shop, reservations.createdBy, reservations.idempotencyKey] })
          .returning(),
      );
      const audited = tx.$with('audited', { id: sql<number>`id` }).as(sql`
        insert into ${reservationEvents} (reservation_id, from_status, to_status, actor, reason, occurred_at)
        select id, null, 'ACTIVE', created_by, 'RESERVED', created_at from ${created}
        returning id`);
      // Sent together (pipelined on the transaction's connection: one round trip) and run by
      // the server in this order: the position locks in canonical order, reading each
      // position's ATP, then the inserts (the order of the one-statement path: positions
      // before idempotency keys, so the two paths never wait on each other in a cycle). With a
      // store, every position of the Shopify levels the lines feed is locked too (with what the
      // take needs of each).
      const toLock = sortedPositions([...inputs.flatMap((input) => input.lines), ...(store ? groupPositions(store.groups) : [])]);
      const [locked, inserted] = await Promise.all([
        store ? lockPositionsForTake(tx, shop, toLock) : lockPositions(tx, shop, toLock),
        tx.with(created, audited).select().from(created),
      ]);
      const insertedByKey = new Map(inserted.map((row) => [keyOf(row.createdBy, row.idempotencyKey), row]));

      const replays = inputs.flatMap((input, index) => (insertedByKey.has(keyOf(input.createdBy, input.idempotencyKey)) ? [] : [index]));
      for (const [index, replay] of await findIdempotencyReplays(tx, shop, inputs, replays)) results[index] = replay;
      if (inserted.length === 0) return results;

      const atpOf = new Map(locked.map((level) => [positionOf(level), Number(level.atp)]));
      const missingSkus = new Set(
        inputs.flatMap((input) => (insertedByKey.has(keyOf(input.createdBy, input.idempotencyKey)) ? input.lines : []).filter((line) => !atpOf.has(positionOf(line))).map((line) => line.sku)),
      );
      const knownSkus = new Set<string>();
      if (missingSkus.size > 0) {
        const known = await tx
          .selectDistinct({ sku: inventoryLevels.sku })
          .from(inventoryLevels)
          .where(and(eq(inventoryLevels.shop, shop), inArray(inventoryLevels.sku, [...missingSkus])));
        for (const { sku } of known) knownSkus.add(sku);
      }

      const groupOfPosition = new Map<string, string>();
      for (const group of store?.groups ?? []) for (const location of group.erpLocations) groupOfPosition.set(positionOf({ sku: group.sku, location }), group.key);

      /** Each new request in arrival order against the ATP the earlier ones leave (and, with budgets, each line's group budget). */
      const decide = (budgets: ReadonlyMap<string, number> | null) => {
        const decided: ReserveResult[] = [...results];
        const available = new Map(atpOf);
        const room = new Map(budgets ?? []);
        const refused: string[] = [];
        const takes: Array<{ sku: string; location: string; delta: number }> = [];
        const newLines: Array<typeof reservationLines.$inferInsert> = [];
        const byPosition = new Map<string, number>();
        inputs.forEach((input, index) => {
          const row = insertedByKey.get(keyOf(input.createdBy, input.idempotencyKey));
          if (!row) return;
          const short: ShortLine[] = [];
          const wantedByGroup = new Map<string, number>();
          for (const line of input.lines) {
            const group = groupOfPosition.get(positionOf(line));
            if (group !== undefined && room.has(group)) wantedByGroup.set(group, (wantedByGroup.get(group) ?? 0) + line.quantity);
          }
          input.lines.forEach((line, i) => {
            const atp = available.get(positionOf(line));
            const base = { line: i + 1, sku: line.sku, location: line.location, requested: line.quantity };
            const group = groupOfPosition.get(positionOf(line));
            const budget = group !== undefined ? room.get(group) : undefined;
            if (atp === undefined) short.push({ ...base, available: 0, reason: knownSkus.has(line.sku) ? 'LOCATION_NOT_FOUND' : 'SKU_NOT_FOUND' });
            else if (line.quantity > atp) short.push({ ...base, available: atp, reason: 'INSUFFICIENT_STOCK' });
            else if (budget !== undefined && wantedByGroup.get(group!)! > budget) short.push({ ...base, available: Math.max(0, Math.min(atp, budget)), reason: 'INSUFFICIENT_STOCK' });
          });
          if (short.length > 0) {
            decided[index] = { kind: 'refused', lines: short };
            refused.push(row.id);
            return;
          }
          for (const [group, wanted] of wantedByGroup) room.set(group, room.get(group)! - wanted);
          input.lines.forEach((line, i) => {
            const key = positionOf(line);
            available.set(key, available.get(key)! - line.quantity);
            byPosition.set(key, (byPosition.get(key) ?? 0) + line.quantity);
            takes.push({ sku: line.sku, location: line.location, delta: line.quantity });
            newLines.push({ reservationId: row.id, line: i + 1, shop, sku: line.sku, location: line.location, quantity: line.quantity, status: 'ACTIVE', updatedAt: input.at });
          });
          decided[index] = { kind: 'created', reservation: toReservation(row) };
        });
        const granted: Granted = { byPosition };
        return { decision: { results: decided, refused, takes, newLines }, granted };
      };

      let decision: ReturnType<typeof decide>['decision'];
      let record = async (): Promise<void> => undefined;
      if (!store) {
        decision = decide(null).decision;
      } else {
        const positions = new Map<string, TakePosition>(
          (locked as Awaited<ReturnType<typeof lockPositionsForTake>>).map((row) => [
            positionOf(row),
            { ...row, atp: Number(row.atp), unexplainedShopifyDrop: Number(row.unexplainedShopifyDrop) },
          ]),
        );
        ({ decision, record } = await decideWithStore({
          tx,
          shop,
          context: store,
          positions,
          decide,
          requests: inputs.filter((input) => insertedByKey.has(keyOf(input.createdBy, input.idempotencyKey))),
          at,
        }));
      }
      // The writes go out together (one round trip, run in this order): every one of them is
      // spent holding the row locks. The record comes after the units are taken: a drop it adds
      // lowers the ATP the take's guard checks.
      const writes: Promise<unknown>[] = [];
      for (let i = 0; i < decision.newLines.length; i += LINES_PER_INSERT) writes.push(sendNow(tx.insert(reservationLines).values(decision.newLines.slice(i, i + LINES_PER_INSERT))));
      writes.push(takeUnits(tx, shop, totalsOf(decision.takes), at));
      writes.push(record());
      if (decision.refused.length > 0) writes.push(sendNow(tx.delete(reservations).where(inArray(reservations.id, decision.refused))));
      await Promise.all(writes);
      return decision.results;
    });
  }

  return {
    /**
     * The atomic decision, for a batch of reservation requests in one transaction (one commit,
     * one WAL flush for all of them: see reservations.batcher.ts). Callers must not put two
     * requests with the same API key and idempotency key in one batch.
     *
     * The reservation rows go in first, with ON CONFLICT DO NOTHING on the idempotency index: a
     * key already used returns its reservation (a concurrent transaction inserting the same key
     * makes this one wait for it, then see its row). Then every position of every line in the
     * batch is locked (SELECT ... FOR UPDATE, sorted by (sku, location), whatever order the
     * callers sent the lines in: two transactions never wait on each other in a cycle) and each
     * request is decided in arrival order against the ATP that the requests before it leave:
     * held whole if every line fits, refused whole otherwise. The row locks serialise every
     * reservation of a position across connections and instances: no other transaction can
     * change the position's terms until this one commits, so no two can both take the last
     * units. The units are then taken by one conditional UPDATE that re-checks ATP >= q in the
     * database. Refused requests' rows are deleted again before the commit.
     */
    async reserveBatch(inputs: readonly NewReservation[], store?: StoreTakeContext): Promise<ReserveResult[]> {
      if (inputs.length === 0) return [];
      // The common case (the whole batch fits, no Shopify level to take from) in one statement;
      // otherwise request by request below.
      if (!store) {
        const fast = await reserveInOneStatement(db, shop, inputs);
        if (fast) return fast;
      }
      try {
        return await decideInTransaction(inputs, store);
      } catch (error) {
        if (!(error instanceof StoreUnavailableError)) throw error;
        // Nothing was written; a take that may have landed leaves Shopify low: the push corrects it,
        // and until then a value it left below zero reads as our take, not a sale beyond stock.
        store?.onTake?.('unavailable', null);
        const now = store?.now?.() ?? new Date();
        if (store && error.takesInDoubt.length > 0) await store.port.recordTakesInDoubt(db, error.takesInDoubt, now);
        await createInventoryLevelsWriter(db, shop).requestPush(sortedPositions(inputs.flatMap((input) => input.lines)), now);
        return inputs.map(() => ({ kind: 'store-unavailable' as const, message: error.message }));
      }
    },

    /**
     * Releases or commits an ACTIVE reservation: every ACTIVE line, or only `lineNumbers` (each
     * must exist and be ACTIVE, else nothing changes). One past its `expiresAt` is expired instead.
     */
    async transition(actor: ReservationActor, id: string, to: 'RELEASED' | 'COMMITTED', at: Date, lineNumbers?: readonly number[] | null): Promise<TransitionResult> {
      return inTransaction(db, async (tx): Promise<TransitionResult> => {
        const locked = await lockReservation(tx, shop, actor, id);
        if (!locked) return { kind: 'not-found' };
        const { head, lines } = locked;
        if (head.status !== 'ACTIVE') return { kind: 'not-active', reservation: toReservation(head) };
        if (head.expiresAt.getTime() <= at.getTime()) {
          const expired = await expireHeads(tx, shop, [head], at);
          return { kind: 'expired', reservation: expired.reservations[0]!, lines: expired.lines };
        }
        let chosen = lines.filter((line) => line.status === 'ACTIVE').map((line) => line.line);
        let partial: number[] | null = null;
        if (lineNumbers) {
          partial = [...new Set(lineNumbers)].sort((a, b) => a - b);
          const byNumber = new Map(lines.map((line) => [line.line, line]));
          const unknown = partial.filter((line) => !byNumber.has(line));
          if (unknown.length > 0) return { kind: 'lines-not-found', reservation: toReservation(head), lines: unknown };
          const inactive = partial.map((line) => byNumber.get(line)!).filter((line) => line.status !== 'ACTIVE');
          if (inactive.length > 0) return { kind: 'lines-not-active', reservation: toReservation(head), lines: inactive.map(toLine) };
          chosen = partial;
        }
        const done = await closeLines(tx, shop, head, chosen, to, actor.id, at, partial);
        return { kind: 'done', ...done };
      });
    },

    /**
     * Sets an ACTIVE reservation's `expiresAt` to `expiresAt` (later or earlier: the caller says
     * how long from now to hold). One already past its `expiresAt` is expired instead.
     */
    async extend(actor: ReservationActor, id: string, expiresAt: Date, at: Date): Promise<ExtendResult> {
      return inTransaction(db, async (tx): Promise<ExtendResult> => {
        const locked = await lockReservation(tx, shop, actor, id);
        if (!locked) return { kind: 'not-found' };
        const { head } = locked;
        if (head.status !== 'ACTIVE') return { kind: 'not-active', reservation: toReservation(head) };
        if (head.expiresAt.getTime() <= at.getTime()) {
          const expired = await expireHeads(tx, shop, [head], at);
          return { kind: 'expired', reservation: expired.reservations[0]!, lines: expired.lines };
        }
        const [row] = await tx.update(reservations).set({ expiresAt, updatedAt: at }).where(eq(reservations.id, head.id)).returning();
        await recordEvents(tx, [{ reservationId: head.id, fromStatus: 'ACTIVE', toStatus: 'ACTIVE', actor: actor.id, reason: 'EXTENDED', lines: null, occurredAt: at }]);
        return { kind: 'done', reservation: toReservation(row!) };
      });
    },

    /**
     * Expires up to `limit` ACTIVE reservations whose `expiresAt` has passed and frees their
     * units. Rows another transaction holds (a release in flight) are skipped, not waited for.
     * Returns the expired reservations and the lines that were still ACTIVE.
     */
    async expireDue(at: Date, limit: number): Promise<{ reservations: ReservationRecord[]; lines: ReservationLineRecord[] }> {
      return inTransaction(db, async (tx) => {
        const due = await tx
          .select()
          .from(reservations)
          .where(and(eq(reservations.shop, shop), eq(reservations.status, 'ACTIVE'), sql`${reservations.expiresAt} <= ${at.toISOString()}::timestamptz`))
          .orderBy(asc(reservations.expiresAt))
          .limit(limit)
          .for('update', { skipLocked: true });
        return expireHeads(tx, shop, due, at);
      });
    },

    async confirmCommitted(at: Date, erpReadMarginMs: number, positions?: readonly PositionKey[]): Promise<ReservationLineRecord[]> {
      return inTransaction(db, (tx) => confirmCommittedReservations(tx, shop, at, { positions, erpReadMarginMs }));
    },

    /**
     * SKUs with committed lines that no ERP read has shown yet, committed more than `marginMs`
     * before `at` (a read that begins now will show them), oldest first.
     */
    async findSkusAwaitingErp(at: Date, marginMs: number, limit: number): Promise<string[]> {
      const rows = await db
        .select({ sku: reservationLines.sku, since: sql<string>`min(${reservationLines.committedAt})` })
        .from(reservationLines)
        .where(
          and(
            eq(reservationLines.shop, shop),
            eq(reservationLines.status, 'COMMITTED'),
            sql`${reservationLines.erpConfirmedAt} is null`,
            sql`${reservationLines.committedAt} < ${new Date(at.getTime() - marginMs).toISOString()}::timestamptz`,
          ),
        )
        .groupBy(reservationLines.sku)
        .orderBy(sql`min(${reservationLines.committedAt})`)
        .limit(limit);
      return rows.map((row) => row.sku);
    },

    /**
     * Finds positions whose `reserved` differs from the units of the reservation lines that count
     * there (a bug elsewhere, a row rebuilt by hand) and sets it right, each under its row lock:
     * every change to a position's lines takes that lock before it commits, so the sum read
     * under it plus the changes still waiting for it is exactly what `reserved` must become.
     * Returns what it corrected. Reads every position of the shop: run it rarely.
     */
    async repairReservedTerms(at: Date): Promise<Array<{ sku: string; location: string; was: number; now: number }>> {
      const counted = db
        .select({ sku: reservationLines.sku, location: reservationLines.location, units: sql<number>`sum(${reservationLines.quantity})::float8`.as('units') })
        .from(reservationLines)
        .where(and(eq(reservationLines.shop, shop), countsInReserved))
        .groupBy(reservationLines.sku, reservationLines.location)
        .as('counted');
      const suspects = await db
        .select({ sku: inventoryLevels.sku, location: inventoryLevels.location })
        .from(inventoryLevels)
        .leftJoin(counted, and(eq(counted.sku, inventoryLevels.sku), eq(counted.location, inventoryLevels.location)))
        .where(and(eq(inventoryLevels.shop, shop), sql`${inventoryLevels.reserved} <> coalesce(${counted.units}, 0)`));
      const repaired: Array<{ sku: string; location: string; was: number; now: number }> = [];
      for (const position of suspects) {
        const fixed = await inTransaction(db, async (tx) => {
          const [level] = await lockPositions(tx, shop, [position]);
          if (!level) return null;
          const [sum] = await tx
            .select({ units: sql<number>`coalesce(sum(${reservationLines.quantity}), 0)::float8` })
            .from(reservationLines)
            .where(and(eq(reservationLines.shop, shop), eq(reservationLines.sku, position.sku), eq(reservationLines.location, position.location), countsInReserved));
          const units = Number(sum?.units ?? 0);
          if (units === level.reserved) return null;
          await adjustReserved(tx, shop, [{ ...position, delta: units - level.reserved }], at);
          return { ...position, was: level.reserved, now: units };
        });
        if (fixed) repaired.push(fixed);
      }
      return repaired;
    },

    /** The lines of several reservations in one query, by reservation then line number. */
    async getLinesByReservationIds(ids: readonly string[]): Promise<ReservationLineRecord[]> {
      if (ids.length === 0) return [];
      const rows = await db
        .select()
        .from(reservationLines)
        .where(inArray(reservationLines.reservationId, [...ids]))
        .orderBy(asc(reservationLines.reservationId), asc(reservationLines.line));
      return rows.map(toLine);
    },

    async findById(actor: ReservationActor, id: string): Promise<ReservationRecord | null> {
      const [row] = await db
        .select()
        .from(reservations)
        .where(and(eq(reservations.shop, shop), eq(reservations.id, id), visibleTo(actor)));
      return row ? toReservation(row) : null;
    },

    /** Newest first; `afterSeq` continues after that row. Returns up to `limit + 1` rows so the caller sees whether more follow. */
    async list(actor: ReservationActor, filter: ReservationFilter, limit: number, afterSeq: number | null): Promise<Array<ReservationRecord & { seq: number }>> {
      const rows = await db
        .select()
        .from(reservations)
        .where(and(listConditions(actor, filter), afterSeq === null ? undefined : lt(reservations.seq, afterSeq)))
        .orderBy(desc(reservations.seq))
        .limit(limit + 1);
      return rows.map((row) => ({ ...toReservation(row), seq: row.seq }));
    },

    /** How many reservations `list` would page through (one count). */
    async count(actor: ReservationActor, filter: ReservationFilter): Promise<number> {
      const [row] = await db
        .select({ count: sql<number>`count(*)::int` })
        .from(reservations)
        .where(listConditions(actor, filter));
      return Number(row?.count ?? 0);
    },

    /** The audit trail of several reservations in one query, oldest event first. */
    async getEventsByReservationIds(ids: readonly string[]): Promise<ReservationEventRecord[]> {
      if (ids.length === 0) return [];
      const rows = await db
        .select()
        .from(reservationEvents)
        .where(inArray(reservationEvents.reservationId, [...ids]))
        .orderBy(asc(reservationEvents.id));
      return rows.map((row) => ({
        reservationId: row.reservationId,
        fromStatus: row.fromStatus,
        toStatus: row.toStatus,
        actor: row.actor,
        reason: row.reason as ReservationEventRecord['reason'],
        lines: row.lines,
        occurredAt: row.occurredAt,
      }));
    },
  };
}

export type ReservationsRepository = ReturnType<typeof createReservationsRepository>;
