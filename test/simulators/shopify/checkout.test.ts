import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ManualClock, type ShopifySimulator } from '../../../src/simulators/shopify/index.js';
import { graphql, startSmallShop, type Loose } from './support.js';

describe('Shopify simulator: checkout, cancellation and orders', () => {
  let simulator: ShopifySimulator;
  let clock: ManualClock;
  beforeEach(async () => {
    clock = new ManualClock(Date.parse('2026-11-27T10:00:00Z'));
    simulator = await startSmallShop({ clock });
  });
  afterEach(async () => {
    await simulator.close();
  });

  it('commits the units of an order: available goes down, committed up, on_hand stays', () => {
    const result = simulator.state.placeOrder({ lines: [{ sku: 'TABLE-PINE', quantity: 2 }] });
    expect(result.placed).toBe(true);
    expect(simulator.state.level({ sku: 'TABLE-PINE', location: 'WH' })?.quantities).toMatchObject({ available: 1, committed: 2, on_hand: 3 });
    expect(simulator.state.oversells().units).toBe(0);
  });

  it('refuses an order for more than is available when the variant denies overselling, changing nothing', () => {
    const result = simulator.state.placeOrder({ lines: [{ sku: 'TABLE-PINE', quantity: 4 }] });
    expect(result).toEqual({
      placed: false,
      code: 'INSUFFICIENT_STOCK',
      message: 'Not enough stock for TABLE-PINE',
      lines: [{ sku: 'TABLE-PINE', requested: 4, available: 3, locationId: expect.stringMatching(/^gid:\/\/shopify\/Location\//) }],
    });
    expect(simulator.state.orders()).toEqual([]);
    expect(simulator.state.level({ sku: 'TABLE-PINE', location: 'WH' })?.quantities.available).toBe(3);
  });

  it('sells past stock when the variant continues selling, and counts every unit beyond stock as oversold', () => {
    const first = simulator.state.placeOrder({ lines: [{ sku: 'LAMP-PRE', quantity: 3 }] });
    const second = simulator.state.placeOrder({ lines: [{ sku: 'LAMP-PRE', quantity: 2 }] });
    expect(first).toMatchObject({ placed: true, oversoldUnits: 1 });
    expect(second).toMatchObject({ placed: true, oversoldUnits: 2 });
    expect(simulator.state.level({ sku: 'LAMP-PRE', location: 'WH' })?.quantities).toMatchObject({ available: -3, committed: 5 });
    expect(simulator.state.oversells()).toMatchObject({ units: 3, records: [{ sku: 'LAMP-PRE', units: 1, availableBefore: 2 }, { sku: 'LAMP-PRE', units: 2, availableBefore: -1 }] });
  });

  it('restocks the open units when an order is cancelled', async () => {
    const placed = simulator.state.placeOrder({ lines: [{ sku: 'TABLE-PINE', quantity: 2 }] });
    if (!placed.placed) throw new Error('order refused');
    const answer = await graphql(
      simulator,
      'mutation($id: ID!) { orderCancel(orderId: $id, reason: CUSTOMER, restock: true, refund: true) { jobResult { ... on OrderCancelJobResult { status order { cancelledAt cancelReason displayFinancialStatus } } } orderCancelUserErrors { code } } }',
      { id: placed.order.id },
    );
    expect(answer.body.errors).toBeUndefined();
    expect(answer.body.data?.orderCancel).toEqual({
      jobResult: { status: 'SUCCEEDED', order: { cancelledAt: '2026-11-27T10:00:00Z', cancelReason: 'CUSTOMER', displayFinancialStatus: 'REFUNDED' } },
      orderCancelUserErrors: [],
    });
    expect(simulator.state.level({ sku: 'TABLE-PINE', location: 'WH' })?.quantities).toMatchObject({ available: 3, committed: 0 });
    const again = await graphql(simulator, 'mutation($id: ID!) { orderCancel(orderId: $id, reason: CUSTOMER, restock: true) { orderCancelUserErrors { code } } }', { id: placed.order.id });
    expect(again.body.data?.orderCancel.orderCancelUserErrors).toEqual([{ code: 'INVALID' }]);
  });

  it('ships an order: committed and on_hand go down, available stays', () => {
    const placed = simulator.state.placeOrder({ lines: [{ sku: 'TABLE-PINE', quantity: 2 }] });
    if (!placed.placed) throw new Error('order refused');
    simulator.state.fulfillOrder(placed.order.id);
    expect(simulator.state.level({ sku: 'TABLE-PINE', location: 'WH' })?.quantities).toMatchObject({ available: 1, committed: 0, on_hand: 1 });
  });

  it('lists orders updated after a time, oldest update first, with their lines', async () => {
    const early = simulator.state.placeOrder({ lines: [{ sku: 'TABLE-PINE', quantity: 1 }] });
    clock.advance(60_000);
    const later = simulator.state.placeOrder({ lines: [{ sku: 'LAMP-PRE', quantity: 1 }, { variantId: simulator.state.shop.findItemsBySku('CHAIR-OAK')[0]!.variantId, quantity: 2 }] });
    clock.advance(60_000);
    if (!early.placed || !later.placed) throw new Error('order refused');
    simulator.state.cancelOrder(early.order.id, { reason: 'CUSTOMER' });
    const answer = await graphql(
      simulator,
      `query($q: String!) { orders(first: 10, query: $q, sortKey: UPDATED_AT) { nodes { name updatedAt cancelledAt lineItems(first: 10) { nodes { sku quantity currentQuantity } } } } }`,
      { q: "updated_at:>'2026-11-27T10:00:30Z'" },
    );
    expect(answer.body.data?.orders.nodes).toEqual([
      { name: '#1002', updatedAt: '2026-11-27T10:01:00Z', cancelledAt: null, lineItems: { nodes: [{ sku: 'LAMP-PRE', quantity: 1, currentQuantity: 1 }, { sku: 'CHAIR-OAK', quantity: 2, currentQuantity: 2 }] } },
      { name: '#1001', updatedAt: '2026-11-27T10:02:00Z', cancelledAt: '2026-11-27T10:02:00Z', lineItems: { nodes: [{ sku: 'TABLE-PINE', quantity: 1, currentQuantity: 0 }] } },
    ]);
    const byId = await graphql(simulator, 'query($id: ID!) { order(id: $id) { name legacyResourceId } }', { id: later.order.id });
    expect(byId.body.data?.order).toEqual({ name: '#1002', legacyResourceId: String(later.order.legacyId) });
  });

  it('places, reads and cancels orders through the HTTP control API', async () => {
    const placed = await fetch(`${simulator.adminUrl}/_simulator/orders`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ lines: [{ sku: 'TABLE-PINE', quantity: 1 }], location: 'WH' }),
    });
    expect(placed.status).toBe(201);
    const { order } = (await placed.json()) as { order: Loose };
    const refused = await fetch(`${simulator.adminUrl}/_simulator/orders`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ lines: [{ sku: 'TABLE-PINE', quantity: 50 }] }),
    });
    expect(refused.status).toBe(409);
    const invalid = await fetch(`${simulator.adminUrl}/_simulator/orders`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ lines: [] }) });
    expect(invalid.status).toBe(400);
    const cancelled = await fetch(`${simulator.adminUrl}/_simulator/orders/${encodeURIComponent(order.id)}/cancel`, { method: 'POST', body: '{}' });
    expect(cancelled.status).toBe(200);
    expect(((await cancelled.json()) as Loose).cancelledAt).not.toBeNull();
    const levels = (await (await fetch(`${simulator.adminUrl}/_simulator/levels?sku=TABLE-PINE&location=WH`)).json()) as Loose[];
    expect(levels[0].quantities).toMatchObject({ available: 3, committed: 0 });
  });
});
