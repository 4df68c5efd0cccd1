import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { SimulatedErpConnector } from '../../src/erp/simulated/simulated-erp-connector.js';
import { createTestDatabase, type TestDatabase } from '../support/database.js';
import { PipelinePauses, startOrdersInstance, startShopAndErp, TestClock, type OrdersInstance, type ShopAndErp } from './support/orders-harness.js';

/**
 * The order pipeline under interleavings, reproduced step by step: the processor stops at pause
 * points the test holds (after the claim, before and after each ERP call, before the write-back),
 * leases and in-doubt settling run on a clock the test moves, and the simulated ERP loses answers
 * and commits later. No sleeps decide an outcome.
 */

const SETTLE_MS = 2_000;
const LEASE_MS = 45_000;

describe('the order pipeline under interleavings', () => {
  let world: ShopAndErp;
  let database: TestDatabase;
  let instance: OrdersInstance;
  const pauses = new PipelinePauses();
  const clock = new TestClock();

  beforeAll(async () => {
    world = await startShopAndErp([
      { sku: 'ILV-A' },
      { sku: 'ILV-B' },
      { sku: 'ILV-C' },
      { sku: 'ORD-NUT-00001', shopifySku: 'ord-nut-00001' },
      { sku: 'ORD-NUT-00002', shopifySku: 'ord-nut-00002' },
      { sku: 'ORD-NUT-00003', shopifySku: 'ord-nut-00003' },
      { sku: 'ILV-UNMAPPED', shopifySku: 'ilv-unmapped', unmapped: true },
    ]);
    database = await createTestDatabase();
    instance = await startOrdersInstance(world, database, {
      processor: { pause: pauses.pause, clock: clock.now, leaseMs: LEASE_MS, heartbeatMs: 0, inDoubtSettleMs: SETTLE_MS },
    });
    await instance.module.subscriptions.register(instance.webhookUrl);
  });

  afterAll(async () => {
    await instance?.close();
    await database?.close();
    await world?.close();
  });

  afterEach(() => {
    world.erp.recover();
  });

  const reference = (legacyId: number) => `gid://shopify/Order/${legacyId}`;

  /** Places an order in the simulated store and stores its deliveries in the gateway (not yet sent to the ERP). */
  async function receive(lines: Array<{ sku: string; quantity: number }>, customer = { firstName: 'Ada', lastName: 'Lovelace', email: 'ada@example.com' }) {
    const placed = world.shopify.state.placeOrder({ lines, location: 'WH-A', customer });
    if (!placed.placed) throw new Error(`order refused: ${placed.message}`);
    await world.shopify.state.settleWebhooks();
    await instance.module.inbox.drain();
    const stored = await instance.module.services.findOrder(placed.order.id);
    if (!stored) throw new Error('order not stored');
    return { placed: placed.order, id: stored.id };
  }

  const find = (id: string) => instance.module.services.findOrder(id);

  it('refuses a replay beside this instance’s own worker on the same order: one sale', async () => {
    const order = await receive([{ sku: 'ILV-A', quantity: 1 }]);
    const held = pauses.hold('before-send', order.id);
    const working = instance.module.processor.processDue();
    await held.reached;
    const replayed = await instance.module.services.replayOrder(order.id);
    expect(replayed.status).toBe('RECEIVED');
    expect(world.erp.countSalesOrders(reference(order.placed.legacyId))).toBe(0);
    held.release();
    await working;
    expect(await find(order.id)).toMatchObject({ status: 'SUBMITTED' });
    expect(world.erp.countSalesOrders(reference(order.placed.legacyId))).toBe(1);
  });

  it('sends nothing when the claim lapsed while the order waited to be sent, and the new holder sends it once', async () => {
    const order = await receive([{ sku: 'ILV-B', quantity: 2 }]);
    const held = pauses.hold('before-send', order.id);
    const stale = instance.module.processor.processDue();
    await held.reached;
    // Another holder: a second worker of the same gateway takes over once the lease has lapsed.
    expect(await instance.module.processor.processDue()).toBe(0);
    clock.advance(LEASE_MS + 1_000);
    expect(await instance.module.processor.processDue()).toBe(1);
    expect(await find(order.id)).toMatchObject({ status: 'SUBMITTED' });
    held.release();
    await stale;
    expect(world.erp.countSalesOrders(reference(order.placed.legacyId))).toBe(1);
    expect(instance.logLines().some((line) => line.orderId === order.id && String(line.msg).includes('claim on the order was lost'))).toBe(true);
  });

  it('refuses the write-back of a holder whose lease lapsed during a slow ERP call; the next holder looks the sale up and finds it', async () => {
    const order = await receive([{ sku: 'ILV-C', quantity: 1 }]);
    const held = pauses.hold('after-send', order.id);
    const slow = instance.module.processor.processDue();
    await held.reached;
    expect(world.erp.countSalesOrders(reference(order.placed.legacyId))).toBe(1);
    // The holder is stuck (no heartbeat): nobody takes over before its lease lapses.
    expect(await instance.module.processor.processDue()).toBe(0);
    clock.advance(LEASE_MS + 1_000);
    await instance.module.processor.processDue();
    const taken = await find(order.id);
    expect(taken).toMatchObject({ status: 'SUBMITTED' });
    held.release();
    await slow;
    // The stale holder wrote nothing: the order is as the new holder left it, with one sale.
    expect(await find(order.id)).toMatchObject({ status: 'SUBMITTED', erpReference: taken!.erpReference });
    expect(world.erp.countSalesOrders(reference(order.placed.legacyId))).toBe(1);
  });

  it('keeps a create whose answer was lost IN_DOUBT until it has settled, then finds the late-committed sale: one sale', async () => {
    const order = await receive([{ sku: 'ILV-A', quantity: 3 }]);
    world.erp.fail({ mode: 'lost', methods: ['sale.create'], times: 1, delayMs: 50 });
    await instance.module.processor.processDue();
    expect(await find(order.id)).toMatchObject({ status: 'IN_DOUBT', lastErrorCode: 'ERP_IN_DOUBT' });
    // Not settled: the pipeline neither looks nor sends again, however often it runs.
    await instance.module.processor.processDue();
    await instance.module.services.replayOrder(order.id);
    expect((await find(order.id))?.status).toBe('IN_DOUBT');
    await world.erp.settled();
    expect(world.erp.countSalesOrders(reference(order.placed.legacyId))).toBe(1);
    clock.advance(SETTLE_MS + 1);
    await instance.module.processor.processDue();
    const sale = await world.connector.findSalesOrder(reference(order.placed.legacyId));
    expect(await find(order.id)).toMatchObject({ status: 'SUBMITTED', erpReference: sale!.erpReference, lastErrorCode: null });
    expect(world.erp.countSalesOrders(reference(order.placed.legacyId))).toBe(1);
  });

  it('sends again a create whose answer was lost and that never reached the ERP, once settled: one sale', async () => {
    const order = await receive([{ sku: 'ILV-B', quantity: 1 }]);
    // The request times out in the client and the ERP drops it: nothing ever commits.
    const impatient = new SimulatedErpConnector(world.erp, { policy: { maxAttempts: 1, timeoutMs: 400 }, inDoubtSettleMs: SETTLE_MS });
    const other = await startOrdersInstance(world, database, { erp: impatient, processor: { clock: clock.now, leaseMs: LEASE_MS, heartbeatMs: 0 } });
    try {
      world.erp.fail({ mode: 'slow', methods: ['sale.create'], times: 1, delayMs: 60_000 });
      await other.module.processor.processDue();
      expect(await find(order.id)).toMatchObject({ status: 'IN_DOUBT' });
      expect(world.erp.countSalesOrders(reference(order.placed.legacyId))).toBe(0);
      clock.advance(SETTLE_MS + 1);
      await other.module.processor.processDue();
      expect(await find(order.id)).toMatchObject({ status: 'SUBMITTED' });
      expect(world.erp.countSalesOrders(reference(order.placed.legacyId))).toBe(1);
    } finally {
      await other.close();
      await impatient.close();
    }
  });

  it('cancels a late-committing create: the cancellation waits for the in-doubt create and cancels the sale it finds', async () => {
    const order = await receive([{ sku: 'ILV-C', quantity: 2 }]);
    world.erp.fail({ mode: 'lost', methods: ['sale.create'], times: 1, delayMs: 50 });
    await instance.module.processor.processDue();
    expect((await find(order.id))?.status).toBe('IN_DOUBT');
    world.shopify.state.cancelOrder(order.placed.id);
    await world.shopify.state.settleWebhooks();
    await instance.module.inbox.drain();
    // Shopify's cancellation is recorded; the ERP is not asked before the create has settled.
    await instance.module.processor.processDue();
    expect((await find(order.id))?.status).toBe('IN_DOUBT');
    await world.erp.settled();
    clock.advance(SETTLE_MS + 1);
    await instance.module.processor.processDue();
    await instance.module.processor.processDue();
    expect(await find(order.id)).toMatchObject({ status: 'CANCELLED' });
    expect(world.erp.countSalesOrders(reference(order.placed.legacyId))).toBe(1);
    expect((await world.connector.findSalesOrder(reference(order.placed.legacyId)))?.status).toBe('cancelled');
  });

  it('cancels without an ERP call an order whose in-doubt create turned out, once settled, never to have reached the ERP', async () => {
    const order = await receive([{ sku: 'ILV-B', quantity: 1 }]);
    const impatient = new SimulatedErpConnector(world.erp, { policy: { maxAttempts: 1, timeoutMs: 400 }, inDoubtSettleMs: SETTLE_MS });
    const other = await startOrdersInstance(world, database, { erp: impatient, processor: { clock: clock.now, leaseMs: LEASE_MS, heartbeatMs: 0 } });
    try {
      world.erp.fail({ mode: 'slow', methods: ['sale.create'], times: 1, delayMs: 60_000 });
      await other.module.processor.processDue();
      expect((await find(order.id))?.status).toBe('IN_DOUBT');
      world.shopify.state.cancelOrder(order.placed.id);
      await world.shopify.state.settleWebhooks();
      await other.module.inbox.drain();
      await other.module.processor.processDue();
      expect((await find(order.id))?.status).toBe('IN_DOUBT');
      clock.advance(SETTLE_MS + 1);
      await other.module.processor.processDue();
      expect(await find(order.id)).toMatchObject({ status: 'CANCELLED', erpReference: null });
      expect(world.erp.countSalesOrders(reference(order.placed.legacyId))).toBe(0);
    } finally {
      await other.close();
      await impatient.close();
    }
  });

  it('resolves a cancellation whose answer was lost by looking again once settled: cancelled once', async () => {
    const order = await receive([{ sku: 'ILV-A', quantity: 1 }]);
    await instance.module.processor.processDue();
    expect((await find(order.id))?.status).toBe('SUBMITTED');
    world.shopify.state.cancelOrder(order.placed.id);
    await world.shopify.state.settleWebhooks();
    await instance.module.inbox.drain();
    world.erp.fail({ mode: 'lost', methods: ['sale.cancel'], times: 1, delayMs: 50 });
    await instance.module.processor.processDue();
    const inDoubt = await find(order.id);
    expect(inDoubt).toMatchObject({ status: 'SUBMITTED', erpSending: 'cancel', lastErrorCode: 'ERP_IN_DOUBT' });
    await world.erp.settled();
    clock.advance(SETTLE_MS + 1);
    await instance.module.processor.processDue();
    expect(await find(order.id)).toMatchObject({ status: 'CANCELLED', erpSending: null });
    expect((await world.connector.findSalesOrder(reference(order.placed.legacyId)))?.status).toBe('cancelled');
  });

  it('records a customer return whose answer was lost once: looked up after it settled, never sent again', async () => {
    const order = await receive([{ sku: 'ILV-B', quantity: 3 }]);
    await instance.module.processor.processDue();
    world.shopify.state.fulfillOrder(order.placed.id);
    world.shopify.state.refundOrder(order.placed.id, { lines: [{ sku: 'ILV-B', quantity: 2, restockType: 'RETURN' }] });
    await world.shopify.state.settleWebhooks();
    await instance.module.inbox.drain();
    const onHand = async () => (await world.connector.getStockBySkus(['ILV-B'], ['WH-A'])).levels[0]!.onHand;
    const before = await onHand();
    world.erp.fail({ mode: 'lost', methods: ['return.create'], times: 1, delayMs: 50 });
    await instance.module.processor.processDue();
    expect(await find(order.id)).toMatchObject({ lastErrorCode: 'ERP_IN_DOUBT' });
    await instance.module.processor.processDue();
    await world.erp.settled();
    expect(await onHand()).toBe(before + 2);
    clock.advance(SETTLE_MS + 1);
    await instance.module.processor.processDue();
    expect(await find(order.id)).toMatchObject({ status: 'SUBMITTED', lastErrorCode: null, nextAttemptAt: null });
    expect(await onHand()).toBe(before + 2);
  });

  it('submits two orders of one new customer sent at once: one customer, two sales, none FAILED', async () => {
    const customer = { firstName: 'Grace', lastName: 'Hopper', email: 'grace.hopper@example.com' };
    const one = await receive([{ sku: 'ILV-A', quantity: 1 }], customer);
    const two = await receive([{ sku: 'ILV-C', quantity: 1 }], customer);
    // Another process creates the same customer between this one's look-up and its create.
    world.erp.beforeNextCall('party.create', (params) => world.erp.addCustomer({ key: String(params.key), name: 'Grace Hopper', email: customer.email }));
    // And one create meets a lock held by concurrent work: a conflict, not a rejection.
    world.erp.fail({ mode: 'conflict', methods: ['sale.create'], times: 1 });
    const second = await startOrdersInstance(world, database, { erp: new SimulatedErpConnector(world.erp, { policy: { maxAttempts: 1 } }), processor: { clock: clock.now } });
    try {
      await Promise.all([instance.module.processor.processNow(one.id), second.module.processor.processNow(two.id)]);
      clock.advance(60_000);
      await instance.module.processor.processDue();
      for (const order of [one, two]) {
        expect(await find(order.id)).toMatchObject({ status: 'SUBMITTED' });
        expect(world.erp.countSalesOrders(reference(order.placed.legacyId))).toBe(1);
      }
      expect(world.erp.countCustomers(customer.email)).toBe(1);
    } finally {
      await second.close();
    }
  });

  it('maps two orders right whose deliveries were stored while the batch read its mapping (variants spelled otherwise in Shopify)', async () => {
    const first = world.shopify.state.placeOrder({ lines: [{ sku: 'ord-nut-00001', quantity: 1 }], location: 'WH-A' });
    if (!first.placed) throw new Error('refused');
    await world.shopify.state.settleWebhooks();
    const together: Array<{ id: string; legacyId: number }> = [];
    // While the inbox reads the mapping for what it saw, two more orders arrive and are stored
    // in one write. The batch claims only what it read ahead: these wait for the next one.
    world.mapping.beforeNextRead = async () => {
      for (const sku of ['ord-nut-00002', 'ord-nut-00003']) {
        const placed = world.shopify.state.placeOrder({ lines: [{ sku, quantity: 2 }], location: 'WH-A' });
        if (!placed.placed) throw new Error('refused');
        together.push(placed.order);
      }
      await world.shopify.state.settleWebhooks();
    };
    await instance.module.inbox.drain();
    expect(together).toHaveLength(2);
    expect(await find(first.order.id)).not.toBeNull();
    for (const order of together) expect(await find(order.id)).toBeNull();
    await instance.module.inbox.drain();
    for (const [order, sku] of [
      [together[0]!, 'ORD-NUT-00002'],
      [together[1]!, 'ORD-NUT-00003'],
    ] as const) {
      const stored = await find(order.id);
      const lines = (await instance.module.services.getLinesByOrderIds([stored!.id])).get(stored!.id)!;
      // Mapped when recorded, never the Shopify spelling taken for an ERP SKU.
      expect(lines.map((line) => [line.erpSku, line.mappingError])).toEqual([[sku, null]]);
    }
    await instance.module.processor.processDue();
    for (const [order, sku] of [
      [first.order, 'ORD-NUT-00001'],
      [together[0]!, 'ORD-NUT-00002'],
      [together[1]!, 'ORD-NUT-00003'],
    ] as const) {
      expect(await find(order.id)).toMatchObject({ status: 'SUBMITTED' });
      const sale = await world.connector.findSalesOrder(reference(order.legacyId));
      expect(sale!.lines.map((line) => line.sku)).toEqual([sku]);
    }
  });

  it('holds an order with an unmapped variant (alert, never its Shopify spelling sent), and sends it once the variant is mapped', async () => {
    const order = await receive([{ sku: 'ilv-unmapped', quantity: 1 }]);
    await instance.module.processor.processDue();
    const waiting = await find(order.id);
    expect(waiting).toMatchObject({ status: 'RECEIVED', lastErrorCode: 'UNMAPPED_LINE' });
    expect(waiting!.lastError).toMatch(/mapSku/);
    expect(waiting!.nextAttemptAt).not.toBeNull();
    expect(world.erp.countSalesOrders(reference(order.placed.legacyId))).toBe(0);
    await instance.alertSender.flush();
    expect(world.alerts.received.some((alert) => alert.code === 'ORDER_WAITING_FOR_MAPPING' && alert.message.includes(order.placed.name))).toBe(true);
    world.mapping.mapVariant('ILV-UNMAPPED', world.variants.get('ILV-UNMAPPED')!);
    expect(await instance.module.processor.mappingChanged()).toBeGreaterThanOrEqual(1);
    await instance.module.processor.processDue();
    expect(await find(order.id)).toMatchObject({ status: 'SUBMITTED', lastErrorCode: null });
    const sale = await world.connector.findSalesOrder(reference(order.placed.legacyId));
    expect(sale!.lines.map((line) => line.sku)).toEqual(['ILV-UNMAPPED']);
  });

  it('takes over the order of a holder killed mid-call after its lease, looks the sale up once settled, and sends nothing twice', async () => {
    const order = await receive([{ sku: 'ILV-A', quantity: 2 }]);
    // The killed process: it claimed, recorded the send, created the sale and died before writing back.
    const claimed = await instance.module.repositories.orders.claim(order.id, 'killed-instance', LEASE_MS, clock.now());
    expect(claimed).not.toBeNull();
    expect(await instance.module.repositories.orders.markSending(order.id, claimed!.claim.token, 'create', LEASE_MS, clock.now())).not.toBeNull();
    const lines = (await instance.module.services.getLinesByOrderIds([order.id])).get(order.id)!;
    await world.connector.createSalesOrder({
      externalReference: reference(order.placed.legacyId),
      name: order.placed.name,
      customer: { name: 'Ada Lovelace', email: 'ada@example.com', phone: null },
      shippingAddress: null,
      currency: 'EUR',
      lines: lines.map((line) => ({ sku: line.erpSku!, quantity: line.quantity!, location: line.location!, unitPrice: line.unitPrice })),
    });
    expect(await instance.module.processor.processDue()).toBe(0);
    clock.advance(LEASE_MS + 1_000);
    await instance.module.processor.processDue();
    expect(await find(order.id)).toMatchObject({ status: 'SUBMITTED' });
    expect(world.erp.countSalesOrders(reference(order.placed.legacyId))).toBe(1);
  });
});
