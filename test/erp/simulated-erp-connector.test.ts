import { describe, expect, it } from 'vitest';
import type { SalesOrderInput } from '../../src/erp/erp-connector.js';
import { createDemoErp } from '../../src/erp/simulated/demo-catalogue.js';
import { SimulatedErpConnector, type SimulatedErpConnectorOptions } from '../../src/erp/simulated/simulated-erp-connector.js';
import { SimulatedErp } from '../../src/erp/simulated/simulated-erp.js';
import { isAppError } from '../../src/shared/errors.js';
import { runErpConnectorContract } from './erp-connector.contract.js';
import { simulatedErpContractSetup } from './simulated-contract-setup.js';

const contractSetup = (erp: SimulatedErp, options: SimulatedErpConnectorOptions = {}) => simulatedErpContractSetup(erp, (connectorOptions) => new SimulatedErpConnector(erp, connectorOptions), options);

runErpConnectorContract('simulated', async () => contractSetup(new SimulatedErp()));
runErpConnectorContract('simulated, reserving on confirmation, small pages', async () =>
  contractSetup(new SimulatedErp({ autoAssign: true }), { maxSkusPerRequest: 7 }),
);

/** An ERP with two warehouses and a few products, and a connector whose failures come fast. */
function smallErp(options: SimulatedErpConnectorOptions = {}): { erp: SimulatedErp; connector: SimulatedErpConnector } {
  const erp = new SimulatedErp();
  erp.addWarehouse({ code: 'LDS', name: 'Leeds plant' });
  erp.addWarehouse({ code: 'BHM', name: 'Birmingham' });
  erp.addProduct({ sku: 'BRACKET-V2-BLU', name: 'Bracket V2, blue' });
  erp.addProduct({ sku: 'SCREW-WOOD-4X40-ZNC', name: 'Wood screw' });
  erp.addProduct({ sku: 'SEALANT-SIL-310ML-CLR', name: 'Silicone sealant', lotTracked: true });
  erp.addProduct({
    sku: 'KIT-SHELF',
    name: 'Shelf kit',
    components: [
      { sku: 'BRACKET-V2-BLU', quantity: 2 },
      { sku: 'SCREW-WOOD-4X40-ZNC', quantity: 4 },
    ],
  });
  erp.receiveStock({ sku: 'BRACKET-V2-BLU', location: 'LDS', quantity: 50 });
  erp.receiveStock({ sku: 'SCREW-WOOD-4X40-ZNC', location: 'LDS', quantity: 200 });
  const connector = new SimulatedErpConnector(erp, { policy: { timeoutMs: 200, backoffMs: 0, maxAttempts: 3 }, ...options });
  return { erp, connector };
}

async function codeOf(promise: Promise<unknown>): Promise<string> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  if (!isAppError(error)) throw new Error(`expected an AppError, got ${String(error)}`);
  return error.code;
}

function order(reference: string, lines: SalesOrderInput['lines']): SalesOrderInput {
  return {
    externalReference: reference,
    name: '#1001',
    customer: { name: 'Ada Lovelace', email: 'ada@example.com', phone: null },
    shippingAddress: null,
    currency: 'GBP',
    lines,
  };
}

