// Several orders in one ERP call (issue #17): the simulated connector's `createSalesOrders` and the
// pipeline sending the orders it has in hand together, with each order still exactly one sale.
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { SimulatedErp } from '../../src/erp/simulated/simulated-erp.js';
import { SimulatedErpConnector } from '../../src/erp/simulated/simulated-erp-connector.js';
import type { SalesOrderOutcome } from '../../src/erp/erp-connector.js';
import { createTestDatabase, type TestDatabase } from '../support/database.js';
import { PipelinePauses, startOrdersInstance, startShopAndErp, TestClock, type OrdersInstance, type ShopAndErp } from './support/orders-harness.js';

function erpWorld() {
  const erp = new SimulatedErp();
  erp.addWarehouse({ code: 'WH', name: 'Warehouse' });
  erp.addProduct({ sku: 'A', name: 'A' });
  erp.seedStock({ sku: 'A', location: 'WH', quantity: 100 });
  return { erp, connector: new SimulatedErpConnector(erp, { policy: { maxAttempts: 1 } }) };
}

const customerNamed = (n: number) => ({ name: `Buyer ${n}`, email: `buyer${n}@example.com`, phone: null });
const order = (reference: string, n: number, sku = 'A') => ({ externalReference: reference, name: reference, customer: customerNamed(n), shippingAddress: null, currency: 'EUR', lines: [{ sku, quantity: 1, location: 'WH', unitPrice: '1.00' }] });
const codeOf = (outcome: SalesOrderOutcome | undefined) => (outcome && !outcome.ok ? (outcome.error as { code?: string }).code : undefined);

describe('createSalesOrders on the simulated connector', () => {
  it('makes several orders in two round trips, answers an existing one as it is, and refuses one without leaving its customer behind', async () => {
    const { erp, connector } = erpWorld();
    const earlier = await connector.createSalesOrder(order('R-0', 0));
    erp.resetRoundTrips();
    const outcomes = await connector.createSalesOrders!([order('R-1', 1), order('R-0', 0), order('R-2', 2, 'NOPE'), order('R-3', 1), order('R-4', 4)]);
    expect(erp.roundTrips()).toBe(2);
    expect(erp.roundTrips('sale.search')).toBe(1);
    expect(erp.roundTrips('sale.create')).toBe(1);
    expect(outcomes.map((outcome) => (outcome.ok ? outcome.result.created : codeOf(outcome)))).toEqual([true, false, 'UNKNOWN_SKU', true, true]);
    expect(outcomes[1]).toMatchObject({ ok: true, result: { erpReference: earlier.erpReference } });
    for (const reference of ['R-0', 'R-1', 'R-3', 'R-4']) expect(erp.countSalesOrders(reference)).toBe(1);
    expect(erp.countSalesOrders('R-2')).toBe(0);
    // Buyer 1 twice in one call is one customer; buyer 2's order was refused: no customer made.
    expect(erp.countCustomers('buyer1@example.com')).toBe(1);
    expect(erp.countCustomers('buyer2@example.com')).toBe(0);
    // The customers made in the batch are known afterwards: a single order is two round trips.
    erp.resetRoundTrips();
    await connector.createSalesOrder(order('R-5', 4));
    expect(erp.roundTrips()).toBe(2);
    await connector.close();
  });

  it('reports the orders of a batch whose answer was lost as ERP_IN_DOUBT, never sends them again, and each commits once', async () => {
    const { erp, connector } = erpWorld();
    erp.fail({ mode: 'lost', methods: ['sale.create'], times: 1, delayMs: 50 });
    const outcomes = await connector.createSalesOrders!([order('L-1', 1), order('L-2', 2), order('L-3', 3)]);
    expect(outcomes.map(codeOf)).toEqual(['ERP_IN_DOUBT', 'ERP_IN_DOUBT', 'ERP_IN_DOUBT']);
    expect(erp.roundTrips('sale.create')).toBe(1);
    await erp.settled();
    for (const reference of ['L-1', 'L-2', 'L-3']) expect(erp.countSalesOrders(reference)).toBe(1);
    await connector.close();
  });

  it('fails every order of a batch the ERP refused whole with that refusal, and makes none', async () => {
    const { erp, connector } = erpWorld();
    erp.fail({ mode: 'reject', methods: ['sale.create'], times: 1 });
    const outcomes = await connector.createSalesOrders!([order('X-1', 1), order('X-2', 2)]);
    expect(outcomes.map(codeOf)).toEqual(['ERP_REJECTED', 'ERP_REJECTED']);
    expect(erp.countSalesOrders('X-1') + erp.countSalesOrders('X-2')).toBe(0);
    await connector.close();
  });
});

const SETTLE_MS = 2_000;

