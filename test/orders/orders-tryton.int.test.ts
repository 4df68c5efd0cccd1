import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { eq } from 'drizzle-orm';
import { z } from 'zod';
import { orderReturns } from '../../src/db/schema/index.js';
import { TrytonErpConnector } from '../../src/erp/tryton/tryton-erp-connector.js';
import { TrytonRpcClient } from '../../src/erp/tryton/tryton-rpc-client.js';
import { createLogger } from '../../src/logger.js';
import { signWebhookBody } from '../../src/simulators/shopify/index.js';
import { TrytonErpFixture } from '../../scripts/lib/tryton-fixture.js';
import { createTestDatabase, type TestDatabase } from '../support/database.js';
import { describeWithTryton, trytonCredentials } from '../support/tryton.js';
import { seedInventoryLevel, startOrdersInstance, startShop, type OrdersInstance, type Shop } from './support/orders-harness.js';

/**
 * End to end against a real trytond: the Shopify simulator's signed webhooks become Tryton sales
 * orders (`sale.sale` with the Shopify order as reference), exactly once, cancelled and returned
 * there. Start one with `bash scripts/tryton.sh start` and `eval "$(bash scripts/tryton.sh env)"`;
 * without ERP_URL (and the other ERP_* variables) the suite reports itself skipped.
 */

