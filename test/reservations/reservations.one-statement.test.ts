import { and, asc, eq, inArray } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { reservationEvents, reservationLines, reservations } from '../../src/db/schema/index.js';
import type { NewReservation } from '../../src/reservations/reservations.repository.js';
import { createReservationsRepository } from '../../src/reservations/reservations.repository.js';
import { createTestDatabase, testDatabaseKind, type TestDatabase } from '../support/database.js';
import { countingDb } from '../inventory/support.js';
import { createTestReservations, readLevel, SHOP, seedLevel, uniqueSku } from './reservations.fixture.js';

const app = { id: '00000000-0000-4000-8000-0000000002b2', seesAll: false };

let keys = 0;
function request(lines: NewReservation['lines'], overrides: Partial<NewReservation> = {}): NewReservation {
  keys += 1;
  const at = new Date();
  return {
    lines,
    reference: `PO-${keys}`,
    idempotencyKey: `one-statement-${keys}`,
    requestHash: `hash-${keys}`,
    expiresAt: new Date(at.getTime() + 600_000),
    createdBy: app.id,
    at,
    ...overrides,
  };
}

/**
 * The common case of a reservation batch is one SQL statement (one round trip, one commit); a
 * batch that does not fit whole falls back to deciding request by request, with the same answers.
 */
describe(`reservations decided in one statement (${testDatabaseKind})`, () => {
  let database: TestDatabase;
  let counted: ReturnType<typeof countingDb>;

  beforeAll(async () => {
    database = await createTestDatabase();
    counted = countingDb(database);
  });
  afterAll(async () => {
    await database.close();
  });

  it('holds a reservation that fits with one statement: its row, lines, event and units', async () => {
    const [a, b] = [uniqueSku('ONE'), uniqueSku('ONE')];
    await seedLevel(database.db, a, 'WH1', { onHand: 10 });
    await seedLevel(database.db, b, 'WH1', { onHand: 5 });
    const service = createTestReservations(counted.db);
    counted.reset();
    const outcome = await service.reserve(app, { lines: [{ sku: b, location: 'WH1', quantity: 5 }, { sku: a, location: 'WH1', quantity: 3 }], reference: 'PO-1', idempotencyKey: 'k-1' });
    expect(counted.queries()).toBe(1);
    if (outcome.kind !== 'reserved') throw new Error(`expected a reservation, got ${outcome.kind}`);
    expect(outcome.reservation).toMatchObject({ sku: b, location: 'WH1', quantity: 5, status: 'ACTIVE', reference: 'PO-1', idempotencyKey: 'k-1', createdBy: app.id });

    const [row] = await database.db.select().from(reservations).where(eq(reservations.id, outcome.reservation.id));
    expect(row).toMatchObject({ sku: b, quantity: 5, status: 'ACTIVE' });
    expect(row!.createdAt.getTime()).toBe(outcome.reservation.createdAt.getTime());
    const lines = await database.db.select().from(reservationLines).where(eq(reservationLines.reservationId, outcome.reservation.id)).orderBy(asc(reservationLines.line));
    expect(lines.map((line) => [line.line, line.sku, line.quantity, line.status])).toEqual([
      [1, b, 5, 'ACTIVE'],
      [2, a, 3, 'ACTIVE'],
    ]);
    const events = await database.db.select().from(reservationEvents).where(eq(reservationEvents.reservationId, outcome.reservation.id));
    expect(events.map((event) => [event.fromStatus, event.toStatus, event.reason, event.actor])).toEqual([[null, 'ACTIVE', 'RESERVED', app.id]]);
    expect(await readLevel(database.db, a, 'WH1')).toMatchObject({ reserved: 3, availableToPromise: 7 });
    const levelB = await readLevel(database.db, b, 'WH1');
    expect(levelB).toMatchObject({ reserved: 5, availableToPromise: 0 });
    expect(levelB.pushRequestedAt).not.toBeNull();
  });

  it('decides a whole batch that fits in one statement, a replay in it answered from its row', async () => {
    const sku = uniqueSku('BATCH');
    await seedLevel(database.db, sku, 'WH1', { onHand: 100 });
    const repository = createReservationsRepository(counted.db, SHOP);
    const first = request([{ sku, location: 'WH1', quantity: 4 }]);
    const [made] = await repository.reserveBatch([first]);
    expect(made?.kind).toBe('created');

    counted.reset();
    const batch = [request([{ sku, location: 'WH1', quantity: 10 }]), { ...first, at: new Date() }, request([{ sku, location: 'WH1', quantity: 6 }])];
    const results = await repository.reserveBatch(batch);
    expect(results.map((result) => result.kind)).toEqual(['created', 'existing', 'created']);
    // The statement, and the lookup of the replayed key's row.
    expect(counted.queries()).toBe(2);
    expect(results[1]).toMatchObject({ kind: 'existing', requestHash: first.requestHash });
    if (results[1]?.kind === 'existing' && made?.kind === 'created') expect(results[1].reservation.id).toBe(made.reservation.id);
    expect(await readLevel(database.db, sku, 'WH1')).toMatchObject({ reserved: 20, availableToPromise: 80 });
  });

  it('falls back when the batch does not fit whole: earlier requests held, the short one refused and nothing of it written', async () => {
    const sku = uniqueSku('SHORT');
    await seedLevel(database.db, sku, 'WH1', { onHand: 10 });
    const repository = createReservationsRepository(database.db, SHOP);
    const batch = [request([{ sku, location: 'WH1', quantity: 6 }]), request([{ sku, location: 'WH1', quantity: 6 }]), request([{ sku, location: 'WH1', quantity: 4 }])];
    const results = await repository.reserveBatch(batch);
    expect(results.map((result) => result.kind)).toEqual(['created', 'refused', 'created']);
    expect(results[1]).toEqual({ kind: 'refused', lines: [{ line: 1, sku, location: 'WH1', requested: 6, available: 4, reason: 'INSUFFICIENT_STOCK' }] });
    expect(await readLevel(database.db, sku, 'WH1')).toMatchObject({ reserved: 10, availableToPromise: 0 });
    const rows = await database.db
      .select({ key: reservations.idempotencyKey })
      .from(reservations)
      .where(and(eq(reservations.shop, SHOP), inArray(reservations.idempotencyKey, batch.map((input) => input.idempotencyKey))));
    expect(rows.map((row) => row.key).sort()).toEqual([batch[0]!.idempotencyKey, batch[2]!.idempotencyKey].sort());
  });

  it('falls back for an unknown location and names it, holding nothing of the request', async () => {
    const sku = uniqueSku('WHERE');
    await seedLevel(database.db, sku, 'WH1', { onHand: 10 });
    const repository = createReservationsRepository(database.db, SHOP);
    const [result] = await repository.reserveBatch([request([{ sku, location: 'WH1', quantity: 1 }, { sku, location: 'NOWHERE', quantity: 1 }])]);
    expect(result).toEqual({ kind: 'refused', lines: [{ line: 2, sku, location: 'NOWHERE', requested: 1, available: 0, reason: 'LOCATION_NOT_FOUND' }] });
    expect(await readLevel(database.db, sku, 'WH1')).toMatchObject({ reserved: 0, availableToPromise: 10 });
  });
});
