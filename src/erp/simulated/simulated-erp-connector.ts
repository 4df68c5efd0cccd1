import { z } from 'zod';
import type { Logger } from '../../logger.js';
import { NotFoundError } from '../../shared/errors.js';
import { advanceFeed, decodeWatermark, encodeWatermark, readFrom, startFeed, type ChangeRecord } from '../erp-change-feed.js';
import { createErpCallPolicy, parseErpAnswer, type ErpCallOptions, type ErpCallPolicy, type ErpCallPolicyOptions } from '../erp-call-policy.js';
import type {
  CancelSalesOrderResult,
  CreateSalesOrderResult,
  CustomerReturnInput,
  CustomerReturnResult,
  ErpCapabilities,
  ErpConnector,
  ErpLane,
  ErpLaneOptions,
  ErpStatus,
  ErpWatermark,
  Location,
  Lot,
  Page,
  PageRequest,
  Product,
  ProductChanges,
  SalesOrder,
  SalesOrderInput,
  SalesOrderOutcome,
  Shipment,
  ShipmentChanges,
  StockChanges,
  StockLevel,
  StockSnapshot,
} from '../erp-connector.js';
import { ErpConflictError, ErpInDoubtError, ErpRejectedError, ErpUnavailableError, UnknownLocationError, UnknownSkuError } from '../erp-errors.js';
import { createLaneView } from '../erp-lanes.js';
import {
  chunk,
  compareLots,
  decodeSkuCursor,
  encodeSkuCursor,
  pageSize,
  parseCustomerReturnInput,
  parseSalesOrderInput,
  uniqueInOrder,
} from '../erp-inputs.js';
import { customerKey, KeyedSerializer } from '../erp-find-or-create.js';
import { BoundedLru } from './bounded-lru.js';
import type { SimulatedErpWire } from './simulated-erp-remote.js';

export interface SimulatedErpConnectorOptions {
  /** Limiter, timeout and retry settings (tests shorten the timeout and skip the backoff). */
  readonly policy?: Partial<Omit<ErpCallPolicyOptions, 'erp' | 'logger'>>;
  readonly logger?: Logger;
  /** SKUs per round trip in batch reads. */
  readonly maxSkusPerRequest?: number;
  /** Overlap window of the change feeds, in ticks of the simulated ERP's clock. */
  readonly overlapTicks?: number;
  /** `capabilities.ordersInFlight` (default 128). */
  readonly ordersInFlight?: number;
  /** Customers (by natural key) whose party id is remembered, least recently used forgotten first (default 10,000). */
  readonly knownCustomers?: number;
  /**
   * `capabilities.inDoubtSettleMs`: the simulated ERP has no transaction timeout of its own; a
   * test that loses answers keeps its commit delays below this (default 2 s).
   */
  readonly inDoubtSettleMs?: number;
}

const envelopeSchema = z
  .object({
    result: z.unknown().optional(),
    error: z.object({ type: z.string(), message: z.string(), codes: z.array(z.string()).optional() }).optional(),
  })
  .refine((envelope) => envelope.error !== undefined || 'result' in envelope, 'neither result nor error');

