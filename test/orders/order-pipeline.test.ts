import { setTimeout as sleep } from 'node:timers/promises';
import postgres from 'postgres';
import { and, eq, sql } from 'drizzle-orm';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inventoryLevels } from '../../src/db/schema/index.js';
import type { ErpConnector } from '../../src/erp/erp-connector.js';
import { createAtpService } from '../../src/inventory/atp.service.js';
import { AdminApiShopifyClient } from '../../src/shopify/admin-api-shopify-client.js';
import { signWebhookBody } from '../../src/simulators/shopify/index.js';
import { createTestDatabase, type TestDatabase } from '../support/database.js';
import { createMemoryLogger } from '../support/gateway.js';
import { waitUntil } from '../support/waiting.js';
import { seedInventoryLevel, startOrdersInstance, startShopAndErp, type OrdersInstance, type ShopAndErp } from './support/orders-harness.js';

/** Repeats `step` until `done` holds (bounded): retries are scheduled on real timers. */
function until(done: () => Promise<boolean>, step: () => Promise<unknown>, timeoutMs = 30_000): Promise<void> {
  return waitUntil(async () => (await step(), done()), { timeoutMs, intervalMs: 25 });
}

const itWithPostgres = process.env.DATABASE_URL ? it : it.skip;
const SKUS = ['PIPE-A', 'PIPE-B', 'PIPE-C', 'PIPE-D', 'PIPE-E', 'PIPE-F', 'PIPE-G', 'PIPE-H', 'PIPE-I', 'PIPE-J', 'PIPE-K', 'PIPE-L', 'PIPE-M', 'PIPE-N', 'PIPE-O', 'PIPE-P', 'PIPE-Q', 'PIPE-R', 'PIPE-S', 'PIPE-T'];