describe('simulated ERP failing on demand', () => {
  it('gives ERP_UNAVAILABLE when the ERP is down, after the bounded number of attempts', async () => {
    const { erp, connector } = smallErp();
    erp.fail({ mode: 'down' });
    expect(await codeOf(connector.getStockBySkus(['BRACKET-V2-BLU'], ['LDS']))).toBe('ERP_UNAVAILABLE');
    expect(erp.roundTrips('location.list')).toBe(3);
    expect(erp.roundTrips('stock.read')).toBe(0);
  });

  it('recovers within the retries when the ERP drops one connection', async () => {
    const { erp, connector } = smallErp();
    erp.fail({ mode: 'down', methods: ['stock.read'], times: 1 });
    const snapshot = await connector.getStockBySkus(['BRACKET-V2-BLU'], ['LDS']);
    expect(snapshot.levels).toEqual([{ sku: 'BRACKET-V2-BLU', location: 'LDS', onHand: 50, allocated: 0, wholesaleCommitted: 0 }]);
    expect(erp.roundTrips('stock.read')).toBe(2);
  });

  it('gives ERP_UNAVAILABLE instead of hanging when the ERP is slow', async () => {
    const { erp, connector } = smallErp({ policy: { timeoutMs: 30, backoffMs: 0, maxAttempts: 2 } });
    erp.fail({ mode: 'slow', delayMs: 60_000 });
    expect(await codeOf(connector.checkConnection())).toBe('ERP_UNAVAILABLE');
    expect(erp.roundTrips('server.version')).toBe(2);
  });

  it('gives ERP_INVALID_RESPONSE for garbage, without retrying', async () => {
    const { erp, connector } = smallErp();
    erp.fail({ mode: 'garbage', methods: ['product.read'] });
    expect(await codeOf(connector.getProductsBySkus(['BRACKET-V2-BLU']))).toBe('ERP_INVALID_RESPONSE');
    expect(erp.roundTrips('product.read')).toBe(1);
  });

  it('gives ERP_REJECTED when the ERP refuses, without retrying', async () => {
    const { erp, connector } = smallErp();
    erp.fail({ mode: 'reject', methods: ['sale.create'] });
    expect(await codeOf(connector.createSalesOrder(order('gid://shopify/Order/1', [{ sku: 'BRACKET-V2-BLU', quantity: 1, location: 'LDS', unitPrice: '4.50' }])))).toBe(
      'ERP_REJECTED',
    );
    expect(erp.roundTrips('sale.create')).toBe(1);
    expect(erp.countSalesOrders('gid://shopify/Order/1')).toBe(0);
  });

  it('resends an order create only while the connection is refused (nothing sent), boundedly, and then makes exactly one order', async () => {
    const { erp, connector } = smallErp();
    const input = order('gid://shopify/Order/2', [{ sku: 'BRACKET-V2-BLU', quantity: 2, location: 'LDS', unitPrice: '4.50' }]);
    erp.fail({ mode: 'down', methods: ['sale.create'] });
    expect(await codeOf(connector.createSalesOrder(input))).toBe('ERP_UNAVAILABLE');
    expect(erp.roundTrips('sale.create')).toBe(3);
    expect(erp.countSalesOrders('gid://shopify/Order/2')).toBe(0);

    erp.recover();
    expect(await connector.createSalesOrder(input)).toMatchObject({ created: true });
    expect(await connector.createSalesOrder(input)).toMatchObject({ created: false });
    expect(erp.countSalesOrders('gid://shopify/Order/2')).toBe(1);
  });

  it('refuses a malformed order with ERP_REJECTED before calling the ERP', async () => {
    const { erp, connector } = smallErp();
    erp.resetRoundTrips();
    const code = await codeOf(connector.createSalesOrder(order('gid://shopify/Order/3', [{ sku: 'BRACKET-V2-BLU', quantity: 0, location: 'LDS', unitPrice: '4,50' }])));
    expect(code).toBe('ERP_REJECTED');
    expect(erp.roundTrips()).toBe(0);
  });
});

describe('simulated ERP round trips', () => {
  it('reads stock for 2,500 SKUs at three locations in three round trips', async () => {
    const erp = createDemoErp({ skus: 2_500, locations: 3, seed: 3 });
    const connector = new SimulatedErpConnector(erp);
    const all: string[] = [];
    let cursor: string | null = null;
    do {
      const page = await connector.listProducts({ cursor });
      all.push(...page.items.map((p) => p.sku));
      cursor = page.nextCursor;
    } while (cursor !== null);
    await connector.listLocations();
    erp.resetRoundTrips();

    const snapshot = await connector.getStockBySkus(all);

    expect(all).toHaveLength(2_500);
    expect(snapshot.levels).toHaveLength(7_500);
    expect(erp.roundTrips('stock.read')).toBe(3);
    expect(erp.roundTrips()).toBe(3);
  });
});