const locationsSchema = z.array(
  z.object({ code: z.string().min(1), name: z.string(), kind: z.enum(['warehouse', 'storage']), parent: z.string().nullable(), warehouse: z.string().min(1) }),
);
const productsSchema = z.array(
  z.object({
    sku: z.string().min(1),
    name: z.string(),
    tracked: z.boolean(),
    components: z.array(z.object({ sku: z.string().min(1), quantity: z.number().positive() })),
    unit: z.string().nullable().optional(),
  }),
);
const changesSchema = z.object({
  now: z.number(),
  records: z.array(z.object({ id: z.number().int(), sku: z.string().min(1), stamp: z.number() })),
});
const stockRowsSchema = z.array(
  z.object({ sku: z.string(), location: z.string(), on_hand: z.number(), allocated: z.number(), committed: z.number() }),
);
const lotRowsSchema = z.array(
  z.object({ number: z.string().min(1), sku: z.string(), location: z.string(), quantity: z.number(), expires_on: z.string().nullable() }),
);
const saleSchema = z.object({
  id: z.number().int(),
  number: z.string().min(1),
  reference: z.string(),
  state: z.enum(['confirmed', 'processing', 'done', 'cancelled']),
  lines: z.array(z.object({ sku: z.string(), location: z.string(), quantity: z.number(), allocated: z.number(), shipped: z.number() })),
});
const shipmentSchema = z.object({
  id: z.number().int(),
  number: z.string().min(1),
  sale_reference: z.string().min(1),
  shipped_at: z.string().min(1),
  carrier: z.string().nullable(),
  tracking_number: z.string().nullable(),
  tracking_url: z.string().nullable(),
  lines: z.array(z.object({ sku: z.string().min(1), quantity: z.number().positive(), location: z.string().min(1), lot: z.string().nullable() })),
});
/** One entry of `sale.create`'s batch answer: the sale with its customer's party id, or the entry's refusal. */
const batchEntrySchema = z.union([
  z.object({ result: saleSchema.extend({ party: z.number().int() }) }),
  z.object({ error: z.object({ type: z.string(), message: z.string(), codes: z.array(z.string()).optional() }) }),
]);
const returnSchema = z.object({ id: z.number().int(), number: z.string().min(1), reference: z.string() });
const partySchema = z.object({ id: z.number().int(), key: z.string() });

type SaleAnswer = z.output<typeof saleSchema>;

/**
 * The connector to the simulated ERP: the in-process `SimulatedErp`, or one served over HTTP
 * (`remoteSimulatedErpWire`, ERP_CONNECTOR=simulated with ERP_URL). It talks to it only through its wire
 * (`call`), parses every answer with zod and goes through the shared call policy, exactly as a
 * connector to a remote ERP does, so outage handling and batching are exercised for real.
 */
export class SimulatedErpConnector implements ErpConnector {
  readonly capabilities: ErpCapabilities;
  private readonly policy: ErpCallPolicy;
  private readonly overlap: number;
  private locationCache: readonly Location[] | null = null;
  private readonly customers = new KeyedSerializer();
  /** Party ids of customers found or created in the ERP, by natural key (parties are never deleted there). */
  private readonly knownParties: BoundedLru<string, number>;

  constructor(
    private readonly erp: SimulatedErpWire,
    options: SimulatedErpConnectorOptions = {},
  ) {
    this.capabilities = {
      lots: true,
      lotExpiry: true,
      shipments: true,
      kits: true,
      customerReturns: true,
      ordersSpanWarehouses: true,
      maxSkusPerRequest: options.maxSkusPerRequest ?? 1_000,
      inDoubtSettleMs: options.inDoubtSettleMs ?? 2_000,
      // It answers within a millisecond or two (in process or on loopback), and the orders waiting
      // together go in one `createSalesOrders` call: the more wait, the fewer calls and statements
      // per order (bench/order-drain: 32 → 128 took 0.42 → 0.24 statements per order).
      ordersInFlight: options.ordersInFlight ?? 128,
    };
    this.overlap = options.overlapTicks ?? 100;
    this.knownParties = new BoundedLru(options.knownCustomers ?? 10_000);
    this.policy = createErpCallPolicy({
      erp: 'simulated',
      timeoutMs: 5_000,
      ...options.policy,
      inDoubtSettleMs: this.capabilities.inDoubtSettleMs,
      logger: options.logger,
    });
  }

  forLane(lane: ErpLane, options?: ErpLaneOptions): ErpConnector {
    return createLaneView(this, lane, options);
  }

  /** Slots in use and calls waiting per lane (tests of the lanes). */
  laneStats() {
    return this.policy.stats();
  }

  async checkConnection(): Promise<ErpStatus> {
    return this.rpc('server.version', {}, z.object({ version: z.string().min(1) }));
  }

  async listLocations(): Promise<readonly Location[]> {
    const rows = await this.rpc('location.list', {}, locationsSchema);
    const locations = rows.map((row) => ({ code: row.code, name: row.name, kind: row.kind, parentCode: row.parent, warehouseCode: row.warehouse }));
    this.locationCache = parentsFirst(locations);
    return this.locationCache;
  }

