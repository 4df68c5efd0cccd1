/**
 * The webhook acknowledgement path (issue 17): the 200 waits for one shared insert and nothing
 * else; validation, the order, its lines and pending units come after it, in the drain, which
 * gives way to acknowledgements in flight. Every acknowledged order must still show with its
 * pending units within 5 s, whatever the ERP does.
 */
import { randomUUID } from 'node:crypto';
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rowsOf } from '../../src/db/database.js';
import { signWebhookBody } from '../../src/simulators/shopify/index.js';
import postgres from 'postgres';
import { createTestDatabase, testDatabaseKind, type TestDatabase } from '../support/database.js';
import { seedInventoryLevel, startOrdersInstance, startShopAndErp, type OrdersInstance, type ShopAndErp } from './support/orders-harness.js';

const SKU = 'ACK-1';

function orderBody(id: number, variantId: string, overrides: Record<string, unknown> = {}): string {
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
    line_items: [{ id: id * 10, sku: SKU, variant_id: Number(variantId.split('/').pop()), title: 'Ack product', quantity: 2, current_quantity: 2, price: '10.00' }],
    ...overrides,
  });
}

describe('webhook acknowledgement path', () => {
  let world: ShopAndErp;
  let database: TestDatabase;
  let instance: OrdersInstance;
  let variantId: string;

  async function deliver(body: string, webhookId = randomUUID()): Promise<{ status: number; result: string; ackedAt: number }> {
    const response = await fetch(instance.webhookUrl, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        'x-shopify-topic': 'orders/create',
        'x-shopify-shop-domain': world.shopify.shopDomain,
        'x-shopify-webhook-id': webhookId,
        'x-shopify-hmac-sha256': signWebhookBody(world.shopify.apiSecret, body),
      },
      body,
    });
    const json = (await response.json()) as { result: string };
    return { status: response.status, result: json.result, ackedAt: Date.now() };
  }

  async function inbox(webhookId: string) {
    const page = await instance.module.services.listDeliveries({ first: 250 });
    return page.edges.map((edge) => edge.node).find((node) => node.webhookId === webhookId);
  }

  beforeAll(async () => {
    world = await startShopAndErp([{ sku: SKU }]);
    database = await createTestDatabase();
    // The worker runs, as in production: woken by each stored delivery.
    instance = await startOrdersInstance(world, database, { worker: true });
    variantId = world.variants.get(SKU)!.variantId;
    for (const location of ['WH-A', 'WH-B']) await seedInventoryLevel(database, world.shopify.shopDomain, { sku: SKU, location, onHand: 1_000_000 });
  });

  afterAll(async () => {
    world?.erp.recover();
    await instance?.close();
    await database?.close();
    await world?.close();
  });

  it('a drain waits for the acknowledgements in flight, at most its bound; at once when none is', async () => {
    const repository = instance.module.repositories.inbox;
    const started = performance.now();
    await repository.whenWritesIdle(10_000);
    expect(performance.now() - started).toBeLessThan(50);

    // Hold the inbox table: one acknowledgement's insert stays in flight.
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
    try {
      // An acknowledgement's insert, waiting for the table: in flight from now on.
      const answer = repository.insert({
        shop: world.shopify.shopDomain,
        webhookId: randomUUID(),
        eventId: null,
        topic: 'orders/create',
        apiVersion: null,
        triggeredAt: null,
        body: orderBody(7_100_001, variantId),
        orderRef: '7100001',
        status: 'PENDING',
        lastError: null,
      });
      const bounded = performance.now();
      await repository.whenWritesIdle(80);
      expect(performance.now() - bounded).toBeGreaterThanOrEqual(70);

      let idle = false;
      const waiting = repository.whenWritesIdle(60_000).then(() => (idle = true));
      await new Promise((resolve) => setTimeout(resolve, 50));
      expect(idle).toBe(false);
      release();
      await holder;
      expect(await answer).toBe(true);
      await waiting;
      expect(idle).toBe(true);
    } finally {
      release();
      await holder;
    }
  });

  it('stores each webhook id and each event once when deliveries and their repeats are spread over statements in flight together', async () => {
    const repository = instance.module.repositories.inbox;
    const delivery = (webhookId: string, eventId: string | null, orderId: number) => ({
      shop: world.shopify.shopDomain,
      webhookId,
      eventId,
      topic: 'orders/create',
      apiVersion: null,
      triggeredAt: new Date(),
      body: orderBody(orderId, variantId),
      orderRef: String(orderId),
      status: 'PENDING' as const,
      lastError: null,
    });
    const ids = Array.from({ length: 20 }, () => randomUUID());
    const events = Array.from({ length: 5 }, () => randomUUID());
    const answers: Array<Promise<{ key: string; stored: boolean }>> = [];
    // Three rounds, each sent after the previous one's first statement left: the repeats of a
    // webhook id land in another statement than the first, sometimes one still in flight.
    for (let round = 0; round < 3; round++) {
      ids.forEach((id, i) => answers.push(repository.insert(delivery(id, null, 7_150_000 + i)).then((stored) => ({ key: `webhook ${id}`, stored }))));
      // Ten webhook ids carrying five events: one delivery stored per event.
      for (let i = 0; i < 10; i++) {
        answers.push(repository.insert(delivery(randomUUID(), events[i % 5]!, 7_160_000 + i)).then((stored) => ({ key: `event ${events[i % 5]}`, stored })));
      }
      await new Promise((resolve) => setImmediate(resolve));
    }
    const settled = await Promise.all(answers);
    const storedPerKey = new Map<string, number>();
    for (const answer of settled) storedPerKey.set(answer.key, (storedPerKey.get(answer.key) ?? 0) + (answer.stored ? 1 : 0));
    expect([...storedPerKey.values()]).toEqual(Array.from({ length: 25 }, () => 1));
    const [rows] = rowsOf<{ byId: number; byEvent: number }>(
      await database.db.execute(sql`select count(*) filter (where webhook_id in ${ids})::int as "byId",
        count(*) filter (where event_id in ${events})::int as "byEvent" from webhook_inbox`),
    );
    expect(rows).toEqual({ byId: 20, byEvent: 5 });
    expect(repository.writeStats().maxInFlight).toBeLessThanOrEqual(testDatabaseKind === 'postgres' ? 2 : 1);
  });

  it.skipIf(testDatabaseKind !== 'postgres')('acknowledges while every connection of the main pool is held: acknowledgements have connections of their own', async () => {
    // The pipeline's transactions take every pooled connection (20 in tests).
    let release: () => void = () => {};
    const released = new Promise<void>((resolve) => (release = resolve));
    let holding = 0;
    let allHeld: () => void = () => {};
    const everyConnectionHeld = new Promise<void>((resolve) => (allHeld = resolve));
    const holders = Array.from({ length: 20 }, () =>
      database.db.transaction(async (tx) => {
        await tx.execute(sql`select 1`);
        if (++holding === 20) allHeld();
        await released;
      }),
    );
    const observer = postgres(database.url!, { max: 1, onnotice: () => {} });
    try {
      await everyConnectionHeld;
      const webhookId = randomUUID();
      // Bounded so that a failure reads as one (an acknowledgement waiting for the pool would
      // wait for the release below, which only comes after it).
      const answer = await Promise.race([
        deliver(orderBody(7_170_001, variantId), webhookId),
        new Promise<'still waiting'>((resolve) => setTimeout(() => resolve('still waiting'), 15_000)),
      ]);
      expect(answer).toMatchObject({ status: 200, result: 'stored' });
      expect(holding).toBe(20);
      // Committed: another connection sees it while the pool is still held.
      const [row] = await observer<[{ status: string }?]>`select status from webhook_inbox where webhook_id = ${webhookId}`;
      expect(row).toEqual({ status: 'PENDING' });
    } finally {
      release();
      await Promise.all(holders);
      await observer.end();
    }
  }, 60_000);

  it('stores a body that reads as an order but fails validation, and the drain marks it FAILED with the reason', async () => {
    const webhookId = randomUUID();
    const answer = await deliver(orderBody(7_100_002, variantId, { currency: 'euros' }), webhookId);
    expect(answer).toMatchObject({ status: 200, result: 'stored' });
    for (let i = 0; i < 100 && (await inbox(webhookId))?.status !== 'FAILED'; i++) await new Promise((resolve) => setTimeout(resolve, 50));
    const stored = await inbox(webhookId);
    expect(stored).toMatchObject({ status: 'FAILED', orderRef: '7100002' });
    expect(stored!.lastError).toMatch(/not a Shopify order: currency/);
    expect(await instance.module.services.findOrder('7100002')).toBeNull();
  });

  it('shows every acknowledged order with its pending units within 5 s of its acknowledgement, with the ERP down, under 16 concurrent senders', async () => {
    world.erp.fail({ mode: 'down' });
    const [before] = rowsOf<{ units: number }>(await database.db.execute(sql`select coalesce(sum(pending_orders), 0)::int as units from inventory_levels where sku = ${SKU}`));
    const firstId = 7_200_000;
    const total = 160;
    let next = 0;
    const acked = new Map<string, number>();
    await Promise.all(
      Array.from({ length: 16 }, async () => {
        for (let i = next++; i < total; i = next++) {
          const answer = await deliver(orderBody(firstId + i, variantId));
          expect(answer).toMatchObject({ status: 200, result: 'stored' });
          acked.set(String(firstId + i), answer.ackedAt);
        }
      }),
    );
    expect(acked.size).toBe(total);
    // Applied: the order row exists (with its lines' units pending) once its delivery is DONE.
    let applied: Array<{ orderRef: string; processedAt: string }> = [];
    for (let waited = 0; waited < 10_000; waited += 100) {
      applied = rowsOf(
        await database.db.execute(
          sql`select order_ref as "orderRef", (extract(epoch from processed_at) * 1000)::float8::text as "processedAt" from webhook_inbox where status = 'DONE' and order_ref::bigint between ${firstId} and ${firstId + total - 1}`,
        ),
      );
      if (applied.length === total) break;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    expect(applied).toHaveLength(total);
    const lags = applied.map((row) => Number(row.processedAt) - acked.get(row.orderRef)!);
    expect(Math.max(...lags)).toBeLessThan(5_000);
    // These orders' own units, counted in the position (other tests' deliveries may still land
    // on the same SKU meanwhile, so the position's total only has to have grown by at least that).
    const [own] = rowsOf<{ units: number }>(
      await database.db.execute(
        sql`select coalesce(sum(l.pending_quantity), 0)::int as units from shopify_order_lines l join shopify_orders o on o.id = l.order_id where o.shopify_order_id::bigint between ${firstId} and ${firstId + total - 1}`,
      ),
    );
    expect(own!.units).toBe(total * 2);
    const [after] = rowsOf<{ units: number }>(await database.db.execute(sql`select coalesce(sum(pending_orders), 0)::int as units from inventory_levels where sku = ${SKU}`));
    expect(after!.units - before!.units).toBeGreaterThanOrEqual(total * 2);
    const [orders] = rowsOf<{ n: number }>(await database.db.execute(sql`select count(*)::int as n from shopify_orders where shopify_order_id::bigint between ${firstId} and ${firstId + total - 1}`));
    expect(orders!.n).toBe(total);
    world.erp.recover();
  }, 180_000);
});
