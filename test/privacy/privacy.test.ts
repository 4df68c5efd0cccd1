import { randomUUID } from 'node:crypto';
import { eq, sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rowsOf } from '../../src/db/database.js';
import { privacyRequests } from '../../src/db/schema/index.js';
import { createWebhookTopicRegistry } from '../../src/http/webhook-topics.js';
import type { OrderSnapshot } from '../../src/orders/order.models.js';
import { contentDigestOf } from '../../src/orders/shopify-order.payloads.js';
import { createPrivacyRepository } from '../../src/privacy/privacy.repository.js';
import { createPrivacyService, type PrivacyService } from '../../src/privacy/privacy.service.js';
import { privacyWebhookHandlers } from '../../src/privacy/privacy.webhooks.js';
import { signWebhookBody } from '../../src/simulators/shopify/index.js';
import { createTestDatabase, type TestDatabase } from '../support/database.js';
import { createMemoryLogger } from '../support/gateway.js';
import { startOrdersInstance, startShopAndErp, type OrdersInstance, type ShopAndErp } from '../orders/support/orders-harness.js';

const DAY = 86_400_000;

describe('personal data: retention and Shopify GDPR requests', () => {
  let world: ShopAndErp;
  let database: TestDatabase;
  let instance: OrdersInstance;
  let shop: string;
  let clock: Date;
  let privacy: PrivacyService;
  let nextOrderId = 880_000_001;

  beforeAll(async () => {
    world = await startShopAndErp([{ sku: 'PRIV-1' }]);
    database = await createTestDatabase();
    // One registry for the orders' and the privacy topics, as the gateway composes them.
    const webhookRegistry = createWebhookTopicRegistry();
    instance = await startOrdersInstance(world, database, { webhookRegistry });
    shop = world.shopify.shopDomain;
    clock = new Date();
    privacy = createPrivacyService({
      repository: createPrivacyRepository(database.db),
      orders: { contentDigestOf: (snapshot) => contentDigestOf(snapshot as OrderSnapshot) },
      retentionDays: 30,
      alerts: instance.alertSender,
      log: createMemoryLogger('silent').log,
      now: () => clock,
      batchSize: 2,
    });
    for (const [topic, handler] of Object.entries({ ...instance.module.webhookTopics, ...privacyWebhookHandlers(privacy, shop) })) webhookRegistry.register(topic, handler);
  });

  afterAll(async () => {
    await instance?.close();
    await database?.close();
    await world?.close();
  });

  function orderJson(id: number, customer: { email: string; first: string; last: string }, updatedAt = new Date().toISOString()) {
    const variant = world.variants.get('PRIV-1')!;
    return JSON.stringify({
      id,
      name: `#P${id}`,
      created_at: new Date().toISOString(),
      updated_at: updatedAt,
      cancelled_at: null,
      currency: 'EUR',
      email: customer.email,
      customer: { id: id + 7, email: customer.email, first_name: customer.first, last_name: customer.last, phone: '+33 1 23 45 67 89' },
      shipping_address: { first_name: customer.first, last_name: customer.last, name: `${customer.first} ${customer.last}`, address1: `${id} Privacy Street`, address2: '', city: 'Lyon', zip: '69001', province_code: null, country_code: 'FR', phone: '+33 1 23 45 67 89', company: null },
      line_items: [{ id: id * 10, sku: variant.sku, variant_id: Number(variant.variantId.split('/').pop()), title: 'Private product', quantity: 1, current_quantity: 1, price: '10.00' }],
    });
  }

  async function post(topic: string, body: string, options: { webhookId?: string; secret?: string } = {}) {
    return fetch(instance.webhookUrl, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        'x-shopify-topic': topic,
        'x-shopify-hmac-sha256': signWebhookBody(options.secret ?? world.shopify.apiSecret, body),
        'x-shopify-shop-domain': shop,
        'x-shopify-webhook-id': options.webhookId ?? randomUUID(),
        'x-shopify-event-id': randomUUID(),
      },
      body,
    });
  }

  /** An order received by webhook; `submitted` drains it into the (simulated) ERP. */
  async function receiveOrder(customer: { email: string; first: string; last: string }, submitted = true) {
    const id = nextOrderId++;
    const webhookId = `priv-create-${id}`;
    const body = orderJson(id, customer);
    expect((await post('orders/create', body, { webhookId })).status).toBe(200);
    if (submitted) await instance.drain();
    return { id: String(id), webhookId, body };
  }

  async function rowsAbout(orderId: string) {
    const [order] = rowsOf<{ status: string; erp_reference: string | null; snapshot: Record<string, unknown>; redacted_at: unknown; submitted_digest: string | null }>(
      await database.db.execute(sql`select status, erp_reference, snapshot, redacted_at, submitted_digest from shopify_orders where shopify_order_id = ${orderId}`),
    );
    const deliveries = rowsOf<{ webhook_id: string; status: string; body: string; redacted_at: unknown }>(
      await database.db.execute(sql`select webhook_id, status, body, redacted_at from webhook_inbox where order_ref = ${orderId} order by id`),
    );
    return { order: order!, deliveries };
  }

  it('keeps personal data younger than RETENTION_DAYS, and removes it from settled orders and their webhook bodies after', async () => {
    const ada = { email: 'ada.retention@example.com', first: 'Ada', last: 'Retention' };
    const old = await receiveOrder(ada);
    const waiting = await receiveOrder({ email: 'bob.inflight@example.com', first: 'Bob', last: 'Inflight' }, false);
    const before = await rowsAbout(old.id);
    expect(before.order.status).toBe('SUBMITTED');

    clock = new Date(Date.now() + 29 * DAY);
    expect(await privacy.applyRetention()).toEqual({ orders: 0, deliveries: 0 });
    expect(JSON.stringify((await rowsAbout(old.id)).order.snapshot)).toContain('ada.retention@example.com');

    clock = new Date(Date.now() + 31 * DAY);
    const removed = await privacy.applyRetention();
    expect(removed.orders).toBeGreaterThanOrEqual(1);
    const after = await rowsAbout(old.id);
    const kept = JSON.stringify(after);
    for (const personal of ['ada.retention@example.com', 'Retention', 'Privacy Street', '+33 1 23 45 67 89', '69001']) expect(kept).not.toContain(personal);
    // What exactly-once needs stays: ids, status, ERP reference, the digest sent.
    expect(after.order).toMatchObject({ status: 'SUBMITTED', erp_reference: before.order.erp_reference, submitted_digest: before.order.submitted_digest });
    expect(after.order.redacted_at).not.toBeNull();
    expect(after.deliveries.map((row) => [row.webhook_id, row.status, row.body])).toEqual([[old.webhookId, 'DONE', '']]);

    // The order still on its way (its delivery pending, the order not yet stored) keeps everything.
    const inFlight = await rowsAbout(waiting.id);
    expect(inFlight.deliveries[0]).toMatchObject({ status: 'PENDING', body: waiting.body });

    // A redelivery of the redacted order's webhook is still a duplicate, and a later update of the
    // order in Shopify that changes nothing the ERP has raises no conflict.
    expect(await (await post('orders/create', old.body, { webhookId: old.webhookId })).json()).toEqual({ result: 'duplicate' });
    const update = orderJson(Number(old.id), ada, new Date(Date.now() + 60_000).toISOString());
    expect((await post('orders/updated', update)).status).toBe(200);
    await instance.drain();
    const stored = await instance.module.services.findOrder(old.id);
    expect(stored).toMatchObject({ status: 'SUBMITTED', flags: [] });
    clock = new Date();
  });

  it('customers/redact removes that customer’s data from orders and webhook bodies, and nobody else’s', async () => {
    const grace = { email: 'Grace.Redact@example.com', first: 'Grace', last: 'Redact' };
    const first = await receiveOrder(grace);
    const second = await receiveOrder({ ...grace, email: 'grace.redact@example.com' });
    const other = await receiveOrder({ email: 'alan.keep@example.com', first: 'Alan', last: 'Keep' });
    const request = JSON.stringify({ shop_id: 1, shop_domain: shop, customer: { id: 4242, email: 'grace.redact@example.com', phone: null }, orders_to_redact: [Number(first.id)] });
    const webhookId = randomUUID();
    expect(await (await post('customers/redact', request, { webhookId })).json()).toEqual({ result: 'recorded' });
    expect(await (await post('customers/redact', request, { webhookId })).json()).toEqual({ result: 'duplicate' });
    await privacy.processPending();

    for (const order of [first, second]) {
      const rows = JSON.stringify(await rowsAbout(order.id));
      expect(rows.toLowerCase()).not.toContain('grace.redact@example.com');
      expect(rows).not.toContain('Privacy Street');
    }
    expect(JSON.stringify(await rowsAbout(other.id))).toContain('alan.keep@example.com');
    const [recorded] = await database.db.select().from(privacyRequests).where(eq(privacyRequests.webhookId, webhookId));
    expect(recorded).toMatchObject({ status: 'DONE', topic: 'customers/redact', shopifyCustomerId: '4242', customerEmail: null });
    expect(recorded!.outcome).toMatch(/^2 orders and 2 webhook bodies redacted$/);
  });

  it('a redaction waits for the customer’s order still on its way to the ERP, then completes', async () => {
    const lin = { email: 'lin.waits@example.com', first: 'Lin', last: 'Waits' };
    const pending = await receiveOrder(lin, false);
    const request = JSON.stringify({ shop_domain: shop, customer: { id: 77, email: lin.email }, orders_to_redact: [Number(pending.id)] });
    const webhookId = randomUUID();
    await post('customers/redact', request, { webhookId });
    await privacy.processPending();
    const [waiting] = await database.db.select().from(privacyRequests).where(eq(privacyRequests.webhookId, webhookId));
    expect(waiting).toMatchObject({ status: 'PENDING' });
    expect(waiting!.outcome).toMatch(/waiting for/);
    expect(JSON.stringify(await rowsAbout(pending.id))).toContain(lin.email);

    await instance.drain();
    expect((await rowsAbout(pending.id)).order.status).toBe('SUBMITTED');
    await privacy.processPending();
    const [done] = await database.db.select().from(privacyRequests).where(eq(privacyRequests.webhookId, webhookId));
    expect(done).toMatchObject({ status: 'DONE', customerEmail: null });
    expect(JSON.stringify(await rowsAbout(pending.id))).not.toContain(lin.email);
    await instance.alertSender.flush();
    expect(world.alerts.received.some((alert) => alert.code === 'PRIVACY_REDACTION_WAITING')).toBe(true);
  });

  it('customers/data_request is recorded and alerted to the operator with what the gateway holds', async () => {
    const mae = { email: 'mae.asks@example.com', first: 'Mae', last: 'Asks' };
    const order = await receiveOrder(mae);
    const request = JSON.stringify({ shop_domain: shop, customer: { id: 9001, email: mae.email, phone: null }, orders_requested: [Number(order.id)], data_request: { id: 555 } });
    const webhookId = randomUUID();
    expect(await (await post('customers/data_request', request, { webhookId })).json()).toEqual({ result: 'recorded' });
    await privacy.processPending();
    const [recorded] = await database.db.select().from(privacyRequests).where(eq(privacyRequests.webhookId, webhookId));
    expect(recorded).toMatchObject({ status: 'DONE', dataRequestId: '555', shopifyCustomerId: '9001', customerEmail: null, outcome: 'operator alerted; 1 orders held' });
    await instance.alertSender.flush();
    const alert = world.alerts.received.find((candidate) => candidate.code === 'PRIVACY_DATA_REQUEST' && candidate.details.dataRequestId === '555');
    expect(alert).toMatchObject({ severity: 'warning', details: { shopifyCustomerId: '9001', ordersHeld: 1 } });
    // The customer's data itself stays: a data request removes nothing.
    expect(JSON.stringify(await rowsAbout(order.id))).toContain(mae.email);
  });

  it('shop/redact removes every customer’s data of the shop', async () => {
    const someone = await receiveOrder({ email: 'last.one@example.com', first: 'Last', last: 'One' });
    expect(await (await post('shop/redact', JSON.stringify({ shop_id: 1, shop_domain: shop }))).json()).toEqual({ result: 'recorded' });
    await privacy.processPending();
    const remaining = rowsOf<{ count: number }>(
      await database.db.execute(sql`select count(*)::int as count from shopify_orders where shop = ${shop} and redacted_at is null and status in ('SUBMITTED', 'CANCELLED')`),
    );
    expect(remaining[0]!.count).toBe(0);
    expect(JSON.stringify(await rowsAbout(someone.id))).not.toContain('last.one@example.com');
    const bodies = rowsOf<{ count: number }>(await database.db.execute(sql`select count(*)::int as count from webhook_inbox where shop = ${shop} and status <> 'PENDING' and body <> ''`));
    expect(bodies[0]!.count).toBe(0);
  });

  it('refuses a GDPR webhook with a wrong signature and records nothing; ignores one for another shop', async () => {
    const webhookId = randomUUID();
    const request = JSON.stringify({ shop_domain: shop, customer: { id: 1, email: 'x@example.com' }, orders_to_redact: [] });
    expect((await post('customers/redact', request, { webhookId, secret: 'not-the-secret' })).status).toBe(401);
    const foreign = JSON.stringify({ shop_domain: 'someone-else.myshopify.com', customer: { id: 1, email: 'x@example.com' }, orders_to_redact: [] });
    expect(await (await post('customers/redact', foreign, { webhookId: randomUUID() })).json()).toEqual({ result: 'ignored' });
    expect(await (await post('customers/redact', '{"not": "a request"}')).json()).toEqual({ result: 'malformed' });
    expect(await database.db.select().from(privacyRequests).where(eq(privacyRequests.webhookId, webhookId))).toEqual([]);
  });
});
