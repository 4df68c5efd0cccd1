import { setTimeout as sleepFor } from 'node:timers/promises';
import type { KitComponent } from '../erp-connector.js';

/**
 * An ERP that lives in the process: warehouses and storage locations, products (some kits),
 * stock per storage location, lots with expiry, allocations, wholesale commitments, sales orders
 * and customer returns, with a logical clock that stamps every stock change like a real ERP's
 * `write_date`. It serves the demo and the fast tests.
 *
 * It has two faces. `call(method, params)` is its wire: the only thing the connector uses, one
 * call per round trip, answering plain JSON-like values that the connector must parse (and that
 * can be made to fail: down, slow, garbage, refusing, answers lost while the write commits later,
 * conflicts with concurrent work). The other methods are the factory floor:
 * goods receipts, production, shipments, wholesale orders, counts and clerks' mistakes, which
 * tests and the demo use to move stock "on their own" behind the gateway's back.
 */

export type SimulatedFailureMode =
  /** The connection is refused: the call throws like a socket would. */
  | 'down'
  /** The ERP answers only after `delayMs` (default 60 s), or never if the caller gives up. */
  | 'slow'
  /** The ERP answers HTTP-200 garbage (an HTML error page where JSON was expected). */
  | 'garbage'
  /** The ERP refuses the request with a user error. */
  | 'reject'
  /**
   * The request arrives and the connection resets before the answer: the caller sees a network
   * error at once, and the ERP applies the request `delayMs` later (default 0), as a real ERP
   * still working on a request whose client gave up commits after the client stopped waiting.
   */
  | 'lost'
  /** The ERP refuses the request because of concurrent work (a lock it could not obtain); nothing applied. */
  | 'conflict';

export interface SimulatedFailure {
  readonly mode: SimulatedFailureMode;
  /** Wire methods that fail (default: all). */
  readonly methods?: readonly string[];
  /** How many calls fail before the ERP recovers (default: until `recover()`). */
  readonly times?: number;
  readonly delayMs?: number;
}

/** What a refused TCP connection looks like to a client: not an application error. */
export class SimulatedConnectionError extends Error {
  readonly code = 'ECONNREFUSED';
  constructor(method: string) {
    super(`connect ECONNREFUSED simulated-erp (${method})`);
    this.name = 'SimulatedConnectionError';
  }
}

/** What a connection reset after the request was sent looks like to a client. */
export class SimulatedConnectionResetError extends Error {
  readonly code = 'ECONNRESET';
  constructor(method: string) {
    super(`socket hang up: simulated-erp reset the connection during ${method}`);
    this.name = 'SimulatedConnectionResetError';
  }
}

/**
 * The wire envelope, shaped like JSON-RPC: a result, or an error the ERP chose to report
 * (`Conflict`: a uniqueness violation or a lock it could not obtain; nothing was applied).
 */
export type SimulatedAnswer =
  | { result: unknown }
  | { error: { type: 'UserError' | 'Conflict'; message: string } }
  /** A write naming products or locations the ERP does not know: refused whole, nothing applied; `codes` lists all of them. */
  | { error: { type: 'UnknownProduct' | 'UnknownLocation'; message: string; codes: string[] } };

export interface SimulatedErpOptions {
  /**
   * Reserve stock for a sales order as soon as it is confirmed, when there is enough (the demo;
   * some ERPs behave so). Off by default, like Tryton: stock is reserved when a clerk or the
   * scheduler assigns the shipment (`assignSalesOrder`, `assignPendingSalesOrders`).
   */
  readonly autoAssign?: boolean;
}

export interface SimulatedLot {
  readonly number: string;
  readonly expiresOn: string | null;
}

interface LocationRecord {
  readonly code: string;
  readonly name: string;
  readonly kind: 'warehouse' | 'storage';
  readonly parentCode: string | null;
  readonly warehouseCode: string;
}

interface ProductRecord {
  readonly id: number;
  readonly sku: string;
  name: string;
  readonly stockTracked: boolean;
  readonly lotTracked: boolean;
  readonly components: readonly KitComponent[];
  /** The stock unit of measure's name ("Unit" unless set). */
  readonly unit: string;
}

/** Stock of one product in one storage location. */
interface Cell {
  onHand: number;
  allocated: number;
  /** Draft outgoing moves of other channels (wholesale): demand the ERP knows, not reserved. */
  committed: number;
  /** Quantity per lot number; the rest of `onHand` is in no lot. */
  lots: Map<string, number> | undefined;
}

interface ChangeEntry {
  readonly id: number;
  readonly sku: string;
  readonly stamp: number;
}

interface SaleLine {
  readonly sku: string;
  /** The code the order named (a warehouse or storage location). */
  readonly location: string;
  /** Where its stock is reserved and shipped from. */
  readonly storage: string;
  readonly quantity: number;
  readonly unitPrice: string;
  allocated: number;
  shipped: number;
}

interface Sale {
  readonly id: number;
  readonly number: string;
  readonly reference: string;
  readonly name: string;
  readonly customer: unknown;
  readonly address: unknown;
  readonly currency: string;
  state: 'confirmed' | 'processing' | 'done' | 'cancelled';
  readonly lines: SaleLine[];
}

/** A customer shipment, done: goods that left for the customer against one sale. */
interface ShipmentRecord {
  readonly id: number;
  readonly number: string;
  readonly saleReference: string;
  readonly shippedAt: string;
  carrier: string | null;
  trackingNumber: string | null;
  trackingUrl: string | null;
  readonly lines: readonly { sku: string; quantity: number; location: string; lotNumber: string | null }[];
}

