import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ManualClock, type ShopifySimulator } from '../../../src/simulators/shopify/index.js';
import { graphql, startReceiver, startSmallShop, subscribe, type Loose } from './support.js';

const FULFILLMENT_ORDERS = `
  query($id: ID!) {
    order(id: $id) {
      displayFulfillmentStatus
      fulfillmentOrders(first: 10) {
        nodes { id status assignedLocation { location { id } } lineItems(first: 10) { nodes { id sku totalQuantity remainingQuantity lineItem { id } } } }
      }
      fulfillments { name status displayStatus totalQuantity trackingInfo { company number url } fulfillmentLineItems(first: 10) { nodes { quantity lineItem { sku } } } }
    }
  }`;

const FULFILLMENT_CREATE = `
  mutation($fulfillment: FulfillmentInput!) {
    fulfillmentCreate(fulfillment: $fulfillment) {
      fulfillment { id name status totalQuantity trackingInfo { company number url } }
      userErrors { field message }
    }
  }`;

describe('Shopify simulator: fulfilment orders and fulfilments', () => {
  let simulator: ShopifySimulator;
  let receiver: Awaited<ReturnType<typeof startReceiver>> | undefined;
  beforeEach(async () => {
    simulator = await startSmallShop({ clock: new ManualClock(Date.parse('2026-11-27T10:00:00Z')), webhookTimeScale: 1 });
    simulator.state.seed({ products: [{ title: 'Desk', variants: [{ sku: 'DESK', levels: { WH: 10, STORE: 2 } }] }] });
  });
  afterEach(async () => {
    await simulator.close();
    await receiver?.close();
    receiver = undefined;
  });

  const placeOrder = (lines: { sku: string; quantity: number; location?: string }[]) => {
    const placed = simulator.state.placeOrder({ lines });
    if (!placed.placed) throw new Error('order refused');
    return placed.order;
  };
  const readOrder = async (id: string) => (await graphql(simulator, FULFILLMENT_ORDERS, { id })).body.data?.order as Loose;
  const fulfil = async (fulfillment: Record<string, unknown>) => graphql(simulator, FULFILLMENT_CREATE, { fulfillment });

  it('gives every order one open fulfilment order per assigned location, with each line to ship', async () => {
    const order = placeOrder([
      { sku: 'DESK', quantity: 3, location: 'WH' },
      { sku: 'TABLE-PINE', quantity: 1, location: 'WH' },
      { sku: 'DESK', quantity: 1, location: 'STORE' },
    ]);
    const read = await readOrder(order.id);
    expect(read.displayFulfillmentStatus).toBe('UNFULFILLED');
    expect(read.fulfillments).toEqual([]);
    const warehouse = `gid://shopify/Location/${simulator.state.shop.getLocation('WH').id}`;
    const store = `gid://shopify/Location/${simulator.state.shop.getLocation('STORE').id}`;
    expect(read.fulfillmentOrders.nodes.map((node: Loose) => [node.status, node.assignedLocation.location.id, node.lineItems.nodes.map((line: Loose) => [line.sku, line.totalQuantity, line.remainingQuantity])])).toEqual([
      ['OPEN', warehouse, [['DESK', 3, 3], ['TABLE-PINE', 1, 1]]],
      ['OPEN', store, [['DESK', 1, 1]]],
    ]);
    expect(read.fulfillmentOrders.nodes[0].lineItems.nodes[0].lineItem.id).toBe(order.lines[0]!.id);
  });

  it('ships part of a fulfilment order with tracking, leaves the rest open, then completes the order', async () => {
    const order = placeOrder([
      { sku: 'DESK', quantity: 3, location: 'WH' },
      { sku: 'TABLE-PINE', quantity: 1, location: 'WH' },
    ]);
    const [fulfillmentOrder] = (await readOrder(order.id)).fulfillmentOrders.nodes as Loose[];
    const [chairs, table] = fulfillmentOrder.lineItems.nodes as Loose[];
    const first = await fulfil({
      lineItemsByFulfillmentOrder: [{ fulfillmentOrderId: fulfillmentOrder.id, fulfillmentOrderLineItems: [{ id: chairs.id, quantity: 2 }] }],
      trackingInfo: { company: 'DHL Express', number: 'JD0001', url: 'https://track.example/JD0001' },
      notifyCustomer: true,
    });
    expect(first.body.data?.fulfillmentCreate).toEqual({
      fulfillment: { id: expect.stringMatching(/^gid:\/\/shopify\/Fulfillment\/\d+$/), name: `${order.name}.1`, status: 'SUCCESS', totalQuantity: 2, trackingInfo: [{ company: 'DHL Express', number: 'JD0001', url: 'https://track.example/JD0001' }] },
      userErrors: [],
    });
    expect(first.body.extensions?.cost?.requestedQueryCost).toBe(10);
    let read = await readOrder(order.id);
    expect(read.displayFulfillmentStatus).toBe('PARTIALLY_FULFILLED');
    expect(read.fulfillmentOrders.nodes[0].status).toBe('IN_PROGRESS');
    expect(read.fulfillmentOrders.nodes[0].lineItems.nodes.map((line: Loose) => line.remainingQuantity)).toEqual([1, 1]);
    expect(simulator.state.level({ sku: 'DESK', location: 'WH' })?.quantities).toMatchObject({ available: 7, committed: 1, on_hand: 8 });

    const rest = await fulfil({ lineItemsByFulfillmentOrder: [{ fulfillmentOrderId: fulfillmentOrder.id }] });
    expect(rest.body.data?.fulfillmentCreate.userErrors).toEqual([]);
    expect(rest.body.data?.fulfillmentCreate.fulfillment).toMatchObject({ name: `${order.name}.2`, totalQuantity: 2, trackingInfo: [] });
    read = await readOrder(order.id);
    expect(read.displayFulfillmentStatus).toBe('FULFILLED');
    expect(read.fulfillmentOrders.nodes[0].status).toBe('CLOSED');
    expect(read.fulfillments.map((fulfillment: Loose) => [fulfillment.name, fulfillment.displayStatus, fulfillment.fulfillmentLineItems.nodes.map((line: Loose) => [line.lineItem.sku, line.quantity])])).toEqual([
      [`${order.name}.1`, 'FULFILLED', [['DESK', 2]]],
      [`${order.name}.2`, 'MARKED_AS_FULFILLED', [['DESK', 1], ['TABLE-PINE', 1]]],
    ]);
    expect(table.remainingQuantity).toBe(1);
    expect(simulator.state.level({ sku: 'TABLE-PINE', location: 'WH' })?.quantities).toMatchObject({ committed: 0, on_hand: 2 });
  });

  it('refuses more than remains, an unknown id, a closed or a cancelled fulfilment order, shipping nothing of the call', async () => {
    const order = placeOrder([{ sku: 'DESK', quantity: 2, location: 'WH' }]);
    const [fulfillmentOrder] = (await readOrder(order.id)).fulfillmentOrders.nodes as Loose[];
    const line = fulfillmentOrder.lineItems.nodes[0];

    const tooMany = await fulfil({ lineItemsByFulfillmentOrder: [{ fulfillmentOrderId: fulfillmentOrder.id, fulfillmentOrderLineItems: [{ id: line.id, quantity: 3 }] }] });
    expect(tooMany.body.data?.fulfillmentCreate.fulfillment).toBeNull();
    expect(tooMany.body.data?.fulfillmentCreate.userErrors).toEqual([
      { field: ['fulfillment', 'lineItemsByFulfillmentOrder', '0', 'fulfillmentOrderLineItems', '0', 'quantity'], message: expect.stringContaining('Invalid fulfillment order line item quantity requested') },
    ]);

    const unknown = await fulfil({ lineItemsByFulfillmentOrder: [{ fulfillmentOrderId: 'gid://shopify/FulfillmentOrder/1' }] });
    expect(unknown.body.data?.fulfillmentCreate.userErrors[0].field).toEqual(['fulfillment', 'lineItemsByFulfillmentOrder', '0', 'fulfillmentOrderId']);
    expect((await readOrder(order.id)).fulfillmentOrders.nodes[0].lineItems.nodes[0].remainingQuantity).toBe(2);

    expect((await fulfil({ lineItemsByFulfillmentOrder: [{ fulfillmentOrderId: fulfillmentOrder.id }] })).body.data?.fulfillmentCreate.userErrors).toEqual([]);
    const closed = await fulfil({ lineItemsByFulfillmentOrder: [{ fulfillmentOrderId: fulfillmentOrder.id }] });
    expect(closed.body.data?.fulfillmentCreate.userErrors[0].message).toMatch(/unfulfillable status= closed/);

    const cancelledOrder = placeOrder([{ sku: 'TABLE-PINE', quantity: 1, location: 'WH' }]);
    simulator.state.cancelOrder(cancelledOrder.id);
    const cancelled = (await readOrder(cancelledOrder.id)).fulfillmentOrders.nodes[0];
    expect(cancelled.status).toBe('CANCELLED');
    const refused = await fulfil({ lineItemsByFulfillmentOrder: [{ fulfillmentOrderId: cancelled.id }] });
    expect(refused.body.data?.fulfillmentCreate.userErrors[0].message).toMatch(/unfulfillable status= cancelled/);
    expect(simulator.state.order(cancelledOrder.id).fulfillments).toEqual([]);
  });

  it('ships nothing when one fulfilment order of the call is refused, and refuses fulfilment orders of two locations together', async () => {
    const order = placeOrder([
      { sku: 'DESK', quantity: 2, location: 'WH' },
      { sku: 'DESK', quantity: 1, location: 'STORE' },
    ]);
    const [warehouse, store] = (await readOrder(order.id)).fulfillmentOrders.nodes as Loose[];
    const mixed = await fulfil({
      lineItemsByFulfillmentOrder: [
        { fulfillmentOrderId: warehouse.id, fulfillmentOrderLineItems: [{ id: warehouse.lineItems.nodes[0].id, quantity: 1 }] },
        { fulfillmentOrderId: 'gid://shopify/FulfillmentOrder/99' },
      ],
    });
    expect(mixed.body.data?.fulfillmentCreate.fulfillment).toBeNull();
    expect(mixed.body.data?.fulfillmentCreate.userErrors.map((error: Loose) => error.field)).toEqual([['fulfillment', 'lineItemsByFulfillmentOrder', '1', 'fulfillmentOrderId']]);
    const twoLocations = await fulfil({ lineItemsByFulfillmentOrder: [{ fulfillmentOrderId: warehouse.id }, { fulfillmentOrderId: store.id }] });
    expect(twoLocations.body.data?.fulfillmentCreate.userErrors).toEqual([{ field: ['fulfillment', 'lineItemsByFulfillmentOrder', '1', 'fulfillmentOrderId'], message: 'All fulfillment orders must be assigned to the same location.' }]);
    const read = await readOrder(order.id);
    expect(read.fulfillments).toEqual([]);
    expect(read.fulfillmentOrders.nodes.map((node: Loose) => [node.status, node.lineItems.nodes[0].remainingQuantity])).toEqual([
      ['OPEN', 2],
      ['OPEN', 1],
    ]);
    expect(simulator.state.level({ sku: 'DESK', location: 'WH' })?.quantities.committed).toBe(2);
  });

  it('closes a partly shipped fulfilment order and cancels an untouched one when the order is cancelled', async () => {
    const order = placeOrder([
      { sku: 'DESK', quantity: 2, location: 'WH' },
      { sku: 'DESK', quantity: 1, location: 'STORE' },
    ]);
    const [warehouse] = (await readOrder(order.id)).fulfillmentOrders.nodes as Loose[];
    await fulfil({ lineItemsByFulfillmentOrder: [{ fulfillmentOrderId: warehouse.id, fulfillmentOrderLineItems: [{ id: warehouse.lineItems.nodes[0].id, quantity: 1 }] }] });
    simulator.state.cancelOrder(order.id);
    const read = await readOrder(order.id);
    expect(read.fulfillmentOrders.nodes.map((node: Loose) => [node.status, node.lineItems.nodes[0].totalQuantity, node.lineItems.nodes[0].remainingQuantity])).toEqual([
      ['CLOSED', 1, 0],
      ['CANCELLED', 0, 0],
    ]);
    const displayable = await graphql(simulator, 'query($id: ID!) { order(id: $id) { fulfillmentOrders(first: 5, displayable: true) { nodes { status } } } }', { id: order.id });
    expect(displayable.body.data?.order.fulfillmentOrders.nodes).toEqual([{ status: 'CLOSED' }]);
  });

  it('takes refunded units off the fulfilment order, so only what the customer still awaits can ship', async () => {
    const order = placeOrder([{ sku: 'DESK', quantity: 3, location: 'WH' }]);
    simulator.state.refundOrder(order.id, { lines: [{ sku: 'DESK', quantity: 1 }] });
    const line = (await readOrder(order.id)).fulfillmentOrders.nodes[0].lineItems.nodes[0];
    expect([line.totalQuantity, line.remainingQuantity]).toEqual([2, 2]);
    const view = simulator.state.order(order.id);
    expect(view.fulfillmentOrders[0]).toMatchObject({ status: 'OPEN', lines: [{ sku: 'DESK', totalQuantity: 2, remainingQuantity: 2 }] });
  });

  it('sends fulfillments/create as the REST fulfilment, then orders/partially_fulfilled or orders/fulfilled', async () => {
    receiver = await startReceiver();
    for (const topic of ['FULFILLMENTS_CREATE', 'ORDERS_PARTIALLY_FULFILLED', 'ORDERS_FULFILLED', 'ORDERS_UPDATED']) await subscribe(simulator, topic, receiver.url);
    const order = placeOrder([{ sku: 'DESK', quantity: 3, location: 'WH' }]);
    const fulfillmentOrder = (await readOrder(order.id)).fulfillmentOrders.nodes[0];
    await fulfil({
      lineItemsByFulfillmentOrder: [{ fulfillmentOrderId: fulfillmentOrder.id, fulfillmentOrderLineItems: [{ id: fulfillmentOrder.lineItems.nodes[0].id, quantity: 1 }] }],
      trackingInfo: { company: 'UPS', number: '1Z999' },
    });
    await fulfil({ lineItemsByFulfillmentOrder: [{ fulfillmentOrderId: fulfillmentOrder.id }] });
    await simulator.state.settleWebhooks();
    const topics = receiver.received.map((delivery) => delivery.headers['x-shopify-topic']);
    expect(topics).toEqual(['fulfillments/create', 'orders/updated', 'orders/partially_fulfilled', 'fulfillments/create', 'orders/updated', 'orders/fulfilled']);
    const created = JSON.parse(receiver.received[0]!.raw.toString('utf8')) as Loose;
    expect(created).toMatchObject({
      admin_graphql_api_id: expect.stringMatching(/^gid:\/\/shopify\/Fulfillment\/\d+$/),
      order_id: order.legacyId,
      name: `${order.name}.1`,
      status: 'success',
      location_id: simulator.state.shop.getLocation('WH').id,
      tracking_company: 'UPS',
      tracking_number: '1Z999',
      tracking_numbers: ['1Z999'],
      tracking_url: null,
      created_at: '2026-11-27T10:00:00+00:00',
    });
    expect(created.line_items.map((line: Loose) => [line.sku, line.quantity])).toEqual([['DESK', 1]]);
    const fulfilled = JSON.parse(receiver.received[5]!.raw.toString('utf8')) as Loose;
    expect(fulfilled.fulfillment_status).toBe('fulfilled');
    expect(fulfilled.fulfillments.map((fulfillment: Loose) => fulfillment.line_items[0].quantity)).toEqual([1, 2]);
  });

  it('lets a merchant fulfil by hand through the control API; the app then sees the order fulfilled, not open', async () => {
    const order = placeOrder([
      { sku: 'DESK', quantity: 2, location: 'WH' },
      { sku: 'TABLE-PINE', quantity: 1, location: 'WH' },
    ]);
    const response = await fetch(`${simulator.adminUrl}/_simulator/orders/${encodeURIComponent(order.id)}/fulfill`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ lines: [{ sku: 'DESK', quantity: 2 }], tracking: { company: 'La Poste', number: 'LP42' } }),
    });
    expect(response.status).toBe(200);
    const view = (await response.json()) as Loose;
    expect(view.fulfillmentStatus).toBe('PARTIALLY_FULFILLED');
    expect(view.fulfillments).toEqual([expect.objectContaining({ createdBy: 'merchant', tracking: [{ company: 'La Poste', number: 'LP42', url: null }], lines: [expect.objectContaining({ sku: 'DESK', quantity: 2 })] })]);

    const read = await readOrder(order.id);
    expect(read.fulfillments[0].trackingInfo).toEqual([{ company: 'La Poste', number: 'LP42', url: null }]);
    expect(read.fulfillmentOrders.nodes[0].lineItems.nodes.map((line: Loose) => line.remainingQuantity)).toEqual([0, 1]);

    simulator.state.fulfillOrder(order.id);
    expect(simulator.state.order(order.id).fulfillmentStatus).toBe('FULFILLED');
    const again = await fetch(`${simulator.adminUrl}/_simulator/orders/${encodeURIComponent(order.id)}/fulfill`, { method: 'POST' });
    expect(again.status).toBe(409);
  });
});
