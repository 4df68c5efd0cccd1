import { and, eq, sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inventoryLevels } from '../../src/db/schema/index.js';
import { availableToPromise } from '../../src/inventory/read-model/atp-formula.js';
import { createInventoryLevelsWriter, pushMarkAfter, type InventoryLevelsWriter } from '../../src/inventory/read-model/inventory-levels.writer.js';
import { createTestDatabase, type TestDatabase } from '../support/database.js';
import { countingDb } from './support.js';

/**
 * The read model's one writer: one meaning for "push no later than" (a mark only ever moves
 * earlier, and no mark means the time asked), kept by every operation that changes a term, and
 * the ATP of the new terms stored in the same statement. Against a real database.
 */
const SHOP = 'writer.myshopify.com';
const NOW = new Date('2026-12-01T10:00:00.000Z');
const EARLIER = new Date('2026-12-01T09:59:00.000Z');
const LATER = new Date('2026-12-01T10:00:30.000Z');

let database: TestDatabase;
let writer: InventoryLevelsWriter;
let counter = 0;

beforeAll(async () => {
  database = await createTestDatabase();
  writer = createInventoryLevelsWriter(database.db, SHOP);
});

afterAll(async () => {
  await database?.close();
});

/** A position of its own with 20 on hand (ATP 20) and the given push mark. */
async function position(mark: Date | null, terms: Partial<typeof inventoryLevels.$inferInsert> = {}) {
  counter += 1;
  const key = { sku: `W-${counter}`, location: 'WH1' };
  const row = { onHand: 20, allocated: 0, safetyStock: 0, wholesaleCommitted: 0, reserved: 0, pendingOrders: 0, unexplainedShopifyDrop: 0, expiringLotUnits: 0, ...terms };
  await database.db.insert(inventoryLevels).values({ shop: SHOP, ...key, ...row, availableToPromise: availableToPromise(row), pushRequestedAt: mark });
  return key;
}

async function read(key: { sku: string; location: string }) {
  const [row] = await database.db
    .select()
    .from(inventoryLevels)
    .where(and(eq(inventoryLevels.shop, SHOP), eq(inventoryLevels.sku, key.sku), eq(inventoryLevels.location, key.location)));
  if (!row) throw new Error(`no row for ${key.sku}`);
  return row;
}

describe('push no later than', () => {
  it('is the earlier of the existing mark and the time asked, and the time asked where there is no mark', () => {
    expect(pushMarkAfter(null, NOW)).toEqual(NOW);
    expect(pushMarkAfter(LATER, NOW)).toEqual(NOW);
    expect(pushMarkAfter(EARLIER, NOW)).toEqual(EARLIER);
  });

  it('never moves a mark later: an earlier mark stays', async () => {
    const key = await position(EARLIER);
    await writer.requestPush([key], NOW);
    expect((await read(key)).pushRequestedAt).toEqual(EARLIER);
  });

  it('brings a later mark (a retry waiting for its backoff) forward', async () => {
    const key = await position(LATER);
    await writer.requestPush([key], NOW);
    expect((await read(key)).pushRequestedAt).toEqual(NOW);
  });

  it('sets the time asked on a position without a mark', async () => {
    const key = await position(null);
    await writer.requestPush([key], NOW);
    expect((await read(key)).pushRequestedAt).toEqual(NOW);
  });

  it('creates no row for a position nobody computed yet', async () => {
    const ghost = { sku: 'W-NEVER-COMPUTED', location: 'WH1' };
    await writer.requestPush([ghost], NOW);
    await writer.adjustReserved([{ ...ghost, delta: 2 }], NOW);
    const rows = await database.db.select().from(inventoryLevels).where(eq(inventoryLevels.sku, ghost.sku));
    expect(rows).toEqual([]);
  });

  it('means the same for a scope of SKUs or a location, and per position with its own time', async () => {
    const [late, early, none] = [await position(LATER), await position(EARLIER), await position(null)];
    await writer.requestPushFor({ skus: [late.sku, early.sku, none.sku] }, NOW);
    expect((await read(late)).pushRequestedAt).toEqual(NOW);
    expect((await read(early)).pushRequestedAt).toEqual(EARLIER);
    expect((await read(none)).pushRequestedAt).toEqual(NOW);

    const [late2, early2] = [await position(LATER), await position(EARLIER)];
    await writer.requestPushAt([
      { ...late2, at: NOW },
      { ...early2, at: NOW },
    ]);
    expect((await read(late2)).pushRequestedAt).toEqual(NOW);
    expect((await read(early2)).pushRequestedAt).toEqual(EARLIER);
  });

  it('only the sync\u2019s retry moves a mark later, and a change made after it brings the push forward again', async () => {
    const key = await position(EARLIER);
    await writer.deferPush([{ ...key, at: LATER }]);
    expect((await read(key)).pushRequestedAt).toEqual(LATER);
    await writer.adjustPendingOrders([{ ...key, delta: 1, explain: 0 }], NOW);
    expect((await read(key)).pushRequestedAt).toEqual(NOW);
  });

  it('a retry that states the ATP of the refused write delays only positions whose ATP is still that one', async () => {
    const unchanged = await position(NOW);
    const changedMeanwhile = await position(NOW, { reserved: 4 });
    await writer.deferPush([
      { ...unchanged, at: LATER, atp: 20 },
      { ...changedMeanwhile, at: LATER, atp: 20 },
    ]);
    expect((await read(unchanged)).pushRequestedAt).toEqual(LATER);
    expect((await read(changedMeanwhile)).pushRequestedAt).toEqual(NOW);
  });
});

