// The drain's cheap paths (issue #17): the simulated connector sends an order of a known customer
// in two round trips (idempotency look-up, create; the ERP itself refuses unknown SKUs, leaving
// nothing behind), and the pipeline's group commit answers each caller from one batch.
import { describe, expect, it } from 'vitest';
import { SimulatedErp } from '../../src/erp/simulated/simulated-erp.js';
import { SimulatedErpConnector } from '../../src/erp/simulated/simulated-erp-connector.js';
import { BoundedLru } from '../../src/erp/simulated/bounded-lru.js';
import { isDatabaseUnavailable } from '../../src/db/database-errors.js';
import { BatchTimedOut, microBatch } from '../../src/orders/micro-batch.js';

function world() {
  const erp = new SimulatedErp();
  erp.addWarehouse({ code: 'WH', name: 'Warehouse' });
  erp.addProduct({ sku: 'A', name: 'A' });
  erp.seedStock({ sku: 'A', location: 'WH', quantity: 100 });
  return { erp, connector: new SimulatedErpConnector(erp) };
}

const customer = { name: 'Ada Lovelace', email: 'ada@example.com', phone: null };
const order = (reference: string, sku = 'A') => ({ externalReference: reference, name: reference, customer, shippingAddress: null, currency: 'EUR', lines: [{ sku, quantity: 1, location: 'WH', unitPrice: '1.00' }] });

describe('the simulated connector for a known customer', () => {
  it('sends an order in two round trips once the customer is known, and a new customer costs the look-ups once', async () => {
    const { erp, connector } = world();
    await connector.createSalesOrder(order('R-1'));
    const first = erp.roundTrips();
    expect(erp.roundTrips('party.create')).toBe(1);
    erp.resetRoundTrips();
    await connector.createSalesOrder(order('R-2'));
    expect(erp.roundTrips()).toBe(2);
    expect(erp.roundTrips('sale.search')).toBe(1);
    expect(erp.roundTrips('sale.create')).toBe(1);
    expect(first).toBeGreaterThan(2);
    expect(erp.countCustomers('ada@example.com')).toBe(1);
    await connector.close();
  });

  it('refuses an unknown SKU of a known customer as UNKNOWN_SKU, with nothing left in the ERP', async () => {
    const { erp, connector } = world();
    await connector.createSalesOrder(order('R-1'));
    await expect(connector.createSalesOrder(order('R-2', 'NOPE'))).rejects.toMatchObject({ code: 'UNKNOWN_SKU', details: { skus: ['NOPE'] } });
    expect(erp.countSalesOrders('R-2')).toBe(0);
    expect(erp.countCustomers('ada@example.com')).toBe(1);
    await connector.close();
  });

  it('still answers an existing order as it is (created: false) without a second sale', async () => {
    const { erp, connector } = world();
    const made = await connector.createSalesOrder(order('R-1'));
    expect(await connector.createSalesOrder(order('R-1'))).toMatchObject({ erpReference: made.erpReference, created: false });
    expect(erp.countSalesOrders('R-1')).toBe(1);
    await connector.close();
  });
});

describe('BoundedLru', () => {
  it('forgets the least recently used entry first', () => {
    const lru = new BoundedLru<string, number>(2);
    lru.set('a', 1);
    lru.set('b', 2);
    expect(lru.get('a')).toBe(1);
    lru.set('c', 3);
    expect(lru.get('b')).toBeUndefined();
    expect(lru.get('a')).toBe(1);
    expect(lru.size).toBe(2);
  });
});

describe('microBatch', () => {
  it('runs the calls made together as one batch, each caller getting its own answer', async () => {
    const batches: number[][] = [];
    const double = microBatch(async (items: readonly number[]) => {
      batches.push([...items]);
      return items.map((n) => n * 2);
    });
    expect(await Promise.all([1, 2, 3].map((n) => double.run(n)))).toEqual([2, 4, 6]);
    expect(batches).toEqual([[1, 2, 3]]);
  });

  it('gathers the calls made while a batch runs into the next one, and fails only the batch that failed', async () => {
    const batches: number[][] = [];
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const work = microBatch(async (items: readonly number[]) => {
      batches.push([...items]);
      if (batches.length === 1) await gate;
      if (items.includes(13)) throw new Error('unlucky');
      return items;
    });
    const first = work.run(1);
    await new Promise((resolve) => setImmediate(resolve));
    const later = [work.run(2), work.run(13)];
    release();
    expect(await first).toBe(1);
    await expect(later[0]).rejects.toThrow('unlucky');
    await expect(later[1]).rejects.toThrow('unlucky');
    expect(batches).toEqual([[1], [2, 13]]);
  });

  it('fails the callers of a batch that never ends once its time is up, and runs the next batch in its place', async () => {
    const batches: number[][] = [];
    const work = microBatch(
      async (items: readonly number[]) => {
        batches.push([...items]);
        // The first batch's statement never comes back.
        if (batches.length === 1) await new Promise<never>(() => {});
        return items;
      },
      { maxInFlight: 1, timeoutMs: 50 },
    );
    const hung = work.run(1);
    await new Promise((resolve) => setImmediate(resolve));
    const next = work.run(2);
    await expect(hung).rejects.toBeInstanceOf(BatchTimedOut);
    await expect(hung).rejects.toMatchObject({ code: 'BATCH_TIMEOUT' });
    expect(isDatabaseUnavailable(await hung.catch((error: unknown) => error))).toBe(true);
    expect(await next).toBe(2);
    expect(batches).toEqual([[1], [2]]);
  });
});
