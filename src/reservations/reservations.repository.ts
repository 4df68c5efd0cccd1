// One unit though long: the reservation aggregate (reservations, their units and events) and its
// changes to the read model's reserved term, which must commit in the same transaction; this is
// the one writer of the reservation tables.
import { and, asc, desc, eq, inArray, lt, or, sql, type SQL } from 'drizzle-orm';
import type { Db } from '../db/database.js';
import { inventoryLevels, reservationEvents, reservations } from '../db/schema/index.js';
import { createInventoryLevelsWriter, sortedPositions, type PositionKey } from '../inventory/read-model/inventory-levels.writer.js';
import {
  ERP_CONFIRMATION_ACTOR,
  EXPIRY_ACTOR,
  type ReservationRecord,
  type ReservationActor,
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

export interface NewReservation {
  readonly sku: string;
  readonly location: string;
  readonly quantity: number;
  readonly reference: string;
  readonly idempotencyKey: string;
  readonly requestHash: string;
  readonly expiresAt: Date;
  readonly createdBy: string;
  readonly at: Date;
}

export type ReserveResult =
  | { readonly kind: 'created'; readonly reservation: ReservationRecord }
  | { readonly kind: 'existing'; readonly reservation: ReservationRecord; readonly requestHash: string }
  | { readonly kind: 'insufficient-stock'; readonly availableToPromise: number }
  | { readonly kind: 'not-found'; readonly unknown: 'sku' | 'location' };

export type TransitionResult =
  | { readonly kind: 'done'; readonly reservation: ReservationRecord }
  | { readonly kind: 'not-found' }
  | { readonly kind: 'not-active'; readonly reservation: ReservationRecord }
  /** It was still ACTIVE but past `expiresAt`: it has just been expired instead. */
  | { readonly kind: 'expired'; readonly reservation: ReservationRecord };

type ReservationRow = typeof reservations.$inferSelect;

function toReservation(row: ReservationRow): ReservationRecord {
  return {
    id: row.id,
    sku: row.sku,
    location: row.location,
    quantity: row.quantity,
    reference: row.reference,
    idempotencyKey: row.idempotencyKey,
    status: row.status,
    expiresAt: row.expiresAt,
    createdBy: row.createdBy,
    createdAt: row.createdAt,
    updatedAt: row.updatedAt,
    committedAt: row.committedAt,
    closedAt: row.closedAt,
    erpConfirmedAt: row.erpConfirmedAt,
  };
}

const RETRYABLE_CODES = new Set(['40P01', '40001']);

function sqlState(error: unknown): string | undefined {
  for (let current: unknown = error, depth = 0; current && depth < 5; depth++) {
    const code = (current as { code?: unknown }).code;
    if (typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code)) return code;
    current = (current as { cause?: unknown }).cause;
  }
  return undefined;
}

/**
 * Runs `work` in a transaction, again (a few times) when PostgreSQL aborts it for a deadlock or
 * a serialization failure: both are safe to retry because the transaction left nothing behind.
 */
