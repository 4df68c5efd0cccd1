import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { createLogger } from '../../src/logger.js';
import { customerKey } from '../../src/erp/erp-find-or-create.js';
import { partyCodeFor } from '../../src/erp/tryton/tryton-customers.js';
import { TrytonErpConnector } from '../../src/erp/tryton/tryton-erp-connector.js';
import { TrytonDate } from '../../src/erp/tryton/tryton-codec.js';
import { TrytonRpcClient } from '../../src/erp/tryton/tryton-rpc-client.js';
import { runErpConnectorContract, type ErpWriteOperation } from './erp-connector.contract.js';
import { trytonCredentials } from '../support/tryton.js';
import { TrytonErpFixture } from '../../scripts/lib/tryton-fixture.js';
import { TrytonWireFaults } from './tryton-wire-faults.js';

/**
 * The contract suite against a real trytond: start one with `bash scripts/tryton.sh start` and
 * `eval "$(bash scripts/tryton.sh env)"`. Without ERP_URL (and the other ERP_* variables) the
 * suite reports itself skipped.
 */
if (trytonCredentials) {
  const credentials = trytonCredentials;
  runErpConnectorContract(
    `tryton at ${credentials.url}${credentials.database}`,
    async () => {
      const logger = createLogger('silent');
      const connector = new TrytonErpConnector({ ...credentials, logger });
      const otherProcess = new TrytonErpConnector({ ...credentials, logger });
      const wire = new TrytonWireFaults();
      // Settles well after a lost request reaches trytond (300 ms late) and its transaction ends.
      const faulty = new TrytonErpConnector({ ...credentials, logger, inDoubtSettleMs: 8_000, fetch: wire.fetch });
      const fixture = new TrytonErpFixture(new TrytonRpcClient({ ...credentials, logger }));
      const writeOf: Record<ErpWriteOperation, (method: string) => boolean> = {
        createSalesOrder: (method) => method === 'model.sale.sale.create',
        createCustomerReturn: (method) => method === 'model.stock.shipment.out.return.create',
        // An assigned sale is cancelled through its shipments; a confirmed one directly.
        cancelSalesOrder: (method) => method === 'model.stock.shipment.out.cancel' || method === 'model.sale.sale.cancel',
      };
      return {
        connector,
        otherProcess,
        faults: {
          connector: faulty,
          loseAnswerOf: (operation, commitDelayMs) => wire.add({ match: writeOf[operation], lose: { delayMs: commitDelayMs } }),
          raceNextCustomerCreation: (customer) =>
            wire.add({
              match: (method) => method === 'model.party.party.create',
              before: async () => {
                await fixture.createCustomer({ code: partyCodeFor(customerKey(customer)), name: customer.name, email: customer.email });
              },
            }),
          settled: () => wire.settled(),
        },
        fixture: Object.assign(fixture, { roundTrips: () => connector.roundTrips }),
        teardown: async () => {
          await Promise.all([connector.close(), otherProcess.close(), faulty.close()]);
        },
      };
    },
    { timeoutMs: 60_000 },
  );

  describe('Tryton connector, beyond the contract', () => {
    const logger = createLogger('silent');
    const connector = new TrytonErpConnector({ ...credentials, logger });
    const client = new TrytonRpcClient({ ...credentials, logger });
    const fixture = new TrytonErpFixture(client);
    const run = randomBytes(4).toString('hex').toUpperCase();
    const order = (externalReference: string, name: string) => ({
      externalReference,
      name,
      customer: { name: 'Grace Hopper', email: `grace-${run}@example.com`, phone: null },
      shippingAddress: null,
      currency: 'EUR',
    });
    const terms = async (sku: string, location: string) => {
      const { levels } = await connector.getStockBySkus([sku], [location]);
      const { onHand, allocated, wholesaleCommitted } = levels[0]!;
      return { onHand, allocated, wholesaleCommitted };
    };

    it('keeps a wholesale order allocated from assignment through picking and packing until it ships', { timeout: 60_000 }, async () => {
      const sku = `TT${run}-PICK`;
      const reference = `WS-${run}-PICK`;
      await fixture.createProducts([{ sku, name: 'Picked product' }]);
      await fixture.receiveStock({ sku, location: 'WH', quantity: 10 });
      await fixture.createOtherChannelOrder({ reference, lines: [{ sku, location: 'WH', quantity: 4 }] });
      expect(await terms(sku, 'WH')).toEqual({ onHand: 10, allocated: 0, wholesaleCommitted: 4 });

      await fixture.assignSalesOrder(reference);
      expect(await terms(sku, 'WH')).toEqual({ onHand: 10, allocated: 4, wholesaleCommitted: 0 });
      // The connector reads allocations from assigned moves; Tryton's own context agrees.
      const quantity = async (context: Record<string, unknown>) => {
        const [row] = await client.model('product.product', 'search_read', [[['code', '=', sku]], 0, null, null, ['quantity']], z.array(z.object({ quantity: z.number() })), context);
        return row!.quantity;
      };
      const warehouse = (await fixture.warehouse('WH')).id;
      expect((await quantity({ locations: [warehouse] })) - (await quantity({ locations: [warehouse], stock_assign: true }))).toBe(4);

      const shipments = await client.model('stock.shipment.out', 'search', [[['moves.sale.reference', '=', reference]], 0, null, null], z.array(z.number()));
      await client.model('stock.shipment.out', 'pick', [shipments], z.unknown());
      expect(await terms(sku, 'WH')).toEqual({ onHand: 10, allocated: 4, wholesaleCommitted: 0 });
      await client.model('stock.shipment.out', 'pack', [shipments], z.unknown());
      expect(await terms(sku, 'WH')).toEqual({ onHand: 10, allocated: 4, wholesaleCommitted: 0 });
      await client.model('stock.shipment.out', 'done', [shipments], z.unknown());
      expect(await terms(sku, 'WH')).toEqual({ onHand: 6, allocated: 0, wholesaleCommitted: 0 });
    });

    it('reads stock of a storage location inside a warehouse, and the warehouse includes it', { timeout: 60_000 }, async () => {
      const sku = `TT${run}-SHELF`;
      await fixture.createProducts([{ sku, name: 'Shelved product' }]);
      await fixture.receiveStock({ sku, location: 'SHELF-A', quantity: 6 });
      const { levels } = await connector.getStockBySkus([sku], ['WH', 'STO', 'SHELF-A', 'WH-EAST']);
      expect(levels.map((l) => [l.location, l.onHand])).toEqual([
        ['WH', 6],
        ['STO', 6],
        ['SHELF-A', 6],
        ['WH-EAST', 0],
      ]);
    });

    it('reports a shipped order as done with its shipped quantity, and refuses to cancel it', { timeout: 60_000 }, async () => {
      const sku = `TT${run}-SHIP`;
      const reference = `gid://shopify/Order/${run}-SHIP`;
      await fixture.createProducts([{ sku, name: 'Shipped product' }]);
      await fixture.receiveStock({ sku, location: 'WH-EAST', quantity: 3 });
      await connector.createSalesOrder({
        externalReference: reference,
        name: '#9001',
        customer: { name: 'Ada Lovelace', email: `ada-${run}@example.com`, phone: '+44 20 7946 0000' },
        shippingAddress: { name: 'Ada Lovelace', company: null, line1: '12 Analytical Row', line2: 'Flat 2', city: 'London', postalCode: 'N1 9GU', countryCode: 'GB', provinceCode: null, phone: null },
        currency: 'GBP',
        lines: [{ sku, quantity: 2, location: 'WH-EAST', unitPrice: '12.50' }],
      });
      await fixture.assignSalesOrder(reference);
      const shipments = await client.model('stock.shipment.out', 'search', [[['moves.sale.reference', '=', reference]], 0, null, null], z.array(z.number()));
      for (const step of ['pick', 'pack', 'done']) await client.model('stock.shipment.out', step, [shipments], z.unknown());

      expect(await connector.findSalesOrder(reference)).toMatchObject({
        status: 'done',
        allocated: true,
        lines: [{ sku, location: 'WH-EAST', quantity: 2, allocatedQuantity: 0, shippedQuantity: 2 }],
      });
      await expect(connector.cancelSalesOrder(reference)).rejects.toMatchObject({ code: 'ERP_REJECTED' });
      expect(await terms(sku, 'WH-EAST')).toEqual({ onHand: 1, allocated: 0, wholesaleCommitted: 0 });
    });

    it('refuses an order whose lines ship from two warehouses, writing nothing', { timeout: 60_000 }, async () => {
      const sku = `TT${run}-SPLIT`;
      const reference = `gid://shopify/Order/${run}-SPLIT`;
      await fixture.createProducts([{ sku, name: 'Split product' }]);
      const order = {
        externalReference: reference,
        name: '#9002',
        customer: { name: 'Split Customer', email: null, phone: null },
        shippingAddress: null,
        currency: 'EUR',
        lines: [
          { sku, quantity: 1, location: 'WH', unitPrice: '1.00' },
          { sku, quantity: 1, location: 'WH-WEST', unitPrice: '1.00' },
        ],
      };
      await expect(connector.createSalesOrder(order)).rejects.toMatchObject({ code: 'ERP_REJECTED' });
      expect(await fixture.countSalesOrders(reference)).toBe(0);
    });

    it('reports a shipment that took two lots as one line per lot, and leaves out shipments of sales Stockbridge did not make', { timeout: 90_000 }, async () => {
      const sku = `TT${run}-TWOLOTS`;
      const reference = `gid://shopify/Order/${run}-TWOLOTS`;
      const wholesale = `WS-${run}-SHIPPED`;
      await fixture.createProducts([{ sku, name: 'Two-lot product', lotTracked: true }]);
      await fixture.receiveStock({ sku, location: 'WH', quantity: 2, lot: { number: `A-${run}`, expiresOn: '2030-01-31' } });
      await fixture.receiveStock({ sku, location: 'WH', quantity: 5, lot: { number: `B-${run}`, expiresOn: '2030-05-31' } });
      await connector.createSalesOrder({ ...order(reference, '#9003'), lines: [{ sku, quantity: 4, location: 'WH', unitPrice: '3.00' }] });
      await fixture.createOtherChannelOrder({ reference: wholesale, lines: [{ sku, location: 'WH', quantity: 1 }] });
      const start = await connector.getShipmentsChangedSince(null);

      await fixture.shipSalesOrder(reference, { trackingNumber: `TWO-${run}`, lines: [{ sku, quantity: 2, lotNumber: `A-${run}` }, { sku, quantity: 2, lotNumber: `B-${run}` }] });
      await fixture.shipSalesOrder(wholesale, { trackingNumber: `WS-${run}` });
      const changes = await connector.getShipmentsChangedSince(start.nextWatermark);

      expect(changes.shipments.filter((s) => s.salesOrderReference === wholesale || s.trackingNumber === `WS-${run}`)).toEqual([]);
      const [shipment] = changes.shipments.filter((s) => s.salesOrderReference === reference);
      expect(shipment?.lines.map((l) => [l.lotNumber, l.quantity]).sort()).toEqual([
        [`A-${run}`, 2],
        [`B-${run}`, 2],
      ]);
    });

    it('reports a done shipment again, once, when the warehouse corrects its tracking number', { timeout: 90_000 }, async () => {
      const sku = `TT${run}-RETRACK`;
      const reference = `gid://shopify/Order/${run}-RETRACK`;
      await fixture.createProducts([{ sku, name: 'Re-tracked product' }]);
      await fixture.receiveStock({ sku, location: 'WH', quantity: 3 });
      await connector.createSalesOrder({ ...order(reference, '#9004'), lines: [{ sku, quantity: 1, location: 'WH', unitPrice: '3.00' }] });
      const start = await connector.getShipmentsChangedSince(null);
      const { id } = await fixture.shipSalesOrder(reference, { trackingNumber: 'WRONG-1' });
      const first = await connector.getShipmentsChangedSince(start.nextWatermark);

      await client.model('stock.shipment.out', 'write', [[id], { reference: `RIGHT-${run}` }], z.null());
      const second = await connector.getShipmentsChangedSince(first.nextWatermark);
      const third = await connector.getShipmentsChangedSince(second.nextWatermark);

      const of = (changes: { shipments: readonly { id: string; trackingNumber: string | null }[] }) => changes.shipments.filter((s) => s.id === String(id)).map((s) => s.trackingNumber);
      expect([of(first), of(second), of(third)]).toEqual([['WRONG-1'], [`RIGHT-${run}`], []]);
    });

    it('reports in the stock feed the SKU of a lot whose expiry date a clerk corrected, though no stock moved', { timeout: 60_000 }, async () => {
      const sku = `TT${run}-REDATE`;
      const number = `R-${run}`;
      await fixture.createProducts([{ sku, name: 'Re-dated product', lotTracked: true }]);
      await fixture.receiveStock({ sku, location: 'WH', quantity: 4, lot: { number, expiresOn: '2031-01-31' } });
      const start = await connector.getStockChangesSince(null);
      const [lot] = await client.model('stock.lot', 'search', [[['number', '=', number]], 0, 1, null], z.array(z.number()));

      await client.model('stock.lot', 'write', [[lot], { expiration_date: new TrytonDate('2027-01-31') }], z.null());
      const changes = await connector.getStockChangesSince(start.nextWatermark);

      expect(changes.skus).toContain(sku);
      expect((await connector.getStockChangesSince(changes.nextWatermark)).skus).not.toContain(sku);
      expect((await connector.getLotsBySkus([sku], ['WH'])).map((l) => l.expiresOn)).toEqual(['2027-01-31']);
    });

    it('reads the seeded lots with their expiry dates', { timeout: 60_000 }, async () => {
      const lots = await connector.getLotsBySkus(['SKU-2'], ['SHELF-A']);
      expect(lots.filter((l) => l.number.startsWith('L-00')).map((l) => [l.number, l.expiresOn])).toEqual([
        ['L-001', '2027-06-30'],
        ['L-002', '2027-12-31'],
      ]);
    });
  });
} else {
  describe.skip('ErpConnector contract: tryton (set ERP_URL, ERP_DATABASE, ERP_USER, ERP_PASSWORD; see scripts/tryton.sh)', () => {
    it('runs against a real trytond', () => undefined);
  });
}