describe('every term update keeps the rule and stores the ATP of the new terms', () => {
  it('reserved: a later mark is brought forward, an earlier one kept, the ATP follows', async () => {
    const late = await position(LATER);
    const early = await position(EARLIER);
    await writer.adjustReserved(
      [
        { ...late, delta: 3 },
        { ...early, delta: 2 },
        { ...early, delta: 2 },
      ],
      NOW,
    );
    expect(await read(late)).toMatchObject({ reserved: 3, availableToPromise: 17, pushRequestedAt: NOW, computedAt: NOW });
    expect(await read(early)).toMatchObject({ reserved: 4, availableToPromise: 16, pushRequestedAt: EARLIER });
  });

  it('a reservation\u2019s take: only where the ATP covers it, with the same mark rule', async () => {
    const late = await position(LATER, { safetyStock: 5 });
    const short = await position(null, { onHand: 2 });
    const taken = await writer.takeReserved(
      [
        { ...late, quantity: 15 },
        { ...short, quantity: 3 },
      ],
      NOW,
    );
    expect(taken).toBe(1);
    expect(await read(late)).toMatchObject({ reserved: 15, availableToPromise: 0, pushRequestedAt: NOW });
    expect(await read(short)).toMatchObject({ reserved: 0, availableToPromise: 2, pushRequestedAt: null });
  });

  it('pending Shopify orders: units and the explained drop move together, never below zero pending', async () => {
    const key = await position(LATER, { unexplainedShopifyDrop: 4 });
    expect((await read(key)).availableToPromise).toBe(16);
    await writer.adjustPendingOrders([{ ...key, delta: 4, explain: 4 }], NOW);
    // The order explains Shopify's drop: the units count once, not twice.
    expect(await read(key)).toMatchObject({ pendingOrders: 4, unexplainedShopifyDrop: 0, availableToPromise: 16, pushRequestedAt: NOW });
    await writer.adjustPendingOrders([{ ...key, delta: -10, explain: 0 }], NOW);
    expect(await read(key)).toMatchObject({ pendingOrders: 0, availableToPromise: 20 });
  });

  it('pending Shopify orders: an order that explains units stamps when it was counted, a release does not', async () => {
    const key = await position(null);
    await writer.adjustPendingOrders([{ ...key, delta: 2, explain: 2 }], NOW);
    const counted = (await read(key)).pendingCountedAt;
    expect(counted).not.toBeNull();
    expect(counted!.getTime()).toBeGreaterThanOrEqual(NOW.getTime());
    await writer.adjustPendingOrders([{ ...key, delta: -2, explain: 0 }], LATER);
    expect((await read(key)).pendingCountedAt).toEqual(counted);
  });

  it('a plan\u2019s reading and drop apply only where the baseline is still the one it planned from', async () => {
    const key = await position(null, { shopifyAvailable: 20, shopifyReadAt: EARLIER });
    // Two readers saw the same fall of 3 from the same baseline: the first counts it, the second finds the baseline moved.
    const change = { ...key, delta: 3, baselineAt: EARLIER, reading: { available: 17, at: NOW } };
    expect(await writer.applyPlannedReadings([change], NOW)).toEqual([key]);
    expect(await read(key)).toMatchObject({ unexplainedShopifyDrop: 3, availableToPromise: 17, shopifyAvailable: 17, shopifyReadAt: NOW });
    expect(await writer.applyPlannedReadings([{ ...change, reading: { available: 17, at: LATER } }], LATER)).toEqual([]);
    expect(await read(key)).toMatchObject({ unexplainedShopifyDrop: 3, availableToPromise: 17, shopifyAvailable: 17, shopifyReadAt: NOW });
    // A baseline stored with microseconds (set in SQL) still matches its millisecond reading.
    await database.db.execute(sql`update inventory_levels set shopify_read_at = ${NOW.toISOString()}::timestamptz + interval '0.0004 seconds' where shop = ${SHOP} and sku = ${key.sku}`);
    expect(await writer.applyPlannedReadings([{ ...key, delta: -1, baselineAt: NOW, reading: null }], LATER)).toEqual([key]);
    expect(await read(key)).toMatchObject({ unexplainedShopifyDrop: 2, availableToPromise: 18 });
  });

  it('a write recorded after a newer baseline (a take right after it landed) keeps that baseline', async () => {
    const key = await position(NOW, { shopifyAvailable: 20, shopifyReadAt: EARLIER });
    const sent = new Date(NOW.getTime() - 1_000);
    // The push sent 20 → 18; before its answer was recorded, a reservation took 3 (baseline 15 at NOW).
    await database.db.execute(sql`update inventory_levels set shopify_available = 15, shopify_read_at = ${NOW.toISOString()}::timestamptz where shop = ${SHOP} and sku = ${key.sku}`);
    await writer.recordPushed([{ ...key, quantity: 18, atp: 20, replaced: 20 }], LATER, sent);
    expect(await read(key)).toMatchObject({ shopifyAvailable: 15, shopifyReadAt: NOW, lastPushedQuantity: 18, lastPushedAt: LATER, pushRequestedAt: null });
    // A reading of the value the write replaced, recorded after the sending, is older than the write: overwritten.
    await database.db.execute(sql`update inventory_levels set shopify_available = 18, shopify_read_at = ${NOW.toISOString()}::timestamptz where shop = ${SHOP} and sku = ${key.sku}`);
    await writer.recordPushed([{ ...key, quantity: 16, atp: 20, replaced: 18 }], LATER, sent);
    expect(await read(key)).toMatchObject({ shopifyAvailable: 16, shopifyReadAt: LATER });
    // Without the sending time, as before: the write's value.
    await writer.recordPushed([{ ...key, quantity: 14, atp: 20 }], LATER);
    expect(await read(key)).toMatchObject({ shopifyAvailable: 14 });
  });

  it('unexplained drops: the ATP follows, only the positive part counts, no mark of its own', async () => {
    const key = await position(null);
    await writer.addUnexplainedDrop([{ ...key, delta: 3 }], NOW);
    expect(await read(key)).toMatchObject({ unexplainedShopifyDrop: 3, availableToPromise: 17, pushRequestedAt: null });
    await writer.addUnexplainedDrop([{ ...key, delta: -5 }], NOW);
    expect(await read(key)).toMatchObject({ unexplainedShopifyDrop: -2, availableToPromise: 20 });
  });

  it('kits\u2019 on-hand marks only positions whose ATP changed, with the same rule', async () => {
    const changed = await position(LATER);
    const same = await position(LATER);
    const changes = await writer.writeKitOnHand(
      [
        { ...changed, onHand: 12 },
        { ...same, onHand: 20 },
      ],
      NOW,
    );
    expect(changes.map((c) => c.sku)).toEqual([changed.sku]);
    expect(await read(changed)).toMatchObject({ onHand: 12, availableToPromise: 12, pushRequestedAt: NOW });
    expect((await read(same)).pushRequestedAt).toEqual(LATER);
  });

  it('the ERP\u2019s terms are written with the ATP of all terms, including the ones other domains own', async () => {
    const key = await position(null, { reserved: 2, pendingOrders: 1, unexplainedShopifyDrop: 1 });
    const { changes } = await writer.writeErpTerms(
      [
        { ...key, onHand: 30, allocated: 4, wholesaleCommitted: 3 },
        { sku: `${key.sku}-NEW`, location: 'WH1', onHand: 5, allocated: 0, wholesaleCommitted: 0 },
        { sku: `${key.sku}-GONE`, location: 'WH1', onHand: 0, allocated: 0, wholesaleCommitted: 0, onlyExisting: true },
      ],
      NOW,
      { today: NOW.toISOString().slice(0, 10), defaultDays: 0 },
    );
    expect(changes.map((c) => c.sku).sort()).toEqual([key.sku, `${key.sku}-NEW`]);
    const row = await read(key);
    expect(row).toMatchObject({ onHand: 30, availableToPromise: 30 - 4 - 3 - 2 - 1 - 1, erpReadAt: NOW, pushRequestedAt: null });
    expect(row.availableToPromise).toBe(availableToPromise(row));
    expect((await read({ sku: `${key.sku}-NEW`, location: 'WH1' })).availableToPromise).toBe(5);
  });

  it('a push that sent a value clears the mark only where the ATP is still the one it sent', async () => {
    const sent = await position(NOW);
    const movedOn = await position(NOW);
    await writer.recordPushed(
      [
        { ...sent, quantity: 20, atp: 20 },
        { ...movedOn, quantity: 19, atp: 19 },
      ],
      LATER,
    );
    expect(await read(sent)).toMatchObject({ lastPushedQuantity: 20, shopifyAvailable: 20, lastPushedAt: LATER, pushRequestedAt: null });
    expect(await read(movedOn)).toMatchObject({ lastPushedQuantity: 19, pushRequestedAt: NOW });
  });
});