  async listProducts(page: PageRequest = {}): Promise<Page<Product>> {
    const limit = pageSize(page.limit, this.capabilities.maxSkusPerRequest);
    const rows = await this.rpc('product.page', { after: decodeSkuCursor(page.cursor), limit }, productsSchema);
    const items = rows.map(toProduct);
    const last = items[items.length - 1];
    return { items, nextCursor: items.length === limit && last ? encodeSkuCursor(last.sku) : null };
  }

  async getProductsBySkus(skus: readonly string[]): Promise<{ products: Product[]; unknownSkus: string[] }> {
    const wanted = uniqueInOrder(skus);
    const found = new Map<string, Product>();
    for (const part of chunk(wanted, this.capabilities.maxSkusPerRequest)) {
      for (const row of await this.rpc('product.read', { skus: part }, productsSchema)) found.set(row.sku, toProduct(row));
    }
    return {
      products: wanted.flatMap((sku) => (found.has(sku) ? [found.get(sku)!] : [])),
      unknownSkus: wanted.filter((sku) => !found.has(sku)),
    };
  }

  async getProductsChangedSince(watermark: ErpWatermark | null): Promise<ProductChanges> {
    const { skus, nextWatermark } = await this.followFeed('product.changes', 'simulated-products', watermark);
    const { products } = await this.getProductsBySkus(skus);
    return { products, nextWatermark };
  }

  async getStockBySkus(skus: readonly string[], locationCodes?: readonly string[]): Promise<StockSnapshot> {
    const locations = await this.resolveLocations(locationCodes);
    const wanted = uniqueInOrder(skus);
    if (locations.length === 0) return { levels: [], unknownSkus: [] };
    const bySku = new Map<string, StockLevel[]>();
    for (const part of chunk(wanted, this.capabilities.maxSkusPerRequest)) {
      for (const level of await this.readStock(part, locations)) {
        const levels = bySku.get(level.sku) ?? [];
        levels.push(level);
        bySku.set(level.sku, levels);
      }
    }
    return {
      levels: wanted.flatMap((sku) => bySku.get(sku) ?? []),
      unknownSkus: wanted.filter((sku) => !bySku.has(sku)),
    };
  }

  async getLotsBySkus(skus: readonly string[], locationCodes?: readonly string[]): Promise<readonly Lot[]> {
    const locations = await this.resolveLocations(locationCodes);
    if (locations.length === 0) return [];
    const lots: Lot[] = [];
    for (const part of chunk(uniqueInOrder(skus), this.capabilities.maxSkusPerRequest)) {
      const rows = await this.rpc('lot.read', { skus: part, locations }, lotRowsSchema);
      for (const row of rows) lots.push({ number: row.number, sku: row.sku, location: row.location, quantity: row.quantity, expiresOn: row.expires_on });
    }
    return lots.sort(compareLots);
  }

  async getStockChangesSince(watermark: ErpWatermark | null): Promise<StockChanges> {
    return this.followFeed('stock.changes', 'simulated-stock', watermark);
  }

  async listAllStock(page: PageRequest & { readonly locationCodes?: readonly string[] } = {}): Promise<Page<StockLevel>> {
    const locations = await this.resolveLocations(page.locationCodes);
    if (locations.length === 0) return { items: [], nextCursor: null };
    const limit = pageSize(page.limit, this.capabilities.maxSkusPerRequest);
    const rows = await this.rpc('stock.page', { after: decodeSkuCursor(page.cursor), limit, locations }, stockRowsSchema);
    const items = rows.map(toStockLevel);
    const skuCount = new Set(items.map((i) => i.sku)).size;
    const last = items[items.length - 1];
    return { items, nextCursor: skuCount === limit && last ? encodeSkuCursor(last.sku) : null };
  }

