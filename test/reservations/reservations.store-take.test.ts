import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { createHealthRepository } from '../../src/health/health.repository.js';
import { createInventoryLevelsWriter } from '../../src/inventory/read-model/inventory-levels.writer.js';
import { createMetricsRegistry } from '../../src/metrics.js';
import { createReservationsRepository } from '../../src/reservations/reservations.repository.js';
import { createReservationsService, type ReservationsService } from '../../src/reservations/reservations.service.js';
import type { StoreTakePort } from '../../src/inventory/inventory.port.js';
import type { AdjustAvailableOptions, AdjustAvailableQuantity, ShopifyClient } from '../../src/shopify/shopify-client.js';
import { createStoreTake } from '../../src/sync/store-take.js';
import { createMemoryLogger } from '../support/gateway.js';
import { levelRow, simpleGroup, startSyncFixture, type SyncFixture } from '../sync/sync.fixture.js';

/**
 * "No two channels sell the same unit" (src/reservations/README.md): a reservation takes its units
 * out of Shopify's `available` before it is granted. Real parts: the database (PGlite or
 * DATABASE_URL), the demo's simulated ERP and Shopify store over HTTP, the real Shopify client,
 * the inventory and sync modules. No orders module runs, so Shopify's sales here are orders whose
 * webhook never reaches Stockbridge.
 */
let fixture: SyncFixture;
const calls = { adjust: 0, keys: [] as string[] };

function counted(client: ShopifyClient): ShopifyClient {
  return new Proxy(client, {
    get(target, property, receiver) {
      if (property === 'adjustAvailableQuantities') {
        return (changes: readonly AdjustAvailableQuantity[], options: AdjustAvailableOptions) => {
          calls.adjust += 1;
          calls.keys.push(options.idempotencyKey);
          return target.adjustAvailableQuantities(changes, options);
        };
      }
      const value = Reflect.get(target, property, receiver) as unknown;
      return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(target) : value;
    },
  });
}

beforeAll(async () => {
  fixture = await startSyncFixture({ wrapShopify: counted, eventPollMs: 60_000 });
  await fixture.sync.services.runFullReconcile();
}, 120_000);

afterAll(async () => {
  await fixture?.close();
});

const actor = { id: '00000000-0000-4000-8000-0000000000c1', seesAll: false };

function service(storeTake: StoreTakePort = fixture.sync.storeTake): ReservationsService {
  return createReservationsService({
    repository: createReservationsRepository(fixture.database.db, fixture.deps.shop),
    log: createMemoryLogger().log,
    now: fixture.clock.now,
    defaultTtlSeconds: 3600,
    metrics: createMetricsRegistry({ defaultMetrics: false }),
    storeTake,
  });
}

/** The sync's take with its own push mode and, for the faults' tests, a shorter budget than the default 3 s. */
const storeTake = (pushMode: 'on' | 'shadow', budgetMs?: number) =>
  createStoreTake({ shop: fixture.deps.shop, shopify: fixture.shopify, mapping: fixture.inventory.services.mapping, pushMode: async () => pushMode, log: createMemoryLogger().log, ...(budgetMs === undefined ? {} : { budgetMs }) });

const available = (group: { inventoryItemId: string; shopifyLocationId: string }) =>
  fixture.demo.shopify.state.level({ inventoryItemId: group.inventoryItemId, location: group.shopifyLocationId })!.quantities.available;

/** `work` while the simulated Admin API misbehaves as `faults` say; the faults are cleared however it ends. */
async function underFaults<T>(faults: Parameters<SyncFixture['demo']['shopify']['state']['setAdminFaults']>[0], work: () => Promise<T>): Promise<T> {
  fixture.demo.shopify.state.setAdminFaults(faults);
  try {
    return await work();
  } finally {
    fixture.demo.shopify.state.clearFaults();
  }
}

