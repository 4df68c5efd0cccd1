import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { ShopifySimulator } from '../../../src/simulators/shopify/index.js';
import { graphql, ids, SET_QUANTITIES, startSmallShop } from './support.js';

describe('Shopify simulator: inventorySetQuantities (2026-10 rules)', () => {
  let simulator: ShopifySimulator;
  beforeEach(async () => {
    simulator = await startSmallShop();
  });
  afterEach(async () => {
    await simulator.close();
  });

  const setAvailable = (key: string, quantities: Record<string, unknown>[], extra: Record<string, unknown> = {}) =>
    graphql(simulator, SET_QUANTITIES, { key, input: { name: 'available', reason: 'correction', referenceDocumentUri: 'gid://stockbridge/SyncRun/1', quantities, ...extra } });

  const availableOf = (sku: string, location: string) => {
    const { inventoryItemId } = ids(simulator, sku, location);
    return simulator.state.level({ inventoryItemId, location })?.quantities.available;
  };

  it('sets available with a matching changeFromQuantity and records the changes', async () => {
    const table = ids(simulator, 'TABLE-PINE', 'WH');
    const answer = await setAvailable('set-1', [{ ...table, quantity: 8, changeFromQuantity: 3 }]);
    const payload = answer.body.data?.inventorySetQuantities;
    expect(payload.userErrors).toEqual([]);
    expect(payload.inventoryAdjustmentGroup).toMatchObject({ reason: 'correction', referenceDocumentUri: 'gid://stockbridge/SyncRun/1' });
    expect(payload.inventoryAdjustmentGroup.changes).toEqual([
      { name: 'available', delta: 5, quantityAfterChange: 8, item: { id: table.inventoryItemId }, location: { id: table.locationId } },
      { name: 'on_hand', delta: 5, quantityAfterChange: 8, item: { id: table.inventoryItemId }, location: { id: table.locationId } },
    ]);
    expect(availableOf('TABLE-PINE', 'WH')).toBe(8);
  });

  it('refuses a stale changeFromQuantity and applies nothing of the call', async () => {
    const table = ids(simulator, 'TABLE-PINE', 'WH');
    const lamp = ids(simulator, 'LAMP-PRE', 'WH');
    const answer = await setAvailable('set-stale', [
      { ...lamp, quantity: 9, changeFromQuantity: 2 },
      { ...table, quantity: 8, changeFromQuantity: 4 },
    ]);
    expect(answer.body.data?.inventorySetQuantities).toEqual({
      inventoryAdjustmentGroup: null,
      userErrors: [{ field: ['input', 'quantities', '1', 'changeFromQuantity'], message: 'The changeFromQuantity value does not match persisted value.', code: 'CHANGE_FROM_QUANTITY_STALE' }],
    });
    expect(availableOf('LAMP-PRE', 'WH')).toBe(2);
    expect(availableOf('TABLE-PINE', 'WH')).toBe(3);
  });

  it('skips the compare-and-set check when changeFromQuantity is null', async () => {
    const table = ids(simulator, 'TABLE-PINE', 'WH');
    const answer = await setAvailable('set-null', [{ ...table, quantity: 0, changeFromQuantity: null }]);
    expect(answer.body.data?.inventorySetQuantities.userErrors).toEqual([]);
    expect(availableOf('TABLE-PINE', 'WH')).toBe(0);
  });

  it('refuses a call where a quantity omits changeFromQuantity, naming it', async () => {
    const table = ids(simulator, 'TABLE-PINE', 'WH');
    const lamp = ids(simulator, 'LAMP-PRE', 'WH');
    const answer = await setAvailable('set-missing', [
      { ...lamp, quantity: 5, changeFromQuantity: 2 },
      { ...table, quantity: 5 },
    ]);
    expect(answer.body.data?.inventorySetQuantities).toBeNull();
    expect(answer.body.errors?.[0]?.message).toContain('input.quantities[1]');
    expect(answer.body.errors?.[0]?.path).toEqual(['inventorySetQuantities']);
    expect(availableOf('LAMP-PRE', 'WH')).toBe(2);
  });

  it('refuses more than 250 quantities in one call', async () => {
    const table = ids(simulator, 'TABLE-PINE', 'WH');
    const quantities = Array.from({ length: 251 }, () => ({ ...table, quantity: 1, changeFromQuantity: null }));
    const answer = await setAvailable('set-251', quantities);
    expect(answer.body.errors?.[0]).toMatchObject({ message: 'The input array size of 251 is greater than the maximum allowed of 250.', extensions: { code: 'MAX_INPUT_SIZE_EXCEEDED' } });
    expect(availableOf('TABLE-PINE', 'WH')).toBe(3);
  });

  it('requires the @idempotent directive, refusing an empty key', async () => {
    const table = ids(simulator, 'TABLE-PINE', 'WH');
    const withoutKey = await graphql(
      simulator,
      `mutation($input: InventorySetQuantitiesInput!) { inventorySetQuantities(input: $input) { userErrors { code } } }`,
      { input: { name: 'available', reason: 'correction', quantities: [{ ...table, quantity: 1, changeFromQuantity: null }] } },
    );
    expect(withoutKey.body.errors?.[0]?.message).toContain('@idempotent directive is required for inventorySetQuantities');
    const blankKey = await setAvailable('   ', [{ ...table, quantity: 1, changeFromQuantity: null }]);
    expect(blankKey.body.errors?.[0]?.message).toContain('cannot be an empty string');
    expect(availableOf('TABLE-PINE', 'WH')).toBe(3);
  });

  it('refuses @idempotent on a mutation that does not document idempotency', async () => {
    const answer = await graphql(
      simulator,
      'mutation { webhookSubscriptionCreate(topic: ORDERS_CREATE, webhookSubscription: { uri: "https://example.test/h" }) @idempotent(key: "k") { userErrors { message } } }',
    );
    expect(answer.body.errors?.[0]?.message).toContain('@idempotent directive is not supported on Mutation.webhookSubscriptionCreate');
    expect(simulator.state.webhookSubscriptions()).toEqual([]);
  });

  it('replays the stored result for the same key and variables without applying twice', async () => {
    const table = ids(simulator, 'TABLE-PINE', 'WH');
    const first = await setAvailable('batch-7', [{ ...table, quantity: 6, changeFromQuantity: 3 }]);
    simulator.state.setQuantity({ inventoryItemId: table.inventoryItemId, location: 'WH', quantity: 4 });
    const replay = await setAvailable('batch-7', [{ ...table, quantity: 6, changeFromQuantity: 3 }]);
    expect(replay.body.data).toEqual(first.body.data);
    expect(availableOf('TABLE-PINE', 'WH')).toBe(4);
  });

  it('refuses the same key with other variables (IDEMPOTENCY_KEY_PARAMETER_MISMATCH)', async () => {
    const table = ids(simulator, 'TABLE-PINE', 'WH');
    await setAvailable('batch-8', [{ ...table, quantity: 6, changeFromQuantity: 3 }]);
    const other = await setAvailable('batch-8', [{ ...table, quantity: 7, changeFromQuantity: 6 }]);
    expect(other.body.data?.inventorySetQuantities).toEqual({
      inventoryAdjustmentGroup: null,
      userErrors: [{ field: null, message: 'The same idempotency key cannot be used with different operation parameters.', code: 'IDEMPOTENCY_KEY_PARAMETER_MISMATCH' }],
    });
    expect(availableOf('TABLE-PINE', 'WH')).toBe(6);
  });

  it('reports unknown, bundle and untracked items and duplicate pairs with their codes, applying none of the call', async () => {
    const table = ids(simulator, 'TABLE-PINE', 'WH');
    const bundle = ids(simulator, 'SET-DINING', 'WH');
    const wrap = ids(simulator, 'WRAP', 'WH');
    const answer = await setAvailable('set-mixed', [
      { ...table, quantity: 4, changeFromQuantity: 3 },
      { inventoryItemId: 'gid://shopify/InventoryItem/999', locationId: table.locationId, quantity: 1, changeFromQuantity: null },
      { ...bundle, quantity: 1, changeFromQuantity: null },
      { ...wrap, quantity: 1, changeFromQuantity: null },
      { ...table, quantity: 5, changeFromQuantity: 3 },
      { inventoryItemId: table.inventoryItemId, locationId: 'gid://shopify/Location/1', quantity: 1, changeFromQuantity: null },
    ]);
    const errors = answer.body.data?.inventorySetQuantities.userErrors;
    expect(errors.map((error: { code: string; field: string[] }) => [error.code, error.field.join('.')])).toEqual([
      ['INVALID_INVENTORY_ITEM', 'input.quantities.1.inventoryItemId'],
      ['NON_MUTABLE_INVENTORY_ITEM', 'input.quantities.2.inventoryItemId'],
      ['NON_MUTABLE_INVENTORY_ITEM', 'input.quantities.3.inventoryItemId'],
      ['NO_DUPLICATE_INVENTORY_ITEM_ID_GROUP_ID_PAIR', 'input.quantities.4'],
      ['INVALID_LOCATION', 'input.quantities.5.locationId'],
    ]);
    expect(availableOf('TABLE-PINE', 'WH')).toBe(3);
  });

  it('checks the quantity name, the reason and the bounds', async () => {
    const table = ids(simulator, 'TABLE-PINE', 'WH');
    const name = await setAvailable('set-name', [{ ...table, quantity: 1, changeFromQuantity: null }], { name: 'committed' });
    expect(name.body.data?.inventorySetQuantities.userErrors.map((error: { code: string }) => error.code)).toEqual(['INVALID_NAME']);
    const reason = await setAvailable('set-reason', [{ ...table, quantity: 1, changeFromQuantity: null }], { reason: 'because' });
    expect(reason.body.data?.inventorySetQuantities.userErrors.map((error: { code: string }) => error.code)).toEqual(['INVALID_REASON']);
    const high = await setAvailable('set-high', [{ ...table, quantity: 1_000_000_001, changeFromQuantity: null }]);
    expect(high.body.data?.inventorySetQuantities.userErrors.map((error: { code: string }) => error.code)).toEqual(['INVALID_QUANTITY_TOO_HIGH']);
    const negativeOnHand = await setAvailable('set-neg', [{ ...table, quantity: -1, changeFromQuantity: null }], { name: 'on_hand' });
    expect(negativeOnHand.body.data?.inventorySetQuantities.userErrors.map((error: { code: string }) => error.code)).toEqual(['INVALID_QUANTITY_NEGATIVE']);
  });

  it('sets on_hand by moving available, and creates a level at a location that did not stock the item', async () => {
    const lampAtStore = ids(simulator, 'LAMP-PRE', 'STORE');
    expect(simulator.state.level({ sku: 'LAMP-PRE', location: 'STORE' })).toBeNull();
    const answer = await setAvailable('set-new-level', [{ ...lampAtStore, quantity: 4, changeFromQuantity: 0 }], { name: 'on_hand' });
    expect(answer.body.data?.inventorySetQuantities.userErrors).toEqual([]);
    expect(simulator.state.level({ sku: 'LAMP-PRE', location: 'STORE' })?.quantities).toMatchObject({ available: 4, on_hand: 4, committed: 0 });
  });

  it('answers no adjustment group when nothing changes', async () => {
    const table = ids(simulator, 'TABLE-PINE', 'WH');
    const answer = await setAvailable('set-same', [{ ...table, quantity: 3, changeFromQuantity: 3 }]);
    expect(answer.body.data?.inventorySetQuantities).toEqual({ inventoryAdjustmentGroup: null, userErrors: [] });
  });
});

