import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ManualClock, type ShopifySimulator } from '../../../src/simulators/shopify/index.js';
import { graphql, ids, SET_QUANTITIES, startReceiver, startSmallShop, subscribe, type Loose } from './support.js';

describe('Shopify simulator: inventory_levels/update for merchant edits and for the app’s own writes', () => {
  let simulator: ShopifySimulator;
  let clock: ManualClock;
  let receiver: Awaited<ReturnType<typeof startReceiver>>;
  beforeEach(async () => {
    clock = new ManualClock(Date.parse('2026-11-27T10:00:00Z'));
    simulator = await startSmallShop({ clock, webhookTimeScale: 1 });
    receiver = await startReceiver();
    await subscribe(simulator, 'INVENTORY_LEVELS_UPDATE', receiver.url);
  });
  afterEach(async () => {
    await simulator.close();
    await receiver.close();
  });

  const bodies = () => receiver.received.map((delivery) => JSON.parse(delivery.raw.toString('utf8')) as Loose);

  it('sends the REST inventory level when a merchant sets available in the admin (control API over HTTP)', async () => {
    const table = ids(simulator, 'TABLE-PINE', 'WH');
    clock.advance(61_000);
    const response = await fetch(`${simulator.adminUrl}/_simulator/levels`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ sku: 'TABLE-PINE', location: 'WH', quantity: 9 }),
    });
    expect(response.status).toBe(200);
    expect(((await response.json()) as Loose).quantities.available).toBe(9);
    await simulator.state.settleWebhooks();
    const itemId = Number(table.inventoryItemId.split('/').at(-1));
    const locationId = Number(table.locationId.split('/').at(-1));
    expect(bodies()).toEqual([
      {
        inventory_item_id: itemId,
        location_id: locationId,
        available: 9,
        updated_at: '2026-11-27T10:01:01+00:00',
        admin_graphql_api_id: `gid://shopify/InventoryLevel/${locationId}?inventory_item_id=${itemId}`,
      },
    ]);
    expect(receiver.received[0]!.headers['x-shopify-topic']).toBe('inventory_levels/update');
  });

  it('sends nothing when a merchant edit leaves available as it was', async () => {
    simulator.state.setQuantity({ sku: 'TABLE-PINE', location: 'WH', quantity: 3 });
    await simulator.state.settleWebhooks();
    expect(receiver.received).toEqual([]);
  });

  it('echoes the app’s own inventorySetQuantities and inventoryAdjustQuantities writes, one delivery per changed level', async () => {
    const table = ids(simulator, 'TABLE-PINE', 'WH');
    const lamp = ids(simulator, 'LAMP-PRE', 'WH');
    const set = await graphql(simulator, SET_QUANTITIES, {
      key: 'set-1',
      input: { name: 'available', reason: 'correction', quantities: [{ ...table, quantity: 5, changeFromQuantity: 3 }, { ...lamp, quantity: 2, changeFromQuantity: 2 }] },
    });
    expect(set.body.data?.inventorySetQuantities.userErrors).toEqual([]);
    const adjust = await graphql(
      simulator,
      `mutation($input: InventoryAdjustQuantitiesInput!) { inventoryAdjustQuantities(input: $input) @idempotent(key: "adjust-1") { userErrors { code } } }`,
      { input: { name: 'available', reason: 'correction', changes: [{ ...lamp, delta: -1, changeFromQuantity: 2 }] } },
    );
    expect(adjust.body.data?.inventoryAdjustQuantities.userErrors).toEqual([]);
    await simulator.state.settleWebhooks();
    expect(bodies().map((body) => [body.inventory_item_id, body.available])).toEqual([
      [Number(table.inventoryItemId.split('/').at(-1)), 5],
      [Number(lamp.inventoryItemId.split('/').at(-1)), 1],
    ]);
  });
});
