import { and, eq, or } from 'drizzle-orm';
import type { Db } from '../db/database.js';
import { reservations } from '../db/schema/index.js';
import type { ReservationRecord } from './reservations.models.js';

type ReservationRow = typeof reservations.$inferSelect;

/** A stored reservation row as the domain reads it. */
export function toReservation(row: Pick<ReservationRow, keyof ReservationRecord>): ReservationRecord {
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

/** One request's idempotency scope (API key, idempotency key) as a map key. */
export function idempotencyKeyOf(createdBy: string, idempotencyKey: string): string {
  return `${createdBy}\u0000${idempotencyKey}`;
}

/** What a request whose idempotency key was already used answers: the reservation stored then. */
export interface IdempotencyReplay {
  readonly kind: 'existing';
  readonly reservation: ReservationRecord;
  readonly requestHash: string;
}

/**
 * The stored reservations of the requests at `replays` (indexes into `inputs`) whose insert met
 * their idempotency key already used, by index. Their rows are committed (the insert waited for
 * any in flight), so each must be found.
 */
export async function findIdempotencyReplays(
  db: Db,
  shop: string,
  inputs: readonly { readonly createdBy: string; readonly idempotencyKey: string }[],
  replays: readonly number[],
): Promise<Map<number, IdempotencyReplay>> {
  const found = new Map<number, IdempotencyReplay>();
  if (replays.length === 0) return found;
  const existing = await db
    .select()
    .from(reservations)
    .where(
      and(
        eq(reservations.shop, shop),
        or(...replays.map((index) => and(eq(reservations.createdBy, inputs[index]!.createdBy), eq(reservations.idempotencyKey, inputs[index]!.idempotencyKey)))),
      ),
    );
  const byKey = new Map(existing.map((row) => [idempotencyKeyOf(row.createdBy, row.idempotencyKey), row]));
  for (const index of replays) {
    const row = byKey.get(idempotencyKeyOf(inputs[index]!.createdBy, inputs[index]!.idempotencyKey));
    if (!row) throw new Error('idempotency conflict without a row: the unique index and the lookup disagree');
    found.set(index, { kind: 'existing', reservation: toReservation(row), requestHash: row.requestHash });
  }
  return found;
}