/** What `shipSalesOrder` ships: every allocated unit, or the named quantities. */
export interface ShipSalesOrderOptions {
  /**
   * Units to ship per SKU (and location code, when the sale has the SKU at several): taken from
   * what is allocated to the line first, then from free stock. Absent: every allocated unit.
   */
  readonly lines?: readonly { readonly sku: string; readonly quantity: number; readonly location?: string }[];
  readonly carrier?: string | null;
  readonly trackingNumber?: string | null;
  readonly trackingUrl?: string | null;
  /** A late commit: the shipment's change is stamped this many ticks in the past. */
  readonly stampedTicksAgo?: number;
}

interface WholesaleMove {
  readonly id: number;
  readonly reference: string;
  readonly sku: string;
  readonly storage: string;
  readonly quantity: number;
  state: 'draft' | 'assigned' | 'done';
}

interface CustomerReturn {
  readonly id: number;
  readonly number: string;
  readonly reference: string;
  readonly saleReference: string;
}

interface Party {
  readonly id: number;
  /** The natural key the connector names the customer by (its e-mail, else its name): unique. */
  readonly key: string;
  readonly name: string;
  readonly email: string | null;
}

class UserError extends Error {}
class ConflictError extends Error {}
/** Products or locations a write names that the ERP does not know (checked before anything is written). */
class UnknownCodesError extends Error {
  constructor(
    readonly kind: 'UnknownProduct' | 'UnknownLocation',
    readonly codes: string[],
  ) {
    super(`Unknown ${kind === 'UnknownProduct' ? 'products' : 'locations'}: ${codes.join(', ')}`);
  }
}

const NO_EXPIRY = '\uffff';

export class SimulatedErp {
  private readonly autoAssign: boolean;
  private clock = 0;
  private nextId = 1;
  private readonly locations = new Map<string, LocationRecord>();
  /** Storage locations at or under each location code (where its stock physically is). */
  private readonly storagesUnder = new Map<string, string[]>();
  private readonly products = new Map<string, ProductRecord>();
  private sortedSkus: string[] | null = null;
  private readonly stock = new Map<string, Map<string, Cell>>();
  private readonly lotExpiry = new Map<string, Map<string, string | null>>();
  private readonly stockLog: ChangeEntry[] = [];
  private readonly productLog: ChangeEntry[] = [];
  /** Changes of customer shipments; `sku` holds the shipment's id. */
  private readonly shipmentLog: ChangeEntry[] = [];
  private readonly shipments = new Map<number, ShipmentRecord>();
  private readonly sales = new Map<number, Sale>();
  private readonly salesByReference = new Map<string, number[]>();
  private readonly wholesaleMoves = new Map<number, WholesaleMove>();
  private readonly returns = new Map<string, CustomerReturn>();
  private readonly parties = new Map<string, Party>();
  private readonly beforeNext = new Map<string, (params: Record<string, unknown>) => void>();
  private readonly lateCommits = new Set<Promise<void>>();
  private readonly calls = new Map<string, number>();
  private failure: (SimulatedFailure & { remaining: number }) | null = null;

  constructor(options: SimulatedErpOptions = {}) {
    this.autoAssign = options.autoAssign ?? false;
  }

  // ---------------------------------------------------------------- the wire

  /** One round trip: counted, subject to injected failures, answered with fresh plain values. */
  async call(method: string, params: Record<string, unknown> = {}, signal?: AbortSignal): Promise<SimulatedAnswer> {
    this.calls.set(method, (this.calls.get(method) ?? 0) + 1);
    const failure = this.takeFailure(method);
    if (failure?.mode === 'down') throw new SimulatedConnectionError(method);
    if (failure?.mode === 'slow') await sleepFor(failure.delayMs ?? 60_000, undefined, { signal });
    if (failure?.mode === 'garbage') return { result: '<html><body><h1>502 Bad Gateway</h1></body></html>' };
    if (failure?.mode === 'reject') return { error: { type: 'UserError', message: `Simulated refusal of ${method}` } };
    if (failure?.mode === 'conflict') return { error: { type: 'Conflict', message: `could not obtain lock on a row for ${method}` } };
    if (failure?.mode === 'lost') {
      const late = sleepFor(failure.delayMs ?? 0).then(() => {
        this.respond(method, params);
      });
      this.lateCommits.add(late);
      void late.finally(() => this.lateCommits.delete(late));
      throw new SimulatedConnectionResetError(method);
    }
    signal?.throwIfAborted();
    return this.respond(method, params);
  }

  private respond(method: string, params: Record<string, unknown>): SimulatedAnswer {
    const hook = this.beforeNext.get(method);
    if (hook) {
      this.beforeNext.delete(method);
      hook(params);
    }
    try {
      return { result: this.answer(method, params) };
    } catch (error) {
      if (error instanceof UserError) return { error: { type: 'UserError', message: error.message } };
      if (error instanceof ConflictError) return { error: { type: 'Conflict', message: error.message } };
      if (error instanceof UnknownCodesError) return { error: { type: error.kind, message: error.message, codes: error.codes } };
      throw error;
    }
  }

  /**
   * Runs `action` (another actor's work, e.g. another gateway process creating the same
   * customer) just before the ERP handles the next call of `method`: a deterministic pause point.
   */
  beforeNextCall(method: string, action: (params: Record<string, unknown>) => void): void {
    this.beforeNext.set(method, action);
  }

