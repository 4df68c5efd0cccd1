import { describe, expect, it } from 'vitest';
import type { ShopifyPushGroup } from '../../src/inventory/inventory.models.js';
import { levelKey, planGroup, shopifyFall, type GroupInput, type PushPosition } from '../../src/sync/push-plan.js';

const now = new Date('2026-11-27T12:00:00Z');
const minutes = (n: number) => new Date(now.getTime() + n * 60_000);
const options = { now, orderWindowMs: 15 * 60_000 };

function group(erpLocations: string[], conversion = { erpUnits: 1, shopifyUnits: 1 }): ShopifyPushGroup {
  return { sku: 'BRACKET-L-BLU', inventoryItemId: 'gid://shopify/InventoryItem/1', variantId: 'gid://shopify/ProductVariant/1', shopifySku: 'BRACKET-L-BLU', shopifyLocationId: 'gid://shopify/Location/9', erpLocations, conversion };
}

function position(location: string, terms: Partial<PushPosition> = {}): PushPosition {
  return {
    sku: 'BRACKET-L-BLU',
    location,
    onHand: 10,
    allocated: 0,
    safetyStock: 0,
    wholesaleCommitted: 0,
    reserved: 0,
    pendingOrders: 0,
    unexplainedShopifyDrop: 0,
    expiringLotUnits: 0,
    availableToPromise: 10,
    shopifyAvailable: 10,
    shopifyReadAt: minutes(-10),
    pushRequestedAt: null,
    ...terms,
  };
}

function input(overrides: Partial<GroupInput>): GroupInput {
  return { group: group(['LDS']), positions: [position('LDS')], reading: null, inFlight: [], lastUnexplainedDropAt: null, ...overrides };
}

