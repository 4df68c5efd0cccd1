import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SetAvailableQuantitiesOptions, SetAvailableQuantity, SetQuantityOutcome, ShopifyClient } from '../../src/shopify/shopify-client.js';
import { levelRow, simpleGroup, startSyncFixture, type SyncFixture } from '../sync/sync.fixture.js';
import { createTestReservations } from './reservations.fixture.js';

/**
 * Issue 11, case 9: a reservation made while the sync waits to retry a position (a push mark in
 * the future, from the backoff after Shopify refused a write) must bring that position's push
 * forward: the reservation lowered the ATP, and Shopify must not keep selling the reserved units
 * until the backoff ends. Real parts throughout: the database, the demo's simulated ERP and store,
 * the real Shopify client (wrapped so one item's next write is refused), the sync and the
 * reservations service.
 */
let fixture: SyncFixture;
const refuseNextWriteOf = new Set<string>();
/** Runs once, after the write reached Shopify and before its refusal comes back. */
let whileInFlight: (() => Promise<void>) | null = null;

function refusing(client: ShopifyClient): ShopifyClient {
  return new Proxy(client, {
    get(target, property, receiver) {
      if (property === 'setAvailableQuantities') {
        return async (items: readonly SetAvailableQuantity[], options: SetAvailableQuantitiesOptions): Promise<SetQuantityOutcome[]> => {
          const refused = items.filter((item) => refuseNextWriteOf.delete(item.inventoryItemId));
          const sent = items.filter((item) => !refused.includes(item));
          const outcomes = sent.length > 0 ? await target.setAvailableQuantities(sent, options) : [];
          const hook = whileInFlight;
          whileInFlight = null;
          await hook?.();
          return items.map((item) =>
            refused.includes(item)
              ? { ...item, status: 'failed' as const, code: 'SHOPIFY_UNAVAILABLE', message: 'refused by the test' }
              : outcomes[sent.indexOf(item)]!,
          );
        };
      }
      const value = Reflect.get(target, property, receiver) as unknown;
      return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(target) : value;
    },
  });
}

beforeAll(async () => {
  fixture = await startSyncFixture({ wrapShopify: refusing, eventPollMs: 60_000 });
  await fixture.sync.services.runFullReconcile();
});

afterAll(async () => {
  await fixture?.close();
});

const actor = { id: '00000000-0000-4000-8000-0000000000b1', seesAll: false };

const available = (group: { inventoryItemId: string; shopifyLocationId: string }) =>
  fixture.demo.shopify.state.level({ inventoryItemId: group.inventoryItemId, location: group.shopifyLocationId })?.quantities.available;

describe('a reservation during a sync backoff', () => {
  it('brings the position\u2019s push forward: the event push sends the lower ATP at once, not when the retry is due', async () => {
    const { group, location, row } = await simpleGroup(fixture);
    expect(available(group)).toBe(row.availableToPromise);
    fixture.demo.erp.receiveStock({ sku: group.sku, location, quantity: 6 });
    refuseNextWriteOf.add(group.inventoryItemId);

    const failed = await fixture.sync.services.pushInventory({ skus: [group.sku] });

    expect(failed.itemsFailed).toBe(1);
    const waiting = await levelRow(fixture, group.sku, location);
    expect(waiting.pushRequestedAt!.getTime()).toBeGreaterThan(fixture.clock.now().getTime());
    // The retry waits for its backoff: nothing is due yet.
    expect(await fixture.sync.services.runEventPush()).toBeNull();

    const reservations = createTestReservations(fixture.database.db, { shop: fixture.deps.shop, now: fixture.clock.now });
    const outcome = await reservations.reserve(actor, { sku: group.sku, location, quantity: 4, reference: 'WHOLESALE-BACKOFF', idempotencyKey: `backoff-${group.sku}` });
    expect(outcome.kind).toBe('reserved');

    const marked = await levelRow(fixture, group.sku, location);
    expect(marked.pushRequestedAt!.getTime()).toBeLessThanOrEqual(fixture.clock.now().getTime());
    const run = await fixture.sync.services.runEventPush();
    expect(run).toMatchObject({ status: 'SUCCEEDED', itemsPushed: 1 });
    // ERP +6, reserved 4: Shopify shows the new ATP now, while the backoff would still be waiting.
    expect(available(group)).toBe(row.availableToPromise + 2);
    expect(await levelRow(fixture, group.sku, location)).toMatchObject({ availableToPromise: row.availableToPromise + 2, pushRequestedAt: null });
  });

  it('a reservation made while the write that Shopify then refuses is in flight is pushed at once, not after the backoff', async () => {
    const { group, location, row } = await simpleGroup(fixture);
    expect(available(group)).toBe(row.availableToPromise);
    fixture.demo.erp.receiveStock({ sku: group.sku, location, quantity: 6 });
    refuseNextWriteOf.add(group.inventoryItemId);
    const reservations = createTestReservations(fixture.database.db, { shop: fixture.deps.shop, now: fixture.clock.now });
    whileInFlight = async () => {
      const outcome = await reservations.reserve(actor, { sku: group.sku, location, quantity: 4, reference: 'WHOLESALE-IN-FLIGHT', idempotencyKey: `in-flight-${group.sku}` });
      expect(outcome.kind).toBe('reserved');
    };

    const failed = await fixture.sync.services.pushInventory({ skus: [group.sku] });

    expect(failed.itemsFailed).toBe(1);
    expect(whileInFlight).toBeNull();
    // The refused write was computed before the reservation: the reservation's push stays due.
    expect((await levelRow(fixture, group.sku, location)).pushRequestedAt!.getTime()).toBeLessThanOrEqual(fixture.clock.now().getTime());
    expect(await fixture.sync.services.runEventPush()).toMatchObject({ status: 'SUCCEEDED', itemsPushed: 1 });
    expect(available(group)).toBe(row.availableToPromise + 2);
  });

  it('a write Shopify refuses with nothing changed meanwhile waits for its backoff', async () => {
    const { group, location, row } = await simpleGroup(fixture);
    fixture.demo.erp.receiveStock({ sku: group.sku, location, quantity: 3 });
    refuseNextWriteOf.add(group.inventoryItemId);

    expect(await fixture.sync.services.pushInventory({ skus: [group.sku] })).toMatchObject({ itemsFailed: 1 });

    expect((await levelRow(fixture, group.sku, location)).pushRequestedAt!.getTime()).toBeGreaterThan(fixture.clock.now().getTime() + 20_000);
    expect(await fixture.sync.services.runEventPush()).toBeNull();
    expect(available(group)).toBe(row.availableToPromise);
  });
});
