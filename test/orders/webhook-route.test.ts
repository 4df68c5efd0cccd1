import { randomUUID } from 'node:crypto';
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { acknowledgementStatements } from '../../src/db/database.js';
import { signWebhookBody } from '../../src/simulators/shopify/index.js';
import { createTestDatabase, type TestDatabase } from '../support/database.js';
import { startOrdersInstance, startShopAndErp, type OrdersInstance, type ShopAndErp } from './support/orders-harness.js';

/** A signed POST as Shopify sends it (its documented X-Shopify-* headers, the HMAC of the raw body). */
async function deliver(
  instance: OrdersInstance,
  input: { topic: string; body: string | Buffer; secret?: string | null; webhookId?: string; eventId?: string; shop?: string; signature?: string },
): Promise<Response> {
  const headers: Record<string, string> = {
    'content-type': 'application/json',
    'x-shopify-topic': input.topic,
    'x-shopify-shop-domain': input.shop ?? 'orders-test.myshopify.com',
    'x-shopify-api-version': '2026-10',
    'x-shopify-webhook-id': input.webhookId ?? randomUUID(),
    'x-shopify-event-id': input.eventId ?? randomUUID(),
    'x-shopify-triggered-at': new Date().toISOString(),
  };
  if (input.signature !== undefined) headers['x-shopify-hmac-sha256'] = input.signature;
  else if (input.secret !== null) headers['x-shopify-hmac-sha256'] = signWebhookBody(input.secret!, input.body);
  return fetch(instance.webhookUrl, { method: 'POST', headers, body: input.body });
}

function orderBody(id: number, overrides: Record<string, unknown> = {}): string {
  const now = new Date().toISOString();
  return JSON.stringify({
    id,
    admin_graphql_api_id: `gid://shopify/Order/${id}`,
    name: `#${id}`,
    created_at: now,
    updated_at: now,
    cancelled_at: null,
    currency: 'EUR',
    test: false,
    email: 'buyer@example.com',
    line_items: [{ id: id * 10, sku: 'ROUTE-1', variant_id: null, title: 'Route product', quantity: 1, current_quantity: 1, price: '10.00' }],
    ...overrides,
  });
}

