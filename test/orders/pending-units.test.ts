import { and, eq } from 'drizzle-orm';
import postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Db } from '../../src/db/database.js';
import { inventoryLevels } from '../../src/db/schema/index.js';
import type { StoredLine } from '../../src/orders/order.repository.js';
import { createOversellJudge, deferPositionWrites, moveUnits, PositionVanished } from '../../src/orders/pending-units.repository.js';
import { createTestDatabase, describeWithPostgres, type TestDatabase } from '../support/database.js';
import { seedInventoryLevel } from './support/orders-harness.js';

/**
 * Pending units moved now or at the transaction's end (the inbox's batches): the same lines, the
 * same positions and the same oversell findings either way; deferred, the positions stay free for
 * other writers until the flush, and a position that vanished meanwhile fails the transaction.
 */
const SHOP = 'pending-units.myshopify.com';
const AT = new Date('2026-12-01T10:00:00.000Z');

let database: TestDatabase;
let counter = 0;

beforeAll(async () => {
  database = await createTestDatabase();
});

afterAll(async () => {
  await database?.close();
});

/** A position of its own with `onHand` units and nothing else (ATP = onHand). */
async function position(onHand: number) {
  counter += 1;
  const key = { sku: `PU-${counter}`, location: 'WH1' };
  await seedInventoryLevel(database, SHOP, { ...key, onHand });
  return key;
}

async function read(key: { sku: string; location: string }) {
  const [row] = await database.db
    .select()
    .from(inventoryLevels)
    .where(and(eq(inventoryLevels.shop, SHOP), eq(inventoryLevels.sku, key.sku), eq(inventoryLevels.location, key.location)));
  return row;
}

function line(lineNo: number, key: { sku: string; location: string }, quantity: number): StoredLine {
  return {
    lineNo,
    shopifyLineId: `L${lineNo}`,
    shopifySku: key.sku,
    shopifyVariantId: null,
    title: key.sku,
    shopifyQuantity: quantity,
    unitPrice: '1.00',
    erpSku: key.sku,
    location: key.location,
    quantity,
    mappingError: null,
    pendingQuantity: 0,
    erpCoveredQuantity: 0,
    explainedQuantity: 0,
  };
}

/** Two orders of 2 units each at a position with 3 free, and 1 unit at a position with plenty. */
async function moveTwoOrders(deferred: boolean) {
  const hot = await position(3);
  const calm = await position(50);
  const lines = [line(1, hot, 2), line(2, calm, 1), line(1, hot, 2)];
  const orderOf = ['order-a', 'order-a', 'order-b'];
  const result = await database.db.transaction(async (transaction) => {
    const tx = transaction as unknown as Db;
    const writes = deferred ? deferPositionWrites(tx, SHOP) : null;
    const moved = await moveUnits(tx, SHOP, lines, (l) => l.quantity ?? 0, AT, { orderIdOf: (index) => orderOf[index]!, deferred: writes });
    const flushed = writes ? await writes.flush(AT) : null;
    return { moved, oversold: flushed ? flushed.oversold : (moved.change.oversold ?? []), flushedPositions: flushed?.positions ?? null };
  });
  return { hot, calm, ...result };
}

