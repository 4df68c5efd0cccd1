import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { TrytonErpConnector } from '../../src/erp/tryton/tryton-erp-connector.js';
import { TrytonRpcClient } from '../../src/erp/tryton/tryton-rpc-client.js';
import { createLogger } from '../../src/logger.js';
import { TrytonErpFixture } from '../../scripts/lib/tryton-fixture.js';
import { createTestDatabase, type TestDatabase } from '../support/database.js';
import { describeWithTryton, trytonCredentials } from '../support/tryton.js';
import { startShop, type Shop } from '../orders/support/orders-harness.js';
import { startFulfilmentsInstance, type FulfilmentsInstance } from './support.js';

/**
 * End to end against a real trytond: customer shipments done in Tryton (the warehouse picks,
 * packs and ships with a tracking reference) become fulfilments of the Shopify simulator's order,
 * a partial shipment first and the rest after. Start one with `bash scripts/tryton.sh start` and
 * `eval "$(bash scripts/tryton.sh env)"`; without ERP_URL the suite reports itself skipped.
 */

describeWithTryton('shipments done in a real Tryton become Shopify fulfilments', () => {
  const run = randomBytes(3).toString('hex').toUpperCase();
  const skus = [`FF${run}-A`, `FF${run}-B`];
  const logger = createLogger('silent');
  const credentials = trytonCredentials!;
  let connector: TrytonErpConnector;
  let fixture: TrytonErpFixture;
  let shop: Shop;
  let database: TestDatabase;
  let instance: FulfilmentsInstance;

  beforeAll(async () => {
    connector = new TrytonErpConnector({ ...credentials, logger });
    fixture = new TrytonErpFixture(new TrytonRpcClient({ ...credentials, logger }));
    await fixture.createProducts(skus.map((sku) => ({ sku, name: `Shipped product ${sku}` })));
    for (const sku of skus) await fixture.receiveStock({ sku, location: 'WH', quantity: 20 });
    shop = await startShop(
      skus.map((sku) => ({ sku, price: '12.00', stock: { WH: 20, 'WH-EAST': 0 } })),
      { warehouses: [{ code: 'WH', name: 'Warehouse' }, { code: 'WH-EAST', name: 'East warehouse' }] },
    );
    // Tryton keeps its sales from run to run, and a new simulator numbers orders from the same
    // base: skip ahead to order ids this Tryton has not seen.
    for (let skip = parseInt(run, 16) % 500_000; skip > 0; skip--) shop.shopify.state.shop.nextId('Order');
    database = await createTestDatabase();
    instance = await startFulfilmentsInstance({ ...shop, connector }, database);
    // The feed starts from now: the shipments below are the first it reports.
    await instance.runJob();
  }, 120_000);

  afterAll(async () => {
    await instance?.close();
    await database?.close();
    await shop?.close();
    await connector?.close();
  });

  /** Runs the job until the shipment is written (Tryton's feed may report a commit on the next read). */
  async function runUntilWritten(shipmentId: number): Promise<void> {
    for (let attempt = 0; attempt < 10; attempt++) {
      await instance.runJob();
      const row = await instance.module.services.findByShipmentId(String(shipmentId));
      if (row && row.status !== 'PENDING' && row.status !== 'SUBMITTING') return;
      await sleep(500);
    }
  }

  it('a shipment with a tracking reference becomes one fulfilment with that number, and the shipment of the rest completes the order', { timeout: 120_000 }, async () => {
    const placed = shop.shopify.state.placeOrder({
      lines: [
        { sku: skus[0]!, quantity: 3 },
        { sku: skus[1]!, quantity: 2 },
      ],
      location: 'WH',
      customer: { firstName: 'Tryton', lastName: `Buyer ${run}`, email: 'tryton@example.com' },
    });
    if (!placed.placed) throw new Error('refused');
    const order = placed.order;
    await connector.createSalesOrder({
      externalReference: order.id,
      name: order.name,
      customer: { name: `Tryton Buyer ${run}`, email: 'tryton@example.com', phone: null },
      shippingAddress: { name: 'Tryton Buyer', company: null, line1: '1 Dock Road', line2: null, city: 'Leeds', postalCode: 'LS1 1AA', countryCode: 'GB', provinceCode: null, phone: null },
      currency: 'EUR',
      lines: [
        { sku: skus[0]!, quantity: 3, location: 'WH', unitPrice: '12.00' },
        { sku: skus[1]!, quantity: 2, location: 'WH', unitPrice: '12.00' },
      ],
    });

    const first = await fixture.shipSalesOrder(order.id, { trackingNumber: `TRK${run}1`, lines: [{ sku: skus[0]!, quantity: 1 }] });
    await runUntilWritten(first.id);
    let shopified = shop.shopify.state.order(order.id);
    expect(shopified.fulfillmentStatus).toBe('PARTIALLY_FULFILLED');
    expect(shopified.fulfillments.map((f) => [f.tracking[0]?.number, f.lines.map((l) => [l.sku, l.quantity])])).toEqual([[`TRK${run}1`, [[skus[0], 1]]]]);

    const rest = await fixture.shipSalesOrder(order.id, { trackingNumber: `TRK${run}2` });
    await runUntilWritten(rest.id);
    shopified = shop.shopify.state.order(order.id);
    expect(shopified.fulfillmentStatus).toBe('FULFILLED');
    expect(shopified.fulfillments.map((f) => f.tracking[0]?.number)).toEqual([`TRK${run}1`, `TRK${run}2`]);
    expect((await instance.module.services.findByShipmentId(String(rest.id)))?.status).toBe('FULFILLED');

    // Read again: nothing new, nothing written twice.
    await instance.runJob();
    expect(shop.shopify.state.order(order.id).fulfillments).toHaveLength(2);
  });
});