describe('simulated ERP moving stock on its own', () => {
  it('misses a deleted draft move in the change feed, and the full listing shows it', async () => {
    const { erp, connector } = smallErp();
    const { moveIds } = erp.createWholesaleOrder({ reference: 'WS-1', lines: [{ sku: 'BRACKET-V2-BLU', location: 'LDS', quantity: 8 }] });
    const start = await connector.getStockChangesSince(null);

    erp.deleteDraftMove(moveIds[0]!);

    expect((await connector.getStockChangesSince(start.nextWatermark)).skus).toEqual([]);
    const page = await connector.listAllStock({ locationCodes: ['LDS'] });
    expect(page.items.find((l) => l.sku === 'BRACKET-V2-BLU')).toEqual({ sku: 'BRACKET-V2-BLU', location: 'LDS', onHand: 50, allocated: 0, wholesaleCommitted: 0 });
  });

  it('reports a late commit stamped before the watermark, inside the overlap window', async () => {
    const { erp, connector } = smallErp({ overlapTicks: 10 });
    erp.receiveStock({ sku: 'SCREW-WOOD-4X40-ZNC', location: 'BHM', quantity: 5 });
    const start = await connector.getStockChangesSince(null);

    erp.receiveStock({ sku: 'BRACKET-V2-BLU', location: 'BHM', quantity: 3, stampedTicksAgo: 4 });

    expect((await connector.getStockChangesSince(start.nextWatermark)).skus).toEqual(['BRACKET-V2-BLU']);
  });

  it('moves a wholesale order from committed to allocated to shipped', async () => {
    const { erp, connector } = smallErp();
    const read = async (): Promise<unknown> => (await connector.getStockBySkus(['BRACKET-V2-BLU'], ['LDS'])).levels[0];
    erp.createWholesaleOrder({ reference: 'WS-2', lines: [{ sku: 'BRACKET-V2-BLU', location: 'LDS', quantity: 10 }] });
    expect(await read()).toMatchObject({ onHand: 50, allocated: 0, wholesaleCommitted: 10 });
    erp.allocateWholesaleOrder('WS-2');
    expect(await read()).toMatchObject({ onHand: 50, allocated: 10, wholesaleCommitted: 0 });
    erp.shipWholesaleOrder('WS-2');
    expect(await read()).toMatchObject({ onHand: 40, allocated: 0, wholesaleCommitted: 0 });
  });

  it('consumes the components of a kit when producing it', async () => {
    const { erp, connector } = smallErp();
    erp.receiveProduction({ sku: 'KIT-SHELF', location: 'LDS', quantity: 5 });
    const snapshot = await connector.getStockBySkus(['KIT-SHELF', 'BRACKET-V2-BLU', 'SCREW-WOOD-4X40-ZNC'], ['LDS']);
    expect(snapshot.levels.map((l) => [l.sku, l.onHand])).toEqual([
      ['KIT-SHELF', 5],
      ['BRACKET-V2-BLU', 40],
      ['SCREW-WOOD-4X40-ZNC', 180],
    ]);
  });

  it('ships a sales order from the lot that expires first', async () => {
    const { erp, connector } = smallErp();
    erp.receiveStock({ sku: 'SEALANT-SIL-310ML-CLR', location: 'LDS', quantity: 4, lot: { number: 'LOT-LATE', expiresOn: '2028-01-01' } });
    erp.receiveStock({ sku: 'SEALANT-SIL-310ML-CLR', location: 'LDS', quantity: 4, lot: { number: 'LOT-SOON', expiresOn: '2027-01-01' } });
    await connector.createSalesOrder(order('gid://shopify/Order/9', [{ sku: 'SEALANT-SIL-310ML-CLR', quantity: 5, location: 'LDS', unitPrice: '8.00' }]));
    erp.assignSalesOrder('gid://shopify/Order/9');
    erp.shipSalesOrder('gid://shopify/Order/9');

    expect(await connector.getLotsBySkus(['SEALANT-SIL-310ML-CLR'], ['LDS'])).toEqual([
      { number: 'LOT-LATE', sku: 'SEALANT-SIL-310ML-CLR', location: 'LDS', quantity: 3, expiresOn: '2028-01-01' },
    ]);
    expect(await connector.findSalesOrder('gid://shopify/Order/9')).toMatchObject({ status: 'done', allocated: true });
  });

  it('reserves a sales order on confirmation when set to, and leaves it waiting when stock is short', async () => {
    const erp = new SimulatedErp({ autoAssign: true });
    erp.addWarehouse({ code: 'LDS', name: 'Leeds plant' });
    erp.addProduct({ sku: 'HINGE-BUTT-75-SS', name: 'Butt hinge' });
    erp.receiveStock({ sku: 'HINGE-BUTT-75-SS', location: 'LDS', quantity: 3 });
    const connector = new SimulatedErpConnector(erp);

    await connector.createSalesOrder(order('gid://shopify/Order/10', [{ sku: 'HINGE-BUTT-75-SS', quantity: 2, location: 'LDS', unitPrice: '3.00' }]));
    await connector.createSalesOrder(order('gid://shopify/Order/11', [{ sku: 'HINGE-BUTT-75-SS', quantity: 2, location: 'LDS', unitPrice: '3.00' }]));

    expect(await connector.findSalesOrder('gid://shopify/Order/10')).toMatchObject({ allocated: true });
    expect(await connector.findSalesOrder('gid://shopify/Order/11')).toMatchObject({ allocated: false });
    expect((await connector.getStockBySkus(['HINGE-BUTT-75-SS'], ['LDS'])).levels[0]).toMatchObject({ onHand: 3, allocated: 2 });
  });

  it('rejects a watermark another feed issued with ERP_INVALID_WATERMARK', async () => {
    const { connector } = smallErp();
    const products = await connector.getProductsChangedSince(null);
    expect(await codeOf(connector.getStockChangesSince(products.nextWatermark))).toBe('ERP_INVALID_WATERMARK');
  });

  it('reports every SKU a burst of factory activity changed, and none it did not', async () => {
    const erp = createDemoErp({ skus: 200, locations: 3, seed: 11 });
    const connector = new SimulatedErpConnector(erp);
    const start = await connector.getStockChangesSince(null);

    let state = 42;
    const changed = erp.simulateActivity(60, () => ((state = (state * 1103515245 + 12345) % 2 ** 31) / 2 ** 31));

    expect(changed.length).toBeGreaterThan(0);
    expect((await connector.getStockChangesSince(start.nextWatermark)).skus).toEqual(changed);
  });
});