describe('moving pending units', () => {
  it.each([false, true])('counts the same units and finds the same oversell, deferred = %s', async (deferred) => {
    const { hot, calm, moved, oversold, flushedPositions } = await moveTwoOrders(deferred);
    expect([...moved.next.values()].map((n) => n.pending)).toEqual([2, 1, 2]);
    expect(moved.change.delta).toBe(5);
    expect((await read(hot))).toMatchObject({ pendingOrders: 4, availableToPromise: 0 });
    expect((await read(calm))).toMatchObject({ pendingOrders: 1, availableToPromise: 49 });
    // The second order found 1 unit left of the 3 and took 2 (as counted: judged after the commit).
    expect(oversold).toEqual([{ sku: hot.sku, location: hot.location, orderId: 'order-b', units: 1, added: 2, atpLeft: 1 }]);
    if (deferred) expect(flushedPositions).toEqual([hot, calm].sort((a, b) => a.sku.localeCompare(b.sku)));
  });

  it('counts nothing for a line whose position has no row, and holds nothing for it', async () => {
    const missing = { sku: 'PU-NONE', location: 'WH1' };
    const result = await database.db.transaction(async (transaction) => {
      const tx = transaction as unknown as Db;
      const writes = deferPositionWrites(tx, SHOP);
      const moved = await moveUnits(tx, SHOP, [line(1, missing, 4)], () => 4, AT, { deferred: writes });
      return { moved, flushed: await writes.flush(AT) };
    });
    expect(result.moved.next.size).toBe(0);
    expect(result.flushed.positions).toEqual([]);
  });

  it('fails the transaction when a position it counted on vanished before the flush, and changes nothing', async () => {
    const key = await position(10);
    await expect(
      database.db.transaction(async (transaction) => {
        const tx = transaction as unknown as Db;
        const writes = deferPositionWrites(tx, SHOP);
        await moveUnits(tx, SHOP, [line(1, key, 4)], () => 4, AT, { deferred: writes });
        await tx.delete(inventoryLevels).where(and(eq(inventoryLevels.shop, SHOP), eq(inventoryLevels.sku, key.sku)));
        await writes.flush(AT);
      }),
    ).rejects.toBeInstanceOf(PositionVanished);
    expect((await read(key))?.pendingOrders).toBe(0);
  });
});

describe('judging oversell findings after the commit', () => {
  it('reads a position\u2019s margin once, again when a finding goes beyond it after a moment, and always once it is old', async () => {
    const key = await position(5);
    let reads = 0;
    const counted = new Proxy(database.db, {
      get(target, property, receiver) {
        if (property === 'execute') return (...args: unknown[]) => ((reads += 1), (target.execute as (...a: unknown[]) => unknown)(...args));
        return Reflect.get(target, property, receiver) as unknown;
      },
    });
    let clock = 0;
    const judge = createOversellJudge(counted, SHOP, { freshMs: 1_000, maxAgeMs: 10_000, now: () => clock });
    // No order of this position was sent: the margin is 0 and the finding stands.
    const finding = { sku: key.sku, location: key.location, orderId: 'order-x', units: 2, added: 2, atpLeft: -1 };
    expect(await judge.judge([finding])).toEqual([{ sku: key.sku, location: key.location, orderId: 'order-x', units: 2 }]);
    expect(reads).toBe(1);
    // A moment later the kept margin serves.
    clock += 500;
    expect(await judge.judge([finding])).toHaveLength(1);
    expect(reads).toBe(1);
    // Past `freshMs`, a finding beyond it reads it again.
    clock += 600;
    expect(await judge.judge([finding])).toHaveLength(1);
    expect(reads).toBe(2);
    // Findings without their counts (from elsewhere) are passed on as they are, with no read.
    expect(await judge.judge([{ sku: key.sku, location: key.location, orderId: 'order-y', units: 1 }])).toEqual([{ sku: key.sku, location: key.location, orderId: 'order-y', units: 1 }]);
    expect(reads).toBe(2);
    // Past `maxAgeMs`, read again whatever the finding.
    clock += 10_000;
    await judge.judge([{ ...finding, units: 0.5, added: 0.5, atpLeft: 100 }]);
    expect(reads).toBe(3);
  });
});

describeWithPostgres('deferred position writes and other writers', () => {
  it('leave the position free for another writer until the flush, and hold it from the flush to the commit', async () => {
    const key = await position(10);
    const other = postgres(database.url!, { max: 1, onnotice: () => {} });
    try {
      const otherWriter = () => other.begin(async (t) => {
        await t`set local lock_timeout = '300ms'`;
        await t`update inventory_levels set safety_stock = safety_stock where shop = ${SHOP} and sku = ${key.sku}`;
      });
      const seen: string[] = [];
      await database.db.transaction(async (transaction) => {
        const tx = transaction as unknown as Db;
        const writes = deferPositionWrites(tx, SHOP);
        await moveUnits(tx, SHOP, [line(1, key, 4)], () => 4, AT, { deferred: writes });
        await otherWriter().then(() => seen.push('free before the flush'));
        await writes.flush(AT);
        await otherWriter().then(
          () => seen.push('free after the flush'),
          (error: { code?: string }) => seen.push(`locked after the flush (${error.code})`),
        );
      });
      expect(seen).toEqual(['free before the flush', 'locked after the flush (55P03)']);
      expect((await read(key))?.pendingOrders).toBe(4);
    } finally {
      await other.end();
    }
  });
});