  /** Resolves once every request whose answer was lost has been applied. */
  async settled(): Promise<void> {
    while (this.lateCommits.size > 0) await Promise.all([...this.lateCommits]);
  }

  /** Round trips made through `call`, for one wire method or in total. */
  roundTrips(method?: string): number {
    if (method !== undefined) return this.calls.get(method) ?? 0;
    let total = 0;
    for (const count of this.calls.values()) total += count;
    return total;
  }

  resetRoundTrips(): void {
    this.calls.clear();
  }

  /** Makes the wire fail as described until `recover()` (or for `times` calls). */
  fail(failure: SimulatedFailure): void {
    this.failure = { ...failure, remaining: failure.times ?? Number.POSITIVE_INFINITY };
  }

  recover(): void {
    this.failure = null;
  }

  private takeFailure(method: string): SimulatedFailure | null {
    const failure = this.failure;
    if (!failure || (failure.methods && !failure.methods.includes(method))) return null;
    failure.remaining -= 1;
    if (failure.remaining <= 0) this.failure = null;
    return failure;
  }

  private answer(method: string, params: Record<string, unknown>): unknown {
    switch (method) {
      case 'server.version':
        return { version: 'simulated-erp 1' };
      case 'location.list':
        return [...this.locations.values()].map((l) => ({ code: l.code, name: l.name, kind: l.kind, parent: l.parentCode, warehouse: l.warehouseCode }));
      case 'product.page':
        return this.productPage(params.after as string | null, params.limit as number);
      case 'product.read':
        return (params.skus as string[]).flatMap((sku) => {
          const product = this.products.get(sku);
          return product ? [this.productAnswer(product)] : [];
        });
      case 'product.changes':
        return this.changesAnswer(this.productLog, params.after as number | null, params.window as number);
      case 'stock.read':
        return this.stockAnswer(params.skus as string[], this.storageSets(params.locations as string[]));
      case 'stock.page':
        return this.stockPage(params.after as string | null, params.limit as number, params.locations as string[]);
      case 'lot.read':
        return this.lotAnswer(params.skus as string[], params.locations as string[]);
      case 'stock.changes':
        return this.changesAnswer(this.stockLog, params.after as number | null, params.window as number);
      case 'shipment.changes':
        return this.changesAnswer(this.shipmentLog, params.after as number | null, params.window as number);
      case 'shipment.read':
        return (params.ids as number[]).flatMap((id) => {
          const shipment = this.shipments.get(id);
          return shipment ? [this.shipmentAnswer(shipment)] : [];
        });
      case 'sale.search':
        // Batch form `{ references }`: every sale of any of them, in one round trip.
        if (Array.isArray(params.references)) return (params.references as string[]).flatMap((reference) => this.salesOf(reference));
        return this.salesOf(params.reference as string);
      case 'sale.create':
        // Batch form `{ sales }`: each entry made or refused on its own (see createSales).
        if (Array.isArray(params.sales)) return this.createSales(params.sales as Record<string, unknown>[]);
        return this.saleAnswer(this.createSale(params));
      case 'sale.cancel':
        return this.saleAnswer(this.cancelSale(params.id as number));
      case 'return.search': {
        const found = this.returns.get(params.reference as string);
        return found ? [{ id: found.id, number: found.number, reference: found.reference }] : [];
      }
      case 'return.create': {
        const made = this.createReturn(params);
        return { id: made.id, number: made.number, reference: made.reference };
      }
      case 'party.search': {
        const party = this.parties.get(String(params.key));
        return party ? [{ id: party.id, key: party.key }] : [];
      }
      case 'party.create': {
        const party = this.createParty({ key: String(params.key), name: String(params.name), email: (params.email as string | null) ?? null });
        return { id: party.id, key: party.key };
      }
      default:
        throw new UserError(`Unknown method ${method}`);
    }
  }

  private productAnswer(product: ProductRecord): unknown {
    return {
      sku: product.sku,
      name: product.name,
      tracked: product.stockTracked,
      components: product.components.map((c) => ({ sku: c.sku, quantity: c.quantity })),
      unit: product.unit,
    };
  }

  private productPage(after: string | null, limit: number): unknown {
    const skus = this.skusInOrder();
    const start = after === null ? 0 : upperBound(skus, after);
    return skus.slice(start, start + limit).map((sku) => this.productAnswer(this.products.get(sku)!));
  }

  private changesAnswer(log: readonly ChangeEntry[], after: number | null, window: number): unknown {
    const from = after ?? this.clock - window;
    const start = upperBoundBy(log, from, (e) => e.stamp);
    return { now: this.clock, records: log.slice(start).map((e) => ({ id: e.id, sku: e.sku, stamp: e.stamp })) };
  }

  private storageSets(locationCodes: readonly string[]): { code: string; storages: string[] }[] {
    return locationCodes.map((code) => {
      const storages = this.storagesUnder.get(code);
      if (!storages) throw new UserError(`Unknown location ${code}`);
      return { code, storages };
    });
  }

  private stockAnswer(skus: readonly string[], locations: readonly { code: string; storages: string[] }[]): unknown[] {
    const rows: unknown[] = [];
    for (const sku of skus) {
      if (!this.products.has(sku)) continue;
      const cells = this.stock.get(sku);
      for (const location of locations) {
        let onHand = 0;
        let allocated = 0;
        let committed = 0;
        if (cells) {
          for (const storage of location.storages) {
            const cell = cells.get(storage);
            if (!cell) continue;
            onHand += cell.onHand;
            allocated += cell.allocated;
            committed += cell.committed;
          }
        }
        rows.push({ sku, location: location.code, on_hand: onHand, allocated, committed });
      }
    }
    return rows;
  }

