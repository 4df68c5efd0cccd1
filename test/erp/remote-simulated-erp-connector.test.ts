import { afterAll, describe, expect, it } from 'vitest';
import { SimulatedErpConnector, type SimulatedErpConnectorOptions } from '../../src/erp/simulated/simulated-erp-connector.js';
import { remoteSimulatedErpWire } from '../../src/erp/simulated/simulated-erp-remote.js';
import { startSimulatedErpServer, type SimulatedErpServer } from '../../src/erp/simulated/simulated-erp-server.js';
import { SimulatedErp } from '../../src/erp/simulated/simulated-erp.js';
import { isAppError } from '../../src/shared/errors.js';
import { runErpConnectorContract, type ErpContractSetup } from './erp-connector.contract.js';
import { simulatedErpContractSetup } from './simulated-contract-setup.js';

/**
 * The connector contract against the simulated ERP served over HTTP (`simulate-erp`, the Black
 * Friday simulation): the same suite as in process, every call crossing a real socket, faults
 * injected in the ERP behind the server.
 */
async function remoteSetup(erp: SimulatedErp, options: SimulatedErpConnectorOptions = {}): Promise<ErpContractSetup> {
  const server = await startSimulatedErpServer({ erp });
  return simulatedErpContractSetup(erp, (connectorOptions) => new SimulatedErpConnector(remoteSimulatedErpWire(server.url), connectorOptions), options, () => server.close());
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
