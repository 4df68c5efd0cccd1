import { eq, sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rowsOf, type Database, type Db } from '../../src/db/database.js';
import { reservationLines, reservations } from '../../src/db/schema/index.js';
import type { ReservationActor, ReservationLineInput, ReserveOutcome } from '../../src/reservations/reservations.models.js';
import type { ReservationsService } from '../../src/reservations/reservations.service.js';
import { createTestDatabase, describeWithPostgres, openSecondInstance, testDatabaseKind, type TestDatabase } from '../support/database.js';
import { countingPushSignal, createTestReservations, readLevel, seedLevel, testClock, uniqueSku } from './reservations.fixture.js';

const app: ReservationActor = { id: '00000000-0000-4000-8000-0000000001a1', seesAll: false };

function reserved(outcome: ReserveOutcome) {
  if (outcome.kind !== 'reserved') throw new Error(`expected a reservation, got ${outcome.kind}`);
  return outcome.reservation;
}

/** Units reserved at a position as its lines say (ACTIVE, or COMMITTED and not yet shown by the ERP). */
async function countedUnits(db: Db, sku: string, location: string): Promise<number> {
  const [row] = await db
    .select({ units: sql<number>`coalesce(sum(${reservationLines.quantity}), 0)::int` })
    .from(reservationLines)
    .where(
      sql`${reservationLines.sku} = ${sku} and ${reservationLines.location} = ${location} and (${reservationLines.status} = 'ACTIVE' or (${reservationLines.status} = 'COMMITTED' and ${reservationLines.erpConfirmedAt} is null))`,
    );
  return Number(row!.units);
}

