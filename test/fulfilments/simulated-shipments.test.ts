import { describe, expect, it } from 'vitest';
import type { SalesOrderInput } from '../../src/erp/erp-connector.js';
import { SimulatedErpConnector } from '../../src/erp/simulated/simulated-erp-connector.js';
import { SimulatedErp } from '../../src/erp/simulated/simulated-erp.js';

function shopWithOrder(): { erp: SimulatedErp; connector: SimulatedErpConnector; reference: string } {
  const erp = new SimulatedErp();
  erp.addWarehouse({ code: 'LDS', name: 'Leeds plant' });
  erp.addProduct({ sku: 'HINGE-BUTT-75-SS', name: 'Butt hinge' });
  erp.addProduct({ sku: 'SEALANT-SIL-310ML-CLR', name: 'Sealant', lotTracked: true });
  erp.receiveStock({ sku: 'HINGE-BUTT-75-SS', location: 'LDS', quantity: 10 });
  erp.receiveStock({ sku: 'SEALANT-SIL-310ML-CLR', location: 'LDS', quantity: 2, lot: { number: 'LOT-SOON', expiresOn: '2027-01-01' } });
  erp.receiveStock({ sku: 'SEALANT-SIL-310ML-CLR', location: 'LDS', quantity: 5, lot: { number: 'LOT-LATE', expiresOn: '2028-01-01' } });
  return { erp, connector: new SimulatedErpConnector(erp), reference: 'gid://shopify/Order/77' };
}

const order = (reference: string): SalesOrderInput => ({
  externalReference: reference,
  name: '#1077',
  customer: { name: 'Ada Lovelace', email: 'ada@example.com', phone: null },
  shippingAddress: null,
  currency: 'GBP',
  lines: [
    { sku: 'HINGE-BUTT-75-SS', quantity: 3, location: 'LDS', unitPrice: '3.00' },
    { sku: 'SEALANT-SIL-310ML-CLR', quantity: 4, location: 'LDS', unitPrice: '8.00' },
  ],
});

describe('simulated ERP shipment feed', () => {
  it('starts from now with no history, then reports a partial shipment with its tracking and lots, and the rest later', async () => {
    const { erp, connector, reference } = shopWithOrder();
    await connector.createSalesOrder(order(reference));
    erp.assignSalesOrder(reference);
    const start = await connector.getShipmentsChangedSince(null);
    expect(start.shipments).toEqual([]);

    const [first] = erp.shipSalesOrder(reference, {
      lines: [
        { sku: 'HINGE-BUTT-75-SS', quantity: 1 },
        { sku: 'SEALANT-SIL-310ML-CLR', quantity: 3 },
      ],
      carrier: 'DHL',
      trackingNumber: 'JD0001',
      trackingUrl: 'https://track.example/JD0001',
    });
    const one = await connector.getShipmentsChangedSince(start.nextWatermark);
    expect(one.shipments).toEqual([
      {
        id: expect.any(String),
        erpReference: first,
        salesOrderReference: reference,
        shippedAt: expect.any(String),
        carrier: 'DHL',
        trackingNumber: 'JD0001',
        trackingUrl: 'https://track.example/JD0001',
        lines: [
          { sku: 'HINGE-BUTT-75-SS', quantity: 1, location: 'LDS', lotNumber: null },
          { sku: 'SEALANT-SIL-310ML-CLR', quantity: 2, location: 'LDS', lotNumber: 'LOT-SOON' },
          { sku: 'SEALANT-SIL-310ML-CLR', quantity: 1, location: 'LDS', lotNumber: 'LOT-LATE' },
        ],
      },
    ]);
    expect((await connector.findSalesOrder(reference))?.status).toBe('processing');

    const again = await connector.getShipmentsChangedSince(one.nextWatermark);
    expect(again.shipments).toEqual([]);

    erp.shipSalesOrder(reference, { lines: [{ sku: 'HINGE-BUTT-75-SS', quantity: 2 }, { sku: 'SEALANT-SIL-310ML-CLR', quantity: 1 }] });
    const two = await connector.getShipmentsChangedSince(again.nextWatermark);
    expect(two.shipments.map((s) => [s.trackingNumber, s.lines.map((l) => l.quantity)])).toEqual([[null, [2, 1]]]);
    expect((await connector.findSalesOrder(reference))?.status).toBe('done');
  });

  it('reports a shipment committed late (stamped in the past) once, and again when its tracking changes', async () => {
    const { erp, connector, reference } = shopWithOrder();
    await connector.createSalesOrder(order(reference));
    erp.assignSalesOrder(reference);
    const start = await connector.getShipmentsChangedSince(null);
    erp.receiveStock({ sku: 'HINGE-BUTT-75-SS', location: 'LDS', quantity: 1 });
    const quiet = await connector.getShipmentsChangedSince(start.nextWatermark);
    const [late] = erp.shipSalesOrder(reference, { stampedTicksAgo: 5 });
    const found = await connector.getShipmentsChangedSince(quiet.nextWatermark);
    expect(found.shipments.map((s) => s.erpReference)).toEqual([late]);
    expect((await connector.getShipmentsChangedSince(found.nextWatermark)).shipments).toEqual([]);

    erp.setShipmentTracking(late!, { carrier: 'UPS', trackingNumber: '1Z999' });
    const changed = await connector.getShipmentsChangedSince(found.nextWatermark);
    expect(changed.shipments.map((s) => [s.erpReference, s.trackingNumber])).toEqual([[late, '1Z999']]);
  });

  it('refuses to ship more than the order has left, and records no shipment', async () => {
    const { erp, connector, reference } = shopWithOrder();
    await connector.createSalesOrder(order(reference));
    expect(() => erp.shipSalesOrder(reference, { lines: [{ sku: 'HINGE-BUTT-75-SS', quantity: 4 }] })).toThrow(/no 1 more/);
    expect(erp.shipmentsOf(reference)).toEqual([]);
  });
});
