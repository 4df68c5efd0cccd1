import { afterAll, beforeAll, expect, it } from 'vitest';
import type { Database } from '../../src/db/database.js';
import { SimulatedErpConnector } from '../../src/erp/simulated/simulated-erp-connector.js';
import { createTestDatabase, describeWithPostgres, openSecondInstance, type TestDatabase } from '../support/database.js';
import { startOrdersInstance, startShopAndErp, type OrdersInstance, type ShopAndErp } from './support/orders-harness.js';

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
      expect((await a.module.orders.findOrder(order.id))?.status).toBe('SUBMITTED');
    }
  });

  it('creates one ERP order when both instances replay the same failed order at once', async () => {
    world.erp.fail({ mode: 'reject', methods: ['sale.create'] });
    const result = world.shopify.state.placeOrder({ lines: [{ sku: 'RACE-1', quantity: 1 }], location: 'WH-A' });
    if (!result.placed) throw new Error('refused');
    await world.shopify.state.settleWebhooks();
    await Promise.all([a.drain(), b.drain()]);
    expect((await a.module.orders.findOrder(result.order.id))?.status).toBe('FAILED');
    world.erp.recover();
    world.erp.fail({ mode: 'slow', delayMs: 30, methods: ['sale.search', 'sale.create'] });
    try {
      await Promise.all([a.module.orders.replayOrder(result.order.id), b.module.orders.replayOrder(result.order.id)]);
    } finally {
      world.erp.recover();
    }
    await Promise.all([a.drain(), b.drain()]);
    expect(world.erp.countSalesOrders(reference(result.order.legacyId))).toBe(1);
    expect((await b.module.orders.findOrder(result.order.id))?.status).toBe('SUBMITTED');
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
    expect((await b.module.orders.findOrder(result.order.id))?.status).toBe('SUBMITTED');
  });
});
