import { and, eq, sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rowsOf, type Db } from '../../src/db/database.js';
import { inventoryLevels, reservationEvents, reservations } from '../../src/db/schema/index.js';
import { atpExpression, availableToPromise } from '../../src/inventory/read-model/atp-formula.js';
import { createReservationsJob, createReservedTermCheckJob } from '../../src/reservations/reservations.job.js';
import { confirmCommittedReservations, createReservationsRepository } from '../../src/reservations/reservations.repository.js';
import type { ReservationActor, ReserveOutcome } from '../../src/reservations/reservations.models.js';
import { createMemoryLogger } from '../support/gateway.js';
import { createTestDatabase, type TestDatabase } from '../support/database.js';
import { countingPushSignal, createTestReservations, readLevel, seedLevel, SHOP, testClock, uniqueSku } from './reservations.fixture.js';

const app: ReservationActor = { id: '00000000-0000-4000-8000-00000000000a', seesAll: false };
const otherApp: ReservationActor = { id: '00000000-0000-4000-8000-00000000000b', seesAll: false };
const operator: ReservationActor = { id: '00000000-0000-4000-8000-0000000000ad', seesAll: true };

function reserved(outcome: ReserveOutcome) {
  if (outcome.kind !== 'reserved') throw new Error(`expected a reservation, got ${outcome.kind}`);
  return outcome.reservation;
}