describe('set-based writes', () => {
  it('costs the same number of statements for one position as for 300', async () => {
    const counted = countingDb(database);
    const counting = createInventoryLevelsWriter(counted.db, SHOP);
    const cost = async (count: number) => {
      const keys = [];
      for (let i = 0; i < count; i++) keys.push(await position(null));
      counted.reset();
      await counting.adjustReserved(keys.map((key) => ({ ...key, delta: 1 })), NOW);
      const reserved = counted.queries();
      counted.reset();
      await counting.adjustPendingOrders(keys.map((key) => ({ ...key, delta: 1, explain: 1 })), NOW);
      const pending = counted.queries();
      counted.reset();
      await counting.takeReserved(keys.map((key) => ({ ...key, quantity: 1 })), NOW);
      await counting.addUnexplainedDrop(keys.map((key) => ({ ...key, delta: 1 })), NOW);
      await counting.recordPushed(keys.map((key) => ({ ...key, quantity: 1, atp: 1 })), NOW);
      await counting.requestPush(keys, NOW);
      const others = counted.queries();
      return { reserved, pending, others };
    };
    const one = await cost(1);
    const many = await cost(300);
    // A lock and one update; one update; one statement each.
    expect(one).toEqual({ reserved: 2, pending: 1, others: 4 });
    expect(many).toEqual(one);
  });
});