  private stockPage(after: string | null, limit: number, locationCodes: readonly string[]): unknown {
    const locations = this.storageSets(locationCodes);
    const skus = this.skusInOrder();
    const page: string[] = [];
    for (let i = after === null ? 0 : upperBound(skus, after); i < skus.length && page.length < limit; i++) {
      if (this.products.get(skus[i]!)!.stockTracked) page.push(skus[i]!);
    }
    return this.stockAnswer(page, locations);
  }

  private lotAnswer(skus: readonly string[], locationCodes: readonly string[]): unknown[] {
    const locations = this.storageSets(locationCodes);
    const rows: { number: string; sku: string; location: string; quantity: number; expires_on: string | null }[] = [];
    for (const sku of skus) {
      const cells = this.stock.get(sku);
      if (!cells) continue;
      for (const location of locations) {
        const perLot = new Map<string, number>();
        for (const storage of location.storages) {
          for (const [number, quantity] of cells.get(storage)?.lots ?? []) perLot.set(number, (perLot.get(number) ?? 0) + quantity);
        }
        for (const [number, quantity] of perLot) {
          if (quantity !== 0) rows.push({ number, sku, location: location.code, quantity, expires_on: this.lotExpiry.get(sku)?.get(number) ?? null });
        }
      }
    }
    return rows;
  }

  private shipmentAnswer(shipment: ShipmentRecord): unknown {
    return {
      id: shipment.id,
      number: shipment.number,
      sale_reference: shipment.saleReference,
      shipped_at: shipment.shippedAt,
      carrier: shipment.carrier,
      tracking_number: shipment.trackingNumber,
      tracking_url: shipment.trackingUrl,
      lines: shipment.lines.map((l) => ({ sku: l.sku, quantity: l.quantity, location: l.location, lot: l.lotNumber })),
    };
  }

  private saleAnswer(sale: Sale): unknown {
    return {
      id: sale.id,
      number: sale.number,
      reference: sale.reference,
      state: sale.state,
      lines: sale.lines.map((l) => ({ sku: l.sku, location: l.location, quantity: l.quantity, allocated: l.allocated, shipped: l.shipped })),
    };
  }

  private salesOf(reference: string): unknown[] {
    return (this.salesByReference.get(reference) ?? []).map((id) => this.saleAnswer(this.sales.get(id)!));
  }

  /** Refuses a sale's lines naming no product or location this ERP knows, before anything is written. */
  private checkSaleLines(lines: unknown): asserts lines is { sku: string; location: string; quantity: number; unitPrice: string }[] {
    if (!Array.isArray(lines) || lines.length === 0) throw new UserError('A sale needs at least one line');
    const typed = lines as { sku: string; location: string }[];
    const unknownSkus = typed.filter((l) => !this.products.has(l.sku)).map((l) => l.sku);
    if (unknownSkus.length > 0) throw new UnknownCodesError('UnknownProduct', [...new Set(unknownSkus)]);
    const unknownLocations = typed.filter((l) => !this.locations.has(l.location)).map((l) => l.location);
    if (unknownLocations.length > 0) throw new UnknownCodesError('UnknownLocation', [...new Set(unknownLocations)]);
  }

  /**
   * Several sales in one request, each its own transaction as a real ERP's batch endpoint would
   * run them: an entry is `sale.create`'s params, with either `party` (an id) or `partyKey`,
   * `partyName` and `partyEmail` (the customer found by its natural key or created, only once
   * the entry's lines passed). Answers one `{ result }` (the sale and its `party`) or `{ error }`
   * per entry, in order; a refused entry leaves nothing behind and the others are made.
   */
  private createSales(entries: readonly Record<string, unknown>[]): unknown[] {
    return entries.map((entry) => {
      try {
        this.checkSaleLines(entry.lines);
        let party = typeof entry.party === 'number' ? entry.party : undefined;
        if (party === undefined) {
          const key = String(entry.partyKey);
          party = (this.parties.get(key) ?? this.createParty({ key, name: String(entry.partyName), email: (entry.partyEmail as string | null) ?? null })).id;
        }
        return { result: { ...(this.saleAnswer(this.createSale(entry)) as object), party } };
      } catch (error) {
        if (error instanceof UserError) return { error: { type: 'UserError', message: error.message } };
        if (error instanceof UnknownCodesError) return { error: { type: error.kind, message: error.message, codes: error.codes } };
        throw error;
      }
    });
  }

  private createSale(params: Record<string, unknown>): Sale {
    const lines = params.lines;
    this.checkSaleLines(lines);
    const id = this.nextId++;
    const sale: Sale = {
      id,
      number: `SO${String(id).padStart(6, '0')}`,
      reference: String(params.reference),
      name: String(params.name),
      customer: params.customer,
      address: params.address,
      currency: String(params.currency),
      state: 'confirmed',
      lines: lines.map((l) => ({
        sku: l.sku,
        location: l.location,
        storage: this.primaryStorage(l.location),
        quantity: l.quantity,
        unitPrice: l.unitPrice,
        allocated: 0,
        shipped: 0,
      })),
    };
    this.sales.set(id, sale);
    this.salesByReference.set(sale.reference, [...(this.salesByReference.get(sale.reference) ?? []), id]);
    // Confirming creates the shipment's draft moves: a stock change the feed must show.
    for (const line of sale.lines) this.recordStockChange(line.sku);
    if (this.autoAssign) this.assignSale(sale);
    return sale;
  }

