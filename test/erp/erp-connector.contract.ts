import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ErpConnector, KitComponent, Lot, SalesOrderInput, Shipment, ShipmentChanges, StockLevel, StockSnapshot } from '../../src/erp/erp-connector.js';
import { ErpInDoubtError } from '../../src/erp/erp-errors.js';
import { isAppError } from '../../src/shared/errors.js';

/**
 * What the contract suite needs to drive the ERP behind a connector, as other actors in the
 * factory would (a goods receipt, a warehouse clerk assigning a shipment, a wholesale order).
 * Each connector's test implements it with the ERP's own means (the simulated ERP's methods,
 * Tryton's JSON-RPC), never through the connector under test.
 */
export interface ErpContractFixture {
  /**
   * Two warehouses, neither inside the other, that can ship sales orders. The suite reads and
   * writes stock only there.
   */
  readonly locations: readonly [string, string];
  /** Whether lots carry an expiry date in this ERP (Tryton needs `stock_lot_sled` for it). */
  readonly lotExpiry: boolean;
  /**
   * Creates stock-tracked, salable products with these SKUs (never seen before: the suite makes
   * them unique per run). `components` defines the product as a kit (a BOM: that many units of
   * each component make one unit). `lotTracked` products receive stock in lots. Their stock unit
   * of measure is the ERP's piece unit, named "Unit".
   */
  createProducts(
    products: readonly { sku: string; name: string; components?: readonly KitComponent[]; lotTracked?: boolean }[],
  ): Promise<void>;
  /**
   * Adds `quantity` on hand at `location` (a goods receipt, done), optionally into a lot that
   * is created if new. It must leave a trace in the ERP's change clock, as real receipts do.
   */
  receiveStock(input: {
    sku: string;
    location: string;
    quantity: number;
    lot?: { number: string; expiresOn: string | null };
  }): Promise<void>;
  /**
   * Reserves stock for every line of the sales order with this external reference, as a clerk
   * or the ERP's scheduler would (Tryton: `stock.shipment.out.assign_try` on its shipment). The
   * suite calls it only when there is enough stock for every line.
   */
  assignSalesOrder(externalReference: string): Promise<void>;
  /**
   * Ships units of the sales order with this external reference as its warehouse does (Tryton:
   * the customer shipment's moves set to `lines`, then assigned, picked, packed and done), with
   * this tracking number: one shipment. What is left of the order ships in a later call. A
   * line's `lotNumber` names the lot to take; an ERP that picks lots itself may take its own (the
   * suite names only lots that are alone in stock). The suite calls it only with stock enough.
   */
  shipSalesOrder(
    externalReference: string,
    options: { trackingNumber: string | null; lines: readonly { sku: string; quantity: number; lotNumber?: string }[] },
  ): Promise<unknown>;
  /** Records a confirmed, not yet allocated order of another channel (wholesale, EDI). */
  createOtherChannelOrder(input: {
    reference: string;
    lines: readonly { sku: string; location: string; quantity: number }[];
  }): Promise<void>;
  /** How many sales orders in the ERP carry this external reference, whatever their status. */
  countSalesOrders(externalReference: string): Promise<number>;
  /** How many customers (parties) in the ERP have this e-mail address. */
  countCustomers(email: string): Promise<number>;
  /** Round trips the connector has made to the ERP so far, if the fixture can count them. */
  roundTrips?(): number;
}

/** The write of a port operation whose answer a fault loses. */
export type ErpWriteOperation = 'createSalesOrder' | 'cancelSalesOrder' | 'createCustomerReturn';

/**
 * Faults on the wire between `connector` (a second connector to the same ERP, whose
 * `inDoubtSettleMs` is short enough for a test) and the ERP, and deterministic pause points.
 */
export interface ErpContractFaults {
  readonly connector: ErpConnector;
  /**
   * The next write of `operation` that reaches the wire is applied by the ERP `commitDelayMs`
   * after the connector lost its answer (the connection reset right after sending), so a
   * look-up made at once finds nothing. `commitDelayMs` stays well below `inDoubtSettleMs`.
   */
  loseAnswerOf(operation: ErpWriteOperation, commitDelayMs: number): void;
  /**
   * Just before the connector next creates a customer, another process (another gateway, its
   * own connection) creates the same customer, so the connector's create meets a uniqueness
   * conflict after its look-up found nothing.
   */
  raceNextCustomerCreation(customer: SalesOrderInput['customer']): void;
  /** The next sales-order create is refused for concurrent work (a lock), applying nothing. */
  conflictOnNextOrderCreate?(): void;
  /** Waits until every request whose answer was lost has reached the ERP. */
  settled(): Promise<void>;
}

export interface ErpContractSetup {
  readonly connector: ErpConnector;
  readonly fixture: ErpContractFixture;
  /** Wire faults for the in-doubt and conflict cases. */
  readonly faults: ErpContractFaults;
  /** A connector of another gateway process to the same ERP (its own session, its own locks). */
  readonly otherProcess: ErpConnector;
  /** Called once after the suite. */
  readonly teardown?: () => Promise<void>;
}

export interface ErpContractOptions {
  /** Per-test timeout; a real ERP needs seconds where the simulated one needs milliseconds. */
  readonly timeoutMs?: number;
}