describe('planning a push for one Shopify item at one location', () => {
  it('targets the ATP and compares with the value Shopify last had', () => {
    const plan = planGroup(input({ positions: [position('LDS', { onHand: 14, shopifyAvailable: 10 })] }), options);
    expect(plan).toMatchObject({ expected: 10, target: 14, dropChanges: [], drift: false, newBaseline: null });
  });

  it('sums the ATP of every ERP location feeding the Shopify location, then converts units rounding down', () => {
    const cases = planGroup(
      input({ group: group(['BHM', 'LDS'], { erpUnits: 1, shopifyUnits: 12 }), positions: [position('LDS', { onHand: 2.5 }), position('BHM', { onHand: 1 })] }),
      options,
    );
    // floor(2.5) + floor(1) = 3 cases of 12
    expect(cases.target).toBe(36);
    const packs = planGroup(input({ group: group(['LDS'], { erpUnits: 12, shopifyUnits: 1 }), positions: [position('LDS', { onHand: 35 })] }), options);
    expect(packs.target).toBe(2);
  });

  it('holds back units Shopify sold that no known order explains, and finds the sale as drift', () => {
    // Stockbridge set 10; Shopify now says 7: three units sold that Stockbridge has no order for.
    const plan = planGroup(input({ positions: [position('LDS', { onHand: 15 })], reading: { available: 7, at: now } }), options);
    expect(plan.unexplainedDrop).toBe(3);
    expect(plan.target).toBe(12);
    expect(plan.expected).toBe(7);
    expect(plan.dropChanges).toEqual([{ sku: 'BRACKET-L-BLU', location: 'LDS', delta: 3 }]);
    expect(plan.lastUnexplainedDropAt).toEqual(now);
    expect(plan.releaseAt).toEqual(minutes(15));
    expect(plan.drift).toBe(true);
  });

  it('when the order arrives it moves from the drop to pending orders and the target does not change', () => {
    // The orders domain added 3 to pending_orders and took 3 off the drop (the handshake).
    const plan = planGroup(
      input({ positions: [position('LDS', { onHand: 15, pendingOrders: 3, unexplainedShopifyDrop: 0, shopifyAvailable: 12, shopifyReadAt: now })], lastUnexplainedDropAt: minutes(-1) }),
      options,
    );
    expect(plan.target).toBe(12);
    expect(plan.lastUnexplainedDropAt).toBeNull();
  });

  it('an order known before its sale shows in Shopify is not counted twice', () => {
    // The webhook beat the sync: pending 3, drop -3 (a credit). Then a reading shows the sale.
    const before = planGroup(input({ positions: [position('LDS', { onHand: 10, pendingOrders: 3, unexplainedShopifyDrop: -3 })] }), options);
    expect(before.target).toBe(7);
    const after = planGroup(input({ positions: [position('LDS', { onHand: 10, pendingOrders: 3, unexplainedShopifyDrop: -3 })], reading: { available: 7, at: now } }), options);
    expect(after.target).toBe(7);
    expect(after.unexplainedDrop).toBe(3);
    expect(after.dropChanges).toEqual([{ sku: 'BRACKET-L-BLU', location: 'LDS', delta: 3 }]);
    expect(after.expected).toBe(7);
  });

  it('releases a credit that a reading does not bear out (the sale never showed in Shopify)', () => {
    const plan = planGroup(input({ positions: [position('LDS', { unexplainedShopifyDrop: -2 })], reading: { available: 10, at: now } }), options);
    expect(plan.released.credit).toBe(2);
    expect(plan.dropChanges).toEqual([{ sku: 'BRACKET-L-BLU', location: 'LDS', delta: 2 }]);
  });

  it('keeps the credit of an order counted after the reading was taken: its sale, read next, is counted once', () => {
    // Shopify held 10 when the reading was taken (a webhook's updated_at, a request's sending);
    // an order of 2 was counted a second later (its sale came after the reading). Releasing its
    // credit now would count that sale twice once the next reading shows it: pending 2, drop 2.
    const counted = new Date(now.getTime() - 1_000);
    const taken = new Date(now.getTime() - 2_000);
    const early = planGroup(
      input({ positions: [position('LDS', { pendingOrders: 2, unexplainedShopifyDrop: -2, pendingCountedAt: counted })], reading: { available: 10, at: now, heldAt: taken } }),
      options,
    );
    expect(early.released.credit).toBe(0);
    expect(early.dropChanges).toEqual([]);
    expect(early.target).toBe(8);
    // The next reading shows the sale: the credit meets it, nothing is held twice.
    const next = planGroup(
      input({ positions: [position('LDS', { pendingOrders: 2, unexplainedShopifyDrop: -2, pendingCountedAt: counted, shopifyReadAt: now })], reading: { available: 8, at: minutes(1) } }),
      options,
    );
    expect(next.dropChanges).toEqual([{ sku: 'BRACKET-L-BLU', location: 'LDS', delta: 2 }]);
    expect(next.target).toBe(8);
    // A reading taken after the order was counted that still does not show the sale releases it.
    const later = planGroup(
      input({ positions: [position('LDS', { pendingOrders: 2, unexplainedShopifyDrop: -2, pendingCountedAt: counted })], reading: { available: 10, at: now, heldAt: now } }),
      options,
    );
    expect(later.released.credit).toBe(2);
  });

  it('releases a drop no order explained within the order window (a merchant edit, a lost order)', () => {
    const held = planGroup(input({ positions: [position('LDS', { unexplainedShopifyDrop: 4, shopifyAvailable: 6 })], lastUnexplainedDropAt: minutes(-14) }), options);
    expect(held.target).toBe(6);
    expect(held.released.window).toBe(0);
    const released = planGroup(input({ positions: [position('LDS', { unexplainedShopifyDrop: 4, shopifyAvailable: 6 })], lastUnexplainedDropAt: minutes(-15) }), options);
    expect(released.target).toBe(10);
    expect(released.released.window).toBe(4);
    expect(released.lastUnexplainedDropAt).toBeNull();
  });

  it('ignores a reading older than what Stockbridge last wrote', () => {
    const plan = planGroup(input({ positions: [position('LDS', { shopifyAvailable: 10, shopifyReadAt: now })], reading: { available: 4, at: minutes(-1) } }), options);
    expect(plan.unexplainedDrop).toBe(0);
    expect(plan.expected).toBe(10);
    expect(plan.newBaseline).toBeNull();
  });

  it('a reading equal to one of our own writes in flight is not a sale', () => {
    expect(shopifyFall(10, 14, [14])).toBe(0);
    // Unknown which happened: take the highest baseline, so a fall is never under-counted.
    expect(shopifyFall(10, 12, [14])).toBe(2);
    expect(shopifyFall(10, 8, [])).toBe(2);
    expect(shopifyFall(10, 13, [])).toBe(-3);
  });

  it('a reading that weighs writes in flight settles those sent before it was taken', () => {
    const heldAt = minutes(-1);
    const weighed = planGroup(input({ reading: { available: 8, at: now, heldAt }, inFlight: [14] }), options);
    expect(weighed).toMatchObject({ unexplainedDrop: 6, settlesIntentsUpTo: heldAt });
    expect(planGroup(input({ reading: { available: 8, at: now }, inFlight: [14] }), options).settlesIntentsUpTo).toEqual(now);
    // Nothing in flight, or a reading older than the baseline: nothing settled.
    expect(planGroup(input({ reading: { available: 8, at: now } }), options).settlesIntentsUpTo).toBeNull();
    expect(planGroup(input({ reading: { available: 8, at: minutes(-20) }, inFlight: [14] }), options).settlesIntentsUpTo).toBeNull();
  });

  it('a first reading becomes the baseline without a drop', () => {
    const plan = planGroup(input({ positions: [position('LDS', { shopifyAvailable: null, shopifyReadAt: null })], reading: { available: 3, at: now } }), options);
    expect(plan).toMatchObject({ expected: 3, target: 10, unexplainedDrop: 0, dropChanges: [] });
  });

  it('spreads a drop over several ERP locations so their summed ATP falls by it exactly', () => {
    const plan = planGroup(
      input({
        group: group(['BHM', 'LDS']),
        positions: [position('BHM', { onHand: 2, shopifyAvailable: 12 }), position('LDS', { onHand: 10, shopifyAvailable: 12 })],
        reading: { available: 7, at: now },
      }),
      options,
    );
    expect(plan.target).toBe(7);
    expect(plan.atpByLocation.get('BHM')).toBe(0);
    expect(plan.atpByLocation.get('LDS')).toBe(7);
    expect(plan.dropChanges.reduce((sum, c) => sum + c.delta, 0)).toBe(5);
  });

  it('converts a Shopify drop into ERP units (a case of 12 sold singly)', () => {
    const plan = planGroup(
      input({ group: group(['LDS'], { erpUnits: 1, shopifyUnits: 12 }), positions: [position('LDS', { onHand: 10, shopifyAvailable: 120 })], reading: { available: 115, at: now } }),
      options,
    );
    // 5 singles = 5/12 of a case held back: 9 whole cases can still be promised.
    expect(plan.target).toBe(108);
    expect(plan.dropChanges[0]!.delta).toBeCloseTo(5 / 12);
  });

  it('makes short keys from Shopify gids', () => {
    expect(levelKey('gid://shopify/InventoryItem/123', 'gid://shopify/Location/7')).toBe('123|7');
  });
});
