import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../support/database.js';
import { placeOrderInBoth, startFulfilmentsInstance, startShopAndErp, TestClock, type FulfilmentsInstance, type ShopAndErp } from './support.js';

const PRODUCTS = [{ sku: 'HINGE-BUTT-75-SS' }, { sku: 'BRACKET-V2-BLU', shopifySku: 'bracket-v2-blue' }, { sku: 'SEALANT-SIL-310ML-CLR' }];

describe('ERP shipments become Shopify fulfilments', () => {
  let world: ShopAndErp;
  let database: TestDatabase;
  let instance: FulfilmentsInstance;
  let clock: TestClock;

  beforeEach(async () => {
    world = await startShopAndErp(PRODUCTS);
    database = await createTestDatabase();
    clock = new TestClock();
    instance = await startFulfilmentsInstance(world, database, { clock });
    // The first run starts the feed from now: shipments before it are not written back.
    await instance.runJob();
  });

  afterEach(async () => {
    await instance.close();
    await world.close();
    await database.close();
  });

  const shopifyOrder = (id: string) => world.shopify.state.order(id);
  const fulfilmentOf = (shipmentNumber: string) => instance.module.services.findByShipmentId(shipmentIdOf(shipmentNumber));
  const shipmentIdOf = (number: string) => String(Number(number.replace(/^CS0*/, '')));

  it('a partial shipment becomes a partial fulfilment with its tracking, and a second shipment of the rest completes the order', async () => {
    const { order, reference } = await placeOrderInBoth(world, [
      { sku: 'HINGE-BUTT-75-SS', quantity: 3 },
      { sku: 'BRACKET-V2-BLU', quantity: 2 },
    ]);
    const [first] = world.erp.shipSalesOrder(reference, {
      lines: [
        { sku: 'HINGE-BUTT-75-SS', quantity: 1 },
        { sku: 'BRACKET-V2-BLU', quantity: 2 },
      ],
      carrier: 'DHL',
      trackingNumber: 'JD014600006281230704',
      trackingUrl: 'https://track.example/JD014600006281230704',
    });

    expect(await instance.runJob()).toMatchObject({ reported: 1, recorded: 1, fulfilled: 1 });
    let shopified = shopifyOrder(order.id);
    expect(shopified.fulfillmentStatus).toBe('PARTIALLY_FULFILLED');
    expect(shopified.fulfillments).toHaveLength(1);
    expect(shopified.fulfillments[0]).toMatchObject({
      createdBy: 'app',
      notifyCustomer: true,
      tracking: [{ company: 'DHL', number: 'JD014600006281230704', url: 'https://track.example/JD014600006281230704' }],
    });
    expect(shopified.fulfillments[0]!.lines.map((l) => [l.sku, l.quantity]).sort()).toEqual([
      ['HINGE-BUTT-75-SS', 1],
      ['bracket-v2-blue', 2],
    ]);
    expect(await fulfilmentOf(first!)).toMatchObject({ status: 'FULFILLED', shopifyFulfillmentIds: [shopified.fulfillments[0]!.id], lastError: null });

    const [second] = world.erp.shipSalesOrder(reference, { carrier: 'DHL', trackingNumber: 'JD014600006281230705' });
    expect(await instance.runJob()).toMatchObject({ recorded: 1, fulfilled: 1 });
    shopified = shopifyOrder(order.id);
    expect(shopified.fulfillmentStatus).toBe('FULFILLED');
    expect(shopified.fulfillments.map((f) => [f.tracking[0]?.number, f.lines.map((l) => l.quantity)])).toEqual([
      ['JD014600006281230704', expect.any(Array)],
      ['JD014600006281230705', [2]],
    ]);
    expect(await fulfilmentOf(second!)).toMatchObject({ status: 'FULFILLED', shipmentReference: second });
  });

  it('a shipment the feed reports again (its tracking corrected) is written once', async () => {
    const { order, reference } = await placeOrderInBoth(world, [{ sku: 'HINGE-BUTT-75-SS', quantity: 2 }]);
    const [shipment] = world.erp.shipSalesOrder(reference, { trackingNumber: 'AAA1' });
    await instance.runJob();
    world.erp.setShipmentTracking(shipment!, { trackingNumber: 'AAA2' });

    expect(await instance.runJob()).toMatchObject({ reported: 1, recorded: 0, fulfilled: 0 });
    expect(shopifyOrder(order.id).fulfillments).toHaveLength(1);
    expect(await fulfilmentOf(shipment!)).toMatchObject({ status: 'FULFILLED', attempts: 0 });
  });

  it('when the answer to fulfillmentCreate is lost after Shopify applied it, the retry finds that fulfilment and creates none', async () => {
    const { order, reference } = await placeOrderInBoth(world, [{ sku: 'HINGE-BUTT-75-SS', quantity: 3 }]);
    const [shipment] = world.erp.shipSalesOrder(reference, { lines: [{ sku: 'HINGE-BUTT-75-SS', quantity: 2 }], trackingNumber: 'LOST-1' });
    // The two reads of the order's fulfilment state answer; the create runs and its answer is lost.
    world.shopify.state.setAdminFaults({ script: ['none', 'none', 'dropAfterExecute'] });
    await instance.runJob();
    expect(await fulfilmentOf(shipment!)).toMatchObject({ status: 'SUBMITTING', lastErrorCode: 'SHOPIFY_IN_DOUBT' });
    expect(shopifyOrder(order.id).fulfillments).toHaveLength(1);

    // Before the lost answer has settled nothing is sent; after, the look-up finds the fulfilment.
    await instance.module.services.processDue();
    clock.advance(61_000);
    expect(await instance.module.services.processDue()).toMatchObject({ fulfilled: 1 });
    const shopified = shopifyOrder(order.id);
    expect(shopified.fulfillments).toHaveLength(1);
    expect(shopified.lines[0]!.fulfilledQuantity).toBe(2);
    expect(await fulfilmentOf(shipment!)).toMatchObject({ status: 'FULFILLED', shopifyFulfillmentIds: [shopified.fulfillments[0]!.id], submittedAt: null });
  });

  it('when a fulfillmentCreate never reached Shopify, it is sent again once the lost answer has settled', async () => {
    const { order, reference } = await placeOrderInBoth(world, [{ sku: 'HINGE-BUTT-75-SS', quantity: 3 }]);
    const [shipment] = world.erp.shipSalesOrder(reference, { trackingNumber: 'DROP-1' });
    world.shopify.state.setAdminFaults({ script: ['none', 'none', 'drop'] });
    await instance.runJob();
    expect(await fulfilmentOf(shipment!)).toMatchObject({ status: 'SUBMITTING' });
    expect(shopifyOrder(order.id).fulfillments).toHaveLength(0);

    clock.advance(61_000);
    expect(await instance.module.services.processDue()).toMatchObject({ fulfilled: 1 });
    expect(shopifyOrder(order.id).fulfillments).toHaveLength(1);
    expect(shopifyOrder(order.id).fulfillmentStatus).toBe('FULFILLED');
  });

  it('an order fulfilled by hand in Shopify is not fulfilled again: the shipment is SKIPPED_MANUAL', async () => {
    const { order, reference } = await placeOrderInBoth(world, [{ sku: 'HINGE-BUTT-75-SS', quantity: 2 }]);
    world.shopify.state.fulfillOrder(order.id, { tracking: { company: 'Royal Mail', number: 'RM123' } });
    const [shipment] = world.erp.shipSalesOrder(reference, { trackingNumber: 'ERP-9' });

    expect(await instance.runJob()).toMatchObject({ skipped: 1, fulfilled: 0 });
    const shopified = shopifyOrder(order.id);
    expect(shopified.fulfillments.map((f) => f.createdBy)).toEqual(['merchant']);
    expect(await fulfilmentOf(shipment!)).toMatchObject({ status: 'SKIPPED_MANUAL', shopifyFulfillmentIds: [], note: expect.stringContaining('already fulfilled in Shopify') });
  });

  it('units fulfilled by hand are left out of a shipment that also carries others, and the note says which', async () => {
    const { order, reference } = await placeOrderInBoth(world, [
      { sku: 'HINGE-BUTT-75-SS', quantity: 2 },
      { sku: 'SEALANT-SIL-310ML-CLR', quantity: 1 },
    ]);
    world.shopify.state.fulfillOrder(order.id, { lines: [{ sku: 'HINGE-BUTT-75-SS', quantity: 2 }] });
    const [shipment] = world.erp.shipSalesOrder(reference);

    expect(await instance.runJob()).toMatchObject({ fulfilled: 1 });
    const mine = shopifyOrder(order.id).fulfillments.filter((f) => f.createdBy === 'app');
    expect(mine.map((f) => f.lines.map((l) => [l.sku, l.quantity]))).toEqual([[['SEALANT-SIL-310ML-CLR', 1]]]);
    expect(await fulfilmentOf(shipment!)).toMatchObject({ status: 'FULFILLED', note: expect.stringContaining('2 × HINGE-BUTT-75-SS') });
  });

  it('a SKU that matches no line of the order (no mapping, spelled otherwise in Shopify) fails at once, says why and is alerted', async () => {
    const { order, reference } = await placeOrderInBoth(world, [{ sku: 'BRACKET-V2-BLU', quantity: 1 }]);
    world.mapping.skus.clear();
    const [shipment] = world.erp.shipSalesOrder(reference);

    expect(await instance.runJob()).toMatchObject({ failed: 1 });
    expect(await fulfilmentOf(shipment!)).toMatchObject({
      status: 'FAILED',
      lastErrorCode: 'FULFILMENT_LINES_UNMATCHED',
      lastError: 'No line of the Shopify order is BRACKET-V2-BLU (check the SKU mapping)',
    });
    await instance.alerts.flush();
    expect(world.alerts.received).toEqual([
      expect.objectContaining({ code: 'FULFILMENT_FAILED', details: expect.objectContaining({ shipment, code: 'FULFILMENT_LINES_UNMATCHED' }) }),
    ]);
    expect(shopifyOrder(order.id).fulfillments).toHaveLength(0);
  });

  it('Shopify failing again and again: retried with backoff, then FAILED with lastError, alerted once', async () => {
    await instance.close();
    instance = await startFulfilmentsInstance(world, database, { clock, failAfterAttempts: 2 });
    const { order, reference } = await placeOrderInBoth(world, [{ sku: 'HINGE-BUTT-75-SS', quantity: 1 }]);
    const [shipment] = world.erp.shipSalesOrder(reference);
    world.shopify.state.setAdminFaults({ http503Rate: 1 });

    await instance.runJob();
    expect(await fulfilmentOf(shipment!)).toMatchObject({ status: 'PENDING', attempts: 1, lastErrorCode: 'SHOPIFY_UNAVAILABLE', lastError: 'Shopify could not be reached; retrying' });
    await new Promise((resolve) => setTimeout(resolve, 5));
    await instance.module.services.processDue();
    expect(await fulfilmentOf(shipment!)).toMatchObject({ status: 'FAILED', attempts: 2, lastErrorCode: 'SHOPIFY_UNAVAILABLE' });
    await new Promise((resolve) => setTimeout(resolve, 5));
    await instance.module.services.processDue();
    await instance.alerts.flush();
    expect(world.alerts.received.filter((alert) => alert.code === 'FULFILMENT_FAILED')).toHaveLength(1);

    world.shopify.state.clearFaults();
    await new Promise((resolve) => setTimeout(resolve, 5));
    expect(await instance.module.services.processDue()).toMatchObject({ fulfilled: 1 });
    expect(await fulfilmentOf(shipment!)).toMatchObject({ status: 'FULFILLED', lastError: null });
    expect(shopifyOrder(order.id).fulfillments).toHaveLength(1);
  });

  it('customer notification follows FULFILMENT_NOTIFY_CUSTOMER', async () => {
    await instance.close();
    instance = await startFulfilmentsInstance(world, database, { clock, env: { FULFILMENT_NOTIFY_CUSTOMER: 'off' } });
    const { order, reference } = await placeOrderInBoth(world, [{ sku: 'HINGE-BUTT-75-SS', quantity: 1 }]);
    world.erp.shipSalesOrder(reference);
    await instance.runJob();
    expect(shopifyOrder(order.id).fulfillments.map((f) => f.notifyCustomer)).toEqual([false]);
  });
});
