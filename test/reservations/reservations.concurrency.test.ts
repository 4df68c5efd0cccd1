import { and, eq, sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Database, Db } from '../../src/db/database.js';
import { reservationEvents, reservations } from '../../src/db/schema/index.js';
import type { ReservationActor, ReserveOutcome } from '../../src/reservations/reservations.models.js';
import type { ReservationsService } from '../../src/reservations/reservations.service.js';
import { createTestDatabase, describeWithPostgres, openSecondInstance, testDatabaseKind, type TestDatabase } from '../support/database.js';
import { createTestReservations, readLevel, seedLevel, SHOP, uniqueSku } from './reservations.fixture.js';

const app: ReservationActor = { id: '00000000-0000-4000-8000-0000000000c1', seesAll: false };

/** ATP 50 from terms that all matter: 70 on hand − 8 allocated − 5 safety − 4 committed − 3 pending. */
async function seedAtp50(db: Db, sku: string): Promise<void> {
  await seedLevel(db, sku, 'WH1', { onHand: 70, allocated: 8, safetyStock: 5, wholesaleCommitted: 4, pendingOrders: 3 });
  expect((await readLevel(db, sku, 'WH1')).availableToPromise).toBe(50);
}

function oneUnit(sku: string, key: string) {
  return { sku, location: 'WH1', quantity: 1, reference: `PO-${key}`, idempotencyKey: key };
}

async function countRows(db: Db, sku: string) {
  const [active] = await db
    .select({ n: sql<number>`count(*)::int`, units: sql<number>`coalesce(sum(${reservations.quantity}), 0)::int` })
    .from(reservations)
    .where(and(eq(reservations.sku, sku), eq(reservations.status, 'ACTIVE')));
  const [events] = await db
    .select({ n: sql<number>`count(*)::int` })
    .from(reservationEvents)
    .innerJoin(reservations, eq(reservations.id, reservationEvents.reservationId))
    .where(eq(reservations.sku, sku));
  return { active: Number(active!.n), units: Number(active!.units), events: Number(events!.n) };
}

function tally(outcomes: readonly ReserveOutcome[]) {
  return {
    reserved: outcomes.filter((o) => o.kind === 'reserved').length,
    refused: outcomes.filter((o) => o.kind === 'insufficient-stock').length,
  };
}

async function expectExactly50(db: Db, sku: string, outcomes: readonly ReserveOutcome[]) {
  expect(tally(outcomes)).toEqual({ reserved: 50, refused: 150 });
  expect(await readLevel(db, sku, 'WH1')).toMatchObject({ reserved: 50, availableToPromise: 0 });
  expect(await countRows(db, sku)).toEqual({ active: 50, units: 50, events: 50 });
  // Every refusal saw the ATP as it was when it was decided, never a negative one.
  for (const outcome of outcomes) if (outcome.kind === 'insufficient-stock') expect(outcome.availableToPromise).toBe(0);
}

describe(`concurrent reservations on one database (${testDatabaseKind})`, () => {
  let database: TestDatabase;
  let service: ReservationsService;
  beforeAll(async () => {
    database = await createTestDatabase();
    service = createTestReservations(database.db);
  });
  afterAll(async () => {
    await database.close();
  });

  it('grants exactly 50 of 200 concurrent 1-unit reservations against an ATP of 50', async () => {
    const sku = uniqueSku('HOT');
    await seedAtp50(database.db, sku);
    const outcomes = await Promise.all(Array.from({ length: 200 }, (_, i) => service.reserve(app, oneUnit(sku, `${sku}-${i}`))));
    await expectExactly50(database.db, sku, outcomes);
  });

  it('grants once for 30 concurrent retries with the same idempotency key', async () => {
    const sku = uniqueSku('RETRY');
    await seedAtp50(database.db, sku);
    const request = { ...oneUnit(sku, `${sku}-same`), quantity: 7 };
    const outcomes = await Promise.all(Array.from({ length: 30 }, () => service.reserve(app, request)));
    const ids = new Set(outcomes.map((o) => (o.kind === 'reserved' ? o.reservation.id : o.kind)));
    expect(ids.size).toBe(1);
    expect(outcomes.filter((o) => o.kind === 'reserved' && !o.replayed)).toHaveLength(1);
    expect(await readLevel(database.db, sku, 'WH1')).toMatchObject({ reserved: 7, availableToPromise: 43 });
    expect(await countRows(database.db, sku)).toEqual({ active: 1, units: 7, events: 1 });
  });

  it('never over-grants when reservations and releases of the same position interleave', async () => {
    const sku = uniqueSku('CHURN');
    await seedAtp50(database.db, sku);
    const held = await Promise.all(Array.from({ length: 50 }, (_, i) => service.reserve(app, oneUnit(sku, `${sku}-held-${i}`))));
    const ids = held.map((o) => (o.kind === 'reserved' ? o.reservation.id : ''));
    // 25 releases race 100 new 1-unit reservations: at most the 25 freed units can be granted.
    const [releases, outcomes] = await Promise.all([
      Promise.all(ids.slice(0, 25).map((id) => service.release(app, id))),
      Promise.all(Array.from({ length: 100 }, (_, i) => service.reserve(app, oneUnit(sku, `${sku}-new-${i}`)))),
    ]);
    expect(releases).toHaveLength(25);
    const granted = tally(outcomes).reserved;
    expect(granted).toBeLessThanOrEqual(25);
    const level = await readLevel(database.db, sku, 'WH1');
    expect(level.reserved).toBe(25 + granted);
    expect(level.availableToPromise).toBe(25 - granted);
    expect((await countRows(database.db, sku)).units).toBe(25 + granted);
  });
});

