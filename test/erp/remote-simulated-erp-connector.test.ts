import { afterAll, describe, expect, it } from 'vitest';
import { customerKey } from '../../src/erp/erp-find-or-create.js';
import { SimulatedErpConnector, type SimulatedErpConnectorOptions } from '../../src/erp/simulated/simulated-erp-connector.js';
import { remoteSimulatedErpWire } from '../../src/erp/simulated/simulated-erp-remote.js';
import { startSimulatedErpServer, type SimulatedErpServer } from '../../src/erp/simulated/simulated-erp-server.js';
import { SimulatedErp } from '../../src/erp/simulated/simulated-erp.js';
import { isAppError } from '../../src/shared/errors.js';
import { runErpConnectorContract, type ErpContractSetup, type ErpWriteOperation } from './erp-connector.contract.js';

/**
 * The connector contract against the simulated ERP served over HTTP (`simulate-erp`, the Black
 * Friday simulation): the same suite as in process, every call crossing a real socket, faults
 * injected in the ERP behind the server.
 */
const WRITE_METHODS: Record<ErpWriteOperation, string> = { createSalesOrder: 'sale.create', cancelSalesOrder: 'sale.cancel', createCustomerReturn: 'return.create' };

async function remoteSetup(erp: SimulatedErp, options: SimulatedErpConnectorOptions = {}): Promise<ErpContractSetup> {
  erp.addWarehouse({ code: 'NORTH', name: 'North warehouse' });
  erp.addWarehouse({ code: 'SOUTH', name: 'South warehouse' });
  const server = await startSimulatedErpServer({ erp });
  const wire = () => remoteSimulatedErpWire(server.url);
  const connectors = [new SimulatedErpConnector(wire(), options), new SimulatedErpConnector(wire(), options), new SimulatedErpConnector(wire(), { ...options, inDoubtSettleMs: 1_000 })];
  return {
    connector: connectors[0]!,
    otherProcess: connectors[1]!,
    faults: {
      connector: connectors[2]!,
      loseAnswerOf: (operation, commitDelayMs) => erp.fail({ mode: 'lost', methods: [WRITE_METHODS[operation]], times: 1, delayMs: commitDelayMs }),
      raceNextCustomerCreation: (customer) =>
        erp.beforeNextCall('party.create', () => erp.addCustomer({ key: customerKey(customer), name: customer.name, email: customer.email?.toLowerCase() ?? null })),
      conflictOnNextOrderCreate: () => erp.fail({ mode: 'conflict', methods: ['sale.create'], times: 1 }),
      settled: () => erp.settled(),
    },
    fixture: {
      locations: ['NORTH', 'SOUTH'],
      lotExpiry: true,
      createProducts: async (products) => {
        for (const product of products) erp.addProduct(product);
      },
      receiveStock: async (input) => erp.receiveStock(input),
      assignSalesOrder: async (reference) => erp.assignSalesOrder(reference),
      shipSalesOrder: async (reference, options) => erp.shipSalesOrder(reference, { trackingNumber: options.trackingNumber, lines: options.lines.map(({ sku, quantity }) => ({ sku, quantity })) }),
      createOtherChannelOrder: async (input) => {
        erp.createWholesaleOrder(input);
      },
      countSalesOrders: async (reference) => erp.countSalesOrders(reference),
      countCustomers: async (email) => erp.countCustomers(email),
      roundTrips: () => erp.roundTrips(),
    },
    teardown: async () => {
      for (const connector of connectors) await connector.close();
      await server.close();
    },
  };
}

runErpConnectorContract('simulated over HTTP', async () => remoteSetup(new SimulatedErp()));

describe('simulated ERP over HTTP failing on demand', () => {
  let server: SimulatedErpServer | undefined;
  afterAll(async () => server?.close());

  async function codeOf(promise: Promise<unknown>): Promise<{ code: string; notApplied?: boolean }> {
    const error = await promise.then(
      () => undefined,
      (e: unknown) => e,
    );
    if (!isAppError(error)) throw new Error(`expected an AppError, got ${String(error)}`);
    return { code: error.code, notApplied: (error as { notApplied?: boolean }).notApplied };
  }

  it('gives ERP_UNAVAILABLE (nothing sent) when the ERP behind the server is down, and after the server is gone', async () => {
    const erp = new SimulatedErp();
    erp.addWarehouse({ code: 'LDS', name: 'Leeds' });
    server = await startSimulatedErpServer({ erp });
    const connector = new SimulatedErpConnector(remoteSimulatedErpWire(server.url), { policy: { timeoutMs: 500, backoffMs: 0, maxAttempts: 2 } });
    erp.fail({ mode: 'down' });
    expect(await codeOf(connector.listLocations())).toEqual({ code: 'ERP_UNAVAILABLE', notApplied: true });
    expect(erp.roundTrips('location.list')).toBe(2);
    erp.recover();
    expect((await connector.listLocations()).map((l) => l.code)).toContain('LDS');
    await server.close();
    server = undefined;
    expect(await codeOf(connector.listLocations())).toEqual({ code: 'ERP_UNAVAILABLE', notApplied: true });
    await connector.close();
  });

  it('stamps when a sales order was created', async () => {
    const erp = new SimulatedErp();
    erp.addWarehouse({ code: 'LDS', name: 'Leeds' });
    erp.addProduct({ sku: 'BOLT-M8', name: 'Bolt' });
    server = await startSimulatedErpServer({ erp });
    const connector = new SimulatedErpConnector(remoteSimulatedErpWire(server.url));
    const before = Date.now();
    await connector.createSalesOrder({
      externalReference: 'gid://shopify/Order/77',
      name: '#77',
      customer: { name: 'Ada', email: 'ada@example.com', phone: null },
      shippingAddress: null,
      currency: 'GBP',
      lines: [{ sku: 'BOLT-M8', quantity: 1, location: 'LDS', unitPrice: '1.00' }],
    });
    expect(server.saleCreatedAt('gid://shopify/Order/77')).toBeGreaterThanOrEqual(before);
    expect(server.saleCreatedAt('gid://shopify/Order/78')).toBeUndefined();
    await connector.close();
  });
});
