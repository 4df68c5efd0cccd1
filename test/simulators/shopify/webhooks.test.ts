import { createHmac, timingSafeEqual } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ManualClock, SHOPIFY_RETRY_SCHEDULE_SECONDS, signWebhookBody, type ShopifySimulator } from '../../../src/simulators/shopify/index.js';
import { graphql, ids, SET_QUANTITIES, startReceiver, startSmallShop, subscribe, type Loose } from './support.js';

/** Verifies as a receiver must: HMAC-SHA256 of the raw bytes with the client secret, compared in constant time. */
function verifies(secret: string, raw: Buffer, header: string): boolean {
  const expected = Buffer.from(createHmac('sha256', secret).update(raw).digest('base64'));
  const given = Buffer.from(header);
  return expected.length === given.length && timingSafeEqual(expected, given);
}

describe('Shopify simulator: webhooks', () => {
  let simulator: ShopifySimulator;
  let clock: ManualClock;
  let receiver: Awaited<ReturnType<typeof startReceiver>>;
  beforeEach(async () => {
    clock = new ManualClock(Date.parse('2026-11-27T10:00:00Z'));
    simulator = await startSmallShop({ clock, webhookTimeScale: 1, apiSecret: 'shpss_test_secret' });
  });
  afterEach(async () => {
    await simulator.close();
    await receiver.close();
  });

  it('delivers orders/create as the REST order, with every Shopify header and a signature that verifies', async () => {
    receiver = await startReceiver();
    await subscribe(simulator, 'ORDERS_CREATE', receiver.url, 'erp-orders-create');
    const placed = simulator.state.placeOrder({ lines: [{ sku: 'TABLE-PINE', quantity: 2 }], email: 'buyer@example.test' });
    if (!placed.placed) throw new Error('order refused');
    await simulator.state.settleWebhooks();

    expect(receiver.received).toHaveLength(1);
    const [delivery] = receiver.received;
    expect(delivery!.headers).toMatchObject({
      'content-type': 'application/json',
      'x-shopify-topic': 'orders/create',
      'x-shopify-shop-domain': simulator.shopDomain,
      'x-shopify-api-version': '2026-10',
      'x-shopify-name': 'erp-orders-create',
      'x-shopify-triggered-at': '2026-11-27T10:00:00.000Z',
    });
    expect(delivery!.headers['x-shopify-webhook-id']).toMatch(/^[0-9a-f-]{36}$/);
    expect(delivery!.headers['x-shopify-event-id']).toMatch(/^[0-9a-f-]{36}$/);
    expect(verifies(simulator.apiSecret, delivery!.raw, delivery!.headers['x-shopify-hmac-sha256']!)).toBe(true);
    expect(delivery!.headers['x-shopify-hmac-sha256']).toBe(signWebhookBody('shpss_test_secret', delivery!.raw));

    const body = JSON.parse(delivery!.raw.toString('utf8')) as Loose;
    expect(body).toMatchObject({
      id: placed.order.legacyId,
      admin_graphql_api_id: placed.order.id,
      name: '#1001',
      email: 'buyer@example.test',
      financial_status: 'paid',
      cancelled_at: null,
      total_price: '240.00',
      currency: 'EUR',
      created_at: '2026-11-27T10:00:00+00:00',
    });
    expect(body.line_items).toEqual([
      expect.objectContaining({
        sku: 'TABLE-PINE',
        quantity: 2,
        price: '120.00',
        variant_id: Number(placed.order.lines[0]!.variantId!.split('/').at(-1)),
        admin_graphql_api_id: placed.order.lines[0]!.id,
        price_set: { shop_money: { amount: '120.00', currency_code: 'EUR' }, presentment_money: { amount: '120.00', currency_code: 'EUR' } },
      }),
    ]);
  });

  it('fails verification when one byte of the body changes or the secret is wrong', async () => {
    receiver = await startReceiver();
    await subscribe(simulator, 'ORDERS_CREATE', receiver.url);
    simulator.state.placeOrder({ lines: [{ sku: 'TABLE-PINE', quantity: 1 }] });
    await simulator.state.settleWebhooks();
    const [delivery] = receiver.received;
    const tampered = Buffer.from(delivery!.raw);
    tampered[tampered.length - 2] = tampered[tampered.length - 2]! ^ 0x01;
    expect(verifies(simulator.apiSecret, tampered, delivery!.headers['x-shopify-hmac-sha256']!)).toBe(false);
    expect(verifies('another-secret', delivery!.raw, delivery!.headers['x-shopify-hmac-sha256']!)).toBe(false);
  });

  it('retries a failed delivery on the retry schedule with the same ids and payload until it succeeds', async () => {
    receiver = await startReceiver([500, 503]);
    await subscribe(simulator, 'ORDERS_CREATE', receiver.url);
    simulator.state.placeOrder({ lines: [{ sku: 'TABLE-PINE', quantity: 1 }] });
    await simulator.state.settleWebhooks();
    expect(receiver.received).toHaveLength(1);
    clock.advance(SHOPIFY_RETRY_SCHEDULE_SECONDS[0] * 1000 - 1);
    await simulator.state.settleWebhooks();
    expect(receiver.received).toHaveLength(1);
    clock.advance(1);
    await simulator.state.settleWebhooks();
    expect(receiver.received).toHaveLength(2);
    clock.advance(SHOPIFY_RETRY_SCHEDULE_SECONDS[1] * 1000);
    await simulator.state.settleWebhooks();
    expect(receiver.received).toHaveLength(3);
    expect(new Set(receiver.received.map((delivery) => delivery.headers['x-shopify-webhook-id'])).size).toBe(1);
    expect(new Set(receiver.received.map((delivery) => delivery.raw.toString('utf8'))).size).toBe(1);
    const [record] = simulator.state.webhookDeliveries();
    expect(record).toMatchObject({ state: 'delivered', retries: 2 });
    expect(record!.attempts.map((attempt) => attempt.status)).toEqual([500, 503, 200]);
  });

  it('counts no answer within the timeout as a failure and retries it', async () => {
    await simulator.close();
    // A generous timeout: the answering second attempt must not time out on a loaded machine.
    simulator = await startSmallShop({ clock, webhookTimeScale: 1, webhookTimeoutMs: 1000 });
    let calls = 0;
    const hanging = createServer((request, response) => {
      calls++;
      if (calls === 1) return; // never answers
      request.resume();
      request.on('end', () => {
        response.writeHead(200);
        response.end();
      });
    });
    await new Promise<void>((resolve) => hanging.listen(0, '127.0.0.1', resolve));
    receiver = { url: '', received: [], close: () => new Promise((resolve) => { hanging.closeAllConnections(); hanging.close(() => resolve()); }) };
    await subscribe(simulator, 'ORDERS_CREATE', `http://127.0.0.1:${(hanging.address() as AddressInfo).port}/hooks`);
    simulator.state.placeOrder({ lines: [{ sku: 'TABLE-PINE', quantity: 1 }] });
    await simulator.state.settleWebhooks();
    expect(simulator.state.webhookDeliveries()[0]!.attempts[0]).toMatchObject({ status: null, error: 'no answer within 1000 ms' });
    clock.advance(SHOPIFY_RETRY_SCHEDULE_SECONDS[0] * 1000);
    await simulator.state.settleWebhooks();
    expect(simulator.state.webhookDeliveries()[0]).toMatchObject({ state: 'delivered', retries: 1 });
  });

  it('deletes the subscription after the eighth retry fails', async () => {
    receiver = await startReceiver(Array.from({ length: 20 }, () => 500));
    await subscribe(simulator, 'ORDERS_CREATE', receiver.url);
    simulator.state.placeOrder({ lines: [{ sku: 'TABLE-PINE', quantity: 1 }] });
    await simulator.state.settleWebhooks();
    for (const seconds of SHOPIFY_RETRY_SCHEDULE_SECONDS) {
      clock.advance(seconds * 1000);
      await simulator.state.settleWebhooks();
    }
    expect(receiver.received).toHaveLength(9);
    expect(simulator.state.webhookDeliveries()[0]!.state).toBe('failed');
    expect(simulator.state.webhookSubscriptions()).toEqual([]);
  });

  it('sends inventory_levels/update when available changes, and refunds/create with cancel restocks', async () => {
    receiver = await startReceiver();
    await subscribe(simulator, 'INVENTORY_LEVELS_UPDATE', receiver.url);
    await subscribe(simulator, 'REFUNDS_CREATE', receiver.url);
    await subscribe(simulator, 'ORDERS_CANCELLED', receiver.url);
    const table = ids(simulator, 'TABLE-PINE', 'WH');
    await graphql(simulator, SET_QUANTITIES, { key: 'k', input: { name: 'available', reason: 'correction', quantities: [{ ...table, quantity: 7, changeFromQuantity: 3 }] } });
    const placed = simulator.state.placeOrder({ lines: [{ sku: 'TABLE-PINE', quantity: 2 }] });
    if (!placed.placed) throw new Error('order refused');
    simulator.state.cancelOrder(placed.order.id, { reason: 'CUSTOMER' });
    await simulator.state.settleWebhooks();
    const byTopic = (topic: string) => receiver.received.filter((delivery) => delivery.headers['x-shopify-topic'] === topic).map((delivery) => JSON.parse(delivery.raw.toString('utf8')) as Loose);
    const itemId = Number(table.inventoryItemId.split('/').at(-1));
    const locationId = Number(table.locationId.split('/').at(-1));
    expect(byTopic('inventory_levels/update').map((level) => level.available)).toEqual([7, 5, 7]);
    expect(byTopic('inventory_levels/update')[0]).toEqual({
      inventory_item_id: itemId,
      location_id: locationId,
      available: 7,
      updated_at: '2026-11-27T10:00:00+00:00',
      admin_graphql_api_id: `gid://shopify/InventoryLevel/${locationId}?inventory_item_id=${itemId}`,
    });
    expect(byTopic('orders/cancelled')[0]).toMatchObject({ cancel_reason: 'customer', cancelled_at: '2026-11-27T10:00:00+00:00' });
    expect(byTopic('refunds/create')[0].refund_line_items).toEqual([
      expect.objectContaining({ quantity: 2, restock_type: 'cancel', location_id: locationId, line_item: expect.objectContaining({ sku: 'TABLE-PINE' }) }),
    ]);
  });

  it('duplicates a delivery with the same Webhook-Id when told to, and drops events when told to', async () => {
    receiver = await startReceiver();
    await subscribe(simulator, 'ORDERS_CREATE', receiver.url);
    simulator.state.setWebhookFaults({ duplicateRate: 1 });
    simulator.state.placeOrder({ lines: [{ sku: 'TABLE-PINE', quantity: 1 }] });
    await simulator.state.settleWebhooks();
    expect(receiver.received).toHaveLength(2);
    expect(receiver.received[0]!.headers['x-shopify-webhook-id']).toBe(receiver.received[1]!.headers['x-shopify-webhook-id']);
    simulator.state.setWebhookFaults({ dropRate: 1 });
    simulator.state.placeOrder({ lines: [{ sku: 'TABLE-PINE', quantity: 1 }] });
    await simulator.state.settleWebhooks();
    expect(receiver.received).toHaveLength(2);
    expect(simulator.state.webhookDeliveries().map((delivery) => delivery.state)).toEqual(['delivered', 'dropped']);
  });

  it('lets later events overtake a held-back delivery when reordering', async () => {
    receiver = await startReceiver();
    await subscribe(simulator, 'ORDERS_CREATE', receiver.url);
    simulator.state.setWebhookFaults({ reorderRate: 1, reorderDelayMs: 10_000 });
    simulator.state.placeOrder({ lines: [{ sku: 'TABLE-PINE', quantity: 1 }] });
    simulator.state.setWebhookFaults({});
    simulator.state.placeOrder({ lines: [{ sku: 'TABLE-PINE', quantity: 1 }] });
    await simulator.state.settleWebhooks();
    clock.advance(10_000);
    await simulator.state.settleWebhooks();
    expect(receiver.received.map((delivery) => (JSON.parse(delivery.raw.toString('utf8')) as Loose).name)).toEqual(['#1002', '#1001']);
  });

  it('lists, refuses duplicate and deletes subscriptions through GraphQL', async () => {
    receiver = await startReceiver();
    const created = await subscribe(simulator, 'ORDERS_UPDATED', receiver.url);
    const duplicate = await graphql(simulator, 'mutation($uri: String!) { webhookSubscriptionCreate(topic: ORDERS_UPDATED, webhookSubscription: { uri: $uri }) { userErrors { message } } }', { uri: receiver.url });
    expect(duplicate.body.data?.webhookSubscriptionCreate.userErrors).toEqual([{ message: 'Address for this topic has already been taken' }]);
    const listed = await graphql(simulator, '{ webhookSubscriptions(first: 10) { nodes { id topic uri format includeFields } } }');
    expect(listed.body.data?.webhookSubscriptions.nodes).toEqual([{ id: created.id, topic: 'ORDERS_UPDATED', uri: receiver.url, format: 'JSON', includeFields: [] }]);
    const deleted = await graphql(simulator, 'mutation($id: ID!) { webhookSubscriptionDelete(id: $id) { deletedWebhookSubscriptionId userErrors { message } } }', { id: created.id });
    expect(deleted.body.data?.webhookSubscriptionDelete).toEqual({ deletedWebhookSubscriptionId: created.id, userErrors: [] });
  });
});