  private cancelSale(id: number): Sale {
    const sale = this.sales.get(id);
    if (!sale) throw new UserError(`No sale ${id}`);
    if (sale.state === 'cancelled') return sale;
    if (sale.lines.some((l) => l.shipped > 0)) throw new UserError(`Sale ${sale.number} has shipped goods and cannot be cancelled`);
    for (const line of sale.lines) {
      this.cell(line.sku, line.storage).allocated -= line.allocated;
      line.allocated = 0;
      this.recordStockChange(line.sku);
    }
    sale.state = 'cancelled';
    return sale;
  }

  private createReturn(params: Record<string, unknown>): CustomerReturn {
    const reference = String(params.reference);
    const saleReference = String(params.saleReference);
    if (!this.salesByReference.has(saleReference)) throw new UserError(`No sale with reference ${saleReference}`);
    const lines = params.lines as { sku: string; quantity: number; location: string }[];
    for (const line of lines) {
      if (!this.products.has(line.sku)) throw new UserError(`Unknown product ${line.sku}`);
      if (!this.locations.has(line.location)) throw new UserError(`Unknown location ${line.location}`);
    }
    for (const line of lines) this.receiveStock({ sku: line.sku, location: line.location, quantity: line.quantity });
    const id = this.nextId++;
    const made: CustomerReturn = { id, number: `RMA${String(id).padStart(6, '0')}`, reference, saleReference };
    this.returns.set(reference, made);
    return made;
  }

  private createParty(input: { key: string; name: string; email: string | null }): Party {
    // Like a unique index: the second of two concurrent creates fails, it does not duplicate.
    if (this.parties.has(input.key)) throw new ConflictError('The code on party must be unique.');
    const party: Party = { id: this.nextId++, ...input };
    this.parties.set(input.key, party);
    return party;
  }

  // ---------------------------------------------------------------- set-up

  /** A customer created by another actor (another gateway process, a clerk), by natural key. */
  addCustomer(input: { key: string; name: string; email?: string | null }): void {
    this.createParty({ key: input.key, name: input.name, email: input.email ?? null });
  }

  /** Customers whose e-mail is this one (case-insensitive). */
  countCustomers(email: string): number {
    const wanted = email.trim().toLowerCase();
    return [...this.parties.values()].filter((p) => p.email?.toLowerCase() === wanted).length;
  }

  /** A warehouse with one storage location `<code>-STO` that receives its stock. */
  addWarehouse(input: { code: string; name: string }): void {
    this.addLocationRecord({ code: input.code, name: input.name, kind: 'warehouse', parentCode: null, warehouseCode: input.code });
    this.addStorage({ code: `${input.code}-STO`, name: `${input.name} stock`, parentCode: input.code });
  }

  /** A storage location inside a warehouse or another storage location. */
  addStorage(input: { code: string; name: string; parentCode: string }): void {
    const parent = this.locations.get(input.parentCode);
    if (!parent) throw new Error(`No location ${input.parentCode}`);
    this.addLocationRecord({ code: input.code, name: input.name, kind: 'storage', parentCode: parent.code, warehouseCode: parent.warehouseCode });
  }

  private addLocationRecord(record: LocationRecord): void {
    if (this.locations.has(record.code)) throw new Error(`Location ${record.code} exists`);
    this.locations.set(record.code, record);
    this.storagesUnder.set(record.code, []);
    if (record.kind === 'storage') {
      for (let code: string | null = record.code; code !== null; code = this.locations.get(code)!.parentCode) {
        this.storagesUnder.get(code)!.push(record.code);
      }
    }
  }

  addProduct(input: { sku: string; name: string; stockTracked?: boolean; lotTracked?: boolean; components?: readonly KitComponent[]; unit?: string }): void {
    if (this.products.has(input.sku)) throw new Error(`Product ${input.sku} exists`);
    for (const component of input.components ?? []) {
      if (!this.products.has(component.sku)) throw new Error(`Component ${component.sku} of ${input.sku} is not a product`);
    }
    this.products.set(input.sku, {
      id: this.nextId++,
      sku: input.sku,
      name: input.name,
      stockTracked: input.stockTracked ?? true,
      lotTracked: input.lotTracked ?? false,
      components: (input.components ?? []).map((c) => ({ sku: c.sku, quantity: c.quantity })),
      unit: input.unit ?? 'Unit',
    });
    this.sortedSkus = null;
    this.recordChange(this.productLog, input.sku, this.tick());
  }

  renameProduct(sku: string, name: string): void {
    this.product(sku).name = name;
    this.recordChange(this.productLog, sku, this.tick());
  }

  /**
   * Opening balances that predate the change log (like a closed stock period in Tryton): they
   * set stock without leaving change records, so loading a large catalogue stays cheap.
   */
  seedStock(input: { sku: string; location: string; quantity: number; lot?: SimulatedLot }): void {
    this.addToCell(input.sku, this.primaryStorage(input.location), input.quantity, input.lot);
  }

  // ---------------------------------------------------------------- the factory floor