  async createSalesOrder(input: SalesOrderInput): Promise<CreateSalesOrderResult> {
    const order = parseSalesOrderInput(input);
    const existing = await this.searchSale(order.externalReference);
    if (existing) return { ...createdResult(existing), created: false };
    await this.resolveLocations(order.lines.map((l) => l.location));
    // A known customer: sale.create itself refuses unknown SKUs and locations before writing
    // anything (UnknownProduct / UnknownLocation), so no product read is needed. A customer not
    // known yet is created before the sale: the SKUs are checked first, so a refused order
    // leaves no customer behind either.
    let party = this.knownParties.get(customerKey(order.customer));
    if (party === undefined) {
      const { unknownSkus } = await this.getProductsBySkus(order.lines.map((l) => l.sku));
      if (unknownSkus.length > 0) throw new UnknownSkuError(unknownSkus);
      party = await this.customerParty(order.customer);
    }
    let sale: SaleAnswer;
    try {
      sale = await this.rpc(
        'sale.create',
        {
          reference: order.externalReference,
          name: order.name,
          party,
          customer: order.customer,
          address: order.shippingAddress,
          currency: order.currency,
          lines: order.lines.map((l) => ({ sku: l.sku, location: l.location, quantity: l.quantity, unitPrice: l.unitPrice })),
        },
        saleSchema,
        { write: true },
      );
    } catch (error) {
      if (!(error instanceof ErpInDoubtError)) throw error;
      // Found now: conclusive at once. Not found: proves nothing until the write has settled.
      const committed = await this.searchSale(order.externalReference).catch(() => null);
      if (!committed) throw error.about('createSalesOrder', { externalReference: order.externalReference });
      sale = committed;
    }
    return { ...createdResult(sale), created: true };
  }

  /**
   * Several orders in two round trips whatever their number: one `sale.search` of every
   * reference (the idempotency look-up stays its own round trip, so a pipeline that sent an order
   * twice still makes two look-ups), then one `sale.create` in its batch form for those not
   * there. A customer not known yet is found or created by the ERP inside that entry, after its
   * lines passed (a refused order leaves no customer behind), and remembered from the answer.
   */
  async createSalesOrders(inputs: readonly SalesOrderInput[]): Promise<ReadonlyArray<SalesOrderOutcome>> {
    const outcomes: SalesOrderOutcome[] = [];
    const orders: ReturnType<typeof parseSalesOrderInput>[] = [];
    const valid: number[] = [];
    inputs.forEach((input, index) => {
      try {
        orders[index] = parseSalesOrderInput(input);
        valid.push(index);
      } catch (error) {
        outcomes[index] = { ok: false, error };
      }
    });
    if (valid.length === 0) return outcomes;
    let existing: Map<string, SaleAnswer>;
    try {
      existing = await this.searchSales(valid.map((index) => orders[index]!.externalReference));
    } catch (error) {
      for (const index of valid) outcomes[index] = { ok: false, error };
      return outcomes;
    }
    const toCreate: number[] = [];
    for (const index of valid) {
      const sale = existing.get(orders[index]!.externalReference);
      if (sale) outcomes[index] = { ok: true, result: { ...createdResult(sale), created: false } };
      else toCreate.push(index);
    }
    if (toCreate.length === 0) return outcomes;
    const entries = toCreate.map((index) => {
      const order = orders[index]!;
      const key = customerKey(order.customer);
      const party = this.knownParties.get(key);
      return {
        reference: order.externalReference,
        name: order.name,
        ...(party !== undefined ? { party } : { partyKey: key, partyName: order.customer.name, partyEmail: order.customer.email?.trim().toLowerCase() || null }),
        customer: order.customer,
        address: order.shippingAddress,
        currency: order.currency,
        lines: order.lines.map((l) => ({ sku: l.sku, location: l.location, quantity: l.quantity, unitPrice: l.unitPrice })),
      };
    });
    let answers: z.output<typeof batchEntrySchema>[];
    try {
      answers = await this.rpc('sale.create', { sales: entries }, z.array(batchEntrySchema).length(entries.length), { write: true });
    } catch (error) {
      if (!(error instanceof ErpInDoubtError)) {
        for (const index of toCreate) outcomes[index] = { ok: false, error };
        return outcomes;
      }
      // Those found now were made (conclusive at once); the others prove nothing until settled.
      const committed = await this.searchSales(toCreate.map((index) => orders[index]!.externalReference)).catch(() => new Map<string, SaleAnswer>());
      for (const index of toCreate) {
        const reference = orders[index]!.externalReference;
        const sale = committed.get(reference);
        outcomes[index] = sale ? { ok: true, result: { ...createdResult(sale), created: true } } : { ok: false, error: error.about('createSalesOrder', { externalReference: reference }) };
      }
      return outcomes;
    }
    toCreate.forEach((index, position) => {
      const answer = answers[position]!;
      if ('result' in answer) {
        this.knownParties.set(customerKey(orders[index]!.customer), answer.result.party);
        outcomes[index] = { ok: true, result: { ...createdResult(answer.result), created: true } };
        return;
      }
      outcomes[index] = { ok: false, error: this.entryError('sale.create', answer.error) };
    });
    return outcomes;
  }