describe('the order pipeline, fed by the simulator’s signed webhooks', () => {
  let world: ShopAndErp;
  let database: TestDatabase;
  let instance: OrdersInstance;
  let shop: string;

  beforeAll(async () => {
    world = await startShopAndErp([
      ...SKUS.map((sku) => ({ sku, price: '12.50' })),
      { sku: 'PIPE-LOWER', shopifySku: 'pipe-lower', unmapped: false },
      { sku: 'MERCH-ONLY', shopifyOnly: true },
      { sku: 'PIPE-CASE', conversion: { erpUnits: 1, shopifyUnits: 12 }, stock: { 'WH-A': 10, 'WH-B': 10 } },
    ]);
    database = await createTestDatabase();
    instance = await startOrdersInstance(world, database, { inboxWait: { waitBaseMs: 20 } });
    await instance.module.subscriptions.register(instance.webhookUrl);
    shop = world.shopify.shopDomain;
  });

  afterAll(async () => {
    await instance?.close();
    await database?.close();
    await world?.close();
  });

  function place(lines: Array<{ sku: string; quantity: number }>, location = 'WH-A') {
    const placed = world.shopify.state.placeOrder({ lines, location, customer: { firstName: 'Ada', lastName: 'Lovelace', email: 'ada@example.com' } });
    if (!placed.placed) throw new Error(`order refused: ${placed.message}`);
    return placed.order;
  }

  /** What `act` does in the store, with every webhook it raises lost (the poll must find it). */
  async function unheard<T>(act: () => T): Promise<T> {
    world.shopify.state.setWebhookFaults({ dropRate: 1 });
    const result = act();
    await world.shopify.state.settleWebhooks();
    world.shopify.state.clearFaults();
    return result;
  }

  /** Drains, a moment apart, until the order is SUBMITTED (a retry or a lapsed claim in between). */
  async function untilSubmitted(orderId: string) {
    await until(
      async () => (await instance.module.services.findOrder(orderId))?.status === 'SUBMITTED',
      async () => {
        await sleep(50);
        await instance.drain();
      },
    );
  }

  async function settle() {
    await world.shopify.state.settleWebhooks();
    await instance.drain();
  }

  const reference = (legacyId: number) => `gid://shopify/Order/${legacyId}`;

  it('creates one ERP sales order with the customer, mapped lines, location and prices', async () => {
    const order = place([
      { sku: 'PIPE-A', quantity: 2 },
      { sku: 'pipe-lower', quantity: 1 },
    ]);
    await settle();
    const stored = await instance.module.services.findOrder(order.id);
    expect(stored).toMatchObject({ status: 'SUBMITTED', name: order.name, lastError: null });
    expect(stored!.erpReference).toMatch(/^SO/);
    const sale = await world.connector.findSalesOrder(reference(order.legacyId));
    expect(sale).toMatchObject({ erpReference: stored!.erpReference, status: 'confirmed' });
    expect(sale!.lines.map((line) => [line.sku, line.quantity, line.location])).toEqual([
      ['PIPE-A', 2, 'WH-A'],
      ['PIPE-LOWER', 1, 'WH-A'],
    ]);
    const lines = (await instance.module.services.getLinesByOrderIds([stored!.id])).get(stored!.id)!;
    expect(lines.map((line) => [line.erpSku, line.quantity, line.location, line.unitPrice])).toEqual([
      ['PIPE-A', 2, 'WH-A', '12.50'],
      ['PIPE-LOWER', 1, 'WH-A', '10.00'],
    ]);
    // The gateway finds it by its own id, the Shopify gid and the numeric id.
    expect((await instance.module.services.findOrder(String(order.legacyId)))?.id).toBe(stored!.id);
    expect((await instance.module.services.findOrder(stored!.id))?.id).toBe(stored!.id);
  });

  it('creates one ERP order when the same webhook arrives three times', async () => {
    world.shopify.state.setWebhookFaults({ duplicateRate: 1 });
    const order = place([{ sku: 'PIPE-B', quantity: 1 }]);
    await world.shopify.state.settleWebhooks();
    world.shopify.state.clearFaults();
    const delivery = world.shopify.state.webhookDeliveries().find((candidate) => candidate.topic === 'orders/create' && candidate.body.includes(`"id":${order.legacyId},`))!;
    // Shopify's retry of the same delivery: same webhook id, same signed body.
    const response = await fetch(instance.webhookUrl, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        'x-shopify-topic': 'orders/create',
        'x-shopify-hmac-sha256': signWebhookBody(world.shopify.apiSecret, delivery.body),
        'x-shopify-shop-domain': shop,
        'x-shopify-webhook-id': delivery.webhookId,
      },
      body: delivery.body,
    });
    expect(response.status).toBe(200);
    await instance.drain();
    expect(delivery.attempts.length + 1).toBeGreaterThanOrEqual(3);
    expect(world.erp.countSalesOrders(reference(order.legacyId))).toBe(1);
    const page = await instance.module.services.listDeliveries({ orderId: String(order.legacyId), topic: 'orders/create' });
    expect(page.edges).toHaveLength(1);
  });

  it('creates one ERP order when the webhook and the poll both find it', async () => {
    const order = place([{ sku: 'PIPE-C', quantity: 3 }]);
    await world.shopify.state.settleWebhooks();
    const poll = await instance.module.poll.poll();
    await instance.drain();
    expect(poll.missed).toBe(0);
    await instance.module.poll.poll();
    await instance.drain();
    expect(world.erp.countSalesOrders(reference(order.legacyId))).toBe(1);
    expect((await instance.module.services.findOrder(order.id))?.source).toBe('webhook');
  });

  it('brings an order whose webhook was dropped into the ERP through the poll', async () => {
    const order = await unheard(() => place([{ sku: 'PIPE-D', quantity: 4 }]));
    await instance.drain();
    expect(await instance.module.services.findOrder(order.id)).toBeNull();
    const poll = await instance.module.poll.poll();
    expect(poll.missed).toBe(1);
    await instance.drain();
    const stored = await instance.module.services.findOrder(order.id);
    expect(stored).toMatchObject({ status: 'SUBMITTED', source: 'poll' });
    const sale = await world.connector.findSalesOrder(reference(order.legacyId));
    expect(sale!.lines.map((line) => [line.sku, line.quantity, line.location])).toEqual([['PIPE-D', 4, 'WH-A']]);
    expect(world.erp.countSalesOrders(reference(order.legacyId))).toBe(1);
  });

  it('delays orders while the ERP is down and loses none', async () => {
    world.erp.fail({ mode: 'down' });
    const orders = [place([{ sku: 'PIPE-E', quantity: 1 }]), place([{ sku: 'PIPE-F', quantity: 2 }]), place([{ sku: 'PIPE-E', quantity: 3 }])];
    await settle();
    let attempts = 0;
    for (const order of orders) {
      const stored = await instance.module.services.findOrder(order.id);
      expect(stored).toMatchObject({ status: 'RECEIVED', lastErrorCode: 'ERP_UNAVAILABLE' });
      expect(stored!.nextAttemptAt).not.toBeNull();
      attempts += stored!.attempts;
    }
    expect(attempts).toBeGreaterThanOrEqual(1);
    world.erp.recover();
    await until(
      async () => (await Promise.all(orders.map((order) => instance.module.services.findOrder(order.id)))).every((stored) => stored?.status === 'SUBMITTED'),
      () => instance.drain(),
    );
    for (const order of orders) expect(world.erp.countSalesOrders(reference(order.legacyId))).toBe(1);
  });

  it('holds orders back while the ERP is down: one probe per pause reaches it, the others count no attempt, and all go once it answers', async () => {
    // Its own instance on the same database, with a pause long enough to look inside it.
    const gated = await startOrdersInstance(world, database, { processor: { outagePauseMs: 1_500, outageMaxPauseMs: 1_500 } });
    const failedAttempts = () => gated.logLines().filter((line) => line.msg === 'ERP step failed; will retry').length;
    const sum = (values: number[]) => values.reduce((total, n) => total + n, 0);
    try {
      // Three orders on their way together when the ERP is found down: one outage, one failed
      // attempt between them; the other two are given back like orders not yet sent.
      world.erp.fail({ mode: 'down' });
      const first = [place([{ sku: 'PIPE-I', quantity: 1 }]), place([{ sku: 'PIPE-I', quantity: 2 }]), place([{ sku: 'PIPE-I', quantity: 3 }])];
      await world.shopify.state.settleWebhooks();
      await gated.drain();
      const stored = await Promise.all(first.map((order) => gated.module.services.findOrder(order.id)));
      for (const order of stored) expect(order).toMatchObject({ status: 'RECEIVED', lastErrorCode: 'ERP_UNAVAILABLE' });
      expect(sum(stored.map((order) => order!.attempts))).toBe(1);
      expect(gated.module.processor.erpHeldOffUntil()).not.toBeNull();

      // Within the pause nothing is claimed: the new orders wait, with no attempt counted.
      const later = [place([{ sku: 'PIPE-J', quantity: 1 }]), place([{ sku: 'PIPE-K', quantity: 2 }]), place([{ sku: 'PIPE-L', quantity: 1 }])];
      await world.shopify.state.settleWebhooks();
      await gated.drain();
      const orders = [...first, ...later];
      const attempts = async () => (await Promise.all(orders.map((order) => gated.module.services.findOrder(order.id)))).map((stored) => stored!.attempts);
      expect(sum(await attempts())).toBe(1);
      expect(sum((await attempts()).slice(first.length))).toBe(0);
      expect(failedAttempts()).toBe(1);

      // After the pause one order alone goes, and finds the ERP still down.
      await sleep(1_600);
      await gated.drain();
      expect(sum(await attempts())).toBe(2);
      expect(failedAttempts()).toBe(2);

      // The ERP back: the next probe is answered and every held order follows, each once.
      world.erp.recover();
      await until(
        async () => (await Promise.all(orders.map((order) => gated.module.services.findOrder(order.id)))).every((stored) => stored?.status === 'SUBMITTED'),
        async () => {
          await sleep(50);
          await gated.drain();
        },
      );
      expect(failedAttempts()).toBe(2);
      expect(gated.module.processor.erpHeldOffUntil()).toBeNull();
      for (const order of orders) expect(world.erp.countSalesOrders(reference(order.legacyId))).toBe(1);
    } finally {
      world.erp.recover();
      await gated.close();
    }
  });

  it('keeps retrying an order while the ERP stays down, alerts after the last counted attempt, and sends it once the ERP is back', async () => {
    world.erp.fail({ mode: 'down' });
    const order = place([{ sku: 'PIPE-G', quantity: 1 }]);
    await until(async () => ((await instance.module.services.findOrder(order.id))?.attempts ?? 0) >= 4, settle);
    const waiting = await instance.module.services.findOrder(order.id);
    // Unavailable is never a reason to fail an order for good.
    expect(waiting).toMatchObject({ status: 'RECEIVED', lastErrorCode: 'ERP_UNAVAILABLE' });
    expect(waiting!.nextAttemptAt).not.toBeNull();
    await instance.alertSender.flush();
    expect(world.alerts.received.some((alert) => alert.code === 'ORDER_DELAYED' && alert.message.includes(order.name))).toBe(true);
    expect(instance.logLines().some((line) => line.level === 50 && line.shopifyOrderId === String(order.legacyId))).toBe(true);
    world.erp.recover();
    await until(async () => (await instance.module.services.findOrder(order.id))?.status === 'SUBMITTED', () => instance.drain());
    expect(world.erp.countSalesOrders(reference(order.legacyId))).toBe(1);
  });

  it('fails an order the ERP rejects at once, alerts, and replayOrder sends it again', async () => {
    world.erp.fail({ mode: 'reject', methods: ['sale.create'] });
    const order = place([{ sku: 'PIPE-G', quantity: 2 }]);
    await settle();
    const failed = await instance.module.services.findOrder(order.id);
    expect(failed).toMatchObject({ status: 'FAILED', lastErrorCode: 'ERP_REJECTED', attempts: 1 });
    await instance.alertSender.flush();
    expect(world.alerts.received.some((alert) => alert.code === 'ORDER_FAILED' && alert.message.includes(order.name))).toBe(true);
    world.erp.recover();
    const replayed = await instance.module.services.replayOrder(order.id);
    expect(replayed).toMatchObject({ status: 'SUBMITTED', lastError: null, attempts: 0 });
    expect(world.erp.countSalesOrders(reference(order.legacyId))).toBe(1);
  });

  it('fails only the order whose variant is mapped to an SKU the ERP does not know, with a clear last error', async () => {
    world.mapping.mapVariant('MERCH-ONLY', world.variants.get('MERCH-ONLY')!);
    const bad = place([{ sku: 'MERCH-ONLY', quantity: 1 }]);
    const good = place([{ sku: 'PIPE-H', quantity: 1 }]);
    await settle();
    const failed = await instance.module.services.findOrder(bad.id);
    expect(failed).toMatchObject({ status: 'FAILED', lastErrorCode: 'UNKNOWN_SKU', attempts: 1 });
    expect(failed!.lastError).toContain('MERCH-ONLY');
    expect(failed!.lastError).toMatch(/mapSku|replayOrder/);
    expect((await instance.module.services.findOrder(good.id))?.status).toBe('SUBMITTED');
    expect(world.erp.countSalesOrders(reference(bad.legacyId))).toBe(0);
  });

  // PostgreSQL: a real deadlock, made on purpose, between the pipeline and another connection.
  itWithPostgres('retries an order whose step the database failed before the send (a deadlock) with no ERP attempt counted', async () => {
    await seedInventoryLevel(database, shop, { sku: 'PIPE-R', location: 'WH-B', onHand: 50 });
    const index = world.mapping.locations.findIndex((mapping) => mapping.erpLocation === 'WH-B');
    const [removed] = world.mapping.locations.splice(index, 1);
    const other = postgres(database.url!, { max: 2, onnotice: () => {} });
    try {
      // Its lines wait for the location's mapping; once it is mapped they are counted at WH-B.
      const order = place([{ sku: 'PIPE-R', quantity: 1 }], 'WH-B');
      await settle();
      const stored = await instance.module.services.findOrder(order.id);
      expect(stored).toMatchObject({ status: 'RECEIVED', lastErrorCode: 'UNMAPPED_LINE' });
      world.mapping.locations.push(removed!);

      // Another session holds the position; the pipeline locks the order, then waits for it; the
      // other session then asks for the order. PostgreSQL ends the first waiter's transaction.
      let otherSide: Promise<unknown> | null = null;
      let positionHeld!: () => void;
      const holding = new Promise<void>((resolve) => (positionHeld = resolve));
      const held = other.begin(async (t) => {
        await t`set local deadlock_timeout = '10s'`;
        await t`select sku from inventory_levels where shop = ${shop} and sku = 'PIPE-R' and location = 'WH-B' for update`;
        positionHeld();
        otherSide = (async () => {
          // The pipeline, holding the order, waits for the position (not any other wait).
          await expect
            .poll(async () => (await other<{ n: number }[]>`select count(*)::int as n from pg_stat_activity where datname = current_database() and wait_event_type = 'Lock' and query like '%from "inventory_levels"%for update%'`)[0]!.n)
            .toBeGreaterThan(0);
          await t`select id from shopify_orders where id = ${stored!.id} for update`;
        })();
        await otherSide;
      });
      // The pipeline starts once the other session holds the position (else it may take it first).
      await Promise.race([holding, held]);
      await instance.module.processor.mappingChanged();
      await instance.drain();
      await held;
      expect(otherSide).not.toBeNull();

      const retried = await instance.module.services.findOrder(order.id);
      expect(retried).toMatchObject({ status: 'RECEIVED', attempts: stored!.attempts });
      const line = instance.logLines().find((entry) => entry.msg === 'order step failed on the database before reaching the ERP; will retry' && entry.orderId === stored!.id);
      expect(line).toBeDefined();
      expect(instance.logLines().some((entry) => entry.msg === 'ERP step failed; will retry' && entry.orderId === stored!.id)).toBe(false);
      expect(world.erp.countSalesOrders(reference(order.legacyId))).toBe(0);

      await untilSubmitted(order.id);
      expect(world.erp.countSalesOrders(reference(order.legacyId))).toBe(1);
    } finally {
      if (!world.mapping.locations.includes(removed!)) world.mapping.locations.push(removed!);
      await other.end();
    }
  });

  it('holds an order placed at a Shopify location mapped to no ERP location, and sends it once the location is mapped', async () => {
    const index = world.mapping.locations.findIndex((mapping) => mapping.erpLocation === 'WH-B');
    const [removed] = world.mapping.locations.splice(index, 1);
    try {
      const order = place([{ sku: 'PIPE-H', quantity: 1 }], 'WH-B');
      await settle();
      const waiting = await instance.module.services.findOrder(order.id);
      expect(waiting).toMatchObject({ status: 'RECEIVED', lastErrorCode: 'UNMAPPED_LINE' });
      expect(waiting!.lastError).toMatch(/not mapped to an ERP location \(mapLocation\)/);
      expect(world.erp.countSalesOrders(reference(order.legacyId))).toBe(0);
      world.mapping.locations.push(removed!);
      await instance.module.processor.mappingChanged();
      await instance.drain();
      expect((await instance.module.services.findOrder(order.id))?.status).toBe('SUBMITTED');
      expect((await world.connector.findSalesOrder(reference(order.legacyId)))!.lines.map((line) => line.location)).toEqual(['WH-B']);
    } finally {
      if (!world.mapping.locations.includes(removed!)) world.mapping.locations.push(removed!);
    }
  });

  it('cancels the ERP order when Shopify cancels after the create', async () => {
    const order = place([{ sku: 'PIPE-I', quantity: 2 }]);
    await settle();
    expect((await instance.module.services.findOrder(order.id))?.status).toBe('SUBMITTED');
    world.shopify.state.cancelOrder(order.id);
    await settle();
    expect(await instance.module.services.findOrder(order.id)).toMatchObject({ status: 'CANCELLED' });
    expect((await world.connector.findSalesOrder(reference(order.legacyId)))?.status).toBe('cancelled');
  });

  it('never sends an order whose cancellation arrives before its creation', async () => {
    world.shopify.state.setWebhookFaults({ reorderRate: 1, reorderDelayMs: 60_000 });
    const order = place([{ sku: 'PIPE-J', quantity: 1 }]);
    world.shopify.state.clearFaults();
    world.shopify.state.cancelOrder(order.id);
    await world.shopify.state.settleWebhooks();
    const create = world.shopify.state.webhookDeliveries().find((d) => d.topic === 'orders/create' && d.body.includes(`"id":${order.legacyId},`))!;
    expect(create.attempts).toHaveLength(0);
    await instance.drain();
    expect(await instance.module.services.findOrder(order.id)).toMatchObject({ status: 'CANCELLED', erpReference: null });
    // The create, late: acknowledged, and nothing reaches the ERP.
    const late = await fetch(instance.webhookUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-shopify-topic': 'orders/create', 'x-shopify-hmac-sha256': signWebhookBody(world.shopify.apiSecret, create.body), 'x-shopify-shop-domain': shop, 'x-shopify-webhook-id': create.webhookId },
      body: create.body,
    });
    expect(late.status).toBe(200);
    await instance.drain();
    expect(world.erp.countSalesOrders(reference(order.legacyId))).toBe(0);
    expect((await instance.module.services.findOrder(order.id))?.status).toBe('CANCELLED');
  });

  it('flags an update to an order already in the ERP as a conflict and leaves the ERP order alone', async () => {
    const order = place([{ sku: 'PIPE-K', quantity: 2 }]);
    await settle();
    const delivery = world.shopify.state.webhookDeliveries().find((d) => d.topic === 'orders/create' && d.body.includes(`"id":${order.legacyId},`))!;
    const edited = JSON.parse(delivery.body) as { updated_at: string; line_items: Array<{ quantity: number; current_quantity: number }> };
    edited.updated_at = new Date(Date.now() + 60_000).toISOString();
    edited.line_items[0]!.quantity = 5;
    edited.line_items[0]!.current_quantity = 5;
    const body = JSON.stringify(edited);
    const response = await fetch(instance.webhookUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-shopify-topic': 'orders/updated', 'x-shopify-hmac-sha256': signWebhookBody(world.shopify.apiSecret, body), 'x-shopify-shop-domain': shop, 'x-shopify-webhook-id': `edit-${order.legacyId}` },
      body,
    });
    expect(response.status).toBe(200);
    await instance.drain();
    const stored = await instance.module.services.findOrder(order.id);
    expect(stored!.status).toBe('SUBMITTED');
    expect(stored!.flags.map((flag) => flag.code)).toEqual(['CONFLICT']);
    expect((await world.connector.findSalesOrder(reference(order.legacyId)))!.lines[0]!.quantity).toBe(2);
    const flagged = await instance.module.services.listOrders({ needsAttention: true });
    expect(flagged.edges.map((edge) => edge.node.id)).toContain(stored!.id);
  });

  it('sends the shipping address, and raises no conflict for an update that changes nothing the ERP has', async () => {
    const id = 990_000_001;
    const variant = world.variants.get('PIPE-A')!;
    const created = new Date().toISOString();
    const body = (updatedAt: string, tags: string) =>
      JSON.stringify({
        id,
        name: '#A-1',
        created_at: created,
        updated_at: updatedAt,
        cancelled_at: null,
        currency: 'EUR',
        tags,
        email: 'grace@example.com',
        shipping_address: { first_name: 'Grace', last_name: 'Hopper', name: 'Grace Hopper', address1: '1 Navy Way', address2: '', city: 'Arlington', zip: '22201', province_code: 'VA', country_code: 'US', phone: null, company: null },
        line_items: [{ id: id * 10, sku: variant.sku, variant_id: Number(variant.variantId.split('/').pop()), title: 'Pipe A', quantity: 1, current_quantity: 1, price: '12.50' }],
      });
    const post = (topic: string, payload: string, webhookId: string) =>
      fetch(instance.webhookUrl, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-shopify-topic': topic, 'x-shopify-hmac-sha256': signWebhookBody(world.shopify.apiSecret, payload), 'x-shopify-shop-domain': shop, 'x-shopify-webhook-id': webhookId },
        body: payload,
      });
    expect((await post('orders/create', body(created, ''), `addr-create-${id}`)).status).toBe(200);
    await instance.drain();
    const sale = await world.connector.findSalesOrder(reference(id));
    expect(sale?.status).toBe('confirmed');
    expect((await post('orders/updated', body(new Date(Date.now() + 5_000).toISOString(), 'vip'), `addr-update-${id}`)).status).toBe(200);
    await instance.drain();
    const stored = await instance.module.services.findOrder(String(id));
    expect(stored).toMatchObject({ status: 'SUBMITTED', flags: [] });
    expect(stored!.snapshot.shippingAddress).toMatchObject({ name: 'Grace Hopper', line1: '1 Navy Way', countryCode: 'US' });
  });

  it('records restocked returns of a refund as an ERP customer return, once', async () => {
    const order = place([{ sku: 'PIPE-L', quantity: 3 }]);
    await settle();
    world.shopify.state.fulfillOrder(order.id);
    world.shopify.state.refundOrder(order.id, { lines: [{ sku: 'PIPE-L', quantity: 2, restockType: 'RETURN' }] });
    await settle();
    const before = (await world.connector.getStockBySkus(['PIPE-L'], ['WH-A'])).levels[0]!.onHand;
    expect(before).toBe(52);
    await settle();
    expect((await world.connector.getStockBySkus(['PIPE-L'], ['WH-A'])).levels[0]!.onHand).toBe(52);
  });

  it('applies a batch one by one when a delivery breaks it: the others count their units, the broken one none until it goes through', async () => {
    await seedInventoryLevel(database, shop, { sku: 'PIPE-S', location: 'WH-A', onHand: 50 });
    await seedInventoryLevel(database, shop, { sku: 'PIPE-T', location: 'WH-A', onHand: 50 });
    const pending = async (sku: string) =>
      (await database.db.select().from(inventoryLevels).where(and(eq(inventoryLevels.shop, shop), eq(inventoryLevels.sku, sku), eq(inventoryLevels.location, 'WH-A'))))[0]!.pendingOrders;
    // The lines of PIPE-S cannot be written: its order fails after its units were worked out.
    await database.db.execute(sql`create or replace function pipe_s_refused() returns trigger language plpgsql as $$
      begin if new.erp_sku = 'PIPE-S' then raise exception 'PIPE-S lines refused (test)'; end if; return new; end $$`);
    await database.db.execute(sql`create trigger pipe_s_refused before insert on shopify_order_lines for each row execute function pipe_s_refused()`);
    world.erp.fail({ mode: 'down' });
    try {
      const broken = place([{ sku: 'PIPE-S', quantity: 2 }]);
      const fine = place([{ sku: 'PIPE-T', quantity: 3 }]);
      await world.shopify.state.settleWebhooks();
      await instance.drain();
      expect(instance.logLines().some((line) => line.msg === 'a webhook delivery failed in its batch; applying the batch one by one')).toBe(true);
      expect(await instance.module.services.findOrder(fine.id)).not.toBeNull();
      expect(await instance.module.services.findOrder(broken.id)).toBeNull();
      expect(await pending('PIPE-T')).toBe(3);
      expect(await pending('PIPE-S')).toBe(0);

      await database.db.execute(sql`drop trigger pipe_s_refused on shopify_order_lines`);
      await until(
        async () => (await instance.module.services.findOrder(broken.id)) !== null,
        async () => {
          await sleep(50);
          await instance.drain();
        },
      );
      expect(await pending('PIPE-S')).toBe(2);
      expect(await pending('PIPE-T')).toBe(3);
    } finally {
      world.erp.recover();
      await database.db.execute(sql`drop trigger if exists pipe_s_refused on shopify_order_lines`);
      await database.db.execute(sql`drop function if exists pipe_s_refused()`);
    }
  });

  it('counts a Shopify order in pendingShopifyOrders until the ERP allocates it', async () => {
    await seedInventoryLevel(database, shop, { sku: 'PIPE-M', location: 'WH-A', onHand: 50, unexplainedShopifyDrop: 3 });
    const level = async () =>
      (await database.db.select().from(inventoryLevels).where(and(eq(inventoryLevels.shop, shop), eq(inventoryLevels.sku, 'PIPE-M'), eq(inventoryLevels.location, 'WH-A'))))[0]!;
    world.erp.fail({ mode: 'down' });
    const order = place([{ sku: 'PIPE-M', quantity: 5 }]);
    await settle();
    // Counted from receipt, while the ERP is still down; the order explains 5 units of Shopify's drop.
    expect(await level()).toMatchObject({ pendingOrders: 5, unexplainedShopifyDrop: -2, availableToPromise: 45 });
    expect((await level()).pushRequestedAt).not.toBeNull();
    world.erp.recover();
    await until(async () => (await instance.module.services.findOrder(order.id))?.status === 'SUBMITTED', () => instance.drain());
    await instance.module.processor.checkAllocations();
    expect((await level()).pendingOrders).toBe(5);
    world.erp.assignSalesOrder(reference(order.legacyId));
    const result = await instance.module.processor.checkAllocations();
    expect(result.allocated).toBeGreaterThanOrEqual(1);
    expect(await level()).toMatchObject({ pendingOrders: 0, unexplainedShopifyDrop: -2 });
    expect((await instance.module.services.findOrder(order.id))?.allocatedAt).not.toBeNull();
  });

  it('does not take the units of orders the ERP may already hold, counted twice until their allocation is checked, for an oversell; what goes beyond even them is one', async () => {
    await seedInventoryLevel(database, shop, { sku: 'PIPE-Q', location: 'WH-A', onHand: 10 });
    const position = and(eq(inventoryLevels.shop, shop), eq(inventoryLevels.sku, 'PIPE-Q'), eq(inventoryLevels.location, 'WH-A'));
    const findings = () => instance.logLines().filter((line) => line.msg === 'order accepted by Shopify beyond the ATP' && line.sku === 'PIPE-Q');
    // One order the ERP has and said so (SUBMITTED), one it has but whose answer was lost (in doubt).
    const submitted = place([{ sku: 'PIPE-Q', quantity: 2 }]);
    await settle();
    await until(async () => (await instance.module.services.findOrder(submitted.id))?.status === 'SUBMITTED', () => instance.drain());
    world.erp.fail({ mode: 'lost', methods: ['sale.create'], times: 1, delayMs: 0 });
    const inDoubt = place([{ sku: 'PIPE-Q', quantity: 2 }]);
    await settle();
    expect(await instance.module.services.findOrder(inDoubt.id)).toMatchObject({ status: 'IN_DOUBT' });
    // The ERP allocated both and its next read says so: their 4 units count twice (allocated
    // there, pending here) until the allocation check releases them.
    await database.db.update(inventoryLevels).set({ allocated: 4, erpReadAt: new Date() }).where(position);

    // 5 more: the ATP as counted is 10 - 4 - 4 = 2, but 6 units are really free.
    place([{ sku: 'PIPE-Q', quantity: 5 }]);
    await settle();
    expect((await database.db.select().from(inventoryLevels).where(position))[0]!.pendingOrders).toBe(9);
    expect(findings()).toEqual([]);

    // 3 more: even counting each order once, 1 unit is free and 2 are beyond.
    const beyond = place([{ sku: 'PIPE-Q', quantity: 3 }]);
    await settle();
    const stored = await instance.module.services.findOrder(beyond.id);
    expect(findings()).toEqual([expect.objectContaining({ sku: 'PIPE-Q', location: 'WH-A', orderId: stored!.id, units: 2 })]);
  });

  it('checks every submitted order in one allocation run, in rounds of its limit, each order once', async () => {
    await seedInventoryLevel(database, shop, { sku: 'PIPE-N', location: 'WH-A', onHand: 50 });
    const level = async () =>
      (await database.db.select().from(inventoryLevels).where(and(eq(inventoryLevels.shop, shop), eq(inventoryLevels.sku, 'PIPE-N'), eq(inventoryLevels.location, 'WH-A'))))[0]!;
    const orders = [place([{ sku: 'PIPE-N', quantity: 1 }]), place([{ sku: 'PIPE-N', quantity: 2 }]), place([{ sku: 'PIPE-N', quantity: 3 }])];
    await settle();
    for (const order of orders) await until(async () => (await instance.module.services.findOrder(order.id))?.status === 'SUBMITTED', () => instance.drain());
    expect((await level()).pendingOrders).toBe(6);
    for (const order of orders) world.erp.assignSalesOrder(reference(order.legacyId));
    // Rounds of one order: all three in this one call, and it ends (orders checked in it are not read again).
    const result = await instance.module.processor.checkAllocations({ limit: 1 });
    expect(result.allocated).toBeGreaterThanOrEqual(3);
    expect(result.released).toBeGreaterThanOrEqual(6);
    expect((await level()).pendingOrders).toBe(0);
    for (const order of orders) expect((await instance.module.services.findOrder(order.id))?.allocatedAt).not.toBeNull();
  });

  it("reads a round's orders from the ERP in one call, and re-reads the ERP's stock before releasing what it holds", async () => {
    await seedInventoryLevel(database, shop, { sku: 'PIPE-O', location: 'WH-A', onHand: 50 });
    const level = async () =>
      (await database.db.select().from(inventoryLevels).where(and(eq(inventoryLevels.shop, shop), eq(inventoryLevels.sku, 'PIPE-O'), eq(inventoryLevels.location, 'WH-A'))))[0]!;
    const orders = [place([{ sku: 'PIPE-O', quantity: 1 }]), place([{ sku: 'PIPE-O', quantity: 2 }]), place([{ sku: 'PIPE-O', quantity: 3 }])];
    await settle();
    for (const order of orders) await until(async () => (await instance.module.services.findOrder(order.id))?.status === 'SUBMITTED', () => instance.drain());
    expect(await level()).toMatchObject({ pendingOrders: 6, allocated: 0, availableToPromise: 44 });
    for (const order of orders) world.erp.assignSalesOrder(reference(order.legacyId));
    // The ERP now counts the 6 units as allocated; the read model has not read it yet.
    // Every look-up the checker makes, one entry per ERP call (other tests' orders are checked too).
    const reads: string[][] = [];
    const counted = new Proxy(world.connector, {
      get(target, property, receiver) {
        if (property === 'findSalesOrder') return (reference: string) => (reads.push([reference]), target.findSalesOrder(reference));
        if (property === 'findSalesOrders') return (references: readonly string[]) => (reads.push([...references]), target.findSalesOrders(references));
        const value: unknown = Reflect.get(target, property, receiver);
        return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(target) : value;
      },
    }) as ErpConnector;
    const { log } = createMemoryLogger('warn');
    const atp = createAtpService({ db: database.db, shop, erp: world.connector, log, now: () => new Date(), pushSignal: { wake() {} } });
    const checker = await startOrdersInstance(world, database, { erp: counted, atp });
    try {
      const result = await checker.module.processor.checkAllocations({ limit: 2 });
      expect(result.allocated).toBeGreaterThanOrEqual(3);
      expect(result.released).toBeGreaterThanOrEqual(6);
      const read = reads.flat();
      expect(read).toEqual(expect.arrayContaining(orders.map((order) => reference(order.legacyId))));
      expect(new Set(read).size).toBe(read.length);
      expect(reads.length).toBe(Math.ceil(read.length / 2));
      // Counted once, as allocated: Shopify is offered neither the units twice nor units that are gone.
      expect(await level()).toMatchObject({ pendingOrders: 0, allocated: 6, availableToPromise: 44 });
    } finally {
      await checker.close();
    }
  });

  it('loses nothing when the process stops after answering 200 and before processing: the restarted one drains the inbox', async () => {
    for (const subscription of world.shopify.state.webhookSubscriptions()) world.shopify.state.shop.deleteWebhookSubscription(subscription.id);
    const crashing = await startOrdersInstance(world, database);
    await crashing.module.subscriptions.register(crashing.webhookUrl);
    const order = place([{ sku: 'PIPE-A', quantity: 1 }, { sku: 'PIPE-B', quantity: 2 }]);
    await world.shopify.state.settleWebhooks();
    const delivery = world.shopify.state.webhookDeliveries().find((d) => d.topic === 'orders/create' && d.body.includes(`"id":${order.legacyId},`))!;
    expect(delivery.attempts.map((attempt) => attempt.status)).toEqual([200]);
    await crashing.close();
    expect(world.erp.countSalesOrders(reference(order.legacyId))).toBe(0);
    for (const subscription of world.shopify.state.webhookSubscriptions()) world.shopify.state.shop.deleteWebhookSubscription(subscription.id);
    const restarted = await startOrdersInstance(world, database);
    try {
      await restarted.drain();
      expect(world.erp.countSalesOrders(reference(order.legacyId))).toBe(1);
      expect((await restarted.module.services.findOrder(order.id))?.status).toBe('SUBMITTED');
    } finally {
      await restarted.close();
      await instance.module.subscriptions.register(instance.webhookUrl);
    }
  });

  it('keeps the poll\'s progress page by page: a pass cut short resumes from its last page', async () => {
    // Shopify's updatedAt has whole seconds: each batch in a second of its own.
    await sleep(1_100);
    for (let i = 0; i < 30; i++) place([{ sku: 'PIPE-A', quantity: 1 }]);
    await sleep(1_100);
    for (let i = 0; i < 10; i++) place([{ sku: 'PIPE-B', quantity: 1 }]);
    await settle();
    const watermark = async () => (await instance.module.repositories.orders.pollState(shop)).watermark.getTime();
    const before = await watermark();
    // The pass reads every order updated since 15 minutes before the watermark, oldest first: in
    // pages of all but the 10 newest (the second batch), the second page fails.
    const listed = await instance.module.repositories.orders.pollState(shop).then(async (state) => {
      const client = new AdminApiShopifyClient({ shopDomain: world.shopify.shopDomain, accessToken: world.shopify.accessToken, adminUrl: world.shopify.adminUrl, logger: createMemoryLogger('warn').log, metrics: new Registry() });
      try {
        return (await client.listOrdersUpdatedSince(new Date(state.watermark.getTime() - 15 * 60_000), { first: 250 })).items.length;
      } finally {
        await client.close();
      }
    });
    expect(listed).toBeGreaterThan(10);
    expect(listed).toBeLessThan(250);
    let pages = 0;
    const cut = await startOrdersInstance(world, database, {
      pollPageSize: listed - 10,
      wrapShopify: (client) =>
        new Proxy(client, {
          get(target, property, receiver) {
            if (property === 'listOrdersUpdatedSince')
              return (since: Date, page?: { first?: number; after?: string | null }) => {
                if (++pages > 1) return Promise.reject(new Error('listing cut short'));
                return target.listOrdersUpdatedSince(since, page);
              };
            const value: unknown = Reflect.get(target, property, receiver);
            return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(target) : value;
          },
        }),
    });
    try {
      await expect(cut.module.poll.poll()).rejects.toThrow('listing cut short');
    } finally {
      await cut.close();
    }
    const afterOnePage = await watermark();
    expect(afterOnePage).toBeGreaterThan(before);
    const full = await instance.module.poll.poll();
    expect(full.missed).toBe(0);
    expect(await watermark()).toBeGreaterThan(afterOnePage);
  });

  it('brings in the missed orders of a page several at once', async () => {
    await seedInventoryLevel(database, shop, { sku: 'PIPE-P', location: 'WH-A', onHand: 50 });
    const orders = await unheard(() => Array.from({ length: 12 }, () => place([{ sku: 'PIPE-P', quantity: 1 }])));
    let inFlight = 0;
    let most = 0;
    const poller = await startOrdersInstance(world, database, {
      wrapShopify: (client) =>
        new Proxy(client, {
          get(target, property, receiver) {
            if (property === 'findOrder')
              return async (id: string) => {
                most = Math.max(most, ++inFlight);
                try {
                  return await target.findOrder(id);
                } finally {
                  inFlight -= 1;
                }
              };
            const value: unknown = Reflect.get(target, property, receiver);
            return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(target) : value;
          },
        }),
    });
    try {
      expect((await poller.module.poll.poll()).missed).toBe(12);
    } finally {
      await poller.close();
    }
    expect(most).toBeGreaterThan(1);
    // Each counted its unit as pending in its own commit (the position written last, at once).
    const [level] = await database.db.select().from(inventoryLevels).where(and(eq(inventoryLevels.shop, shop), eq(inventoryLevels.sku, 'PIPE-P'), eq(inventoryLevels.location, 'WH-A')));
    expect(level).toMatchObject({ pendingOrders: 12, availableToPromise: 38 });
    await instance.drain();
    for (const order of orders) expect(world.erp.countSalesOrders(reference(order.legacyId))).toBe(1);
  });

  it('cancels in the ERP a cancellation whose webhooks were all dropped, through the poll', async () => {
    const order = place([{ sku: 'PIPE-H', quantity: 1 }]);
    await settle();
    expect((await instance.module.services.findOrder(order.id))?.status).toBe('SUBMITTED');
    await unheard(() => world.shopify.state.cancelOrder(order.id));
    await instance.drain();
    expect((await instance.module.services.findOrder(order.id))?.status).toBe('SUBMITTED');
    const poll = await instance.module.poll.poll();
    expect(poll.cancellations).toBe(1);
    await instance.drain();
    expect((await instance.module.services.findOrder(order.id))?.status).toBe('CANCELLED');
    expect((await world.connector.findSalesOrder(reference(order.legacyId)))?.status).toBe('cancelled');
  });

  it('takes over an order whose claim lapsed (its instance died mid-work) and sends it once', async () => {
    const order = await unheard(() => place([{ sku: 'PIPE-I', quantity: 1 }]));
    await instance.module.poll.poll();
    await instance.module.inbox.drain();
    // Another instance claims it, creates the ERP order, and dies before writing back.
    const [claimed] = await instance.module.repositories.orders.claimDue('instance-that-died', 50, 10);
    expect(claimed?.shopifyOrderId).toBe(String(order.legacyId));
    await world.connector.createSalesOrder({
      externalReference: reference(order.legacyId),
      name: order.name,
      customer: { name: 'Ada Lovelace', email: null, phone: null },
      shippingAddress: null,
      currency: 'EUR',
      lines: [{ sku: 'PIPE-I', quantity: 1, location: 'WH-A', unitPrice: '12.50' }],
    });
    await instance.module.processor.processDue();
    expect((await instance.module.services.findOrder(order.id))?.status).toBe('RECEIVED');
    await sleep(80);
    await instance.drain();
    expect(await instance.module.services.findOrder(order.id)).toMatchObject({ status: 'SUBMITTED' });
    expect(world.erp.countSalesOrders(reference(order.legacyId))).toBe(1);
  });

  it('lets the claim of an attempt that hangs lapse, and another instance sends the order once', async () => {
    // An instance whose attempt on the order never ends (a database connection that never
    // answers): its heartbeat renews the claim only up to maxHoldMs.
    let release!: () => void;
    const hanging = new Promise<void>((resolve) => (release = resolve));
    let hung = false;
    const stuck = await startOrdersInstance(world, database, {
      processor: {
        leaseMs: 150,
        heartbeatMs: 30,
        maxHoldMs: 400,
        pause: async (step) => {
          if (step !== 'claimed' || hung) return;
          hung = true;
          await hanging;
        },
      },
    });
    try {
      const order = await unheard(() => place([{ sku: 'PIPE-K', quantity: 1 }]));
      await stuck.module.poll.poll();
      await stuck.module.inbox.drain();
      const working = stuck.module.processor.processDue();
      await waitUntil(async () => hung);
      // Well past its lease, the claim is still renewed: nobody else takes the order yet.
      await sleep(250);
      await instance.module.processor.processDue();
      expect(await instance.module.services.findOrder(order.id)).toMatchObject({ status: 'RECEIVED' });
      expect(world.erp.countSalesOrders(reference(order.legacyId))).toBe(0);
      // Past maxHoldMs it is no longer renewed; once it lapses another instance sends the order.
      await untilSubmitted(order.id);
      expect(stuck.logLines().some((line) => String(line.msg).includes('taken for hung'))).toBe(true);
      // Its pass does not wait for it past the hold and the lease: the instance's pipeline goes on.
      await working;
      // The hung attempt, let go at last, is fenced: nothing more is sent or written.
      release();
      await sleep(50);
      expect(world.erp.countSalesOrders(reference(order.legacyId))).toBe(1);
      expect(await instance.module.services.findOrder(order.id)).toMatchObject({ status: 'SUBMITTED' });
    } finally {
      release();
      await stuck.close();
    }
  });

  it('holds a refund that arrives before its order until the order is there', async () => {
    // Shopify holds back every delivery of this order; only the refund gets through, first.
    world.shopify.state.setWebhookFaults({ reorderRate: 1, reorderDelayMs: 600_000 });
    const order = place([{ sku: 'PIPE-J', quantity: 2 }]);
    world.shopify.state.fulfillOrder(order.id);
    world.shopify.state.refundOrder(order.id, { lines: [{ sku: 'PIPE-J', quantity: 1, restockType: 'RETURN' }] });
    world.shopify.state.clearFaults();
    const refund = world.shopify.state.webhookDeliveries().find((d) => d.topic === 'refunds/create' && d.body.includes(`"order_id":${order.legacyId},`))!;
    const response = await fetch(instance.webhookUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-shopify-topic': 'refunds/create', 'x-shopify-hmac-sha256': signWebhookBody(world.shopify.apiSecret, refund.body), 'x-shopify-shop-domain': shop, 'x-shopify-webhook-id': refund.webhookId },
      body: refund.body,
    });
    expect(response.status).toBe(200);
    await instance.drain();
    const waiting = await instance.module.services.listDeliveries({ topic: 'refunds/create', orderId: String(order.legacyId) });
    expect(waiting.edges.map((edge) => edge.node.status)).toEqual(['PENDING']);
    expect(waiting.edges[0]!.node.lastError).toMatch(/waiting for order/);
    // The create was held back by Shopify; the poll brings the order in, then the refund applies.
    await instance.module.poll.poll();
    await instance.drain();
    await until(
      async () => (await instance.module.services.listDeliveries({ topic: 'refunds/create', orderId: String(order.legacyId) })).edges[0]!.node.status === 'DONE',
      () => instance.drain(),
      60_000,
    );
    expect((await world.connector.getStockBySkus(['PIPE-J'], ['WH-A'])).levels[0]!.onHand).toBe(51);
  });

  it('converts Shopify units to ERP units with the mapping', async () => {
    const order = place([{ sku: 'PIPE-CASE', quantity: 24 }]);
    await settle();
    const sale = await world.connector.findSalesOrder(reference(order.legacyId));
    expect(sale!.lines.map((line) => [line.sku, line.quantity])).toEqual([['PIPE-CASE', 2]]);
  });
});