  /**
   * A goods receipt (supplier or production output), done. `stampedTicksAgo` makes it a late
   * commit: a transaction that started earlier and is stamped with that older time.
   */
  receiveStock(input: { sku: string; location: string; quantity: number; lot?: SimulatedLot; stampedTicksAgo?: number }): void {
    if (input.quantity <= 0) throw new Error('A receipt brings a positive quantity');
    this.addToCell(input.sku, this.primaryStorage(input.location), input.quantity, input.lot);
    this.recordStockChange(input.sku, input.stampedTicksAgo);
  }

  /** A production order done: the product's components are consumed at the same location. */
  receiveProduction(input: { sku: string; location: string; quantity: number; lot?: SimulatedLot }): void {
    const product = this.product(input.sku);
    const storage = this.primaryStorage(input.location);
    for (const component of product.components) {
      const needed = component.quantity * input.quantity;
      const cell = this.cell(component.sku, storage);
      if (cell.onHand - cell.allocated < needed) throw new Error(`Not enough ${component.sku} to produce ${input.quantity} ${input.sku}`);
    }
    for (const component of product.components) {
      this.removeFromCell(component.sku, storage, component.quantity * input.quantity);
      this.recordStockChange(component.sku);
    }
    this.receiveStock(input);
  }

  /** An inventory count: on hand becomes `onHand` (lots lose the difference, soonest expiry first). */
  adjustStock(input: { sku: string; location: string; onHand: number }): void {
    const storage = this.primaryStorage(input.location);
    const cell = this.cell(input.sku, storage);
    const difference = input.onHand - cell.onHand;
    if (difference > 0) this.addToCell(input.sku, storage, difference, undefined);
    if (difference < 0) this.removeFromCell(input.sku, storage, -difference);
    this.recordStockChange(input.sku);
  }

  /** Reserves stock for each line of the sales order that has enough free stock. */
  assignSalesOrder(reference: string): void {
    for (const id of this.salesByReference.get(reference) ?? []) this.assignSale(this.sales.get(id)!);
  }

  /** What the ERP's scheduler does: tries to reserve every confirmed sales order. */
  assignPendingSalesOrders(): void {
    for (const sale of this.sales.values()) if (sale.state === 'confirmed' || sale.state === 'processing') this.assignSale(sale);
  }

  private assignSale(sale: Sale): void {
    if (sale.state === 'cancelled' || sale.state === 'done') return;
    for (const line of sale.lines) {
      const wanted = line.quantity - line.allocated - line.shipped;
      if (wanted <= 0) continue;
      const cell = this.cell(line.sku, line.storage);
      if (cell.onHand - cell.allocated < wanted) continue;
      cell.allocated += wanted;
      line.allocated += wanted;
      this.recordStockChange(line.sku);
    }
  }

  /**
   * A customer shipment done: ships what is allocated on the order (or the named quantities, see
   * `ShipSalesOrderOptions`), with the carrier and tracking reference when given, and records it
   * for the shipment feed. The order is done once every line has shipped. Returns the shipment
   * numbers (none when nothing was left to ship).
   */
  shipSalesOrder(reference: string, options: ShipSalesOrderOptions = {}): string[] {
    const numbers: string[] = [];
    for (const id of this.salesByReference.get(reference) ?? []) {
      const sale = this.sales.get(id)!;
      if (sale.state === 'cancelled') continue;
      const wanted = options.lines ? this.shipmentQuantities(sale, options.lines) : sale.lines.map((l) => l.allocated);
      const shipped: ShipmentRecord['lines'][number][] = [];
      sale.lines.forEach((line, index) => {
        const quantity = wanted[index] ?? 0;
        if (quantity <= 0) return;
        const cell = this.cell(line.sku, line.storage);
        const fromAllocated = Math.min(quantity, line.allocated);
        cell.allocated -= fromAllocated;
        line.allocated -= fromAllocated;
        for (const [lotNumber, taken] of this.removeFromCell(line.sku, line.storage, quantity)) {
          shipped.push({ sku: line.sku, quantity: taken, location: line.location, lotNumber });
        }
        line.shipped += quantity;
        this.recordStockChange(line.sku);
      });
      sale.state = sale.lines.every((l) => l.shipped >= l.quantity) ? 'done' : 'processing';
      if (shipped.length === 0) continue;
      const shipmentId = this.nextId++;
      const shipment: ShipmentRecord = {
        id: shipmentId,
        number: `CS${String(shipmentId).padStart(6, '0')}`,
        saleReference: sale.reference,
        shippedAt: new Date().toISOString(),
        carrier: options.carrier ?? null,
        trackingNumber: options.trackingNumber ?? null,
        trackingUrl: options.trackingUrl ?? null,
        lines: shipped,
      };
      this.shipments.set(shipmentId, shipment);
      this.recordChange(this.shipmentLog, String(shipmentId), this.tick() - (options.stampedTicksAgo ?? 0));
      numbers.push(shipment.number);
    }
    return numbers;
  }

  /** Units per sale line for the named quantities; refuses more than a line has left to ship or than is in stock. */
  private shipmentQuantities(sale: Sale, requested: NonNullable<ShipSalesOrderOptions['lines']>): number[] {
    const quantities = sale.lines.map(() => 0);
    for (const want of requested) {
      let left = want.quantity;
      sale.lines.forEach((line, index) => {
        if (left <= 0 || line.sku !== want.sku || (want.location !== undefined && line.location !== want.location)) return;
        const take = Math.min(left, line.quantity - line.shipped - quantities[index]!);
        if (take <= 0) return;
        const cell = this.cell(line.sku, line.storage);
        const total = quantities[index]! + take;
        const unallocated = total - Math.min(total, line.allocated);
        if (unallocated > cell.onHand - cell.allocated) throw new Error(`Not enough ${line.sku} at ${line.storage} to ship ${take}`);
        quantities[index]! += take;
        left -= take;
      });
      if (left > 0) throw new Error(`Sale ${sale.number} has no ${left} more of ${want.sku} to ship`);
    }
    return quantities;
  }