describe('POST /webhooks/shopify', () => {
  let world: ShopAndErp;
  let database: TestDatabase;
  let instance: OrdersInstance;
  let secret: string;

  beforeAll(async () => {
    world = await startShopAndErp([{ sku: 'ROUTE-1' }]);
    database = await createTestDatabase();
    instance = await startOrdersInstance(world, database, { env: { WEBHOOK_MAX_BYTES: '4096' } });
    secret = world.shopify.apiSecret;
  });

  afterAll(async () => {
    await instance?.close();
    await database?.close();
    await world?.close();
  });

  async function storedWith(webhookId: string) {
    const page = await instance.module.services.listDeliveries({ first: 250 });
    return page.edges.map((edge) => edge.node).filter((delivery) => delivery.webhookId === webhookId);
  }

  it('refuses a delivery signed with another secret with 401 and stores nothing', async () => {
    const webhookId = randomUUID();
    const response = await deliver(instance, { topic: 'orders/create', body: orderBody(9001), secret: 'not-the-app-secret', webhookId });
    expect(response.status).toBe(401);
    expect(await storedWith(webhookId)).toEqual([]);
  });

  it('refuses a delivery without a signature, or with a body changed after signing, with 401', async () => {
    const unsigned = await deliver(instance, { topic: 'orders/create', body: orderBody(9002), secret: null });
    expect(unsigned.status).toBe(401);
    const webhookId = randomUUID();
    const signature = signWebhookBody(secret, orderBody(9003));
    const tampered = await deliver(instance, { topic: 'orders/create', body: orderBody(9003).replace('"quantity":1', '"quantity":9'), signature, webhookId });
    expect(tampered.status).toBe(401);
    expect(await storedWith(webhookId)).toEqual([]);
  });

  it('refuses a body over the configured limit with 413', async () => {
    const body = orderBody(9004, { note: 'x'.repeat(5000) });
    const response = await deliver(instance, { topic: 'orders/create', body, secret });
    expect(response.status).toBe(413);
  });

  it('acknowledges a topic it does not handle with 200 and stores nothing', async () => {
    const webhookId = randomUUID();
    const response = await deliver(instance, { topic: 'products/update', body: '{"id":1}', secret, webhookId });
    expect(response.status).toBe(200);
    expect(await storedWith(webhookId)).toEqual([]);
    expect(instance.logLines().some((line) => line.topic === 'products/update' && String(line.msg).includes('not handled'))).toBe(true);
  });

  it('stores a signed body that is not an order as FAILED with the reason, visible through the API, and answers 200', async () => {
    const webhookId = randomUUID();
    const response = await deliver(instance, { topic: 'orders/create', body: '{"id": 77, "line_items": "nope"}', secret, webhookId });
    expect(response.status).toBe(200);
    const [stored] = await storedWith(webhookId);
    expect(stored).toMatchObject({ status: 'FAILED', topic: 'orders/create', orderRef: '77' });
    expect(stored!.lastError).toMatch(/not a Shopify order/);
    const notJson = randomUUID();
    expect((await deliver(instance, { topic: 'orders/create', body: 'this is not json', secret, webhookId: notJson })).status).toBe(200);
    expect((await storedWith(notJson))[0]).toMatchObject({ status: 'FAILED', lastError: expect.stringMatching(/not JSON/) });
    // Applying the inbox leaves failed deliveries alone and never turns them into orders.
    await instance.drain();
    expect(await instance.module.services.findOrder('77')).toBeNull();
    const failed = await instance.module.services.listDeliveries({ status: 'FAILED' });
    expect(failed.edges.map((edge) => edge.node.webhookId)).toEqual(expect.arrayContaining([webhookId, notJson]));
  });

  it('stores the exact bytes it verified, and the same webhook id three times once', async () => {
    const webhookId = randomUUID();
    const body = orderBody(9005);
    for (let i = 0; i < 3; i++) expect((await deliver(instance, { topic: 'orders/create', body, secret, webhookId })).status).toBe(200);
    const stored = await storedWith(webhookId);
    expect(stored).toHaveLength(1);
    expect(stored[0]).toMatchObject({ status: 'PENDING', body, orderRef: '9005' });
  });

  it('acknowledges and ignores a delivery for another shop', async () => {
    const webhookId = randomUUID();
    const response = await deliver(instance, { topic: 'orders/create', body: orderBody(9006), secret, webhookId, shop: 'someone-else.myshopify.com' });
    expect(response.status).toBe(200);
    expect(await storedWith(webhookId)).toEqual([]);
  });
});