  /**
   * The customer's party, found by natural key (e-mail, else name) or created: one at a time per
   * key in this process, and looked up again when another process created it first (the ERP's
   * unique key answers `Conflict`). A lost answer here is `ERP_UNAVAILABLE`: the order itself
   * was not sent, and the next attempt finds the party or conflicts with it.
   */
  private customerParty(customer: SalesOrderInput['customer']): Promise<number> {
    const key = customerKey(customer);
    return this.customers.run(key, async () => {
      const search = async () => (await this.rpc('party.search', { key }, z.array(partySchema)))[0]?.id;
      const remember = (id: number) => {
        this.knownParties.set(key, id);
        return id;
      };
      const found = await search();
      if (found !== undefined) return remember(found);
      try {
        const made = await this.rpc('party.create', { key, name: customer.name, email: customer.email?.trim().toLowerCase() || null }, partySchema, { write: true, retryConflicts: false });
        return remember(made.id);
      } catch (error) {
        if (!(error instanceof ErpConflictError) && !(error instanceof ErpInDoubtError)) throw error;
        const again = await search();
        if (again !== undefined) return remember(again);
        if (error instanceof ErpInDoubtError) {
          throw new ErpUnavailableError('The ERP lost the answer to creating the customer; the order was not sent', { operation: 'party.create' }, { cause: error, notApplied: true });
        }
        throw error;
      }
    });
  }

  async cancelSalesOrder(externalReference: string): Promise<CancelSalesOrderResult> {
    const sale = await this.searchSale(externalReference);
    if (!sale) throw new NotFoundError('Sales order', externalReference);
    const base = { externalReference, erpReference: sale.number, status: 'cancelled' as const };
    if (sale.state === 'cancelled') return { ...base, cancelled: false };
    if (sale.state === 'done') throw new ErpRejectedError(`Sales order ${sale.number} is shipped and cannot be cancelled`, { externalReference });
    let cancelled: SaleAnswer;
    try {
      cancelled = await this.rpc('sale.cancel', { id: sale.id }, saleSchema, { write: true });
    } catch (error) {
      if (!(error instanceof ErpInDoubtError)) throw error;
      const now = await this.searchSale(externalReference).catch(() => null);
      if (now?.state !== 'cancelled') throw error.about('cancelSalesOrder', { externalReference });
      cancelled = now;
    }
    if (cancelled.state !== 'cancelled') throw new ErpRejectedError(`The ERP left sales order ${sale.number} ${cancelled.state}`, { externalReference });
    return { ...base, cancelled: true };
  }

  async findSalesOrder(externalReference: string): Promise<SalesOrder | null> {
    const sale = await this.searchSale(externalReference);
    return sale ? salesOrderOf(externalReference, sale) : null;
  }

  /** One `sale.search` round trip for every reference. */
  async findSalesOrders(externalReferences: readonly string[]): Promise<ReadonlyMap<string, SalesOrder>> {
    if (externalReferences.length === 0) return new Map();
    const sales = await this.searchSales(uniqueInOrder(externalReferences));
    return new Map([...sales].map(([reference, sale]) => [reference, salesOrderOf(reference, sale)]));
  }