describe(`multi-line reservations (${testDatabaseKind})`, () => {
  let database: TestDatabase;
  const clock = testClock();
  const signal = countingPushSignal();
  let service: ReservationsService;

  beforeAll(async () => {
    database = await createTestDatabase();
    service = createTestReservations(database.db, { now: clock.now, pushSignal: signal, defaultTtlSeconds: 600 });
  });
  afterAll(async () => {
    await database.close();
  });

  /** `count` SKUs at WH1, each with 10 units on hand. */
  async function seedSkus(label: string, count: number): Promise<string[]> {
    const skus = Array.from({ length: count }, () => uniqueSku(label));
    for (const sku of skus) await seedLevel(database.db, sku, 'WH1', { onHand: 10 });
    return skus;
  }

  it('holds nothing when one line of 20 is short, and names that line with what was available', async () => {
    const skus = await seedSkus('TWENTY', 20);
    const lines = skus.map((sku, i) => ({ sku, location: 'WH1', quantity: i === 13 ? 11 : 4 }));

    const outcome = await service.reserve(app, { lines, reference: 'WO-20', idempotencyKey: `${skus[0]}-20` });

    expect(outcome).toEqual({
      kind: 'insufficient-stock',
      sku: skus[13],
      location: 'WH1',
      requested: 11,
      availableToPromise: 10,
      lines: [{ line: 14, sku: skus[13], location: 'WH1', requested: 11, available: 10, reason: 'INSUFFICIENT_STOCK' }],
    });
    for (const sku of skus) expect(await readLevel(database.db, sku, 'WH1')).toMatchObject({ reserved: 0, availableToPromise: 10, pushRequestedAt: null });
    expect(await database.db.select().from(reservations).where(eq(reservations.reference, 'WO-20'))).toHaveLength(0);

    // The refusal did not use up the key: with the 14th line corrected the same key holds all 20.
    const fixed = lines.map((line, i) => (i === 13 ? { ...line, quantity: 10 } : line));
    const reservation = reserved(await service.reserve(app, { lines: fixed, reference: 'WO-20', idempotencyKey: `${skus[0]}-20` }));
    expect(reservation).toMatchObject({ sku: skus[0], location: 'WH1', quantity: 4, status: 'ACTIVE' });
    const stored = await service.getLinesByReservationIds([reservation.id]);
    expect(stored.map((line) => [line.line, line.sku, line.quantity, line.status])).toEqual(fixed.map((line, i) => [i + 1, line.sku, line.quantity, 'ACTIVE']));
    expect(await readLevel(database.db, skus[13]!, 'WH1')).toMatchObject({ reserved: 10, availableToPromise: 0 });
    expect(await readLevel(database.db, skus[0]!, 'WH1')).toMatchObject({ reserved: 4, availableToPromise: 6 });
  });

  it('names every short line, unknown SKUs and locations as NotFound with the short-of-stock ones beside them', async () => {
    const [a, b] = await seedSkus('MIXED', 2);
    const outcome = await service.reserve(app, {
      lines: [
        { sku: a!, location: 'WH1', quantity: 2 },
        { sku: b!, location: 'WH1', quantity: 12 },
        { sku: `${a}-NOPE`, location: 'WH1', quantity: 1 },
        { sku: a!, location: 'WH9', quantity: 1 },
      ],
      reference: 'WO-MIXED',
      idempotencyKey: `${a}-mixed`,
    });
    expect(outcome).toMatchObject({ kind: 'not-found', sku: `${a}-NOPE`, location: 'WH1', unknown: 'sku' });
    expect(outcome.kind === 'not-found' && outcome.lines.map((line) => [line.line, line.reason, line.available])).toEqual([
      [2, 'INSUFFICIENT_STOCK', 10],
      [3, 'SKU_NOT_FOUND', 0],
      [4, 'LOCATION_NOT_FOUND', 0],
    ]);
    expect(await readLevel(database.db, a!, 'WH1')).toMatchObject({ reserved: 0 });
  });

  it('refuses lines naming one position twice, and both forms at once, as bad input', async () => {
    const [a] = await seedSkus('DUP', 1);
    const line = { sku: a!, location: 'WH1', quantity: 1 };
    await expect(service.reserve(app, { lines: [line, line], reference: 'WO', idempotencyKey: `${a}-dup` })).rejects.toMatchObject({ code: 'BAD_USER_INPUT' });
    await expect(service.reserve(app, { ...line, lines: [line], reference: 'WO', idempotencyKey: `${a}-both` })).rejects.toMatchObject({ code: 'BAD_USER_INPUT' });
    await expect(service.reserve(app, { reference: 'WO', idempotencyKey: `${a}-none` })).rejects.toMatchObject({ code: 'BAD_USER_INPUT' });
    await expect(service.reserve(app, { lines: [], reference: 'WO', idempotencyKey: `${a}-empty` })).rejects.toMatchObject({ code: 'BAD_USER_INPUT' });
  });

  it('replays the same lines in any order under one key, and refuses the key with other lines', async () => {
    const [a, b, c] = await seedSkus('IDEM', 3);
    const lines = [
      { sku: a!, location: 'WH1', quantity: 2 },
      { sku: b!, location: 'WH1', quantity: 3 },
    ];
    const key = `${a}-idem`;
    const first = await service.reserve(app, { lines, reference: 'WO-I', idempotencyKey: key });
    const again = await service.reserve(app, { lines: [...lines].reverse(), reference: 'WO-I', idempotencyKey: key });
    expect(first).toMatchObject({ kind: 'reserved', replayed: false });
    expect(again).toMatchObject({ kind: 'reserved', replayed: true });
    expect(reserved(again).id).toBe(reserved(first).id);
    expect(await readLevel(database.db, a!, 'WH1')).toMatchObject({ reserved: 2 });

    const otherQuantity = [lines[0]!, { ...lines[1]!, quantity: 4 }];
    await expect(service.reserve(app, { lines: otherQuantity, reference: 'WO-I', idempotencyKey: key })).rejects.toMatchObject({ code: 'IDEMPOTENCY_KEY_REUSED' });
    const oneMore = [...lines, { sku: c!, location: 'WH1', quantity: 1 }];
    await expect(service.reserve(app, { lines: oneMore, reference: 'WO-I', idempotencyKey: key })).rejects.toMatchObject({ code: 'IDEMPOTENCY_KEY_REUSED' });
    expect(await readLevel(database.db, b!, 'WH1')).toMatchObject({ reserved: 3 });
    expect(await readLevel(database.db, c!, 'WH1')).toMatchObject({ reserved: 0 });

    // One line sent as lines is the single-line form: the same request under the same key.
    const [d] = await seedSkus('IDEM1', 1);
    const single = reserved(await service.reserve(app, { sku: d!, location: 'WH1', quantity: 2, reference: 'WO-S', idempotencyKey: `${d}-s` }));
    const asLines = await service.reserve(app, { lines: [{ sku: d!, location: 'WH1', quantity: 2 }], reference: 'WO-S', idempotencyKey: `${d}-s` });
    expect(asLines).toMatchObject({ kind: 'reserved', replayed: true, reservation: { id: single.id } });
  });

  it('releases and commits lines one part at a time; the reservation stays ACTIVE until no line is', async () => {
    const [a, b, c] = await seedSkus('PART', 3);
    const reservation = reserved(
      await service.reserve(app, {
        lines: [
          { sku: a!, location: 'WH1', quantity: 2 },
          { sku: b!, location: 'WH1', quantity: 3 },
          { sku: c!, location: 'WH1', quantity: 4 },
        ],
        reference: 'WO-P',
        idempotencyKey: `${a}-part`,
      }),
    );
    await database.db.execute(sql`update inventory_levels set push_requested_at = null where sku in (${a}, ${b}, ${c})`);

    clock.advance(1000);
    const released = await service.releaseLines(app, { id: reservation.id, lines: [2] });
    expect(released).toMatchObject({ kind: 'done', reservation: { status: 'ACTIVE' } });
    expect(await readLevel(database.db, b!, 'WH1')).toMatchObject({ reserved: 0, availableToPromise: 10 });
    expect((await readLevel(database.db, b!, 'WH1')).pushRequestedAt).not.toBeNull();
    expect(await readLevel(database.db, a!, 'WH1')).toMatchObject({ reserved: 2, pushRequestedAt: null });

    const committed = await service.commitLines(app, { id: reservation.id, lines: [1] });
    expect(committed).toMatchObject({ kind: 'done', reservation: { status: 'ACTIVE' } });
    // A committed line keeps counting until the ERP shows it; its position is marked for the push.
    expect(await readLevel(database.db, a!, 'WH1')).toMatchObject({ reserved: 2 });
    expect((await readLevel(database.db, a!, 'WH1')).pushRequestedAt).not.toBeNull();

    expect(await service.releaseLines(app, { id: reservation.id, lines: [2] })).toMatchObject({ kind: 'refused', code: 'LINE_NOT_ACTIVE', field: ['input', 'lines'] });
    expect(await service.commitLines(app, { id: reservation.id, lines: [3, 7] })).toMatchObject({ kind: 'refused', code: 'LINE_NOT_FOUND' });
    expect(await service.commitLines(app, { id: reservation.id, lines: [0] })).toMatchObject({ kind: 'refused', code: 'INVALID_LINES' });
    expect(await readLevel(database.db, c!, 'WH1')).toMatchObject({ reserved: 4 });

    // Releasing the rest closes it; a reservation with a committed line ends COMMITTED.
    const rest = await service.release(app, reservation.id);
    expect(rest).toMatchObject({ status: 'COMMITTED', erpConfirmedAt: null });
    expect(await readLevel(database.db, c!, 'WH1')).toMatchObject({ reserved: 0 });
    const lines = await service.getLinesByReservationIds([reservation.id]);
    expect(lines.map((line) => line.status)).toEqual(['COMMITTED', 'RELEASED', 'RELEASED']);
    const events = await service.getEventsByReservationIds([reservation.id]);
    expect(events.map((event) => [event.reason, event.toStatus, event.lines])).toEqual([
      ['RESERVED', 'ACTIVE', null],
      ['LINES_RELEASED', 'ACTIVE', [2]],
      ['LINES_COMMITTED', 'ACTIVE', [1]],
      ['RELEASED', 'COMMITTED', null],
    ]);
    expect(await service.releaseLines(app, { id: reservation.id, lines: [3] })).toMatchObject({ kind: 'refused', code: 'RESERVATION_NOT_ACTIVE' });
    expect(await service.releaseLines({ id: '00000000-0000-4000-8000-0000000001b2', seesAll: false }, { id: reservation.id, lines: [3] })).toMatchObject({
      kind: 'refused',
      code: 'RESERVATION_NOT_FOUND',
    });
  });

  it('extends an ACTIVE reservation from now, so expiry leaves it alone until the new time', async () => {
    const [a, b] = await seedSkus('EXT', 2);
    const reservation = reserved(
      await service.reserve(app, {
        lines: [
          { sku: a!, location: 'WH1', quantity: 2 },
          { sku: b!, location: 'WH1', quantity: 5 },
        ],
        reference: 'WO-E',
        idempotencyKey: `${a}-ext`,
        ttlSeconds: 60,
      }),
    );
    clock.advance(50_000);
    const extended = await service.extend(app, { id: reservation.id, ttlSeconds: 3600 });
    expect(extended).toMatchObject({ kind: 'done', reservation: { status: 'ACTIVE', expiresAt: new Date(clock.now().getTime() + 3_600_000) } });
    expect(await service.extend(app, { id: reservation.id, ttlSeconds: 0 })).toMatchObject({ kind: 'refused', code: 'INVALID_TTL', field: ['input', 'ttlSeconds'] });

    clock.advance(600_000);
    await service.expireDue();
    expect(await service.findById(app, reservation.id)).toMatchObject({ status: 'ACTIVE' });
    expect(await readLevel(database.db, b!, 'WH1')).toMatchObject({ reserved: 5 });

    clock.advance(3_600_000);
    expect(await service.extend(app, { id: reservation.id, ttlSeconds: 60 })).toMatchObject({ kind: 'refused', code: 'RESERVATION_NOT_ACTIVE' });
    expect(await service.findById(app, reservation.id)).toMatchObject({ status: 'EXPIRED' });
    expect(await readLevel(database.db, a!, 'WH1')).toMatchObject({ reserved: 0, availableToPromise: 10 });
    expect(await readLevel(database.db, b!, 'WH1')).toMatchObject({ reserved: 0, availableToPromise: 10 });
    const reasons = (await service.getEventsByReservationIds([reservation.id])).map((event) => event.reason);
    expect(reasons).toEqual(['RESERVED', 'EXTENDED', 'EXPIRED']);
  });

  it('lists a multi-line reservation under the SKU of any of its lines', async () => {
    const [a, b] = await seedSkus('LIST', 2);
    const reservation = reserved(
      await service.reserve(app, {
        lines: [
          { sku: a!, location: 'WH1', quantity: 1 },
          { sku: b!, location: 'WH1', quantity: 1 },
        ],
        reference: 'WO-L',
        idempotencyKey: `${a}-list`,
      }),
    );
    const page = await service.list(app, { sku: b });
    expect(page.edges.map((edge) => edge.node.id)).toEqual([reservation.id]);
  });
});