describe('demo ERP', () => {
  it('builds the same catalogue from the same seed', async () => {
    const first = new SimulatedErpConnector(createDemoErp({ skus: 300, seed: 5 }));
    const second = new SimulatedErpConnector(createDemoErp({ skus: 300, seed: 5 }));
    const [a, b] = [await first.listAllStock({ limit: 300 }), await second.listAllStock({ limit: 300 })];
    expect(a.items.length).toBeGreaterThan(0);
    expect(a).toEqual(b);
  });

  it('has three warehouses, 300 products with kits, and lots that expire', async () => {
    const connector = new SimulatedErpConnector(createDemoErp({ skus: 300, locations: 3, seed: 1 }));
    const locations = await connector.listLocations();
    const products = (await connector.listProducts({ limit: 1_000 })).items;
    const lots = await connector.getLotsBySkus(products.map((p) => p.sku));

    expect(locations.filter((l) => l.kind === 'warehouse').map((l) => l.code)).toEqual(['LDS', 'BHM', 'GLA']);
    expect(products).toHaveLength(300);
    expect(products.every((p) => /^[A-Z0-9]+(-[A-Z0-9]+)+$/.test(p.sku))).toBe(true);
    const kits = products.filter((p) => p.components.length > 0);
    expect(kits.length).toBeGreaterThanOrEqual(3);
    for (const kit of kits) for (const component of kit.components) expect(products.map((p) => p.sku)).toContain(component.sku);
    expect(lots.some((l) => l.expiresOn !== null)).toBe(true);
    expect(lots.some((l) => l.expiresOn === null)).toBe(true);
  });
});