  async createCustomerReturn(input: CustomerReturnInput): Promise<CustomerReturnResult> {
    const request = parseCustomerReturnInput(input);
    const [existing] = await this.rpc('return.search', { reference: request.externalReference }, z.array(returnSchema));
    if (existing) return { supported: true, erpReference: existing.number, created: false };
    if (!(await this.searchSale(request.salesOrderReference))) throw new NotFoundError('Sales order', request.salesOrderReference);
    await this.resolveLocations(request.lines.map((l) => l.location));
    const { unknownSkus } = await this.getProductsBySkus(request.lines.map((l) => l.sku));
    if (unknownSkus.length > 0) throw new UnknownSkuError(unknownSkus);
    let made: { number: string };
    try {
      made = await this.rpc('return.create', { reference: request.externalReference, saleReference: request.salesOrderReference, lines: request.lines }, returnSchema, { write: true });
    } catch (error) {
      if (!(error instanceof ErpInDoubtError)) throw error;
      const committed = await this.findCustomerReturn(request.externalReference).catch(() => null);
      if (!committed) throw error.about('createCustomerReturn', { externalReference: request.externalReference });
      made = { number: committed.erpReference };
    }
    return { supported: true, erpReference: made.number, created: true };
  }

  async findCustomerReturn(externalReference: string): Promise<{ readonly erpReference: string } | null> {
    const [found] = await this.rpc('return.search', { reference: externalReference }, z.array(returnSchema));
    return found ? { erpReference: found.number } : null;
  }

  async getShipmentsChangedSince(watermark: ErpWatermark | null): Promise<ShipmentChanges> {
    const kind = 'simulated-shipments';
    if (watermark === null) {
      const start = await this.rpc('shipment.changes', { after: null, window: this.overlap }, changesSchema);
      return { shipments: [], nextWatermark: encodeWatermark(kind, startFeed(start.now, start.records.map(toChangeRecord), this.overlap)) };
    }
    const position = decodeWatermark(kind, watermark);
    const changes = await this.rpc('shipment.changes', { after: readFrom(position, this.overlap), window: this.overlap }, changesSchema);
    const records = changes.records.map(toChangeRecord);
    // The change records name the shipment (not a SKU): the fresh ones are read, oldest change first.
    const { skus: ids, next } = advanceFeed(position, records, this.overlap, changes.now);
    const stampOf = new Map<string, number>();
    for (const record of records) stampOf.set(record.sku, Math.max(stampOf.get(record.sku) ?? record.stamp, record.stamp));
    const byId = new Map<string, Shipment>();
    for (const part of chunk(ids, this.capabilities.maxSkusPerRequest)) {
      for (const row of await this.rpc('shipment.read', { ids: part.map(Number) }, z.array(shipmentSchema))) byId.set(String(row.id), toShipment(row));
    }
    const shipments = ids
      .filter((id) => byId.has(id))
      .sort((a, b) => stampOf.get(a)! - stampOf.get(b)! || Number(a) - Number(b))
      .map((id) => byId.get(id)!);
    return { shipments, nextWatermark: encodeWatermark(kind, next) };
  }

  /** Refuses new calls and waits for those in flight. */
  async close(): Promise<void> {
    await this.policy.stop();
  }

  private async rpc<S extends z.ZodType>(method: string, params: Record<string, unknown>, schema: S, options?: ErpCallOptions): Promise<z.output<S>> {
    return this.policy.run(
      method,
      async (signal) => {
        const envelope = parseErpAnswer(envelopeSchema, await this.erp.call(method, params, signal), method);
        if (envelope.error) throw this.entryError(method, envelope.error);
        return parseErpAnswer(schema, envelope.result, method);
      },
      options,
    );
  }

  /** The port's error for the ERP's refusal of a request (or of one entry of a batch). */
  private entryError(method: string, error: { type: string; message: string; codes?: string[] | undefined }): Error {
    if (error.type === 'Conflict') return new ErpConflictError(`The ERP met concurrent work on ${method}: ${error.message}`, { method });
    if (error.type === 'UnknownProduct') return new UnknownSkuError(error.codes ?? []);
    if (error.type === 'UnknownLocation') return new UnknownLocationError(error.codes ?? []);
    return new ErpRejectedError(`The ERP refused ${method}: ${error.message}`, { method, type: error.type });
  }

  private async readStock(skus: readonly string[], locations: readonly string[]): Promise<StockLevel[]> {
    return (await this.rpc('stock.read', { skus, locations }, stockRowsSchema)).map(toStockLevel);
  }