describe('reservations', () => {
  let database: TestDatabase;
  const clock = testClock();
  const signal = countingPushSignal();
  let service: ReturnType<typeof createTestReservations>;

  beforeAll(async () => {
    database = await createTestDatabase();
    service = createTestReservations(database.db, { now: clock.now, pushSignal: signal, defaultTtlSeconds: 600 });
  });
  afterAll(async () => {
    await database.close();
  });

  const input = (sku: string, overrides: Record<string, unknown> = {}) => ({
    sku,
    location: 'WH1',
    quantity: 3,
    reference: 'PO-1001',
    idempotencyKey: `key-${sku}`,
    ...overrides,
  });

  describe('reserving', () => {
    it('holds units that fit the ATP: reserved rises, the ATP falls by as much, the position is marked and the pusher woken', async () => {
      const sku = uniqueSku();
      await seedLevel(database.db, sku, 'WH1', { onHand: 20, allocated: 2, safetyStock: 3, wholesaleCommitted: 1, pendingOrders: 1 });
      const wakesBefore = signal.wakes;

      const reservation = reserved(await service.reserve(app, input(sku, { quantity: 5 })));

      expect(reservation).toMatchObject({ sku, location: 'WH1', quantity: 5, reference: 'PO-1001', status: 'ACTIVE' });
      expect(reservation.expiresAt.getTime() - clock.now().getTime()).toBe(600_000);
      const level = await readLevel(database.db, sku, 'WH1');
      expect(level.reserved).toBe(5);
      expect(level.availableToPromise).toBe(8);
      expect(level.availableToPromise).toBe(availableToPromise(level));
      expect(level.pushRequestedAt).not.toBeNull();
      expect(signal.wakes).toBe(wakesBefore + 1);
    });

    it('refuses what the ATP does not cover, says how many units are available, and holds nothing', async () => {
      const sku = uniqueSku();
      await seedLevel(database.db, sku, 'WH1', { onHand: 10.5, allocated: 3 });

      const outcome = await service.reserve(app, input(sku, { quantity: 8 }));

      expect(outcome).toEqual({
        kind: 'insufficient-stock',
        sku,
        location: 'WH1',
        requested: 8,
        availableToPromise: 7,
        lines: [{ line: 1, sku, location: 'WH1', requested: 8, available: 7, reason: 'INSUFFICIENT_STOCK' }],
      });
      const level = await readLevel(database.db, sku, 'WH1');
      expect(level.reserved).toBe(0);
      expect(level.pushRequestedAt).toBeNull();
      const rows = await database.db.select().from(reservations).where(eq(reservations.sku, sku));
      expect(rows).toHaveLength(0);
      // The refused key is not used up: once stock allows, the same key reserves.
      expect(reserved(await service.reserve(app, input(sku, { quantity: 7 }))).quantity).toBe(7);
    });

    it('takes the very last unit, then refuses the next one', async () => {
      const sku = uniqueSku();
      await seedLevel(database.db, sku, 'WH1', { onHand: 2 });
      reserved(await service.reserve(app, input(sku, { quantity: 2, idempotencyKey: `${sku}-a` })));
      const next = await service.reserve(app, input(sku, { quantity: 1, idempotencyKey: `${sku}-b` }));
      expect(next).toMatchObject({ kind: 'insufficient-stock', availableToPromise: 0 });
    });

    it('answers not found for an unknown SKU, and for a known SKU at a location without figures', async () => {
      const sku = uniqueSku();
      await seedLevel(database.db, sku, 'WH1', { onHand: 5 });
      expect(await service.reserve(app, input(`${sku}-NOPE`))).toMatchObject({ kind: 'not-found', unknown: 'sku' });
      expect(await service.reserve(app, input(sku, { location: 'WH9' }))).toMatchObject({ kind: 'not-found', unknown: 'location' });
      // SKUs are the ERP's codes, compared exactly.
      expect(await service.reserve(app, input(sku.toLowerCase()))).toMatchObject({ kind: 'not-found', unknown: 'sku' });
    });

    it('rejects invalid input with BAD_USER_INPUT before touching the database', async () => {
      const sku = uniqueSku();
      await seedLevel(database.db, sku, 'WH1', { onHand: 5 });
      for (const bad of [
        { quantity: 0 },
        { quantity: -1 },
        { quantity: 1.5 },
        { quantity: 2_000_000 },
        { ttlSeconds: 0 },
        { ttlSeconds: 91 * 86_400 },
        { sku: '' },
        { reference: '   ' },
        { idempotencyKey: '' },
        { idempotencyKey: 'x'.repeat(256) },
      ]) {
        await expect(service.reserve(app, input(sku, bad)), JSON.stringify(bad)).rejects.toMatchObject({ code: 'BAD_USER_INPUT' });
      }
      expect((await readLevel(database.db, sku, 'WH1')).reserved).toBe(0);
    });

    it('uses the caller\u2019s ttl when given', async () => {
      const sku = uniqueSku();
      await seedLevel(database.db, sku, 'WH1', { onHand: 5 });
      const reservation = reserved(await service.reserve(app, input(sku, { ttlSeconds: 90 })));
      expect(reservation.expiresAt.getTime() - reservation.createdAt.getTime()).toBe(90_000);
    });
  });

  describe('a batch (requests that share one transaction under load)', () => {
    it('decides each request in arrival order against the ATP the earlier ones leave', async () => {
      const sku = uniqueSku();
      const other = uniqueSku();
      await seedLevel(database.db, sku, 'WH1', { onHand: 6 });
      await seedLevel(database.db, other, 'WH1', { onHand: 1 });
      const repository = createReservationsRepository(database.db, SHOP);
      const request = (key: string, s: string, location: string, quantity: number) => ({
        lines: [{ sku: s, location, quantity }],
        reference: key,
        idempotencyKey: `${sku}-${key}`,
        requestHash: key,
        expiresAt: new Date(clock.now().getTime() + 60_000),
        createdBy: app.id,
        at: clock.now(),
      });

      const results = await repository.reserveBatch([
        request('a', sku, 'WH1', 3),
        request('b', sku, 'WH1', 5),
        request('c', sku, 'WH7', 1),
        request('d', `${sku}-X`, 'WH1', 1),
        request('e', other, 'WH1', 1),
        request('f', sku, 'WH1', 2),
      ]);

      expect(results.map((r) => r.kind)).toEqual(['created', 'refused', 'refused', 'refused', 'created', 'created']);
      expect(results[1]).toEqual({ kind: 'refused', lines: [{ line: 1, sku, location: 'WH1', requested: 5, available: 3, reason: 'INSUFFICIENT_STOCK' }] });
      expect(results[2]).toEqual({ kind: 'refused', lines: [{ line: 1, sku, location: 'WH7', requested: 1, available: 0, reason: 'LOCATION_NOT_FOUND' }] });
      expect(results[3]).toEqual({ kind: 'refused', lines: [{ line: 1, sku: `${sku}-X`, location: 'WH1', requested: 1, available: 0, reason: 'SKU_NOT_FOUND' }] });
      expect(await readLevel(database.db, sku, 'WH1')).toMatchObject({ reserved: 5, availableToPromise: 1 });
      expect(await readLevel(database.db, other, 'WH1')).toMatchObject({ reserved: 1, availableToPromise: 0 });
      const rows = await database.db.select().from(reservations).where(eq(reservations.sku, sku));
      expect(rows.map((r) => r.reference).sort()).toEqual(['a', 'f']);
      const events = await service.getEventsByReservationIds(rows.map((r) => r.id));
      expect(events).toHaveLength(2);
    });
  });

  describe('idempotency', () => {
    it('returns the same reservation for a retried key and holds the units once', async () => {
      const sku = uniqueSku();
      await seedLevel(database.db, sku, 'WH1', { onHand: 10 });
      const first = await service.reserve(app, input(sku));
      const second = await service.reserve(app, input(sku));
      expect(first).toMatchObject({ kind: 'reserved', replayed: false });
      expect(second).toMatchObject({ kind: 'reserved', replayed: true });
      expect(reserved(second).id).toBe(reserved(first).id);
      expect((await readLevel(database.db, sku, 'WH1')).reserved).toBe(3);
    });

    it('returns the reservation as it is now (released), still without holding again', async () => {
      const sku = uniqueSku();
      await seedLevel(database.db, sku, 'WH1', { onHand: 10 });
      const first = reserved(await service.reserve(app, input(sku)));
      await service.release(app, first.id);
      const again = reserved(await service.reserve(app, input(sku)));
      expect(again).toMatchObject({ id: first.id, status: 'RELEASED' });
      expect((await readLevel(database.db, sku, 'WH1')).reserved).toBe(0);
    });

    it('refuses the same key with other arguments (IDEMPOTENCY_KEY_REUSED) and changes nothing', async () => {
      const sku = uniqueSku();
      await seedLevel(database.db, sku, 'WH1', { onHand: 10 });
      const first = reserved(await service.reserve(app, input(sku)));
      for (const other of [{ quantity: 4 }, { reference: 'PO-2' }, { ttlSeconds: 60 }]) {
        await expect(service.reserve(app, input(sku, other))).rejects.toMatchObject({
          code: 'IDEMPOTENCY_KEY_REUSED',
          details: { reservationId: first.id },
        });
      }
      expect((await readLevel(database.db, sku, 'WH1')).reserved).toBe(3);
    });

    it('keeps keys apart per API key: two apps may use the same key', async () => {
      const sku = uniqueSku();
      await seedLevel(database.db, sku, 'WH1', { onHand: 10 });
      const mine = reserved(await service.reserve(app, input(sku)));
      const theirs = reserved(await service.reserve(otherApp, input(sku)));
      expect(theirs.id).not.toBe(mine.id);
      expect((await readLevel(database.db, sku, 'WH1')).reserved).toBe(6);
    });
  });

  describe('release and commit', () => {
    it('releases an active reservation: units free again, recorded, marked, woken', async () => {
      const sku = uniqueSku();
      await seedLevel(database.db, sku, 'WH1', { onHand: 10 });
      const reservation = reserved(await service.reserve(app, input(sku)));
      await database.db.execute(sql`update inventory_levels set push_requested_at = null where sku = ${sku}`);
      const wakes = signal.wakes;

      const released = await service.release(app, reservation.id);

      expect(released).toMatchObject({ status: 'RELEASED', closedAt: clock.now() });
      const level = await readLevel(database.db, sku, 'WH1');
      expect(level).toMatchObject({ reserved: 0, availableToPromise: 10 });
      expect(level.pushRequestedAt).not.toBeNull();
      expect(signal.wakes).toBe(wakes + 1);
    });

    it('allows each transition only from ACTIVE, with RESERVATION_NOT_ACTIVE naming the status', async () => {
      const sku = uniqueSku();
      await seedLevel(database.db, sku, 'WH1', { onHand: 10 });
      const released = reserved(await service.reserve(app, input(sku, { idempotencyKey: `${sku}-r` })));
      await service.release(app, released.id);
      const committed = reserved(await service.reserve(app, input(sku, { idempotencyKey: `${sku}-c` })));
      await service.commit(app, committed.id);

      await expect(service.release(app, released.id)).rejects.toMatchObject({ code: 'RESERVATION_NOT_ACTIVE', details: { status: 'RELEASED' } });
      await expect(service.commit(app, released.id)).rejects.toMatchObject({ code: 'RESERVATION_NOT_ACTIVE', details: { status: 'RELEASED' } });
      await expect(service.release(app, committed.id)).rejects.toMatchObject({ code: 'RESERVATION_NOT_ACTIVE', details: { status: 'COMMITTED' } });
      await expect(service.commit(app, committed.id)).rejects.toMatchObject({ code: 'RESERVATION_NOT_ACTIVE', details: { status: 'COMMITTED' } });
      // Still counted once: the commit's units until the ERP shows them.
      expect((await readLevel(database.db, sku, 'WH1')).reserved).toBe(3);
    });

    it('answers RESERVATION_NOT_FOUND for an unknown or malformed id', async () => {
      await expect(service.release(app, '00000000-0000-4000-8000-000000000999')).rejects.toMatchObject({ code: 'RESERVATION_NOT_FOUND' });
      await expect(service.commit(app, 'not-an-id')).rejects.toMatchObject({ code: 'RESERVATION_NOT_FOUND' });
    });

    it('lets a key see and change only its own reservations, unless it is an admin key', async () => {
      const sku = uniqueSku();
      await seedLevel(database.db, sku, 'WH1', { onHand: 10 });
      const mine = reserved(await service.reserve(app, input(sku)));

      await expect(service.release(otherApp, mine.id)).rejects.toMatchObject({ code: 'RESERVATION_NOT_FOUND' });
      expect(await service.findById(otherApp, mine.id)).toBeNull();
      expect((await service.list(otherApp, { sku })).edges).toHaveLength(0);

      expect((await service.list(operator, { sku })).edges.map((edge) => edge.node.id)).toEqual([mine.id]);
      expect(await service.release(operator, mine.id)).toMatchObject({ status: 'RELEASED' });
    });

    it('records every transition with who, when, from and to', async () => {
      const sku = uniqueSku();
      await seedLevel(database.db, sku, 'WH1', { onHand: 10 });
      const reservation = reserved(await service.reserve(app, input(sku)));
      clock.advance(1000);
      await service.commit(operator, reservation.id);

      const events = await service.getEventsByReservationIds([reservation.id]);
      expect(events).toEqual([
        { reservationId: reservation.id, fromStatus: null, toStatus: 'ACTIVE', actor: app.id, reason: 'RESERVED', lines: null, occurredAt: reservation.createdAt },
        {
          reservationId: reservation.id,
          fromStatus: 'ACTIVE',
          toStatus: 'COMMITTED',
          actor: operator.id,
          reason: 'COMMITTED',
          lines: null,
          occurredAt: new Date(reservation.createdAt.getTime() + 1000),
        },
      ]);
    });
  });

  describe('expiry', () => {
    it('expires due reservations in the job: units free, status EXPIRED, recorded, marked for the push', async () => {
      const sku = uniqueSku();
      await seedLevel(database.db, sku, 'WH1', { onHand: 10 });
      const short = reserved(await service.reserve(app, input(sku, { idempotencyKey: `${sku}-short`, ttlSeconds: 60 })));
      const long = reserved(await service.reserve(app, input(sku, { idempotencyKey: `${sku}-long`, ttlSeconds: 3600 })));
      await database.db.execute(sql`update inventory_levels set push_requested_at = null where sku = ${sku}`);
      const wakes = signal.wakes;

      clock.advance(61_000);
      const job = createReservationsJob(service);
      const result = await job.run({ log: createMemoryLogger().log, runId: 'r1', signal: new AbortController().signal, scheduledAt: clock.now(), fence: { job: 'test', token: 1 } });

      expect(result).toMatchObject({ expired: expect.any(Number) });
      expect(await service.findById(app, short.id)).toMatchObject({ status: 'EXPIRED', closedAt: clock.now() });
      expect(await service.findById(app, long.id)).toMatchObject({ status: 'ACTIVE' });
      const level = await readLevel(database.db, sku, 'WH1');
      expect(level).toMatchObject({ reserved: 3, availableToPromise: 7 });
      expect(level.pushRequestedAt).not.toBeNull();
      expect(signal.wakes).toBeGreaterThan(wakes);
      const events = await service.getEventsByReservationIds([short.id]);
      expect(events.at(-1)).toMatchObject({ fromStatus: 'ACTIVE', toStatus: 'EXPIRED', actor: 'system:expiry', reason: 'EXPIRED' });

      // A second run finds nothing more to do.
      const again = await job.run({ log: createMemoryLogger().log, runId: 'r2', signal: new AbortController().signal, scheduledAt: clock.now(), fence: { job: 'test', token: 1 } });
      expect(await service.findById(app, long.id)).toMatchObject({ status: 'ACTIVE' });
      expect((await readLevel(database.db, sku, 'WH1')).reserved).toBe(3);
      expect(again).toMatchObject({ expired: 0 });
    });

    it('treats expiresAt as exact: releasing or committing after it expires the reservation instead', async () => {
      const sku = uniqueSku();
      await seedLevel(database.db, sku, 'WH1', { onHand: 10 });
      const toCommit = reserved(await service.reserve(app, input(sku, { idempotencyKey: `${sku}-1`, ttlSeconds: 30 })));
      const toRelease = reserved(await service.reserve(app, input(sku, { idempotencyKey: `${sku}-2`, ttlSeconds: 30 })));
      clock.advance(30_000);

      await expect(service.commit(app, toCommit.id)).rejects.toMatchObject({ code: 'RESERVATION_NOT_ACTIVE', details: { status: 'EXPIRED' } });
      await expect(service.release(app, toRelease.id)).rejects.toMatchObject({ code: 'RESERVATION_NOT_ACTIVE', details: { status: 'EXPIRED' } });
      expect(await service.findById(app, toCommit.id)).toMatchObject({ status: 'EXPIRED' });
      expect((await readLevel(database.db, sku, 'WH1')).reserved).toBe(0);
    });
  });

  describe('commit without double counting', () => {
    it('keeps counting committed units until an ERP read begun after the commit shows them, then counts them once', async () => {
      // Exact mode: erp_read_at is when the read began, and the ATP engine confirms in its own transaction.
      const exact = createTestReservations(database.db, { now: clock.now, erpReadMarginMs: 0 });
      const sku = uniqueSku();
      await seedLevel(database.db, sku, 'WH1', { onHand: 100, allocated: 10, erpReadAt: new Date(clock.now().getTime() - 60_000) });
      const reservation = reserved(await exact.reserve(app, input(sku, { quantity: 30 })));
      expect((await readLevel(database.db, sku, 'WH1')).availableToPromise).toBe(60);

      clock.advance(1000);
      await exact.commit(app, reservation.id);
      // Committed, but the ERP has not been read since: the units still count here, ATP unchanged.
      expect(await readLevel(database.db, sku, 'WH1')).toMatchObject({ reserved: 30, availableToPromise: 60 });

      // A read that began before the commit says nothing about the order: nothing is dropped
      // (dropping now would count the units zero times).
      await writeErpTerms(sku, { onHand: 100, allocated: 10, wholesaleCommitted: 0, readAt: new Date(clock.now().getTime() - 500) });
      expect(await exact.confirmCommitted()).toBe(0);
      expect(await readLevel(database.db, sku, 'WH1')).toMatchObject({ reserved: 30, availableToPromise: 60 });

      // The ERP allocates the wholesale order; the ATP engine writes the fresh terms and, in the
      // same transaction, confirms the commitments they show.
      clock.advance(1000);
      await database.db.transaction(async (tx) => {
        await writeErpTerms(sku, { onHand: 100, allocated: 40, wholesaleCommitted: 0, readAt: clock.now() }, tx as unknown as Db);
        await confirmCommittedReservations(tx as unknown as Db, SHOP, clock.now(), { positions: [{ sku, location: 'WH1' }], erpReadMarginMs: 0 });
      });

      const level = await readLevel(database.db, sku, 'WH1');
      expect(level).toMatchObject({ allocated: 40, reserved: 0, availableToPromise: 60 });
      expect(level.availableToPromise).toBe(availableToPromise(level));
      expect(level.pushRequestedAt).not.toBeNull();
      expect(await exact.findById(app, reservation.id)).toMatchObject({ status: 'COMMITTED', erpConfirmedAt: clock.now() });
      const events = await exact.getEventsByReservationIds([reservation.id]);
      expect(events.map((e) => e.reason)).toEqual(['RESERVED', 'COMMITTED', 'ERP_CONFIRMED']);
      expect(events.at(-1)).toMatchObject({ fromStatus: 'COMMITTED', toStatus: 'COMMITTED', actor: 'system:erp-confirmation' });

      // Confirmation happens once: later reads change nothing.
      clock.advance(1000);
      await writeErpTerms(sku, { onHand: 100, allocated: 40, wholesaleCommitted: 0, readAt: clock.now() });
      expect(await exact.confirmCommitted()).toBe(0);
      expect(await readLevel(database.db, sku, 'WH1')).toMatchObject({ reserved: 0, availableToPromise: 60 });
    });

    it('by default trusts only reads stamped more than the margin after the commit (the stamp is taken after the read)', async () => {
      const sku = uniqueSku();
      await seedLevel(database.db, sku, 'WH1', { onHand: 50 });
      const reservation = reserved(await service.reserve(app, input(sku, { quantity: 20 })));
      await service.commit(app, reservation.id);
      const committedAt = clock.now().getTime();

      // Stamped 5 s after the commit: the read may have begun before it and not show the order.
      await writeErpTerms(sku, { onHand: 50, allocated: 0, wholesaleCommitted: 0, readAt: new Date(committedAt + 5_000) });
      clock.advance(6_000);
      expect(await service.confirmCommitted()).toBe(0);
      expect(await readLevel(database.db, sku, 'WH1')).toMatchObject({ reserved: 20, availableToPromise: 30 });

      // Stamped 11 s after: begun after the commit, it shows the order as wholesale committed.
      await writeErpTerms(sku, { onHand: 50, allocated: 0, wholesaleCommitted: 20, readAt: new Date(committedAt + 11_000) });
      // Until the confirmation the units count twice: the ATP is low, never high.
      expect((await readLevel(database.db, sku, 'WH1')).availableToPromise).toBe(10);
      clock.advance(6_000);
      const job = createReservationsJob(service);
      const result = await job.run({ log: createMemoryLogger().log, runId: 'r', signal: new AbortController().signal, scheduledAt: clock.now(), fence: { job: 'test', token: 1 } });

      expect(result).toMatchObject({ confirmed: 1 });
      expect(await readLevel(database.db, sku, 'WH1')).toMatchObject({ wholesaleCommitted: 20, reserved: 0, availableToPromise: 30 });
    });

    it('asks the ATP engine to re-read SKUs whose commitments no read has shown, then confirms them', async () => {
      const sku = uniqueSku();
      await seedLevel(database.db, sku, 'WH1', { onHand: 40 });
      const refreshed: string[][] = [];
      // The ERP behind the ATP port: the wholesale order was entered there before the commit,
      // so nothing changes after it and no delta sync would re-read the SKU.
      const atp = {
        async refreshPositions(skus: readonly string[]) {
          refreshed.push([...skus]);
          await writeErpTerms(sku, { onHand: 40, allocated: 15, wholesaleCommitted: 0, readAt: clock.now() });
        },
        async recomputeKitsContaining() {},
      };
      const withAtp = createTestReservations(database.db, { now: clock.now, atp });
      const reservation = reserved(await withAtp.reserve(app, input(sku, { quantity: 15 })));
      await withAtp.commit(app, reservation.id);
      const job = createReservationsJob(withAtp);
      const run = () => job.run({ log: createMemoryLogger().log, runId: 'r', signal: new AbortController().signal, scheduledAt: clock.now(), fence: { job: 'test', token: 1 } });

      await run();
      expect(refreshed.flat()).not.toContain(sku); // not before the margin: a read begun now might predate the commit
      clock.advance(11_000);
      await run();

      expect(refreshed.flat()).toContain(sku);
      expect(await withAtp.findById(app, reservation.id)).toMatchObject({ status: 'COMMITTED', erpConfirmedAt: clock.now() });
      expect(await readLevel(database.db, sku, 'WH1')).toMatchObject({ allocated: 15, reserved: 0, availableToPromise: 25 });
    });
  });

  it('asks the ATP engine to recompute kits containing a SKU whose reserved term changed', async () => {
    const sku = uniqueSku();
    await seedLevel(database.db, sku, 'WH1', { onHand: 10 });
    const recomputed: string[][] = [];
    const withAtp = createTestReservations(database.db, {
      now: clock.now,
      atp: {
        async refreshPositions() {},
        async recomputeKitsContaining(skus: readonly string[]) {
          recomputed.push([...skus]);
        },
      },
    });
    const reservation = reserved(await withAtp.reserve(app, input(sku)));
    await withAtp.release(app, reservation.id);
    expect(recomputed).toEqual([[sku], [sku]]);
  });

  describe('listing', () => {
    it('pages newest first with filters and opaque cursors', async () => {
      const sku = uniqueSku();
      await seedLevel(database.db, sku, 'WH1', { onHand: 100 });
      await seedLevel(database.db, sku, 'WH2', { onHand: 100 });
      const made = [];
      for (let i = 0; i < 5; i++) {
        made.push(reserved(await service.reserve(app, input(sku, { idempotencyKey: `${sku}-${i}`, location: i % 2 ? 'WH2' : 'WH1', quantity: 1 }))));
      }
      await service.release(app, made[0]!.id);

      const first = await service.list(app, { sku }, { first: 2 });
      expect(first.edges.map((e) => e.node.id)).toEqual([made[4]!.id, made[3]!.id]);
      expect(first.pageInfo.hasNextPage).toBe(true);
      const second = await service.list(app, { sku }, { first: 2, after: first.pageInfo.endCursor });
      expect(second.edges.map((e) => e.node.id)).toEqual([made[2]!.id, made[1]!.id]);
      const last = await service.list(app, { sku }, { first: 2, after: second.pageInfo.endCursor });
      expect(last.edges.map((e) => e.node.id)).toEqual([made[0]!.id]);
      expect(last.pageInfo.hasNextPage).toBe(false);

      expect((await service.list(app, { sku, location: 'WH2' })).edges).toHaveLength(2);
      expect((await service.list(app, { sku, status: 'RELEASED' })).edges.map((e) => e.node.id)).toEqual([made[0]!.id]);
      await expect(service.list(app, { sku }, { after: 'garbage' })).rejects.toMatchObject({ code: 'BAD_USER_INPUT' });
      await expect(service.list(app, { sku }, { first: 251 })).rejects.toMatchObject({ code: 'BAD_USER_INPUT' });
    });
  });

  it('the check job sets a wrong reserved term right, recomputes the ATP and marks the position', async () => {
    const sku = uniqueSku();
    await seedLevel(database.db, sku, 'WH1', { onHand: 20 });
    reserved(await service.reserve(app, input(sku, { quantity: 4 })));
    // Something outside this domain clobbers the term (a row rebuilt by hand, a bug elsewhere).
    await database.db.execute(sql`update inventory_levels set reserved = 0, available_to_promise = 20, push_requested_at = null where sku = ${sku}`);

    const job = createReservedTermCheckJob(service);
    const result = await job.run({ log: createMemoryLogger().log, runId: 'c', signal: new AbortController().signal, scheduledAt: clock.now(), fence: { job: 'test', token: 1 } });

    expect(result).toMatchObject({ repaired: 1 });
    const level = await readLevel(database.db, sku, 'WH1');
    expect(level).toMatchObject({ reserved: 4, availableToPromise: 16 });
    expect(level.pushRequestedAt).not.toBeNull();
    expect(await job.run({ log: createMemoryLogger().log, runId: 'd', signal: new AbortController().signal, scheduledAt: clock.now(), fence: { job: 'test', token: 1 } })).toMatchObject({ repaired: 0 });
  });

  it('keeps reserved equal to the units of ACTIVE and unconfirmed COMMITTED reservations at every position', async () => {
    const result = await database.db.execute(sql`
      select l.sku, l.location, l.reserved, coalesce(sum(r.quantity), 0)::float8 as expected
      from inventory_levels l
      left join ${reservations} r on r.shop = l.shop and r.sku = l.sku and r.location = l.location
        and (r.status = 'ACTIVE' or (r.status = 'COMMITTED' and r.erp_confirmed_at is null))
      where l.shop = ${SHOP}
      group by l.sku, l.location, l.reserved`);
    const rows = rowsOf<{ sku: string; reserved: number; expected: number }>(result);
    expect(rows.length).toBeGreaterThan(10);
    for (const row of rows) expect(Number(row.reserved), row.sku).toBe(Number(row.expected));
    const events = await database.db.select({ n: sql<number>`count(*)::int` }).from(reservationEvents);
    expect(events[0]!.n).toBeGreaterThan(0);
  });

  /** As the ATP engine does: fresh ERP terms, then the ATP recomputed from them by THE formula. */
  async function writeErpTerms(
    sku: string,
    terms: { onHand: number; allocated: number; wholesaleCommitted: number; readAt: Date },
    db: Db = database.db,
  ) {
    const position = and(eq(inventoryLevels.shop, SHOP), eq(inventoryLevels.sku, sku));
    await db
      .update(inventoryLevels)
      .set({ onHand: terms.onHand, allocated: terms.allocated, wholesaleCommitted: terms.wholesaleCommitted, erpReadAt: terms.readAt })
      .where(position);
    await db.update(inventoryLevels).set({ availableToPromise: atpExpression }).where(position);
  }
});