/**
 * The one behaviour suite every `ErpConnector` must pass. `setup` runs once; tests own their
 * data through SKUs and references unique to the run, so it may run against a shared ERP
 * database that earlier runs have written to. One file, longer than most: it is the port's
 * executable contract, run whole against each connector, and its parts share the setup, the
 * run's naming and the helpers above the tests.
 */
export function runErpConnectorContract(
  name: string,
  setup: () => Promise<ErpContractSetup>,
  options: ErpContractOptions = {},
): void {
  const timeout = options.timeoutMs ?? 10_000;

  describe(`ErpConnector contract: ${name}`, () => {
    let connector: ErpConnector;
    let fixture: ErpContractFixture;
    let faults: ErpContractFaults;
    let otherProcess: ErpConnector;
    let teardown: (() => Promise<void>) | undefined;
    // Unique per run so that data left by earlier runs in a real ERP never collides.
    const run = randomBytes(4).toString('hex').toUpperCase();
    let counter = 0;
    const newSku = (label: string): string => `CT${run}-${label}-${String(++counter).padStart(3, '0')}`;
    const newReference = (label: string): string => `gid://contract/Order/${run}-${label}-${++counter}`;

    beforeAll(async () => {
      const made = await setup();
      connector = made.connector;
      fixture = made.fixture;
      faults = made.faults;
      otherProcess = made.otherProcess;
      teardown = made.teardown;
    }, Math.max(timeout, 60_000));

    afterAll(async () => {
      await faults?.settled();
      await teardown?.();
    }, Math.max(timeout, 60_000));

    const locationA = (): string => fixture.locations[0];
    const locationB = (): string => fixture.locations[1];

    async function makeProducts(labels: readonly string[], extra: { lotTracked?: boolean } = {}): Promise<string[]> {
      const skus = labels.map(newSku);
      await fixture.createProducts(skus.map((sku) => ({ sku, name: `Contract ${sku}`, ...extra })));
      return skus;
    }

    function orderFor(reference: string, lines: SalesOrderInput['lines'], customer: SalesOrderInput['customer'] = { name: 'Contract Customer', email: 'contract@example.com', phone: null }): SalesOrderInput {
      return {
        externalReference: reference,
        name: `#${reference.slice(-8)}`,
        customer,
        shippingAddress: {
          name: 'Contract Customer',
          company: null,
          line1: '1 Test Street',
          line2: null,
          city: 'Leeds',
          postalCode: 'LS1 1AA',
          countryCode: 'GB',
          provinceCode: null,
          phone: null,
        },
        currency: 'EUR',
        lines,
      };
    }

    function level(snapshot: StockSnapshot, sku: string, location: string): Omit<StockLevel, 'sku' | 'location'> {
      const found = snapshot.levels.filter((l) => l.sku === sku && l.location === location);
      expect(found, `one level for ${sku} at ${location}`).toHaveLength(1);
      const [only] = found;
      return { onHand: only!.onHand, allocated: only!.allocated, wholesaleCommitted: only!.wholesaleCommitted };
    }

    async function expectError(promise: Promise<unknown>, code: string): Promise<Record<string, unknown>> {
      const error = await promise.then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(isAppError(error), `expected an AppError ${code}, got ${String(error)}`).toBe(true);
      if (!isAppError(error)) throw error;
      expect(error.code).toBe(code);
      return error.details;
    }

    /** The in-doubt error a lost answer gives, checked against the port's contract. */
    async function expectInDoubt(promise: Promise<unknown>, operation: string, using: ErpConnector): Promise<ErpInDoubtError> {
      const error = await promise.then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(error, `expected ERP_IN_DOUBT, got ${String(error)}`).toBeInstanceOf(ErpInDoubtError);
      const doubt = error as ErpInDoubtError;
      expect(doubt).toMatchObject({ code: 'ERP_IN_DOUBT', retryable: false, details: { operation } });
      expect(doubt.settlesAt.getTime() - doubt.sentAt.getTime()).toBe(using.capabilities.inDoubtSettleMs);
      return doubt;
    }

    /** Waits (without asserting any duration) until a look-up about this doubt is conclusive. */
    async function untilSettled(doubt: ErpInDoubtError): Promise<void> {
      const wait = doubt.settlesAt.getTime() - Date.now();
      if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
    }

    const newCustomer = (label: string): SalesOrderInput['customer'] => ({ name: `Contract ${label} ${run}`, email: `${label.toLowerCase()}-${run.toLowerCase()}-${++counter}@example.com`, phone: null });

    const ours = (skus: readonly string[], universe: readonly string[]): string[] =>
      skus.filter((s) => universe.includes(s)).sort();

    it('answers a connection check with the ERP version', { timeout }, async () => {
      const status = await connector.checkConnection();
      expect(status.version).toMatch(/\S/);
    });

    it('lists the warehouses with names, parents before children', { timeout }, async () => {
      const locations = await connector.listLocations();
      const codes = locations.map((l) => l.code);
      expect(new Set(codes).size).toBe(codes.length);
      for (const code of fixture.locations) {
        const location = locations.find((l) => l.code === code);
        expect(location, `location ${code}`).toBeDefined();
        expect(location!.kind).toBe('warehouse');
        expect(location!.warehouseCode).toBe(code);
        expect(location!.name).toMatch(/\S/);
      }
      locations.forEach((location, index) => {
        expect(codes).toContain(location.warehouseCode);
        if (location.parentCode !== null) {
          const parentIndex = codes.indexOf(location.parentCode);
          expect(parentIndex, `parent of ${location.code} listed before it`).toBeGreaterThanOrEqual(0);
          expect(parentIndex).toBeLessThan(index);
        }
      });
    });

    it('reads products by SKU in request order, with kit components, and lists unknown SKUs', { timeout }, async () => {
      const [part] = await makeProducts(['PART']);
      const kit = newSku('KIT');
      await fixture.createProducts([{ sku: kit, name: `Contract kit ${kit}`, components: [{ sku: part!, quantity: 2 }] }]);
      const missing = newSku('MISSING');

      const result = await connector.getProductsBySkus([kit, missing, part!]);

      expect(result.products.map((p) => p.sku)).toEqual([kit, part]);
      expect(result.unknownSkus).toEqual([missing]);
      const [kitProduct, partProduct] = result.products;
      expect(partProduct!.name).toBe(`Contract ${part}`);
      expect(partProduct!.stockTracked).toBe(true);
      expect(partProduct!.components).toEqual([]);
      expect(partProduct!.unit).toBe('Unit');
      expect(kitProduct!.unit).toBe('Unit');
      if (connector.capabilities.kits) expect(kitProduct!.components).toEqual([{ sku: part, quantity: 2 }]);
    });

    it('pages through every product in SKU order without repeating one', { timeout }, async () => {
      const skus = await makeProducts(['PAGE', 'PAGE', 'PAGE']);
      const seen: string[] = [];
      const units = new Map<string, string | null>();
      let cursor: string | null = null;
      let pages = 0;
      do {
        const page = await connector.listProducts({ cursor, limit: 25 });
        seen.push(...page.items.map((p) => p.sku));
        for (const p of page.items) if (skus.includes(p.sku)) units.set(p.sku, p.unit);
        cursor = page.nextCursor;
        pages += 1;
        expect(pages, 'listProducts terminates').toBeLessThan(10_000);
      } while (cursor !== null);

      expect(new Set(seen).size).toBe(seen.length);
      expect(seen.filter((s) => skus.includes(s))).toEqual([...skus].sort());
      expect([...units.values()], 'listProducts reads the unit in the same page').toEqual(skus.map(() => 'Unit'));
    });

    it('reports a product created after the watermark as changed', { timeout }, async () => {
      const start = await connector.getProductsChangedSince(null);
      expect(start.products).toEqual([]);
      const [sku] = await makeProducts(['NEWPROD']);

      const changes = await connector.getProductsChangedSince(start.nextWatermark);

      expect(changes.products.map((p) => p.sku)).toContain(sku);
    });

    it('reads on-hand per location exactly as it was put in, zeros included', { timeout }, async () => {
      const [stocked, empty] = await makeProducts(['STOCK', 'EMPTY']);
      await fixture.receiveStock({ sku: stocked!, location: locationA(), quantity: 7 });
      await fixture.receiveStock({ sku: stocked!, location: locationB(), quantity: 3 });
      const missing = newSku('MISSING');

      const snapshot = await connector.getStockBySkus([stocked!, missing, empty!], [locationA(), locationB()]);

      expect(snapshot.unknownSkus).toEqual([missing]);
      expect(snapshot.levels).toHaveLength(4);
      expect(level(snapshot, stocked!, locationA())).toEqual({ onHand: 7, allocated: 0, wholesaleCommitted: 0 });
      expect(level(snapshot, stocked!, locationB())).toEqual({ onHand: 3, allocated: 0, wholesaleCommitted: 0 });
      expect(level(snapshot, empty!, locationA())).toEqual({ onHand: 0, allocated: 0, wholesaleCommitted: 0 });
      expect(level(snapshot, empty!, locationB())).toEqual({ onHand: 0, allocated: 0, wholesaleCommitted: 0 });

      const everywhere = await connector.getStockBySkus([stocked!]);
      expect(level(everywhere, stocked!, locationA()).onHand).toBe(7);
      expect(level(everywhere, stocked!, locationB()).onHand).toBe(3);
    });

    it('rejects a stock read at an unknown location with UNKNOWN_LOCATION', { timeout }, async () => {
      const [sku] = await makeProducts(['LOCREAD']);
      const details = await expectError(connector.getStockBySkus([sku!], [locationA(), `NOWHERE-${run}`]), 'UNKNOWN_LOCATION');
      expect(details.locations).toEqual([`NOWHERE-${run}`]);
    });

    it('shows a confirmed sale as allocated once the ERP assigns it, never as a wholesale commitment', { timeout }, async () => {
      const [sku] = await makeProducts(['SALE']);
      await fixture.receiveStock({ sku: sku!, location: locationA(), quantity: 10 });
      const reference = newReference('SALE');

      const created = await connector.createSalesOrder(orderFor(reference, [{ sku: sku!, quantity: 3, location: locationA(), unitPrice: '19.90' }]));
      expect(created).toMatchObject({ externalReference: reference, created: true });
      expect(['confirmed', 'processing']).toContain(created.status);
      const beforeAssignment = await connector.getStockBySkus([sku!], [locationA()]);
      expect(level(beforeAssignment, sku!, locationA())).toMatchObject({ onHand: 10, wholesaleCommitted: 0 });

      await fixture.assignSalesOrder(reference);

      const afterAssignment = await connector.getStockBySkus([sku!], [locationA()]);
      expect(level(afterAssignment, sku!, locationA())).toEqual({ onHand: 10, allocated: 3, wholesaleCommitted: 0 });
      const order = await connector.findSalesOrder(reference);
      expect(order).toMatchObject({ externalReference: reference, erpReference: created.erpReference, allocated: true });
      expect(order!.lines).toEqual([{ sku, location: locationA(), quantity: 3, allocatedQuantity: 3, shippedQuantity: 0 }]);
    });

    it('counts a confirmed order of another channel as a wholesale commitment', { timeout }, async () => {
      const [sku] = await makeProducts(['WHOLESALE']);
      await fixture.receiveStock({ sku: sku!, location: locationA(), quantity: 10 });

      await fixture.createOtherChannelOrder({ reference: `WS-${run}-${++counter}`, lines: [{ sku: sku!, location: locationA(), quantity: 4 }] });

      const snapshot = await connector.getStockBySkus([sku!], [locationA(), locationB()]);
      expect(level(snapshot, sku!, locationA())).toEqual({ onHand: 10, allocated: 0, wholesaleCommitted: 4 });
      expect(level(snapshot, sku!, locationB())).toEqual({ onHand: 0, allocated: 0, wholesaleCommitted: 0 });
    });

    it('finds many orders in as many round trips as one, each as findSalesOrder reads it, and leaves out unknown references', { timeout }, async (context) => {
      const [sku] = await makeProducts(['FINDMANY']);
      await fixture.receiveStock({ sku: sku!, location: locationA(), quantity: 10 });
      const assigned = newReference('FINDA');
      const waiting = newReference('FINDW');
      const never = newReference('FINDN');
      await connector.createSalesOrder(orderFor(assigned, [{ sku: sku!, quantity: 2, location: locationA(), unitPrice: '3.00' }]));
      await connector.createSalesOrder(orderFor(waiting, [{ sku: sku!, quantity: 1, location: locationA(), unitPrice: '3.00' }]));
      await fixture.assignSalesOrder(assigned);

      const found = await connector.findSalesOrders([assigned, never, waiting, assigned]);

      expect([...found.keys()].sort()).toEqual([assigned, waiting].sort());
      expect(found.get(assigned)).toEqual(await connector.findSalesOrder(assigned));
      expect(found.get(waiting)).toEqual(await connector.findSalesOrder(waiting));
      expect(found.get(assigned)).toMatchObject({ allocated: true, lines: [{ sku, location: locationA(), quantity: 2, allocatedQuantity: 2, shippedQuantity: 0 }] });
      expect(await connector.findSalesOrders([])).toEqual(new Map());
      if (!fixture.roundTrips) return context.skip();
      const tripsOf = async (read: () => Promise<unknown>): Promise<number> => {
        const before = fixture.roundTrips!();
        await read();
        return fixture.roundTrips!() - before;
      };
      // Both sales have lines and moves: the count must not grow with the number of orders.
      expect(await tripsOf(() => connector.findSalesOrders([waiting, never, assigned]))).toBe(await tripsOf(() => connector.findSalesOrders([assigned])));
    });

    it('makes one sale when the same order is created twice', { timeout }, async () => {
      const [sku] = await makeProducts(['TWICE']);
      await fixture.receiveStock({ sku: sku!, location: locationA(), quantity: 5 });
      const reference = newReference('TWICE');
      const order = orderFor(reference, [{ sku: sku!, quantity: 1, location: locationA(), unitPrice: '5.00' }]);

      const first = await connector.createSalesOrder(order);
      const second = await connector.createSalesOrder(order);

      expect(first.created).toBe(true);
      expect(second).toEqual({ ...first, created: false });
      expect(await fixture.countSalesOrders(reference)).toBe(1);
    });

    it('cancels an order, frees its allocation, and treats a second cancel as done', { timeout }, async () => {
      const [sku] = await makeProducts(['CANCEL']);
      await fixture.receiveStock({ sku: sku!, location: locationA(), quantity: 5 });
      const reference = newReference('CANCEL');
      const created = await connector.createSalesOrder(orderFor(reference, [{ sku: sku!, quantity: 2, location: locationA(), unitPrice: '7.25' }]));
      await fixture.assignSalesOrder(reference);
      expect(level(await connector.getStockBySkus([sku!], [locationA()]), sku!, locationA()).allocated).toBe(2);

      const cancelled = await connector.cancelSalesOrder(reference);

      expect(cancelled).toEqual({ externalReference: reference, erpReference: created.erpReference, status: 'cancelled', cancelled: true });
      expect(level(await connector.getStockBySkus([sku!], [locationA()]), sku!, locationA())).toEqual({ onHand: 5, allocated: 0, wholesaleCommitted: 0 });
      expect(await connector.findSalesOrder(reference)).toMatchObject({ status: 'cancelled' });
      expect(await connector.cancelSalesOrder(reference)).toMatchObject({ status: 'cancelled', cancelled: false });
      expect(await connector.createSalesOrder(orderFor(reference, [{ sku: sku!, quantity: 2, location: locationA(), unitPrice: '7.25' }]))).toMatchObject({
        status: 'cancelled',
        created: false,
      });
      expect(await fixture.countSalesOrders(reference)).toBe(1);
    });

    it('answers NOT_FOUND when cancelling an order it never made, and null when finding one', { timeout }, async () => {
      const reference = newReference('NEVER');
      await expectError(connector.cancelSalesOrder(reference), 'NOT_FOUND');
      expect(await connector.findSalesOrder(reference)).toBeNull();
    });

    it('rejects an order with unknown SKUs with UNKNOWN_SKU, naming them, and writes nothing', { timeout }, async () => {
      const [sku] = await makeProducts(['HALF']);
      await fixture.receiveStock({ sku: sku!, location: locationA(), quantity: 5 });
      const [missing1, missing2] = [newSku('MISSING'), newSku('MISSING')];
      const reference = newReference('UNKNOWN');

      const details = await expectError(
        connector.createSalesOrder(
          orderFor(reference, [
            { sku: sku!, quantity: 1, location: locationA(), unitPrice: '1.00' },
            { sku: missing1, quantity: 1, location: locationA(), unitPrice: '1.00' },
            { sku: missing2, quantity: 1, location: locationA(), unitPrice: '1.00' },
          ]),
        ),
        'UNKNOWN_SKU',
      );

      expect(details.skus).toEqual([missing1, missing2]);
      expect(await connector.findSalesOrder(reference)).toBeNull();
      expect(await fixture.countSalesOrders(reference)).toBe(0);
      const snapshot = await connector.getStockBySkus([sku!], [locationA()]);
      expect(level(snapshot, sku!, locationA())).toEqual({ onHand: 5, allocated: 0, wholesaleCommitted: 0 });
    });

    it('rejects an order at an unknown location with UNKNOWN_LOCATION and writes nothing', { timeout }, async () => {
      const [sku] = await makeProducts(['BADLOC']);
      const reference = newReference('BADLOC');
      const details = await expectError(
        connector.createSalesOrder(orderFor(reference, [{ sku: sku!, quantity: 1, location: `NOWHERE-${run}`, unitPrice: '1.00' }])),
        'UNKNOWN_LOCATION',
      );
      expect(details.locations).toEqual([`NOWHERE-${run}`]);
      expect(await fixture.countSalesOrders(reference)).toBe(0);
    });

    it('reads lots with their quantities per location, soonest expiry first', { timeout }, async () => {
      const [sku] = await makeProducts(['LOTS'], { lotTracked: true });
      const expiring = { number: `LA-${run}`, expiresOn: '2031-01-31' };
      const lasting = { number: `LB-${run}`, expiresOn: null };
      const elsewhere = { number: `LC-${run}`, expiresOn: '2030-06-30' };
      await fixture.receiveStock({ sku: sku!, location: locationA(), quantity: 3, lot: lasting });
      await fixture.receiveStock({ sku: sku!, location: locationA(), quantity: 5, lot: expiring });
      await fixture.receiveStock({ sku: sku!, location: locationB(), quantity: 2, lot: elsewhere });

      const lots = await connector.getLotsBySkus([sku!], [locationA(), locationB()]);

      if (!connector.capabilities.lots) {
        expect(lots).toEqual([]);
        return;
      }
      const expiry = (date: string | null): string | null => (fixture.lotExpiry ? date : null);
      const expected: Lot[] = [
        { number: expiring.number, sku: sku!, location: locationA(), quantity: 5, expiresOn: expiry(expiring.expiresOn) },
        { number: lasting.number, sku: sku!, location: locationA(), quantity: 3, expiresOn: null },
        { number: elsewhere.number, sku: sku!, location: locationB(), quantity: 2, expiresOn: expiry(elsewhere.expiresOn) },
      ];
      const byLocationThenExpiry = [...expected].sort(
        (a, b) =>
          compare(a.location, b.location) ||
          compare(a.expiresOn ?? '\uffff', b.expiresOn ?? '\uffff') ||
          compare(a.number, b.number),
      );
      expect(lots).toEqual(byLocationThenExpiry);
      expect(await connector.getLotsBySkus([sku!], [locationB()])).toEqual([expected[2]]);
      expect(await onHandOf(sku!, locationA())).toBe(8);
    });

    it("reads a lot's expiry date when the ERP tracks expiry, and says so in its capabilities", { timeout }, async () => {
      expect(connector.capabilities.lotExpiry).toBe(fixture.lotExpiry);
      const [sku] = await makeProducts(['EXPIRY'], { lotTracked: true });
      const lot = { number: `LE-${run}`, expiresOn: '2030-02-28' };
      await fixture.receiveStock({ sku: sku!, location: locationA(), quantity: 4, lot });

      const lots = await connector.getLotsBySkus([sku!], [locationA()]);

      if (!connector.capabilities.lots) {
        expect(lots).toEqual([]);
        return;
      }
      expect(lots).toEqual([{ number: lot.number, sku, location: locationA(), quantity: 4, expiresOn: connector.capabilities.lotExpiry ? lot.expiresOn : null }]);
    });

    describe('shipment feed', () => {
      const shipmentsOf = (changes: ShipmentChanges, reference: string): Shipment[] => changes.shipments.filter((s) => s.salesOrderReference === reference);

      it('reports a done shipment once, with its lines, its tracking number and the lot it took', { timeout }, async () => {
        const [sku] = await makeProducts(['SHIP'], { lotTracked: true });
        const lot = { number: `LS-${run}`, expiresOn: '2031-03-31' };
        await fixture.receiveStock({ sku: sku!, location: locationA(), quantity: 5, lot });
        const reference = newReference('SHIP');
        await connector.createSalesOrder(orderFor(reference, [{ sku: sku!, quantity: 2, location: locationA(), unitPrice: '6.00' }]));
        const start = await connector.getShipmentsChangedSince(null);
        expect(start.shipments).toEqual([]);
        const tracking = `TRK-${run}-1`;

        await fixture.shipSalesOrder(reference, { trackingNumber: tracking, lines: [{ sku: sku!, quantity: 2, lotNumber: lot.number }] });
        const changes = await connector.getShipmentsChangedSince(start.nextWatermark);

        if (!connector.capabilities.shipments) {
          expect(changes.shipments).toEqual([]);
          return;
        }
        const [shipment, ...more] = shipmentsOf(changes, reference);
        expect(more).toEqual([]);
        expect(shipment).toMatchObject({
          salesOrderReference: reference,
          trackingNumber: tracking,
          lines: [{ sku, quantity: 2, location: locationA(), lotNumber: connector.capabilities.lots ? lot.number : null }],
        });
        expect(shipment!.id).toMatch(/\S/);
        expect(shipment!.erpReference).toMatch(/\S/);
        expect(Number.isNaN(Date.parse(shipment!.shippedAt)), `shippedAt ${shipment!.shippedAt} is a date`).toBe(false);
        expect(shipmentsOf(await connector.getShipmentsChangedSince(changes.nextWatermark), reference)).toEqual([]);
      });

      it('reports a partial shipment and then the rest as two shipments, after which the order is done', { timeout }, async () => {
        const [sku] = await makeProducts(['PARTIAL']);
        await fixture.receiveStock({ sku: sku!, location: locationA(), quantity: 10 });
        const reference = newReference('PARTIAL');
        await connector.createSalesOrder(orderFor(reference, [{ sku: sku!, quantity: 5, location: locationA(), unitPrice: '4.00' }]));
        const start = await connector.getShipmentsChangedSince(null);

        await fixture.shipSalesOrder(reference, { trackingNumber: `TRK-${run}-A`, lines: [{ sku: sku!, quantity: 2 }] });
        const first = await connector.getShipmentsChangedSince(start.nextWatermark);
        await fixture.shipSalesOrder(reference, { trackingNumber: `TRK-${run}-B`, lines: [{ sku: sku!, quantity: 3 }] });
        const second = await connector.getShipmentsChangedSince(first.nextWatermark);
        const third = await connector.getShipmentsChangedSince(second.nextWatermark);

        if (!connector.capabilities.shipments) {
          expect([...first.shipments, ...second.shipments]).toEqual([]);
          return;
        }
        const [partial, ...moreFirst] = shipmentsOf(first, reference);
        const [rest, ...moreSecond] = shipmentsOf(second, reference);
        expect([moreFirst, moreSecond]).toEqual([[], []]);
        expect(partial).toMatchObject({ trackingNumber: `TRK-${run}-A`, lines: [{ sku, quantity: 2, location: locationA(), lotNumber: null }] });
        expect(rest).toMatchObject({ trackingNumber: `TRK-${run}-B`, lines: [{ sku, quantity: 3, location: locationA(), lotNumber: null }] });
        expect(rest!.id).not.toBe(partial!.id);
        expect(shipmentsOf(third, reference)).toEqual([]);
        expect(await connector.findSalesOrder(reference)).toMatchObject({ status: 'done', lines: [{ sku, quantity: 5, shippedQuantity: 5 }] });
      });

      it('starts from now on a null watermark: shipments done before it are never reported', { timeout }, async () => {
        const [sku] = await makeProducts(['SHIPPED-BEFORE']);
        await fixture.receiveStock({ sku: sku!, location: locationA(), quantity: 3 });
        const reference = newReference('SHIPPED-BEFORE');
        await connector.createSalesOrder(orderFor(reference, [{ sku: sku!, quantity: 1, location: locationA(), unitPrice: '2.00' }]));
        await fixture.shipSalesOrder(reference, { trackingNumber: null, lines: [{ sku: sku!, quantity: 1 }] });

        const start = await connector.getShipmentsChangedSince(null);
        const next = await connector.getShipmentsChangedSince(start.nextWatermark);

        expect(start.shipments).toEqual([]);
        expect(shipmentsOf(next, reference)).toEqual([]);
      });
    });

    async function onHandOf(sku: string, location: string): Promise<number> {
      return level(await connector.getStockBySkus([sku], [location]), sku, location).onHand;
    }

    it('reports exactly the SKUs whose stock changed since the watermark, each change once', { timeout }, async () => {
      const skus = await makeProducts(['FEED', 'FEED', 'FEED']);
      // The third SKU stays untouched: `ours` keeps it in view, so reporting it would fail.
      const [receipt, sale] = skus;
      for (const sku of skus) await fixture.receiveStock({ sku, location: locationA(), quantity: 5 });
      const start = await connector.getStockChangesSince(null);
      expect(start.skus).toEqual([]);

      await fixture.receiveStock({ sku: receipt!, location: locationB(), quantity: 2 });
      const first = await connector.getStockChangesSince(start.nextWatermark);
      expect(ours(first.skus, skus)).toEqual([receipt]);
      expect(first.skus).toEqual([...new Set(first.skus)].sort());

      await connector.createSalesOrder(orderFor(newReference('FEED'), [{ sku: sale!, quantity: 1, location: locationA(), unitPrice: '3.00' }]));
      const second = await connector.getStockChangesSince(first.nextWatermark);
      expect(ours(second.skus, skus)).toEqual([sale]);

      const third = await connector.getStockChangesSince(second.nextWatermark);
      expect(ours(third.skus, skus)).toEqual([]);
    });

    it('lists all stock page by page, each page holding every location of its SKUs', { timeout }, async () => {
      const [sku] = await makeProducts(['FULL']);
      await fixture.receiveStock({ sku: sku!, location: locationA(), quantity: 4 });
      await fixture.receiveStock({ sku: sku!, location: locationB(), quantity: 6 });
      const locations = [locationA(), locationB()];
      const seen = new Set<string>();
      const mine: StockLevel[] = [];
      let cursor: string | null = null;
      let pages = 0;
      do {
        const page = await connector.listAllStock({ cursor, limit: 50, locationCodes: locations });
        for (const item of page.items) {
          const key = `${item.sku}@${item.location}`;
          expect(seen.has(key), `${key} listed once`).toBe(false);
          seen.add(key);
          if (item.sku === sku) mine.push(item);
        }
        const skusOfPage = new Set(page.items.map((i) => i.sku));
        for (const s of skusOfPage) {
          expect(page.items.filter((i) => i.sku === s).map((i) => i.location).sort()).toEqual([...locations].sort());
        }
        cursor = page.nextCursor;
        pages += 1;
        expect(pages, 'listAllStock terminates').toBeLessThan(10_000);
      } while (cursor !== null);

      expect(mine.sort((a, b) => compare(a.location, b.location))).toEqual(
        [
          { sku, location: locationA(), onHand: 4, allocated: 0, wholesaleCommitted: 0 },
          { sku, location: locationB(), onHand: 6, allocated: 0, wholesaleCommitted: 0 },
        ].sort((a, b) => compare(a.location, b.location)),
      );
    });

    it('reads stock and lots for many SKUs in as many round trips as for two', { timeout }, async (context) => {
      if (!fixture.roundTrips) {
        context.skip();
        return;
      }
      // Within one page of SKUs the count must not grow with the number of SKUs.
      const labels = Array.from({ length: Math.min(40, connector.capabilities.maxSkusPerRequest) }, () => 'BATCH');
      const skus = await makeProducts(labels);
      const locations = [locationA(), locationB()];
      // Warm whatever the connector caches (locations, session) so that only the reads count.
      await connector.getStockBySkus(skus.slice(0, 1), locations);
      await connector.getLotsBySkus(skus.slice(0, 1), locations);
      const tripsOf = async (read: () => Promise<unknown>): Promise<number> => {
        const before = fixture.roundTrips!();
        await read();
        return fixture.roundTrips!() - before;
      };

      const fewStock = await tripsOf(() => connector.getStockBySkus(skus.slice(0, 2), locations));
      const manyStock = await tripsOf(() => connector.getStockBySkus(skus, locations));
      const fewLots = await tripsOf(() => connector.getLotsBySkus(skus.slice(0, 2), locations));
      const manyLots = await tripsOf(() => connector.getLotsBySkus(skus, locations));

      expect(manyStock).toBe(fewStock);
      expect(manyLots).toBe(fewLots);
      expect(manyStock).toBeGreaterThan(0);
    });

    it('records a customer return once when the ERP supports returns', { timeout }, async () => {
      const [sku] = await makeProducts(['RETURN']);
      await fixture.receiveStock({ sku: sku!, location: locationA(), quantity: 5 });
      const reference = newReference('RETURN');
      await connector.createSalesOrder(orderFor(reference, [{ sku: sku!, quantity: 2, location: locationA(), unitPrice: '9.00' }]));
      const input = { externalReference: `${reference}/return-1`, salesOrderReference: reference, lines: [{ sku: sku!, quantity: 1, location: locationA() }] };

      const first = await connector.createCustomerReturn(input);
      const second = await connector.createCustomerReturn(input);

      if (!connector.capabilities.customerReturns) {
        expect(first).toEqual({ supported: false });
        return;
      }
      expect(first).toMatchObject({ supported: true, created: true });
      expect(second).toEqual({ ...first, created: false });
      expect(await connector.findCustomerReturn(input.externalReference)).toEqual({ erpReference: (first as { erpReference: string }).erpReference });
      expect(await connector.findCustomerReturn(`${reference}/return-never`)).toBeNull();
    });

    describe('in-doubt writes, conflicts and concurrent find-or-create', () => {
      it('reports a create whose answer was lost as ERP_IN_DOUBT, does not resend it, and a look-up after inDoubtSettleMs finds the one sale', { timeout }, async () => {
        const [sku] = await makeProducts(['DOUBT-CREATE']);
        await fixture.receiveStock({ sku: sku!, location: locationA(), quantity: 5 });
        const reference = newReference('DOUBT-CREATE');
        const order = orderFor(reference, [{ sku: sku!, quantity: 1, location: locationA(), unitPrice: '5.00' }]);
        faults.loseAnswerOf('createSalesOrder', 300);

        const doubt = await expectInDoubt(faults.connector.createSalesOrder(order), 'createSalesOrder', faults.connector);
        expect(doubt.details.externalReference).toBe(reference);

        await untilSettled(doubt);
        const found = await faults.connector.findSalesOrder(reference);
        expect(found, 'the late commit is found once the write has settled').not.toBeNull();
        // Resolved as applied: asking again completes it and never makes a second sale.
        const again = await faults.connector.createSalesOrder(order);
        expect(again.created).toBe(false);
        expect(['confirmed', 'processing']).toContain(again.status);
        expect(await fixture.countSalesOrders(reference)).toBe(1);
      });

      it('reports a customer return whose answer was lost as ERP_IN_DOUBT, and findCustomerReturn after inDoubtSettleMs finds the one return', { timeout }, async () => {
        if (!faults.connector.capabilities.customerReturns) return;
        const [sku] = await makeProducts(['DOUBT-RETURN']);
        await fixture.receiveStock({ sku: sku!, location: locationA(), quantity: 5 });
        const reference = newReference('DOUBT-RETURN');
        await connector.createSalesOrder(orderFor(reference, [{ sku: sku!, quantity: 2, location: locationA(), unitPrice: '9.00' }]));
        const input = { externalReference: `${reference}/return-1`, salesOrderReference: reference, lines: [{ sku: sku!, quantity: 1, location: locationA() }] };
        faults.loseAnswerOf('createCustomerReturn', 300);

        const doubt = await expectInDoubt(faults.connector.createCustomerReturn(input), 'createCustomerReturn', faults.connector);
        expect(await faults.connector.findCustomerReturn(input.externalReference), 'nothing to find before the late commit').toBeNull();

        await untilSettled(doubt);
        const found = await faults.connector.findCustomerReturn(input.externalReference);
        expect(found).not.toBeNull();
        expect(await faults.connector.createCustomerReturn(input)).toEqual({ supported: true, erpReference: found!.erpReference, created: false });
      });

      it('reports a cancellation whose answer was lost as ERP_IN_DOUBT; after inDoubtSettleMs the status says whether to cancel again, and the order ends cancelled once', { timeout }, async () => {
        const [sku] = await makeProducts(['DOUBT-CANCEL']);
        await fixture.receiveStock({ sku: sku!, location: locationA(), quantity: 5 });
        const reference = newReference('DOUBT-CANCEL');
        await connector.createSalesOrder(orderFor(reference, [{ sku: sku!, quantity: 2, location: locationA(), unitPrice: '7.25' }]));
        await fixture.assignSalesOrder(reference);
        faults.loseAnswerOf('cancelSalesOrder', 300);

        const doubt = await expectInDoubt(faults.connector.cancelSalesOrder(reference), 'cancelSalesOrder', faults.connector);

        await untilSettled(doubt);
        const settled = await faults.connector.findSalesOrder(reference);
        expect(settled).not.toBeNull();
        if (settled!.status !== 'cancelled') {
          // The lost write was one step of several: the status is conclusive, and cancelling again is safe.
          expect(await faults.connector.cancelSalesOrder(reference)).toMatchObject({ status: 'cancelled' });
        }
        expect(await connector.findSalesOrder(reference)).toMatchObject({ status: 'cancelled' });
        expect(level(await connector.getStockBySkus([sku!], [locationA()]), sku!, locationA())).toEqual({ onHand: 5, allocated: 0, wholesaleCommitted: 0 });
        expect(await fixture.countSalesOrders(reference)).toBe(1);
      });

      it('retries a create the ERP refused for concurrent work (ERP_CONFLICT), never failing the order as rejected', { timeout }, async () => {
        if (!faults.conflictOnNextOrderCreate) return;
        const [sku] = await makeProducts(['CONFLICT']);
        await fixture.receiveStock({ sku: sku!, location: locationA(), quantity: 5 });
        const reference = newReference('CONFLICT');
        faults.conflictOnNextOrderCreate();

        expect(await faults.connector.createSalesOrder(orderFor(reference, [{ sku: sku!, quantity: 1, location: locationA(), unitPrice: '5.00' }]))).toMatchObject({ created: true });
        expect(await fixture.countSalesOrders(reference)).toBe(1);
      });

      it('uses the customer another process created between its look-up and its create (a uniqueness conflict is a reason to look again)', { timeout }, async () => {
        const [sku] = await makeProducts(['RACE']);
        await fixture.receiveStock({ sku: sku!, location: locationA(), quantity: 5 });
        const customer = newCustomer('Race');
        const reference = newReference('RACE');
        faults.raceNextCustomerCreation(customer);

        expect(await faults.connector.createSalesOrder(orderFor(reference, [{ sku: sku!, quantity: 1, location: locationA(), unitPrice: '5.00' }], customer))).toMatchObject({ created: true });
        expect(await fixture.countCustomers(customer.email!)).toBe(1);
        expect(await fixture.countSalesOrders(reference)).toBe(1);
      });

      it('makes one customer and two sales when two orders of one new customer are submitted at once, in one process and from two', { timeout }, async () => {
        const [sku] = await makeProducts(['TWO-ORDERS']);
        await fixture.receiveStock({ sku: sku!, location: locationA(), quantity: 10 });
        for (const [label, second] of [
          ['SAME', connector],
          ['OTHER', otherProcess],
        ] as const) {
          const customer = newCustomer(`Twice${label}`);
          const references = [newReference(`${label}-1`), newReference(`${label}-2`)];
          const results = await Promise.all(
            references.map((reference, index) => (index === 0 ? connector : second).createSalesOrder(orderFor(reference, [{ sku: sku!, quantity: 1, location: locationA(), unitPrice: '5.00' }], customer))),
          );
          expect(results.map((r) => r.created)).toEqual([true, true]);
          expect(await fixture.countCustomers(customer.email!), `customers of ${label}`).toBe(1);
          for (const reference of references) expect(await fixture.countSalesOrders(reference)).toBe(1);
        }
      });
    });
  });
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