  /** The first sale of each of these references that the ERP has, in one round trip. */
  private async searchSales(references: readonly string[]): Promise<Map<string, SaleAnswer>> {
    const sales = await this.rpc('sale.search', { references }, z.array(saleSchema));
    const first = new Map<string, SaleAnswer>();
    for (const sale of sales) {
      const seen = first.get(sale.reference);
      if (!seen || sale.id < seen.id) first.set(sale.reference, sale);
    }
    return first;
  }

  private async searchSale(reference: string): Promise<SaleAnswer | null> {
    const sales = await this.rpc('sale.search', { reference }, z.array(saleSchema));
    return sales.sort((a, b) => a.id - b.id)[0] ?? null;
  }

  /** Location codes checked against the ERP's list (read once, re-read on a miss). */
  private async resolveLocations(codes: readonly string[] | undefined): Promise<string[]> {
    let known = this.locationCache ?? (await this.listLocations());
    if (codes === undefined) return known.filter((l) => l.kind === 'warehouse').map((l) => l.code);
    const wanted = uniqueInOrder(codes);
    const missing = (): string[] => wanted.filter((code) => !known.some((l) => l.code === code));
    if (missing().length > 0 && this.locationCache !== null) known = await this.listLocations();
    const unknown = missing();
    if (unknown.length > 0) throw new UnknownLocationError(unknown);
    return wanted;
  }

  private async followFeed(method: string, kind: string, watermark: ErpWatermark | null): Promise<StockChanges> {
    if (watermark === null) {
      const start = await this.rpc(method, { after: null, window: this.overlap }, changesSchema);
      return { skus: [], nextWatermark: encodeWatermark(kind, startFeed(start.now, start.records.map(toChangeRecord), this.overlap)) };
    }
    const position = decodeWatermark(kind, watermark);
    const changes = await this.rpc(method, { after: readFrom(position, this.overlap), window: this.overlap }, changesSchema);
    const { skus, next } = advanceFeed(position, changes.records.map(toChangeRecord), this.overlap, changes.now);
    return { skus, nextWatermark: encodeWatermark(kind, next) };
  }
}

function toProduct(row: z.output<typeof productsSchema>[number]): Product {
  return { sku: row.sku, name: row.name, stockTracked: row.tracked, components: row.components, unit: row.unit ?? null };
}

function toStockLevel(row: z.output<typeof stockRowsSchema>[number]): StockLevel {
  return { sku: row.sku, location: row.location, onHand: row.on_hand, allocated: row.allocated, wholesaleCommitted: row.committed };
}

function toChangeRecord(row: z.output<typeof changesSchema>['records'][number]): ChangeRecord {
  return { id: String(row.id), sku: row.sku, stamp: row.stamp };
}

function toShipment(row: z.output<typeof shipmentSchema>): Shipment {
  return {
    id: String(row.id),
    erpReference: row.number,
    salesOrderReference: row.sale_reference,
    shippedAt: row.shipped_at,
    carrier: row.carrier,
    trackingNumber: row.tracking_number,
    trackingUrl: row.tracking_url,
    lines: row.lines.map((l) => ({ sku: l.sku, quantity: l.quantity, location: l.location, lotNumber: l.lot })),
  };
}

function createdResult(sale: SaleAnswer): Omit<CreateSalesOrderResult, 'created'> {
  return { externalReference: sale.reference, erpReference: sale.number, status: sale.state };
}

function parentsFirst(locations: readonly Location[]): Location[] {
  const byCode = new Map(locations.map((l) => [l.code, l]));
  const depth = (location: Location): number => {
    let d = 0;
    for (let parent = location.parentCode; parent !== null && d < locations.length; parent = byCode.get(parent)?.parentCode ?? null) d++;
    return d;
  };
  return locations.map((l, index) => ({ l, index, d: depth(l) })).sort((a, b) => a.d - b.d || a.index - b.index).map((x) => x.l);
}

function salesOrderOf(externalReference: string, sale: SaleAnswer): SalesOrder {
  return {
    externalReference,
    erpReference: sale.number,
    status: sale.state,
    allocated: sale.state !== 'cancelled' && sale.lines.every((l) => l.allocated + l.shipped >= l.quantity),
    lines: sale.lines.map((l) => ({ sku: l.sku, location: l.location, quantity: l.quantity, allocatedQuantity: l.allocated, shippedQuantity: l.shipped })),
  };
}