describe('the pipeline sending the orders in hand together', () => {
  let world: ShopAndErp;
  let database: TestDatabase;
  let instance: OrdersInstance;
  const clock = new TestClock();
  const pauses = new PipelinePauses();

  beforeAll(async () => {
    world = await startShopAndErp([{ sku: 'BAT-A' }, { sku: 'BAT-B' }]);
    database = await createTestDatabase();
    instance = await startOrdersInstance(world, database, { processor: { clock: clock.now, heartbeatMs: 0, inDoubtSettleMs: SETTLE_MS, pause: pauses.pause } });
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
  const find = (id: string) => instance.module.services.findOrder(id);

  /** Places `count` orders in the simulated store and stores them in the gateway, none sent yet. */
  async function receiveMany(count: number) {
    const placed = [];
    for (let i = 0; i < count; i++) {
      const made = world.shopify.state.placeOrder({ lines: [{ sku: i % 2 === 0 ? 'BAT-A' : 'BAT-B', quantity: 1 }], location: 'WH-A', customer: { firstName: 'Buyer', lastName: `N${i % 3}`, email: `batch${i % 3}@example.com` } });
      if (!made.placed) throw new Error(`order refused: ${made.message}`);
      placed.push(made.order);
    }
    await world.shopify.state.settleWebhooks();
    await instance.module.inbox.drain();
    return Promise.all(
      placed.map(async (made) => {
        const stored = await instance.module.services.findOrder(made.id);
        if (!stored) throw new Error('order not stored');
        return { legacyId: made.legacyId, id: stored.id };
      }),
    );
  }

  it('sends orders due together in fewer create calls than orders, each one sale, all SUBMITTED', async () => {
    const orders = await receiveMany(8);
    const before = world.erp.roundTrips('sale.create');
    await instance.module.processor.processDue();
    const calls = world.erp.roundTrips('sale.create') - before;
    expect(calls).toBeGreaterThan(0);
    expect(calls).toBeLessThan(orders.length);
    for (const made of orders) {
      expect(await find(made.id)).toMatchObject({ status: 'SUBMITTED' });
      expect(world.erp.countSalesOrders(reference(made.legacyId))).toBe(1);
    }
  });

  it('keeps every order of a batch whose answer was lost IN_DOUBT until settled, then finds each late-committed sale: one sale each', async () => {
    const orders = await receiveMany(5);
    world.erp.fail({ mode: 'lost', methods: ['sale.create'], times: 1, delayMs: 50 });
    const before = world.erp.roundTrips('sale.create');
    await instance.module.processor.processDue();
    for (const made of orders) expect(await find(made.id)).toMatchObject({ status: 'IN_DOUBT', lastErrorCode: 'ERP_IN_DOUBT' });
    // Not settled: nothing is looked up or sent again.
    await instance.module.processor.processDue();
    expect(world.erp.roundTrips('sale.create') - before).toBe(1);
    await world.erp.settled();
    clock.advance(SETTLE_MS + 1);
    await instance.module.processor.processDue();
    expect(world.erp.roundTrips('sale.create') - before).toBe(1);
    for (const made of orders) {
      const sale = await world.connector.findSalesOrder(reference(made.legacyId));
      expect(await find(made.id)).toMatchObject({ status: 'SUBMITTED', erpReference: sale!.erpReference, lastErrorCode: null });
      expect(world.erp.countSalesOrders(reference(made.legacyId))).toBe(1);
    }
  });

  it('claims orders that become due while the ones in hand are still under way, without waiting for them (moreDue)', async () => {
    const [first] = await receiveMany(1);
    const held = pauses.hold('before-send', first!.id);
    // As the worker's wake: each wait ends at the next announcement, or at once for one made unseen.
    let waiting: (() => void) | null = null;
    let unseen = false;
    const announce = () => {
      if (waiting) waiting();
      else unseen = true;
      waiting = null;
    };
    const moreDue = () => {
      if (unseen) {
        unseen = false;
        return Promise.resolve();
      }
      return new Promise<void>((resolve) => (waiting = resolve));
    };
    const working = instance.module.processor.processDue({ moreDue });
    await held.reached;
    const [second] = await receiveMany(1);
    announce();
    // The second order reaches the ERP while the first is still held before its send.
    for (let i = 0; i < 500 && (await find(second!.id))?.status !== 'SUBMITTED'; i++) await new Promise((resolve) => setTimeout(resolve, 10));
    expect(await find(second!.id)).toMatchObject({ status: 'SUBMITTED' });
    expect(await find(first!.id)).toMatchObject({ status: 'RECEIVED' });
    held.release();
    expect(await working).toBe(2);
    expect(await find(first!.id)).toMatchObject({ status: 'SUBMITTED' });
    expect(world.erp.countSalesOrders(reference(first!.legacyId))).toBe(1);
    expect(world.erp.countSalesOrders(reference(second!.legacyId))).toBe(1);
  });
});