describe(`the reserved term under concurrent changes (${testDatabaseKind})`, () => {
  let database: TestDatabase;
  let service: ReservationsService;
  beforeAll(async () => {
    database = await createTestDatabase();
    service = createTestReservations(database.db);
  });
  afterAll(async () => {
    await database.close();
  });

  it('always equals the units of the reservations that count, as any snapshot sees it: the check never finds anything to repair', async () => {
    const skus = [uniqueSku('MIX'), uniqueSku('MIX'), uniqueSku('MIX')];
    for (const sku of skus) await seedAtp50(database.db, sku);
    let checks = 0;
    let repaired = 0;
    let running = true;
    const checker = (async () => {
      while (running) {
        repaired += await service.repairReservedTerms();
        checks += 1;
      }
    })();
    await Promise.all(
      Array.from({ length: 90 }, async (_, i) => {
        const sku = skus[i % 3]!;
        const outcome = await service.reserve(app, { ...oneUnit(sku, `${sku}-${i}`), quantity: 1 + (i % 4) });
        if (outcome.kind === 'reserved' && i % 3 === 0) await service.release(app, outcome.reservation.id);
        if (outcome.kind === 'reserved' && i % 3 === 1) await service.commit(app, outcome.reservation.id);
      }),
    );
    running = false;
    await checker;
    expect(checks).toBeGreaterThan(0);
    expect(repaired).toBe(0);
    for (const sku of skus) {
      const level = await readLevel(database.db, sku, 'WH1');
      const [row] = await database.db
        .select({ units: sql<number>`coalesce(sum(${reservations.quantity}), 0)::int` })
        .from(reservations)
        .where(and(eq(reservations.sku, sku), sql`${reservations.status} in ('ACTIVE', 'COMMITTED')`));
      expect(level.reserved).toBe(Number(row!.units));
      expect(level.availableToPromise).toBe(50 - level.reserved);
    }
  });
});

describeWithPostgres('concurrent reservations from two instances on one PostgreSQL', () => {
  let database: TestDatabase;
  let second: Database;
  let first: ReservationsService;
  let other: ReservationsService;
  beforeAll(async () => {
    database = await createTestDatabase();
    second = await openSecondInstance(database);
    first = createTestReservations(database.db);
    other = createTestReservations(second.db);
  });
  afterAll(async () => {
    await second.close();
    await database.close();
  });

  it('grants exactly 50 of 200 concurrent 1-unit reservations split over two instances', async () => {
    const sku = uniqueSku('HOT2');
    await seedAtp50(database.db, sku);
    const outcomes = await Promise.all(
      Array.from({ length: 200 }, (_, i) => (i % 2 === 0 ? first : other).reserve(app, oneUnit(sku, `${sku}-${i}`))),
    );
    await expectExactly50(database.db, sku, outcomes);
  });

  it('grants once when both instances receive retries of the same key at once', async () => {
    const sku = uniqueSku('RETRY2');
    await seedAtp50(database.db, sku);
    const request = { ...oneUnit(sku, `${sku}-same`), quantity: 9 };
    const outcomes = await Promise.all(Array.from({ length: 40 }, (_, i) => (i % 2 === 0 ? first : other).reserve(app, request)));
    expect(new Set(outcomes.map((o) => (o.kind === 'reserved' ? o.reservation.id : o.kind))).size).toBe(1);
    expect(await readLevel(database.db, sku, 'WH1')).toMatchObject({ reserved: 9, availableToPromise: 41 });
    expect(await countRows(database.db, sku)).toEqual({ active: 1, units: 9, events: 1 });
  });

  it('expires each due reservation once when both instances run expiry at the same time', async () => {
    let now = new Date('2026-11-27T12:00:00Z');
    const clocked = [createTestReservations(database.db, { now: () => now, shop: SHOP }), createTestReservations(second.db, { now: () => now, shop: SHOP })];
    const sku = uniqueSku('EXP2');
    await seedAtp50(database.db, sku);
    for (let i = 0; i < 40; i++) await clocked[0]!.reserve(app, { ...oneUnit(sku, `${sku}-${i}`), ttlSeconds: 60 });
    now = new Date(now.getTime() + 61_000);
    const [a, b] = await Promise.all([clocked[0]!.expireDue({ batchSize: 7 }), clocked[1]!.expireDue({ batchSize: 7 })]);
    expect(a + b).toBe(40);
    expect(await readLevel(database.db, sku, 'WH1')).toMatchObject({ reserved: 0, availableToPromise: 50 });
    expect((await countRows(database.db, sku)).events).toBe(80);
  });
});