/** Deadlocks PostgreSQL has detected in this database so far (its statistics, flushed first). */
async function deadlocks(db: Db): Promise<number> {
  await new Promise((resolve) => setTimeout(resolve, 1100));
  const rows = rowsOf<{ deadlocks: number }>(
    await db.execute(sql`select pg_stat_clear_snapshot(), (select deadlocks::int from pg_stat_database where datname = current_database()) as deadlocks`),
  );
  return Number(rows[0]!.deadlocks);
}

/** Shuffles in place (Fisher–Yates) with a seeded generator, so a failure can be replayed. */
function shuffled<T>(items: readonly T[], seed: number): T[] {
  const out = [...items];
  let state = seed;
  const next = () => {
    state = (Math.imul(state, 1103515245) + 12345) >>> 0;
    return state / 2 ** 32;
  };
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(next() * (i + 1));
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}

describeWithPostgres('concurrent multi-line reservations from two instances on one PostgreSQL', () => {
  let database: TestDatabase;
  let second: Database;
  let instances: ReservationsService[];
  beforeAll(async () => {
    database = await createTestDatabase();
    second = await openSecondInstance(database);
    instances = [createTestReservations(database.db), createTestReservations(second.db)];
  });
  afterAll(async () => {
    await second.close();
    await database.close();
  });

  it('100 reservations of 3 to 8 lines over 10 shared SKUs, in random line orders, never deadlock and never over-grant', async () => {
    const skus = Array.from({ length: 10 }, () => uniqueSku('MULTI'));
    for (const sku of skus) await seedLevel(database.db, sku, 'WH1', { onHand: 60 });
    const requests = Array.from({ length: 100 }, (_, i) => {
      const picked = shuffled(skus, i + 1).slice(0, 3 + (i % 6));
      const lines: ReservationLineInput[] = picked.map((sku, j) => ({ sku, location: 'WH1', quantity: 1 + ((i + j) % 4) }));
      return { lines, reference: `WO-${i}`, idempotencyKey: `${skus[0]}-${i}` };
    });

    const deadlocksBefore = await deadlocks(database.db);
    const outcomes = await Promise.all(requests.map((request, i) => instances[i % 2]!.reserve(app, request)));
    // The repository retries a deadlock silently, so count them where PostgreSQL does.
    expect(await deadlocks(database.db)).toBe(deadlocksBefore);

    const granted = outcomes.flatMap((outcome, i) => (outcome.kind === 'reserved' ? [requests[i]!] : []));
    expect(outcomes.every((outcome) => outcome.kind === 'reserved' || outcome.kind === 'insufficient-stock')).toBe(true);
    expect(granted.length).toBeGreaterThan(0);
    expect(granted.length).toBeLessThan(100);
    for (const sku of skus) {
      const wanted = granted.flatMap((request) => request.lines).filter((line) => line.sku === sku).reduce((sum, line) => sum + line.quantity, 0);
      const level = await readLevel(database.db, sku, 'WH1');
      expect(wanted).toBeLessThanOrEqual(60);
      expect(level.reserved).toBe(wanted);
      expect(level.availableToPromise).toBe(60 - wanted);
      expect(await countedUnits(database.db, sku, 'WH1')).toBe(wanted);
    }
    // A refusal is whole: its reservation row and lines are gone, and each names a line that
    // really was short when it was decided.
    const [rows] = await database.db.select({ n: sql<number>`count(*)::int` }).from(reservations).where(sql`${reservations.reference} like 'WO-%'`);
    expect(Number(rows!.n)).toBe(granted.length);
    for (const outcome of outcomes) {
      if (outcome.kind === 'insufficient-stock') for (const line of outcome.lines) expect(line.available).toBeLessThan(line.requested);
    }
  });
});