async function inTransaction<T>(db: Db, work: (tx: Db) => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await db.transaction((tx) => work(tx as unknown as Db));
    } catch (error) {
      if (attempt >= 5 || !RETRYABLE_CODES.has(sqlState(error) ?? '')) throw error;
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

/** Units that count in `reserved`: ACTIVE reservations, and COMMITTED ones the ERP has not shown yet. */
const countsInReserved = sql`(${reservations.status} = 'ACTIVE' or (${reservations.status} = 'COMMITTED' and ${reservations.erpConfirmedAt} is null))`;

async function recordEvents(tx: Db, events: readonly ReservationEventRecord[]): Promise<void> {
  if (events.length === 0) return;
  await tx.insert(reservationEvents).values(events.map((event) => ({ ...event })));
}

/**
 * Moves ACTIVE reservations matched by `where` to `to`, records the events and frees their units
 * (a commit keeps them counted until the ERP shows the order; see confirmCommittedReservations).
 */
async function closeActive(
  tx: Db,
  shop: string,
  where: SQL,
  to: Exclude<ReservationStatus, 'ACTIVE'>,
  actor: string,
  at: Date,
): Promise<ReservationRecord[]> {
  const rows = await tx
    .update(reservations)
    .set({
      status: to,
      updatedAt: at,
      ...(to === 'COMMITTED' ? { committedAt: at } : { closedAt: at }),
    })
    .where(and(eq(reservations.shop, shop), eq(reservations.status, 'ACTIVE'), where))
    .returning();
  if (rows.length === 0) return [];
  const reason = to === 'COMMITTED' ? 'COMMITTED' : to === 'RELEASED' ? 'RELEASED' : 'EXPIRED';
  await recordEvents(
    tx,
    rows.map((row) => ({ reservationId: row.id, fromStatus: 'ACTIVE', toStatus: to, actor, reason, occurredAt: at })),
  );
  if (to === 'COMMITTED') {
    // ATP does not change at a commit, but the position is marked anyway: every transition
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
  return rows.map(toReservation);
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
 * Stops counting committed reservations in `reserved` once the ERP's figures for their position
 * were read after the commit (`erp_read_at - margin > committed_at`): from then on the wholesale
 * order is in the ERP's own terms (wholesale committed, allocated, or already shipped out of
 * on-hand), and counting it here too would subtract it twice. Before then it keeps counting, so
 * it is never subtracted zero times either. (A commit means the order has been entered in the
 * ERP, so every ERP read that begins after it shows the order.)
 *
 * Runs in the caller's transaction. The ATP engine may call it in the transaction that writes
 * fresh ERP terms (then both changes become visible together and the ATP never dips); the
 * reservations job calls it for every position as a backstop, after asking the ATP engine to
 * re-read SKUs whose commitments no read has shown yet. `positions` limits it to those positions.
 */
export async function confirmCommittedReservations(
  tx: Db,
  shop: string,
  at: Date,
  options: { positions?: readonly PositionKey[] | undefined; erpReadMarginMs?: number | undefined } = {},
): Promise<ReservationRecord[]> {
  const { positions } = options;
  if (positions && positions.length === 0) return [];
  const marginMs = options.erpReadMarginMs ?? DEFAULT_ERP_READ_MARGIN_MS;
  const confirmedByErp = sql`${reservations.committedAt} < (
    select ${inventoryLevels.erpReadAt} - make_interval(secs => ${marginMs / 1000}::float8) from ${inventoryLevels}
    where ${inventoryLevels.shop} = ${reservations.shop} and ${inventoryLevels.sku} = ${reservations.sku}
      and ${inventoryLevels.location} = ${reservations.location})`;
  const inPositions = positions
    ? or(...sortedPositions(positions).map((p) => and(eq(reservations.sku, p.sku), eq(reservations.location, p.location))))
    : undefined;
  const rows = await tx
    .update(reservations)
    .set({ erpConfirmedAt: at, updatedAt: at })
    .where(
      and(
        eq(reservations.shop, shop),
        eq(reservations.status, 'COMMITTED'),
        sql`${reservations.erpConfirmedAt} is null`,
        confirmedByErp,
        inPositions,
      ),
    )
    .returning();
  if (rows.length === 0) return [];
  await recordEvents(
    tx,
    rows.map((row) => ({
      reservationId: row.id,
      fromStatus: 'COMMITTED',
      toStatus: 'COMMITTED',
      actor: ERP_CONFIRMATION_ACTOR,
      reason: 'ERP_CONFIRMED',
      occurredAt: at,
    })),
  );
  await adjustReserved(
    tx,
    shop,
    rows.map((row) => ({ sku: row.sku, location: row.location, delta: -row.quantity })),
    at,
  );
  return rows.map(toReservation);
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

export function createReservationsRepository(db: Db, shop: string) {
  /** What `list` and `count` read: the shop's reservations the actor sees, filtered. */
  const listConditions = (actor: ReservationActor, filter: ReservationFilter): SQL | undefined =>
    and(
      eq(reservations.shop, shop),
      visibleTo(actor),
      filter.sku ? eq(reservations.sku, filter.sku) : undefined,
      filter.location ? eq(reservations.location, filter.location) : undefined,
      filter.status ? eq(reservations.status, filter.status) : undefined,
    );

  return {
    /**
     * The atomic decision, for a batch of reservation requests in one transaction (one commit,
     * one WAL flush for all of them: see reservations.batcher.ts). Callers must not put two
     * requests with the same API key and idempotency key in one batch.
     *
     * The reservation rows go in first, with ON CONFLICT DO NOTHING on the idempotency index: a
     * key already used returns its reservation (a concurrent transaction inserting the same key
     * makes this one wait for it, then see its row). Then the batch's positions are locked
     * (SELECT ... FOR UPDATE, in a fixed order) and each request is decided in arrival order
     * against the ATP that the requests before it leave. The row locks serialise every
     * reservation of a position across connections and instances: no other transaction can
     * change the position's terms until this one commits, so no two can both take the last
     * units. The units are then taken by one conditional UPDATE that re-checks ATP >= q in the
     * database. Refused requests' rows are deleted again before the commit.
     */
    async reserveBatch(inputs: readonly NewReservation[]): Promise<ReserveResult[]> {
      if (inputs.length === 0) return [];
      return inTransaction(db, async (tx) => {
        const results: ReserveResult[] = new Array<ReserveResult>(inputs.length);
        const keyOf = (createdBy: string, idempotencyKey: string) => `${createdBy}\u0000${idempotencyKey}`;
        const at = new Date(Math.max(...inputs.map((input) => input.at.getTime())));

        // The new rows and their RESERVED audit events in one statement (a data-modifying CTE).
        const created = tx.$with('created').as(
          tx
            .insert(reservations)
            .values(
              inputs.map((input) => ({
                shop,
                sku: input.sku,
                location: input.location,
                quantity: input.quantity,
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
        // the server in this order: the inserts, then the position locks, in a fixed order (two
        // batches never wait on each other in a cycle), reading each position's ATP.
        const [inserted, locked] = await Promise.all([
          tx.with(created, audited).select().from(created),
          lockPositions(tx, shop, sortedPositions(inputs)),
        ]);
        const insertedByKey = new Map(inserted.map((row) => [keyOf(row.createdBy, row.idempotencyKey), row]));

        const replays = inputs.flatMap((input, index) => (insertedByKey.has(keyOf(input.createdBy, input.idempotencyKey)) ? [] : [index]));
        if (replays.length > 0) {
          const existing = await tx
            .select()
            .from(reservations)
            .where(
              and(
                eq(reservations.shop, shop),
                or(...replays.map((index) => and(eq(reservations.createdBy, inputs[index]!.createdBy), eq(reservations.idempotencyKey, inputs[index]!.idempotencyKey)))),
              ),
            );
          const existingByKey = new Map(existing.map((row) => [keyOf(row.createdBy, row.idempotencyKey), row]));
          for (const index of replays) {
            const row = existingByKey.get(keyOf(inputs[index]!.createdBy, inputs[index]!.idempotencyKey));
            if (!row) throw new Error('idempotency conflict without a row: the unique index and the lookup disagree');
            results[index] = { kind: 'existing', reservation: toReservation(row), requestHash: row.requestHash };
          }
        }
        if (inserted.length === 0) return results;

        const candidates = new Map<string, Array<{ index: number; row: ReservationRow }>>();
        inputs.forEach((input, index) => {
          const row = insertedByKey.get(keyOf(input.createdBy, input.idempotencyKey));
          if (!row) return;
          const position = `${input.sku}\u0000${input.location}`;
          candidates.set(position, [...(candidates.get(position) ?? []), { index, row }]);
        });

        // Decide each new request in arrival order against the ATP the earlier ones leave.
        const positions = sortedPositions([...candidates.values()].map((group) => group[0]!.row));
        const atpByPosition = new Map(locked.map((level) => [`${level.sku}\u0000${level.location}`, Number(level.atp)]));
        const missing = positions.filter((position) => !atpByPosition.has(`${position.sku}\u0000${position.location}`));
        const knownSkus = new Set<string>();
        if (missing.length > 0) {
          const known = await tx
            .selectDistinct({ sku: inventoryLevels.sku })
            .from(inventoryLevels)
            .where(and(eq(inventoryLevels.shop, shop), inArray(inventoryLevels.sku, [...new Set(missing.map((p) => p.sku))])));
          for (const { sku } of known) knownSkus.add(sku);
        }

        const refused: string[] = [];
        const takes: Array<{ sku: string; location: string; delta: number }> = [];
        for (const position of positions) {
          const group = candidates.get(`${position.sku}\u0000${position.location}`)!;
          let available = atpByPosition.get(`${position.sku}\u0000${position.location}`);
          if (available === undefined) {
            for (const { index, row } of group) {
              results[index] = { kind: 'not-found', unknown: knownSkus.has(position.sku) ? 'location' : 'sku' };
              refused.push(row.id);
            }
            continue;
          }
          let total = 0;
          for (const { index, row } of group) {
            if (row.quantity > available) {
              results[index] = { kind: 'insufficient-stock', availableToPromise: available };
              refused.push(row.id);
              continue;
            }
            available -= row.quantity;
            total += row.quantity;
            results[index] = { kind: 'created', reservation: toReservation(row) };
          }
          if (total > 0) takes.push({ ...position, delta: total });
        }
        await takeUnits(tx, shop, takes, at);
        if (refused.length > 0) await tx.delete(reservations).where(inArray(reservations.id, refused));
        return results;
      });
    },

    /** Releases or commits one ACTIVE reservation; one past its `expiresAt` is expired instead. */
    async transition(actor: ReservationActor, id: string, to: 'RELEASED' | 'COMMITTED', at: Date): Promise<TransitionResult> {
      return inTransaction(db, async (tx): Promise<TransitionResult> => {
        const mine = and(eq(reservations.id, id), visibleTo(actor))!;
        const [done] = await closeActive(tx, shop, and(mine, sql`${reservations.expiresAt} > ${at.toISOString()}::timestamptz`)!, to, actor.id, at);
        if (done) return { kind: 'done', reservation: done };
        const [expired] = await closeActive(tx, shop, and(mine, sql`${reservations.expiresAt} <= ${at.toISOString()}::timestamptz`)!, 'EXPIRED', EXPIRY_ACTOR, at);
        if (expired) return { kind: 'expired', reservation: expired };
        const [current] = await tx.select().from(reservations).where(and(eq(reservations.shop, shop), mine));
        return current ? { kind: 'not-active', reservation: toReservation(current) } : { kind: 'not-found' };
      });
    },

    /**
     * Expires up to `limit` ACTIVE reservations whose `expiresAt` has passed and frees their
     * units. Rows another transaction holds (a release in flight) are skipped, not waited for.
     */
    async expireDue(at: Date, limit: number): Promise<ReservationRecord[]> {
      return inTransaction(db, async (tx) => {
        const due = tx
          .select({ id: reservations.id })
          .from(reservations)
          .where(and(eq(reservations.shop, shop), eq(reservations.status, 'ACTIVE'), sql`${reservations.expiresAt} <= ${at.toISOString()}::timestamptz`))
          .orderBy(asc(reservations.expiresAt))
          .limit(limit)
          .for('update', { skipLocked: true });
        return closeActive(tx, shop, inArray(reservations.id, due), 'EXPIRED', EXPIRY_ACTOR, at);
      });
    },

    async confirmCommitted(at: Date, erpReadMarginMs: number, positions?: readonly PositionKey[]): Promise<ReservationRecord[]> {
      return inTransaction(db, (tx) => confirmCommittedReservations(tx, shop, at, { positions, erpReadMarginMs }));
    },

    /**
     * SKUs with committed reservations that no ERP read has shown yet, committed more than
     * `marginMs` before `at` (a read that begins now will show them), oldest first.
     */
    async findSkusAwaitingErp(at: Date, marginMs: number, limit: number): Promise<string[]> {
      const rows = await db
        .select({ sku: reservations.sku, since: sql<string>`min(${reservations.committedAt})` })
        .from(reservations)
        .where(
          and(
            eq(reservations.shop, shop),
            eq(reservations.status, 'COMMITTED'),
            sql`${reservations.erpConfirmedAt} is null`,
            sql`${reservations.committedAt} < ${new Date(at.getTime() - marginMs).toISOString()}::timestamptz`,
          ),
        )
        .groupBy(reservations.sku)
        .orderBy(sql`min(${reservations.committedAt})`)
        .limit(limit);
      return rows.map((row) => row.sku);
    },

    /**
     * Finds positions whose `reserved` differs from the units of the reservations that count
     * there (a bug elsewhere, a row rebuilt by hand) and sets it right, each under its row lock:
     * every change to a position's reservations takes that lock before it commits, so the sum
     * read under it plus the changes still waiting for it is exactly what `reserved` must become.
     * Returns what it corrected. Reads every position of the shop: run it rarely.
     */
    async repairReservedTerms(at: Date): Promise<Array<{ sku: string; location: string; was: number; now: number }>> {
      const counted = db
        .select({ sku: reservations.sku, location: reservations.location, units: sql<number>`sum(${reservations.quantity})::float8`.as('units') })
        .from(reservations)
        .where(and(eq(reservations.shop, shop), countsInReserved))
        .groupBy(reservations.sku, reservations.location)
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
            .select({ units: sql<number>`coalesce(sum(${reservations.quantity}), 0)::float8` })
            .from(reservations)
            .where(and(eq(reservations.shop, shop), eq(reservations.sku, position.sku), eq(reservations.location, position.location), countsInReserved));
          const units = Number(sum?.units ?? 0);
          if (units === level.reserved) return null;
          await adjustReserved(tx, shop, [{ ...position, delta: units - level.reserved }], at);
          return { ...position, was: level.reserved, now: units };
        });
        if (fixed) repaired.push(fixed);
      }
      return repaired;
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
        occurredAt: row.occurredAt,
      }));
    },
  };
}

export type ReservationsRepository = ReturnType<typeof createReservationsRepository>;