describe('Shopify simulator: inventoryAdjustQuantities', () => {
  let simulator: ShopifySimulator;
  beforeEach(async () => {
    simulator = await startSmallShop();
  });
  afterEach(async () => {
    await simulator.close();
  });

  const ADJUST = `mutation($input: InventoryAdjustQuantitiesInput!, $key: String!) {
    inventoryAdjustQuantities(input: $input) @idempotent(key: $key) { inventoryAdjustmentGroup { changes { name delta quantityAfterChange } } userErrors { field code } } }`;

  it('applies deltas with compare-and-set', async () => {
    const table = ids(simulator, 'TABLE-PINE', 'WH');
    const answer = await graphql(simulator, ADJUST, { key: 'adj-1', input: { name: 'available', reason: 'received', changes: [{ ...table, delta: 2, changeFromQuantity: 3 }] } });
    expect(answer.body.data?.inventoryAdjustQuantities.inventoryAdjustmentGroup.changes).toEqual([
      { name: 'available', delta: 2, quantityAfterChange: 5 },
      { name: 'on_hand', delta: 2, quantityAfterChange: 5 },
    ]);
    const stale = await graphql(simulator, ADJUST, { key: 'adj-2', input: { name: 'available', reason: 'received', changes: [{ ...table, delta: 2, changeFromQuantity: 3 }] } });
    expect(stale.body.data?.inventoryAdjustQuantities.userErrors).toEqual([{ field: ['input', 'changes', '0', 'changeFromQuantity'], code: 'CHANGE_FROM_QUANTITY_STALE' }]);
  });

  it('needs a ledger document for states other than available', async () => {
    const table = ids(simulator, 'TABLE-PINE', 'WH');
    const missing = await graphql(simulator, ADJUST, { key: 'adj-3', input: { name: 'damaged', reason: 'damaged', changes: [{ ...table, delta: 1, changeFromQuantity: null }] } });
    expect(missing.body.data?.inventoryAdjustQuantities.userErrors[0].code).toBe('INVALID_QUANTITY_DOCUMENT');
    const withLedger = await graphql(simulator, ADJUST, {
      key: 'adj-4',
      input: { name: 'damaged', reason: 'damaged', changes: [{ ...table, delta: 1, changeFromQuantity: null, ledgerDocumentUri: 'gid://erp/Damage/1' }] },
    });
    expect(withLedger.body.data?.inventoryAdjustQuantities.userErrors).toEqual([]);
    expect(simulator.state.level({ sku: 'TABLE-PINE', location: 'WH' })?.quantities).toMatchObject({ available: 3, damaged: 1, on_hand: 4 });
  });
});
