import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPushRepository } from '../../src/sync/push.repository.js';
import type { SetAvailableQuantitiesOptions, SetAvailableQuantity, ShopifyClient } from '../../src/shopify/shopify-client.js';
import { levelRow, recordShopifyOrder, simpleGroup, startSyncFixture, type SyncFixture } from './sync.fixture.js';

/**
 * Sales racing pushes: the client is the real one, wrapped so that a customer checks out in the
 * simulated store after Stockbridge read Shopify's value and before its write arrives.
 */
let fixture: SyncFixture;
let beforeWrite: ((items: readonly SetAvailableQuantity[]) => void) | null = null;
/** Every pushed item's outcome as the health metrics receive it (error rate, sync latency). */
const outcomes: Array<{ ok: boolean; changeSeenAt: Date | null }> = [];

function racing(client: ShopifyClient): ShopifyClient {
  return new Proxy(client, {
    get(target, property, receiver) {
      if (property === 'setAvailableQuantities') {
        return async (items: readonly SetAvailableQuantity[], options: SetAvailableQuantitiesOptions) => {
          const hook = beforeWrite;
          beforeWrite = null;
          hook?.(items);
          return target.setAvailableQuantities(items, options);
        };
      }
      const value = Reflect.get(target, property, receiver) as unknown;
      return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(target) : value;
    },
  });
}

beforeAll(async () => {
  fixture = await startSyncFixture({
    wrapShopify: racing,
    orderWindowMs: 15 * 60_000,
    outcomes: { recordPushOutcomes: async (recorded) => void outcomes.push(...recorded) },
  });
  await fixture.sync.services.runFullReconcile();
});

afterAll(async () => {
  await fixture?.close();
});

const available = (group: { inventoryItemId: string; shopifyLocationId: string }) =>
  fixture.demo.shopify.state.level({ inventoryItemId: group.inventoryItemId, location: group.shopifyLocationId })!.quantities.available;

