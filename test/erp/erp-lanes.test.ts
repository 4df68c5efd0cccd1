import { describe, expect, it } from 'vitest';
import type { ErpLane, SalesOrderInput } from '../../src/erp/erp-connector.js';
import { SimulatedErpConnector } from '../../src/erp/simulated/simulated-erp-connector.js';
import { SimulatedErp } from '../../src/erp/simulated/simulated-erp.js';
import { isAppError } from '../../src/shared/errors.js';

/**
 * Lanes of the ERP limiter, counted rather than timed: which round trip the limiter dispatches
 * when, seen through the policy's `onDispatch`, while reads of the interactive lane flood a slow
 * ERP. Two slots: the interactive lane may hold one.
 */
function slowErp() {
  const erp = new SimulatedErp();
  erp.addWarehouse({ code: 'LDS', name: 'Leeds' });
  erp.addProduct({ sku: 'SEALANT', name: 'Sealant', lotTracked: true });
  erp.receiveStock({ sku: 'SEALANT', location: 'LDS', quantity: 50, lot: { number: 'L1', expiresOn: '2030-01-01' } });
  const dispatched: { lane: ErpLane; operation: string }[] = [];
  const connector = new SimulatedErpConnector(erp, {
    policy: { maxConcurrent: 2, maxAttempts: 1, interactiveQueueLimit: 50, onDispatch: ({ lane, operation }) => dispatched.push({ lane, operation }) },
  });
  return { erp, connector, dispatched };
}

const order = (reference: string): SalesOrderInput => ({
  externalReference: reference,
  name: '#1001',
  customer: { name: 'Ada', email: 'ada@example.com', phone: null },
  shippingAddress: null,
  currency: 'EUR',
  lines: [{ sku: 'SEALANT', quantity: 1, location: 'LDS', unitPrice: '4.00' }],
});

async function codeOf(promise: Promise<unknown>): Promise<string> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  return isAppError(error) ? error.code : String(error);
}

const tick = () => new Promise((resolve) => setImmediate(resolve));

describe('ERP lanes', () => {
  it('dispatches an order create before interactive reads that were queued earlier, and never lets reads hold the background slot', async () => {
    const { erp, connector, dispatched } = slowErp();
    await connector.listLocations();
    erp.fail({ mode: 'slow', methods: ['lot.read'], delayMs: 150 });
    const interactive = connector.forLane('interactive');

    const reads = Array.from({ length: 12 }, () => interactive.getLotsBySkus(['SEALANT'], ['LDS']));
    await tick();
    expect(connector.laneStats()).toMatchObject({ inFlight: { interactive: 1, background: 0 }, queued: { interactive: 11 } });

    const created = await connector.createSalesOrder(order('gid://shopify/Order/1'));
    expect(created.created).toBe(true);
    // The order reached the ERP while at least ten of the earlier reads were still waiting.
    expect(connector.laneStats().queued.interactive).toBeGreaterThanOrEqual(10);
    const readsBeforeCreate = dispatched.slice(0, dispatched.findIndex((d) => d.operation === 'sale.create')).filter((d) => d.lane === 'interactive');
    expect(readsBeforeCreate.length).toBeLessThanOrEqual(1);

    erp.recover();
    await Promise.all(reads);
    expect(dispatched.filter((d) => d.lane === 'interactive')).toHaveLength(12);
  });

  it('refuses an interactive read beyond the queue bound at once with ERP_BUSY, sending nothing', async () => {
    const erp = new SimulatedErp();
    erp.addWarehouse({ code: 'LDS', name: 'Leeds' });
    const connector = new SimulatedErpConnector(erp, { policy: { maxConcurrent: 2, interactiveQueueLimit: 3, maxAttempts: 1 } });
    await connector.listLocations();
    erp.fail({ mode: 'slow', methods: ['lot.read'], delayMs: 100 });
    const interactive = connector.forLane('interactive');
    const accepted = Array.from({ length: 4 }, () => interactive.getLotsBySkus(['X'], ['LDS']));
    await tick();
    erp.resetRoundTrips();

    expect(await codeOf(interactive.getLotsBySkus(['X'], ['LDS']))).toBe('ERP_BUSY');
    expect(erp.roundTrips()).toBe(0);
    // Background work is not bounded by the interactive queue.
    expect(await connector.getStockBySkus(['X'], ['LDS'])).toEqual({ levels: [], unknownSkus: ['X'] });
    erp.recover();
    await Promise.all(accepted);
  });

  it('gives up a queued background call when its signal aborts (ERP_BUSY, nothing sent), so queue time counts against a lease', async () => {
    const erp = new SimulatedErp();
    erp.addWarehouse({ code: 'LDS', name: 'Leeds' });
    erp.addProduct({ sku: 'SEALANT', name: 'Sealant' });
    const connector = new SimulatedErpConnector(erp, { policy: { maxConcurrent: 1, maxAttempts: 1 } });
    await connector.listLocations();
    erp.fail({ mode: 'slow', methods: ['stock.read'], delayMs: 100 });
    const busy = connector.getStockBySkus(['SEALANT'], ['LDS']);
    await tick();

    const lease = new AbortController();
    const waiting = connector.forLane('background', { signal: lease.signal }).createSalesOrder(order('gid://shopify/Order/2'));
    await tick();
    lease.abort(new Error('lease lost'));
    expect(await codeOf(waiting)).toBe('ERP_BUSY');
    erp.recover();
    await busy;
    expect(erp.roundTrips('sale.create')).toBe(0);
    expect(erp.countSalesOrders('gid://shopify/Order/2')).toBe(0);
  });

  it('reports a write whose caller gave up after sending it as ERP_IN_DOUBT, never resent', async () => {
    const erp = new SimulatedErp();
    erp.addWarehouse({ code: 'LDS', name: 'Leeds' });
    erp.addProduct({ sku: 'SEALANT', name: 'Sealant' });
    const connector = new SimulatedErpConnector(erp, { policy: { maxAttempts: 3, backoffMs: 0 } });
    erp.fail({ mode: 'slow', methods: ['sale.create'], delayMs: 10_000, times: 1 });
    const lease = new AbortController();
    const pending = connector.forLane('background', { signal: lease.signal }).createSalesOrder(order('gid://shopify/Order/3'));
    while (erp.roundTrips('sale.create') === 0) await tick();
    lease.abort(new Error('lease lost'));

    expect(await codeOf(pending)).toBe('ERP_IN_DOUBT');
    expect(erp.roundTrips('sale.create')).toBe(1);
  });
});