  /** A clerk adds or corrects the carrier and tracking of a done shipment: the feed reports it again. */
  setShipmentTracking(number: string, tracking: { carrier?: string | null; trackingNumber?: string | null; trackingUrl?: string | null }): void {
    const shipment = [...this.shipments.values()].find((s) => s.number === number);
    if (!shipment) throw new Error(`No shipment ${number}`);
    if (tracking.carrier !== undefined) shipment.carrier = tracking.carrier;
    if (tracking.trackingNumber !== undefined) shipment.trackingNumber = tracking.trackingNumber;
    if (tracking.trackingUrl !== undefined) shipment.trackingUrl = tracking.trackingUrl;
    this.recordChange(this.shipmentLog, String(shipment.id), this.tick());
  }

  /** The customer shipments done for this sales order's reference, oldest first (their numbers). */
  shipmentsOf(reference: string): string[] {
    return [...this.shipments.values()].filter((s) => s.saleReference === reference).map((s) => s.number);
  }

  /** How many sales orders carry this reference (the connector must keep it at one). */
  countSalesOrders(reference: string): number {
    return this.salesByReference.get(reference)?.length ?? 0;
  }

  /** A confirmed order of another channel: draft outgoing moves, known demand, not reserved. */
  createWholesaleOrder(input: { reference: string; lines: readonly { sku: string; location: string; quantity: number }[] }): { moveIds: number[] } {
    const moveIds: number[] = [];
    for (const line of input.lines) {
      const move: WholesaleMove = {
        id: this.nextId++,
        reference: input.reference,
        sku: line.sku,
        storage: this.primaryStorage(line.location),
        quantity: line.quantity,
        state: 'draft',
      };
      this.product(line.sku);
      this.cell(line.sku, move.storage).committed += move.quantity;
      this.wholesaleMoves.set(move.id, move);
      moveIds.push(move.id);
      this.recordStockChange(line.sku);
    }
    return { moveIds };
  }

  /** Reserves the wholesale order's draft moves that have enough free stock. */
  allocateWholesaleOrder(reference: string): void {
    for (const move of this.wholesaleMoves.values()) {
      if (move.reference !== reference || move.state !== 'draft') continue;
      const cell = this.cell(move.sku, move.storage);
      if (cell.onHand - cell.allocated < move.quantity) continue;
      cell.committed -= move.quantity;
      cell.allocated += move.quantity;
      move.state = 'assigned';
      this.recordStockChange(move.sku);
    }
  }

  /** Ships the wholesale order's reserved moves. */
  shipWholesaleOrder(reference: string): void {
    for (const move of this.wholesaleMoves.values()) {
      if (move.reference !== reference || move.state !== 'assigned') continue;
      const cell = this.cell(move.sku, move.storage);
      cell.allocated -= move.quantity;
      this.removeFromCell(move.sku, move.storage, move.quantity);
      move.state = 'done';
      this.recordStockChange(move.sku);
    }
  }

  /**
   * A clerk deletes a draft move: the commitment disappears and, as in Tryton, no change record
   * is left, so only a full reconciliation notices.
   */
  deleteDraftMove(moveId: number): void {
    const move = this.wholesaleMoves.get(moveId);
    if (!move || move.state !== 'draft') throw new Error(`No draft move ${moveId}`);
    this.cell(move.sku, move.storage).committed -= move.quantity;
    this.wholesaleMoves.delete(moveId);
  }