describe('the oversell invariant', () => {
  it('compare-and-set never overwrites a sale that lands between the read and the write', async () => {
    const { group, location, row } = await simpleGroup(fixture);
    expect(available(group)).toBe(row.availableToPromise);
    fixture.demo.erp.receiveStock({ sku: group.sku, location, quantity: 10 });
    beforeWrite = () => {
      const sale = fixture.demo.shopify.state.placeOrder({ lines: [{ inventoryItemId: group.inventoryItemId, quantity: 3, location: group.shopifyLocationId }] });
      expect(sale.placed).toBe(true);
    };

    const run = await fixture.sync.services.pushInventory({ skus: [group.sku] });

    expect(run).toMatchObject({ status: 'SUCCEEDED', itemsFailed: 0 });
    // ERP: +10. Shopify sold 3 that the ERP does not know of yet: 7 more can be promised, not 10.
    expect(available(group)).toBe(row.availableToPromise + 7);
    const after = await levelRow(fixture, group.sku, location);
    expect(after.unexplainedShopifyDrop).toBe(3);
    expect(after.availableToPromise).toBe(row.availableToPromise + 7);
    expect(after.shopifyAvailable).toBe(row.availableToPromise + 7);
    expect(fixture.demo.shopify.state.oversells().units).toBe(0);
    expect(fixture.demo.shopify.state.requestLog().some((entry) => entry.errorCodes.includes('CHANGE_FROM_QUANTITY_STALE'))).toBe(true);
  });

  it('when the order arrives, its units move from the drop to pending orders and nothing is pushed back', async () => {
    const { group, location, row } = await simpleGroup(fixture);
    beforeWrite = () => void fixture.demo.shopify.state.placeOrder({ lines: [{ inventoryItemId: group.inventoryItemId, quantity: 2, location: group.shopifyLocationId }] });
    fixture.demo.erp.receiveStock({ sku: group.sku, location, quantity: 4 });
    await fixture.sync.services.pushInventory({ skus: [group.sku] });
    expect(available(group)).toBe(row.availableToPromise + 2);

    await recordShopifyOrder(fixture, group.sku, location, 2);
    const run = await fixture.sync.services.runEventPush();

    expect(run).toMatchObject({ itemsPushed: 0, itemsFailed: 0 });
    expect(available(group)).toBe(row.availableToPromise + 2);
    const after = await levelRow(fixture, group.sku, location);
    expect(after).toMatchObject({ pendingOrders: 2, unexplainedShopifyDrop: 0, availableToPromise: row.availableToPromise + 2, pushRequestedAt: null });
  });

  it('a write whose answer never came widens one reading, not every later one', async () => {
    const { group, location, row } = await simpleGroup(fixture);
    const intents = createPushRepository(fixture.database.db, fixture.deps.shop);
    const itemIntents = () => intents.getInFlight([group]).then((found) => found.get(`${group.inventoryItemId}|${group.shopifyLocationId}`) ?? []);
    // A run killed after sending a write 5 above Shopify's value, before its answer was recorded.
    await intents.addIntents(randomUUID(), [{ inventoryItemId: group.inventoryItemId, shopifyLocationId: group.shopifyLocationId, fromQuantity: row.availableToPromise, toQuantity: row.availableToPromise + 5 }], fixture.clock.now());
    const sell = (quantity: number) => {
      const sale = fixture.demo.shopify.state.placeOrder({ lines: [{ inventoryItemId: group.inventoryItemId, quantity, location: group.shopifyLocationId }] });
      expect(sale.placed).toBe(true);
    };

    // A sale, then a push that reads Shopify: the write in flight may have landed, so the fall is
    // counted from its value (2 sold, 5 more held back until the order window) and it is settled.
    sell(2);
    fixture.demo.erp.receiveStock({ sku: group.sku, location, quantity: 1 });
    await fixture.sync.services.pushInventory({ skus: [group.sku] });
    expect((await levelRow(fixture, group.sku, location)).unexplainedShopifyDrop).toBe(7);
    expect(await itemIntents()).toEqual([]);

    // The next sale's reading is measured from the value the push set, never from that write again.
    sell(1);
    fixture.demo.erp.receiveStock({ sku: group.sku, location, quantity: 1 });
    await fixture.sync.services.pushInventory({ skus: [group.sku] });
    const after = await levelRow(fixture, group.sku, location);
    expect(after.unexplainedShopifyDrop).toBe(8);
    expect(after.availableToPromise).toBe(row.availableToPromise + 2 - 8);
    expect(available(group)).toBe(after.availableToPromise);
  });

  it('an order whose webhook beats the sync is not counted twice', async () => {
    const { group, location, row } = await simpleGroup(fixture);
    // A sale in Shopify, its order known to Stockbridge at once (drop -1: a credit), no reading yet.
    fixture.demo.shopify.state.placeOrder({ lines: [{ inventoryItemId: group.inventoryItemId, quantity: 1, location: group.shopifyLocationId }] });
    await recordShopifyOrder(fixture, group.sku, location, 1);

    // The event push writes ATP-1 comparing with the value it last set: stale (the sale), re-read,
    // the fall of 1 meets the credit of 1, and Shopify already holds the right value.
    const run = await fixture.sync.services.runEventPush();

    expect(run).toMatchObject({ itemsFailed: 0 });
    expect(available(group)).toBe(row.availableToPromise - 1);
    const after = await levelRow(fixture, group.sku, location);
    expect(after).toMatchObject({ pendingOrders: 1, unexplainedShopifyDrop: 0, availableToPromise: row.availableToPromise - 1, shopifyAvailable: row.availableToPromise - 1 });
  });

  it('sales during every write of a push never oversell, and every write lands or is retried', async () => {
    const picks = [await simpleGroup(fixture), await simpleGroup(fixture), await simpleGroup(fixture)];
    for (const { group, location } of picks) fixture.demo.erp.receiveStock({ sku: group.sku, location, quantity: 5 });
    let writes = 0;
    const sell = () => {
      writes += 1;
      for (const { group } of picks) fixture.demo.shopify.state.placeOrder({ lines: [{ inventoryItemId: group.inventoryItemId, quantity: 1, location: group.shopifyLocationId }] });
      if (writes < 2) beforeWrite = sell;
    };
    beforeWrite = sell;
    const recorded = outcomes.length;

    const run = await fixture.sync.services.pushInventory({ skus: picks.map((p) => p.group.sku) });

    // Both the write and its one retry met a sale: the items fail for this run and are marked to retry shortly.
    expect(run.itemsFailed).toBe(3);
    expect((await fixture.sync.services.getRunErrors([run.id], 10)).get(run.id)!.map((e) => e.code)).toEqual(Array(3).fill('CHANGE_FROM_QUANTITY_STALE'));
    for (const { group, location, row } of picks) {
      // Shopify kept every sale: 2 sold, nothing pushed over them.
      expect(available(group)).toBe(row.availableToPromise - 2);
      const after = await levelRow(fixture, group.sku, location);
      expect(after.unexplainedShopifyDrop).toBe(2);
      expect(after.pushRequestedAt).not.toBeNull();
    }
    expect(fixture.demo.shopify.state.oversells().units).toBe(0);
    // Lost to sales in flight is contention, not an error: nothing for the error rate yet.
    expect(outcomes.slice(recorded)).toEqual([]);

    // No more sales: the retry, a few seconds later, lands the ERP's extra stock minus the sales.
    fixture.clock.advance(5_000);
    const retry = await fixture.sync.services.runEventPush();
    expect(retry).toMatchObject({ itemsPushed: 3, itemsFailed: 0 });
    for (const { group, row } of picks) expect(available(group)).toBe(row.availableToPromise + 3);
    // Each item is one successful push whose latency counts from the change first seen.
    const landed = outcomes.slice(recorded);
    expect(landed.map((outcome) => outcome.ok)).toEqual([true, true, true]);
    expect(landed.every((outcome) => outcome.changeSeenAt !== null)).toBe(true);
  });

  it('a drop no order explains is released after the order window (a merchant lowered the level by hand)', async () => {
    const { group, location, row } = await simpleGroup(fixture);
    fixture.demo.shopify.state.setQuantity({ inventoryItemId: group.inventoryItemId, location: group.shopifyLocationId, quantity: 0 });
    const found = await fixture.sync.services.pushInventory({ skus: [group.sku], full: true });
    expect(found.driftFound).toBe(1);
    expect(available(group)).toBe(0);
    const held = await levelRow(fixture, group.sku, location);
    expect(held.unexplainedShopifyDrop).toBe(row.availableToPromise);
    // The event push comes back for it when the window ends.
    expect(held.pushRequestedAt!.getTime()).toBeGreaterThanOrEqual(held.shopifyReadAt!.getTime() + 15 * 60_000);
    expect(await fixture.sync.services.runEventPush()).toBeNull();

    fixture.clock.advance(15 * 60_000);
    const released = await fixture.sync.services.runEventPush();

    expect(released).toMatchObject({ itemsFailed: 0 });
    expect(available(group)).toBe(row.availableToPromise);
    expect(await levelRow(fixture, group.sku, location)).toMatchObject({ unexplainedShopifyDrop: 0, availableToPromise: row.availableToPromise, pushRequestedAt: null });
  });

});