/** A Shopify sale whose webhook never arrives (no orders module listens). */
function sell(group: { variantId: string; shopifyLocationId: string }, quantity: number): boolean {
  return fixture.demo.shopify.state.placeOrder({ lines: [{ variantId: group.variantId, quantity, location: group.shopifyLocationId }] }).placed;
}

describe('a reservation takes its units out of what Shopify offers before it is granted', () => {
  it('refuses the units Shopify sold without Stockbridge knowing, grants the rest, and lowers Shopify at once', async () => {
    const { group, location, row } = await simpleGroup(fixture);
    const n = row.availableToPromise;
    expect(available(group)).toBe(n);
    expect(sell(group, 3)).toBe(true);
    const reservations = service();

    const all = await reservations.reserve(actor, { sku: group.sku, location, quantity: n, reference: 'W-ALL', idempotencyKey: `all-${group.sku}` });
    expect(all).toMatchObject({ kind: 'insufficient-stock', requested: n, availableToPromise: n - 3 });
    // Nothing held; Shopify offers again what it offered before the refused take.
    expect((await levelRow(fixture, group.sku, location)).reserved).toBe(0);
    expect(available(group)).toBe(n - 3);

    const rest = await reservations.reserve(actor, { sku: group.sku, location, quantity: n - 3, reference: 'W-REST', idempotencyKey: `rest-${group.sku}` });
    expect(rest.kind).toBe('reserved');
    expect(available(group)).toBe(0);
    const after = await levelRow(fixture, group.sku, location);
    expect(after.reserved).toBe(n - 3);
    expect(after.availableToPromise).toBe(0);
    expect(after.shopifyAvailable).toBe(0);

    // The push that follows has nothing to hand back.
    await fixture.sync.services.runEventPush();
    expect(available(group)).toBe(0);
  });

  it('makes no Shopify call when Shopify already offers less than what remains (a receipt not pushed yet)', async () => {
    const { group, location, row } = await simpleGroup(fixture);
    fixture.demo.erp.receiveStock({ sku: group.sku, location, quantity: 10 });
    await fixture.inventory.services.atp.refreshPositions([group.sku]);
    expect((await levelRow(fixture, group.sku, location)).availableToPromise).toBe(row.availableToPromise + 10);
    const before = calls.adjust;

    const outcome = await service().reserve(actor, { sku: group.sku, location, quantity: 10, reference: 'W-RECEIPT', idempotencyKey: `receipt-${group.sku}` });

    expect(outcome.kind).toBe('reserved');
    expect(calls.adjust).toBe(before);
    expect(available(group)).toBe(row.availableToPromise);
  });

  it('makes no Shopify call while INVENTORY_PUSH is shadow', async () => {
    const { group, location, row } = await simpleGroup(fixture);
    const shadow = storeTake('shadow');
    const before = calls.adjust;

    const outcome = await service(shadow).reserve(actor, { sku: group.sku, location, quantity: 5, reference: 'W-SHADOW', idempotencyKey: `shadow-${group.sku}` });

    expect(outcome.kind).toBe('reserved');
    expect(calls.adjust).toBe(before);
    expect(available(group)).toBe(row.availableToPromise);
  });

  it('refuses with STORE_UNAVAILABLE when the store does not answer, holds nothing, and the key decides again later', async () => {
    const { group, location, row } = await simpleGroup(fixture);
    const quick = storeTake('on', 1_000);
    const reservations = service(quick);
    const input = { sku: group.sku, location, quantity: 4, reference: 'W-DOWN', idempotencyKey: `down-${group.sku}` };
    fixture.demo.shopify.state.setAdminFaults({ http503Rate: 1 });
    try {
      await expect(reservations.reserve(actor, input)).rejects.toMatchObject({ code: 'STORE_UNAVAILABLE' });
    } finally {
      fixture.demo.shopify.state.clearFaults();
    }
    const held = await levelRow(fixture, group.sku, location);
    expect(held.reserved).toBe(0);
    expect(held.pushRequestedAt).not.toBeNull();
    expect(available(group)).toBe(row.availableToPromise);

    const again = await reservations.reserve(actor, input);
    expect(again).toMatchObject({ kind: 'reserved', replayed: false });
    expect(available(group)).toBe(row.availableToPromise - 4);
  });

  it('does not take twice when the take\u2019s answer is lost and it is sent again', async () => {
    const { group, location, row } = await simpleGroup(fixture);
    fixture.demo.shopify.state.setAdminFaults({ script: ['dropAfterExecute'] });
    const keys = calls.keys.length;
    try {
      const outcome = await service().reserve(actor, { sku: group.sku, location, quantity: 6, reference: 'W-LOST', idempotencyKey: `lost-${group.sku}` });
      expect(outcome.kind).toBe('reserved');
    } finally {
      fixture.demo.shopify.state.clearFaults();
    }
    expect(available(group)).toBe(row.availableToPromise - 6);
    expect(new Set(calls.keys.slice(keys)).size).toBe(1);
    expect((await levelRow(fixture, group.sku, location)).shopifyAvailable).toBe(row.availableToPromise - 6);
  });

  it('replays the landed take when the client asks again after STORE_UNAVAILABLE (same call, same key, never taken twice)', async () => {
    const { group, location, row } = await simpleGroup(fixture);
    const quick = storeTake('on', 600);
    const reservations = service(quick);
    const input = { sku: group.sku, location, quantity: 4, reference: 'W-INDOUBT', idempotencyKey: `in-doubt-${group.sku}` };
    const keys = calls.keys.length;
    // The take runs in Shopify and its answer is lost; every resend within the budget is dropped
    // before it runs: the client hears STORE_UNAVAILABLE while Shopify already took the units.
    fixture.demo.shopify.state.setAdminFaults({ script: ['dropAfterExecute'], dropRate: 1 });
    try {
      await expect(reservations.reserve(actor, input)).rejects.toMatchObject({ code: 'STORE_UNAVAILABLE' });
    } finally {
      fixture.demo.shopify.state.clearFaults();
    }
    expect(available(group)).toBe(row.availableToPromise - 4);
    expect((await levelRow(fixture, group.sku, location)).reserved).toBe(0);

    // Asked again as the contract invites: a new reservation row, but the very same Shopify call.
    const again = await reservations.reserve(actor, input);
    expect(again).toMatchObject({ kind: 'reserved', replayed: false });
    expect(available(group)).toBe(row.availableToPromise - 4);
    expect(new Set(calls.keys.slice(keys)).size).toBe(1);
    expect((await levelRow(fixture, group.sku, location)).reserved).toBe(4);
  });

  it('records a take that may have landed below zero as our own: Shopify’s negative value is no oversell incident, and a sale beyond it still is', async () => {
    const { group, location, row } = await simpleGroup(fixture);
    const n = row.availableToPromise;
    // Shopify sold all but 2 units without Stockbridge knowing; a take of 5 lands (2 - 5 = -3)
    // and its answer, like every resend within the budget, is lost.
    expect(sell(group, n - 2)).toBe(true);
    const reserving = underFaults({ script: ['dropAfterExecute'], dropRate: 1 }, () =>
      service(storeTake('on', 600)).reserve(actor, { sku: group.sku, location, quantity: 5, reference: 'W-NEG', idempotencyKey: `neg-${group.sku}` }),
    );
    await expect(reserving).rejects.toMatchObject({ code: 'STORE_UNAVAILABLE' });
    // The first request may still be on its way when the budget ends (a busy machine): it lands.
    await vi.waitFor(() => expect(available(group)).toBe(-3));
    const held = await levelRow(fixture, group.sku, location);
    expect(held.reserved).toBe(0);
    expect(held.unconfirmedTake).toBe(5);

    // The take's inventory_levels/update reports -3 before any push: our take, not a sale beyond stock.
    const writer = createInventoryLevelsWriter(fixture.database.db, fixture.deps.shop);
    await writer.recordShopifyReadings([{ sku: group.sku, location, available: -3, at: new Date(fixture.clock.now().getTime() + 1_000) }]);
    const negatives = () => createHealthRepository(fixture.database.db).listNegativeAvailable(fixture.deps.shop);
    expect((await negatives()).filter((negative) => negative.sku === group.sku)).toEqual([]);
    // A value further below than the take explains is Shopify selling beyond what it offered.
    await writer.recordShopifyReadings([{ sku: group.sku, location, available: -8, at: new Date(fixture.clock.now().getTime() + 2_000) }]);
    expect((await negatives()).filter((negative) => negative.sku === group.sku)).toEqual([expect.objectContaining({ location, available: -3 })]);
  });

  it('records a take left below zero by a give-back that did not land as our own, and grants only what Shopify had not sold', async () => {
    const { group, location, row } = await simpleGroup(fixture);
    const n = row.availableToPromise;
    expect(sell(group, n - 2)).toBe(true);
    // The take answers (-3: Shopify had sold more than remains); the give-back is lost every time.
    const outcome = await underFaults({ script: ['none'], dropRate: 1 }, () =>
      service(storeTake('on', 600)).reserve(actor, { sku: group.sku, location, quantity: 5, reference: 'W-GIVEBACK', idempotencyKey: `giveback-${group.sku}` }),
    );
    expect(outcome).toMatchObject({ kind: 'insufficient-stock', availableToPromise: 2 });
    expect(available(group)).toBe(-3);
    const after = await levelRow(fixture, group.sku, location);
    expect(after.shopifyAvailable).toBe(-3);
    expect(after.unconfirmedTake).toBe(5);
    expect((await createHealthRepository(fixture.database.db).listNegativeAvailable(fixture.deps.shop)).filter((negative) => negative.sku === group.sku)).toEqual([]);

    // The push sets the value whole: the take is overwritten and no longer explains anything.
    await fixture.sync.services.runEventPush();
    expect(available(group)).toBeGreaterThanOrEqual(0);
    const pushed = await levelRow(fixture, group.sku, location);
    expect(pushed.lastPushedAt!.getTime()).toBeGreaterThanOrEqual(pushed.unconfirmedTakeAt!.getTime());
  });

  it('never lets Shopify sales and reservations together exceed the stock of a hot SKU, under concurrent pushes', async () => {
    const { group, location, row } = await simpleGroup(fixture);
    const stock = row.availableToPromise;
    const reservations = service();
    let sold = 0;
    let reserved = 0;
    let n = 0;
    const reserveSome = async () => {
      const quantity = 1 + (n % 3);
      const outcome = await reservations.reserve(actor, { sku: group.sku, location, quantity, reference: 'W-HOT', idempotencyKey: `hot-${group.sku}-${n++}` });
      if (outcome.kind === 'reserved') reserved += quantity;
    };
    const sellSome = async () => {
      await new Promise((resolve) => setTimeout(resolve, Math.random() * 5));
      if (sell(group, 1 + (n % 2))) sold += 1 + (n % 2);
    };
    for (let round = 0; round < 25; round++) {
      await Promise.all([reserveSome(), reserveSome(), sellSome(), sellSome(), fixture.sync.services.runEventPush(), reserveSome(), sellSome()]);
      expect(sold + reserved, `round ${round}: sold ${sold}, reserved ${reserved}, stock ${stock}`).toBeLessThanOrEqual(stock);
    }
    expect(sold).toBeGreaterThan(0);
    expect(reserved).toBeGreaterThan(0);
    expect((await levelRow(fixture, group.sku, location)).reserved).toBe(reserved);
    expect(sold + reserved).toBeLessThanOrEqual(stock);
    expect(available(group)).toBeGreaterThanOrEqual(0);
  }, 120_000);
});