describe('POST /webhooks/shopify: rotation, event ids and a saturated inbox', () => {
  let world: ShopAndErp;
  let database: TestDatabase;
  let instance: OrdersInstance;
  let secret: string;

  beforeAll(async () => {
    world = await startShopAndErp([{ sku: 'ROUTE-1' }]);
    database = await createTestDatabase();
    instance = await startOrdersInstance(world, database, { previousWebhookSecret: 'the-secret-before-rotation', inboxQueue: { maxQueued: 3 } });
    secret = world.shopify.apiSecret;
  });

  afterAll(async () => {
    await instance?.close();
    await database?.close();
    await world?.close();
  });

  async function storedIds(): Promise<string[]> {
    const page = await instance.module.services.listDeliveries({ first: 250 });
    return page.edges.map((edge) => edge.node.webhookId);
  }

  it('accepts deliveries signed with the previous secret during a rotation, and still refuses any other', async () => {
    const rotated = randomUUID();
    expect((await deliver(instance, { topic: 'orders/create', body: orderBody(9101), secret: 'the-secret-before-rotation', webhookId: rotated })).status).toBe(200);
    expect((await deliver(instance, { topic: 'orders/create', body: orderBody(9102), secret, webhookId: randomUUID() })).status).toBe(200);
    expect((await deliver(instance, { topic: 'orders/create', body: orderBody(9103), secret: 'some-older-secret', webhookId: randomUUID() })).status).toBe(401);
    expect(await storedIds()).toContain(rotated);
  });

  it('stores an event delivered under two webhook ids once (X-Shopify-Event-Id), also when both arrive together', async () => {
    const eventId = randomUUID();
    const [a, b] = [randomUUID(), randomUUID()];
    const body = orderBody(9104);
    const answers = await Promise.all([a, b].map((webhookId) => deliver(instance, { topic: 'orders/create', body, secret, webhookId, eventId })));
    expect((await Promise.all(answers.map((answer) => answer.json()))).map((json) => (json as { result: string }).result).sort()).toEqual(['duplicate', 'stored']);
    const later = await deliver(instance, { topic: 'orders/create', body, secret, webhookId: randomUUID(), eventId });
    expect(await later.json()).toEqual({ result: 'duplicate' });
    expect((await storedIds()).filter((id) => id === a || id === b)).toHaveLength(1);
    // The same event id under another topic is another event of the same action: stored.
    const updated = await deliver(instance, { topic: 'orders/updated', body, secret, webhookId: randomUUID(), eventId });
    expect(await updated.json()).toEqual({ result: 'stored' });
  });

  it('answers 503 when the write queue is full, and loses none of the deliveries it acknowledged', async () => {
    // Hold the inbox table: the first writes wait in flight (one per connection reserved for
    // acknowledgements on PostgreSQL, one on PGlite), the next three queue, the rest are refused.
    const inFlight = acknowledgementStatements(database.db).concurrency;
    let release: () => void = () => {};
    const released = new Promise<void>((resolve) => (release = resolve));
    let locked: () => void = () => {};
    const isLocked = new Promise<void>((resolve) => (locked = resolve));
    const holder = database.db.transaction(async (tx) => {
      await tx.execute(sql`lock table webhook_inbox in exclusive mode`);
      locked();
      await released;
    });
    await isLocked;
    const deliveries = Array.from({ length: 10 }, (_, i) => ({ webhookId: randomUUID(), body: orderBody(9200 + i) }));
    const answers = deliveries.map((delivery) => deliver(instance, { topic: 'orders/create', body: delivery.body, secret, webhookId: delivery.webhookId }).then((response) => ({ ...delivery, status: response.status })));
    // The refused ones answer while the table is held; wait for them before letting the writes go.
    const settled: Array<{ webhookId: string; status: number }> = [];
    for (const answer of answers) void answer.then((result) => settled.push(result));
    while (settled.filter((result) => result.status === 503).length < 7 - inFlight) await new Promise((resolve) => setTimeout(resolve, 20));
    release();
    await holder;
    const results = await Promise.all(answers);
    const acknowledged = results.filter((result) => result.status === 200).map((result) => result.webhookId);
    const refused = results.filter((result) => result.status === 503).map((result) => result.webhookId);
    expect([acknowledged.length, refused.length]).toEqual([inFlight + 3, 7 - inFlight]);
    const stored = await storedIds();
    for (const webhookId of acknowledged) expect(stored).toContain(webhookId);
    for (const webhookId of refused) expect(stored).not.toContain(webhookId);
    // Shopify retries the refused ones; now there is room.
    for (const delivery of deliveries.filter((candidate) => refused.includes(candidate.webhookId))) {
      expect((await deliver(instance, { topic: 'orders/create', body: delivery.body, secret, webhookId: delivery.webhookId })).status).toBe(200);
    }
    const after = await storedIds();
    for (const delivery of deliveries) expect(after).toContain(delivery.webhookId);
  });
});