  /**
   * `count` random events of a working day (receipts, wholesale orders and their shipments,
   * counts, assignment and shipment of sales orders), drawn from `random` in [0, 1). Returns
   * the SKUs whose stock changed.
   */
  simulateActivity(count: number, random: () => number): string[] {
    const tracked = this.skusInOrder().filter((sku) => {
      const product = this.products.get(sku)!;
      return product.stockTracked && product.components.length === 0;
    });
    const warehouses = [...this.locations.values()].filter((l) => l.kind === 'warehouse').map((l) => l.code);
    if (tracked.length === 0 || warehouses.length === 0) return [];
    const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)]!;
    const changed = new Set<string>();
    const before = this.stockLog.length;
    for (let i = 0; i < count; i++) {
      const sku = pick(tracked);
      const location = pick(warehouses);
      const roll = random();
      const cell = this.cell(sku, this.primaryStorage(location));
      if (roll < 0.35) {
        this.receiveStock({ sku, location, quantity: 5 + Math.floor(random() * 95) });
      } else if (roll < 0.55) {
        const free = cell.onHand - cell.allocated - cell.committed;
        if (free > 0) this.createWholesaleOrder({ reference: `WS-${this.clock + 1}`, lines: [{ sku, location, quantity: 1 + Math.floor(random() * Math.min(free, 20)) }] });
      } else if (roll < 0.7) {
        const draft = [...this.wholesaleMoves.values()].find((m) => m.state === 'draft');
        if (draft) this.allocateWholesaleOrder(draft.reference);
      } else if (roll < 0.8) {
        const assigned = [...this.wholesaleMoves.values()].find((m) => m.state === 'assigned');
        if (assigned) this.shipWholesaleOrder(assigned.reference);
      } else if (roll < 0.9) {
        this.adjustStock({ sku, location, onHand: Math.max(cell.allocated, cell.onHand + Math.floor(random() * 7) - 3) });
      } else {
        this.assignPendingSalesOrders();
        const assigned = [...this.sales.values()].find((s) => s.state !== 'cancelled' && s.state !== 'done' && s.lines.some((l) => l.allocated > 0));
        if (assigned) {
          const tracking = `DP${String(this.clock).padStart(9, '0')}GB`;
          this.shipSalesOrder(assigned.reference, { carrier: 'DemoPost', trackingNumber: tracking, trackingUrl: `https://track.demopost.example/${tracking}` });
        }
      }
    }
    for (const entry of this.stockLog.slice(before)) changed.add(entry.sku);
    return [...changed].sort();
  }

  /** The ERP's clock (a logical tick), for tests that reason about watermarks. */
  now(): number {
    return this.clock;
  }

  // ---------------------------------------------------------------- internals

  private tick(): number {
    this.clock += 1;
    return this.clock;
  }

  private recordStockChange(sku: string, stampedTicksAgo = 0): void {
    const now = this.tick();
    this.recordChange(this.stockLog, sku, now - stampedTicksAgo);
  }

  private recordChange(log: ChangeEntry[], sku: string, stamp: number): void {
    const entry = { id: this.nextId++, sku, stamp };
    const last = log[log.length - 1];
    if (!last || last.stamp <= stamp) {
      log.push(entry);
      return;
    }
    // A late commit: keep the log ordered by stamp so reads by stamp stay a binary search.
    log.splice(upperBoundBy(log, stamp, (e) => e.stamp), 0, entry);
  }

  private product(sku: string): ProductRecord {
    const product = this.products.get(sku);
    if (!product) throw new Error(`No product ${sku}`);
    return product;
  }

  private primaryStorage(code: string): string {
    const storages = this.storagesUnder.get(code);
    if (!storages) throw new Error(`No location ${code}`);
    const [first] = storages;
    if (first === undefined) throw new Error(`Location ${code} holds no stock`);
    return first;
  }

  private cell(sku: string, storage: string): Cell {
    let cells = this.stock.get(sku);
    if (!cells) {
      cells = new Map();
      this.stock.set(sku, cells);
    }
    let cell = cells.get(storage);
    if (!cell) {
      cell = { onHand: 0, allocated: 0, committed: 0, lots: undefined };
      cells.set(storage, cell);
    }
    return cell;
  }

  private addToCell(sku: string, storage: string, quantity: number, lot: SimulatedLot | undefined): void {
    const product = this.product(sku);
    if (!product.stockTracked) throw new Error(`${sku} is not stock-tracked`);
    const cell = this.cell(sku, storage);
    cell.onHand += quantity;
    if (lot) {
      let expiries = this.lotExpiry.get(sku);
      if (!expiries) {
        expiries = new Map();
        this.lotExpiry.set(sku, expiries);
      }
      if (!expiries.has(lot.number)) expiries.set(lot.number, lot.expiresOn);
      cell.lots ??= new Map();
      cell.lots.set(lot.number, (cell.lots.get(lot.number) ?? 0) + quantity);
    }
  }

  /**
   * Takes goods out: first what is in no lot, then lots by soonest expiry. Returns what was taken
   * per lot number (null: goods in no lot).
   */
  private removeFromCell(sku: string, storage: string, quantity: number): Map<string | null, number> {
    const cell = this.cell(sku, storage);
    if (cell.onHand < quantity) throw new Error(`Only ${cell.onHand} of ${sku} at ${storage}, cannot take ${quantity}`);
    const taken = new Map<string | null, number>();
    let inLots = 0;
    for (const q of cell.lots?.values() ?? []) inLots += q;
    const outsideLots = Math.max(0, cell.onHand - inLots);
    if (Math.min(quantity, outsideLots) > 0) taken.set(null, Math.min(quantity, outsideLots));
    cell.onHand -= quantity;
    if (!cell.lots) return taken;
    let toTake = Math.max(0, inLots - cell.onHand);
    const expiries = this.lotExpiry.get(sku);
    const order = [...cell.lots.keys()].sort((a, b) =>
      compareStrings(expiries?.get(a) ?? NO_EXPIRY, expiries?.get(b) ?? NO_EXPIRY) || compareStrings(a, b),
    );
    for (const number of order) {
      if (toTake <= 0) break;
      const available = cell.lots.get(number)!;
      const fromLot = Math.min(available, toTake);
      if (fromLot <= 0) continue;
      cell.lots.set(number, available - fromLot);
      taken.set(number, fromLot);
      toTake -= fromLot;
    }
    return taken;
  }

  private skusInOrder(): string[] {
    this.sortedSkus ??= [...this.products.keys()].sort(compareStrings);
    return this.sortedSkus;
  }
}

function compareStrings(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Index of the first element greater than `value` in a sorted array. */
function upperBound(sorted: readonly string[], value: string): number {
  return upperBoundBy(sorted, value, (s) => s);
}

function upperBoundBy<T, K>(sorted: readonly T[], value: K, key: (item: T) => K): number {
  let low = 0;
  let high = sorted.length;
  while (low < high) {
    const middle = (low + high) >>> 1;
    if (key(sorted[middle]!) <= value) low = middle + 1;
    else high = middle;
  }
  return low;
}