describeWithTryton('orders into a real Tryton', () => {
  const run = randomBytes(3).toString('hex').toUpperCase();
  const skus = [`SO${run}-A`, `SO${run}-B`, `SO${run}-C`];
  const logger = createLogger('silent');
  const credentials = trytonCredentials!;
  let connector: TrytonErpConnector;
  let fixture: TrytonErpFixture;
  let shop: Shop;
  let database: TestDatabase;
  let instance: OrdersInstance;

  beforeAll(async () => {
    connector = new TrytonErpConnector({ ...credentials, logger });
    fixture = new TrytonErpFixture(new TrytonRpcClient({ ...credentials, logger }));
    await fixture.createProducts(skus.map((sku) => ({ sku, name: `Shopify product ${sku}` })));
    for (const sku of skus) await fixture.receiveStock({ sku, location: 'WH', quantity: 40 });
    shop = await startShop(
      skus.map((sku) => ({ sku, price: '24.00', stock: { WH: 40, 'WH-EAST': 0 } })),
      { warehouses: [{ code: 'WH', name: 'Warehouse' }, { code: 'WH-EAST', name: 'East warehouse' }] },
    );
    // Tryton keeps its sales from run to run, and a new simulator numbers orders from the same
    // base: skip ahead to order ids this Tryton has not seen.
    for (let skip = parseInt(run, 16) % 500_000; skip > 0; skip--) shop.shopify.state.shop.nextId('Order');
    database = await createTestDatabase();
    instance = await startOrdersInstance({ ...shop, connector }, database, { defaultLocation: 'WH' });
    await instance.module.subscriptions.register(instance.webhookUrl);
  }, 120_000);

  afterAll(async () => {
    await instance?.close();
    await database?.close();
    await shop?.close();
    await connector?.close();
  });

  function place(sku: string, quantity: number) {
    const placed = shop.shopify.state.placeOrder({ lines: [{ sku, quantity }], location: 'WH', customer: { firstName: 'Tryton', lastName: `Buyer ${run}`, email: 'tryton@example.com' } });
    if (!placed.placed) throw new Error('refused');
    return placed.order;
  }

  async function settle() {
    await shop.shopify.state.settleWebhooks();
    await instance.drain();
  }

  it('creates one Tryton sale per Shopify order, even when the webhook arrives three times', { timeout: 60_000 }, async () => {
    const order = place(skus[0]!, 3);
    await settle();
    const delivery = shop.shopify.state.webhookDeliveries().find((d) => d.topic === 'orders/create' && d.body.includes(`"id":${order.legacyId},`))!;
    for (let i = 0; i < 2; i++) {
      await fetch(instance.webhookUrl, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-shopify-topic': 'orders/create', 'x-shopify-hmac-sha256': signWebhookBody(shop.shopify.apiSecret, delivery.body), 'x-shopify-shop-domain': shop.shopify.shopDomain, 'x-shopify-webhook-id': `${delivery.webhookId}${i === 0 ? '' : '-again'}` },
        body: delivery.body,
      });
    }
    await instance.drain();
    const stored = await instance.module.services.findOrder(order.id);
    expect(stored).toMatchObject({ status: 'SUBMITTED' });
    expect(await fixture.countSalesOrders(order.id)).toBe(1);
    const sale = await connector.findSalesOrder(order.id);
    // Tryton moves a confirmed sale to `processing` as soon as it creates its shipment.
    expect(sale).toMatchObject({ erpReference: stored!.erpReference, status: expect.stringMatching(/^(confirmed|processing)$/) });
    expect(sale!.lines.map((line) => [line.sku, line.quantity, line.location])).toEqual([[skus[0], 3, 'WH']]);
  });

  it('keeps the units pending until Tryton assigns the shipment, then releases them', { timeout: 60_000 }, async () => {
    await seedInventoryLevel(database, shop.shopify.shopDomain, { sku: skus[1]!, location: 'WH', onHand: 40 });
    const order = place(skus[1]!, 2);
    await settle();
    const lines = async () => (await instance.module.services.getLinesByOrderIds([(await instance.module.services.findOrder(order.id))!.id])).values().next().value!;
    expect((await lines()).map((line) => line.pendingQuantity)).toEqual([2]);
    await instance.module.processor.checkAllocations();
    expect((await lines()).map((line) => line.pendingQuantity)).toEqual([2]);
    await fixture.assignSalesOrder(order.id);
    await instance.module.processor.checkAllocations();
    expect((await lines()).map((line) => line.pendingQuantity)).toEqual([0]);
    expect((await instance.module.services.findOrder(order.id))?.allocatedAt).not.toBeNull();
  });

  it('records goods a refund restocked as a Tryton customer return, once', { timeout: 60_000 }, async () => {
    const order = place(skus[0]!, 2);
    await settle();
    expect((await instance.module.services.findOrder(order.id))?.status).toBe('SUBMITTED');
    shop.shopify.state.fulfillOrder(order.id);
    shop.shopify.state.refundOrder(order.id, { lines: [{ sku: skus[0]!, quantity: 1, restockType: 'RETURN' }] });
    await settle();
    await settle();
    const stored = await instance.module.services.findOrder(order.id);
    const recorded = await database.db.select().from(orderReturns).where(eq(orderReturns.orderId, stored!.id));
    expect(recorded.map((row) => row.status)).toEqual(['DONE']);
    const done = recorded[0]!;
    const client = new TrytonRpcClient({ ...credentials, logger });
    const found = await client.model('stock.shipment.out.return', 'search_count', [[['reference', '=', `gid://shopify/Refund/${done.shopifyRefundId}`]]], z.number().int());
    expect(found).toBe(1);
    expect((await instance.module.services.findOrder(order.id))?.flags).toEqual([]);
  });

  it('cancels the Tryton sale when Shopify cancels the order', { timeout: 60_000 }, async () => {
    const order = place(skus[2]!, 1);
    await settle();
    expect((await instance.module.services.findOrder(order.id))?.status).toBe('SUBMITTED');
    shop.shopify.state.cancelOrder(order.id);
    await settle();
    for (let i = 0; i < 40 && (await instance.module.services.findOrder(order.id))?.status !== 'CANCELLED'; i++) {
      await sleep(50);
      await instance.drain();
    }
    expect((await instance.module.services.findOrder(order.id))?.status).toBe('CANCELLED');
    expect((await connector.findSalesOrder(order.id))?.status).toBe('cancelled');
  });
});
