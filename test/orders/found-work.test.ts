import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Database } from '../../src/db/database.js';
import { createTestDatabase, openSecondInstance, testDatabaseKind, type TestDatabase } from '../support/database.js';
import { waitFor } from '../support/waiting.js';
import { startOrdersInstance, startShopAndErp, type OrdersInstance, type ShopAndErp } from './support/orders-harness.js';

/**
 * Found work starts at once. No scheduler runs here: the `orders.pipeline` job (the safety net
 * that drains every 30 s) never runs, and the worker's idle sleep is a minute, longer than any
 * wait below. An order the poll finds can only reach the ERP because finding it woke a worker:
 * this process's own (an in-process signal), or another instance's (LISTEN/NOTIFY).
 */
describe('orders found by the poll start at once', () => {
  let world: ShopAndErp;
  let database: TestDatabase;
  let other: Database;
  let poller: OrdersInstance;
  let drainer: OrdersInstance;
  const reference = (legacyId: number) => `gid://shopify/Order/${legacyId}`;

  beforeAll(async () => {
    world = await startShopAndErp([{ sku: 'FOUND-A' }, { sku: 'FOUND-B' }]);
    database = await createTestDatabase();
    // On PostgreSQL the second instance has its own pool (its own LISTEN connection); PGlite has one process.
    other = testDatabaseKind === 'postgres' ? await openSecondInstance(database) : database;
  });

  afterAll(async () => {
    await drainer?.close();
    await poller?.close();
    if (other !== database) await other?.close();
    await database?.close();
    await world?.close();
  });

  /** An order Shopify took whose webhooks were all lost: only the poll can find it. */
  async function placeUnannounced(sku: string) {
    world.shopify.state.setWebhookFaults({ dropRate: 1 });
    const placed = world.shopify.state.placeOrder({ lines: [{ sku, quantity: 2 }], location: 'WH-A', customer: { firstName: 'Grace', lastName: 'Hopper', email: 'grace@example.com' } });
    if (!placed.placed) throw new Error(`order refused: ${placed.message}`);
    await world.shopify.state.settleWebhooks();
    world.shopify.state.clearFaults();
    return placed.order;
  }

  it('reaches the ERP through the worker of the instance whose poll found it, without the pipeline job', async () => {
    poller = await startOrdersInstance(world, database, { worker: true });
    await poller.module.subscriptions.register(poller.webhookUrl);
    // Let the worker's first passes find nothing and fall asleep.
    await new Promise((resolve) => setTimeout(resolve, 300));
    const order = await placeUnannounced('FOUND-A');
    expect(world.erp.countSalesOrders(reference(order.legacyId))).toBe(0);

    const poll = await poller.module.poll.poll();
    expect(poll.missed).toBe(1);
    const stored = await waitFor(() => poller.module.services.findOrder(order.id), (found) => found?.status === 'SUBMITTED', { timeoutMs: 15_000, what: 'the polled order submitted' });
    expect(stored).toMatchObject({ status: 'SUBMITTED', source: 'poll' });
    expect(world.erp.countSalesOrders(reference(order.legacyId))).toBe(1);
  });

  it('reaches the ERP through another instance, woken by a notification, when the finder does not send', async () => {
    await poller.close();
    // The finder runs no worker at all; the other instance's worker sleeps until told.
    poller = await startOrdersInstance(world, database, { worker: false });
    drainer = await startOrdersInstance(world, other, { worker: true });
    await new Promise((resolve) => setTimeout(resolve, 300));
    const order = await placeUnannounced('FOUND-B');

    const poll = await poller.module.poll.poll();
    expect(poll.missed).toBe(1);
    const stored = await waitFor(() => drainer.module.services.findOrder(order.id), (found) => found?.status === 'SUBMITTED', { timeoutMs: 15_000, what: 'the order submitted by the other instance' });
    expect(stored).toMatchObject({ status: 'SUBMITTED', source: 'poll' });
    expect(world.erp.countSalesOrders(reference(order.legacyId))).toBe(1);
    // Sent by the notified instance: the finder never ran a worker.
    expect(drainer.logLines().some((line) => line.msg === 'order submitted to the ERP' && line.orderId === stored!.id)).toBe(true);
    expect(poller.logLines().some((line) => line.msg === 'order submitted to the ERP')).toBe(false);
  });
});
