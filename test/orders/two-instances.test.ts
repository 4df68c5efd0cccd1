import postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Database } from '../../src/db/database.js';
import { SimulatedErpConnector } from '../../src/erp/simulated/simulated-erp-connector.js';
import { createTestDatabase, describeWithPostgres, openSecondInstance, type TestDatabase } from '../support/database.js';
import { PipelinePauses, startOrdersInstance, startShopAndErp, TestClock, type OrdersInstance, type ShopAndErp } from './support/orders-harness.js';

/**
 * Two gateway instances on one PostgreSQL, each with its own pool, ERP connection and webhook
 * route, both subscribed: every Shopify event reaches both, and both drain at once while the
 * ERP answers slowly enough for their work to overlap.
 */
describeWithPostgres('two gateway instances on one PostgreSQL', () => {
  let world: ShopAndErp;
  let database: TestDatabase;
  let second: Database;
  let a: OrdersInstance;
  let b: OrdersInstance;
  const skus = Array.from({ length: 6 }, (_, i) => `RACE-${i + 1}`);

  beforeAll(async () => {
    world = await startShopAndErp(skus.map((sku) => ({ sku, stock: { 'WH-A': 500, 'WH-B': 500 } })));
    database = await createTestDatabase();
    second = await openSecondInstance(database);
    a = await startOrdersInstance(world, database, { erp: new SimulatedErpConnector(world.erp, { policy: { maxAttempts: 1 } }) });
    b = await startOrdersInstance(world, second, { erp: new SimulatedErpConnector(world.erp, { policy: { maxAttempts: 1 } }) });
    await a.module.subscriptions.register(a.webhookUrl);
    await b.module.subscriptions.register(b.webhookUrl);
  });

  afterAll(async () => {
    await a?.close();
    await b?.close();
    await second?.close();
    await database?.close();
    await world?.close();
  });

  const reference = (legacyId: number) => `gid://shopify/Order/${legacyId}`;

  it('creates one ERP order per Shopify order when both instances receive every delivery and drain together', async () => {
    const placed = Array.from({ length: 12 }, (_, i) => {
      const result = world.shopify.state.placeOrder({ lines: [{ sku: skus[i % skus.length]!, quantity: 1 + (i % 3) }], location: 'WH-A' });
      if (!result.placed) throw new Error('refused');
      return result.order;
    });
    await world.shopify.state.settleWebhooks();
    // Each event went to both addresses: two deliveries (two webhook ids) per order.
    const creates = world.shopify.state.webhookDeliveries().filter((d) => d.topic === 'orders/create' && placed.some((o) => d.body.includes(`"id":${o.legacyId},`)));
    expect(creates).toHaveLength(placed.length * 2);
    world.erp.fail({ mode: 'slow', delayMs: 15, methods: ['sale.search', 'sale.create'] });
    try {
      await Promise.all([a.drain(), b.drain(), a.drain(), b.drain()]);
    } finally {
      world.erp.recover();
    }
    await Promise.all([a.drain(), b.drain()]);
    for (const order of placed) {
      expect(world.erp.countSalesOrders(reference(order.legacyId))).toBe(1);
      expect((await a.module.services.findOrder(order.id))?.status).toBe('SUBMITTED');
    }
  });

  it('creates one ERP order when both instances replay the same failed order at once', async () => {
    world.erp.fail({ mode: 'reject', methods: ['sale.create'] });
    const result = world.shopify.state.placeOrder({ lines: [{ sku: 'RACE-1', quantity: 1 }], location: 'WH-A' });
    if (!result.placed) throw new Error('refused');
    await world.shopify.state.settleWebhooks();
    await Promise.all([a.drain(), b.drain()]);
    expect((await a.module.services.findOrder(result.order.id))?.status).toBe('FAILED');
    world.erp.recover();
    world.erp.fail({ mode: 'slow', delayMs: 30, methods: ['sale.search', 'sale.create'] });
    try {
      await Promise.all([a.module.services.replayOrder(result.order.id), b.module.services.replayOrder(result.order.id)]);
    } finally {
      world.erp.recover();
    }
    await Promise.all([a.drain(), b.drain()]);
    expect(world.erp.countSalesOrders(reference(result.order.legacyId))).toBe(1);
    expect((await b.module.services.findOrder(result.order.id))?.status).toBe('SUBMITTED');
  });

  it('drains the deliveries past those another instance’s batch holds, each order recorded with its mapped lines', async () => {
    const placed = skus.slice(0, 4).map((sku) => {
      const result = world.shopify.state.placeOrder({ lines: [{ sku, quantity: 1 }], location: 'WH-A' });
      if (!result.placed) throw new Error('refused');
      return result.order;
    });
    await world.shopify.state.settleWebhooks();
    // Another instance’s batch: the first two due deliveries (one per order: the same event sent to
    // both routes is stored once), claimed in a transaction left open.
    const holder = postgres(database.url!, { max: 1, onnotice: () => {} });
    try {
      await holder.begin(async (tx) => {
        const held = await tx`select id from webhook_inbox where status = 'PENDING' order by next_attempt_at, id limit 2 for update`;
        expect(held).toHaveLength(2);
        const drained = await b.module.inbox.drain({ batchSize: 2 });
        expect(drained.claimed).toBe(2);
        const recorded = (await Promise.all(placed.map((order) => b.module.services.findOrder(order.id)))).filter((order) => order !== null);
        expect(recorded).toHaveLength(2);
        const lines = await b.module.services.getLinesByOrderIds(recorded.map((order) => order!.id));
        for (const order of recorded) expect(lines.get(order!.id)!.map((line) => [line.erpSku, line.mappingError])).toEqual([[expect.stringMatching(/^RACE-/), null]]);
      });
    } finally {
      await holder.end();
    }
    await Promise.all([a.drain(), b.drain()]);
    for (const order of placed) expect(world.erp.countSalesOrders(reference(order.legacyId))).toBe(1);
  });

  it('loses nothing when an instance stops after answering 200 and before processing: the other drains its inbox', async () => {
    const crashed = await startOrdersInstance(world, database);
    const subscriptions = await crashed.module.subscriptions.register(crashed.webhookUrl);
    // Only the instance about to stop is subscribed for this order.
    const others = world.shopify.state.webhookSubscriptions().filter((s) => !subscriptions.created.some((c) => c.id === s.id));
    for (const other of others) world.shopify.state.shop.deleteWebhookSubscription(Number(other.id.split('/').pop()));
    const result = world.shopify.state.placeOrder({ lines: [{ sku: 'RACE-2', quantity: 2 }], location: 'WH-B' });
    if (!result.placed) throw new Error('refused');
    await world.shopify.state.settleWebhooks();
    const delivered = world.shopify.state.webhookDeliveries().find((d) => d.topic === 'orders/create' && d.body.includes(`"id":${result.order.legacyId},`))!;
    expect(delivered.attempts.map((attempt) => attempt.status)).toEqual([200]);
    await crashed.close();
    expect(world.erp.countSalesOrders(reference(result.order.legacyId))).toBe(0);
    await b.drain();
    expect(world.erp.countSalesOrders(reference(result.order.legacyId))).toBe(1);
    expect((await b.module.services.findOrder(result.order.id))?.status).toBe('SUBMITTED');
  });

  describe('with claims on a clock the test moves', () => {
    const LEASE_MS = 45_000;
    const clock = new TestClock();
    const pauses = new PipelinePauses();
    let frozen: OrdersInstance;
    let other: OrdersInstance;

    beforeAll(async () => {
      // The first instance never renews its claims by itself (a frozen or killed process); the
      // second is a healthy instance on its own pool.
      frozen = await startOrdersInstance(world, database, {
        erp: new SimulatedErpConnector(world.erp, { policy: { maxAttempts: 1 } }),
        processor: { clock: clock.now, pause: pauses.pause, leaseMs: LEASE_MS, heartbeatMs: 0 },
      });
      other = await startOrdersInstance(world, second, {
        erp: new SimulatedErpConnector(world.erp, { policy: { maxAttempts: 1 } }),
        processor: { clock: clock.now, leaseMs: LEASE_MS },
      });
      // Only the first instance's route receives the deliveries now (an earlier test stopped one).
      for (const subscription of world.shopify.state.webhookSubscriptions()) world.shopify.state.shop.deleteWebhookSubscription(Number(subscription.id.split('/').pop()));
      await a.module.subscriptions.register(a.webhookUrl);
    });

    afterAll(async () => {
      await frozen?.close();
      await other?.close();
    });

    async function storedOrder(sku: string) {
      const result = world.shopify.state.placeOrder({ lines: [{ sku, quantity: 1 }], location: 'WH-A' });
      if (!result.placed) throw new Error('refused');
      await world.shopify.state.settleWebhooks();
      await a.module.inbox.drain();
      const stored = await frozen.module.services.findOrder(result.order.id);
      return { placed: result.order, id: stored!.id };
    }

    it('lets the second instance take over only once the holder’s lease lapsed during a slow ERP call, and refuses the stale holder’s write-back: one sale', async () => {
      const order = await storedOrder('RACE-3');
      const held = pauses.hold('after-send', order.id);
      const slow = frozen.module.processor.processDue();
      await held.reached;
      expect(await other.module.processor.processDue()).toBe(0);
      clock.advance(LEASE_MS + 1_000);
      expect(await other.module.processor.processDue()).toBeGreaterThanOrEqual(1);
      const taken = await other.module.services.findOrder(order.id);
      expect(taken?.status).toBe('SUBMITTED');
      held.release();
      await slow;
      expect(await frozen.module.services.findOrder(order.id)).toMatchObject({ status: 'SUBMITTED', erpReference: taken!.erpReference });
      expect(world.erp.countSalesOrders(reference(order.placed.legacyId))).toBe(1);
    });

    it('keeps the order with a holder that renews its lease through a slow ERP call: nobody takes it over', async () => {
      const order = await storedOrder('RACE-4');
      const held = pauses.hold('before-send', order.id);
      const slow = frozen.module.processor.processDue();
      await held.reached;
      // Two heartbeats, each within the lease; together longer than one lease.
      clock.advance(LEASE_MS * 0.6);
      expect(await frozen.module.processor.renewClaims()).toBe(1);
      clock.advance(LEASE_MS * 0.6);
      expect(await frozen.module.processor.renewClaims()).toBe(1);
      expect(await other.module.processor.processDue()).toBe(0);
      held.release();
      await slow;
      expect(await frozen.module.services.findOrder(order.id)).toMatchObject({ status: 'SUBMITTED' });
      expect(world.erp.countSalesOrders(reference(order.placed.legacyId))).toBe(1);
    });

    it('takes over within a minute the order a killed instance claimed and never released', async () => {
      const order = await storedOrder('RACE-5');
      const killed = await frozen.module.repositories.orders.claim(order.id, 'killed-instance', LEASE_MS, clock.now());
      expect(killed).not.toBeNull();
      expect(await other.module.processor.processDue()).toBe(0);
      clock.advance(LEASE_MS + 1_000);
      expect(LEASE_MS + 1_000).toBeLessThan(60_000);
      expect(await other.module.processor.processDue()).toBeGreaterThanOrEqual(1);
      expect(await other.module.services.findOrder(order.id)).toMatchObject({ status: 'SUBMITTED' });
      expect(world.erp.countSalesOrders(reference(order.placed.legacyId))).toBe(1);
    });
  });
});
