import { z } from 'zod';
import type { Logger } from '../../logger.js';
import { NotFoundError } from '../../shared/errors.js';
import { createErpCallPolicy, type ErpCallPolicy, type ErpCallPolicyOptions } from '../erp-call-policy.js';
import { advanceFeed, decodeWatermark, encodeWatermark, readFrom, startFeed, type ChangeRecord } from '../erp-change-feed.js';
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
  KitComponent,
  Location,
  Lot,
  Page,
  PageRequest,
  PostalAddress,
  Product,
  ProductChanges,
  SalesOrder,
  SalesOrderInput,
  SalesOrderLine,
  SalesOrderStatus,
  StockChanges,
  StockLevel,
  StockSnapshot,
} from '../erp-connector.js';
import { createHash } from 'node:crypto';
import { ErpConflictError, ErpInDoubtError, ErpRejectedError, ErpUnavailableError, UnknownLocationError, UnknownSkuError } from '../erp-errors.js';
import { customerKey, KeyedSerializer } from '../erp-find-or-create.js';
import { createLaneView, currentLane } from '../erp-lanes.js';
import { chunk, compareLots, decodeSkuCursor, encodeSkuCursor, pageSize, parseCustomerReturnInput, parseSalesOrderInput, uniqueInOrder } from '../erp-inputs.js';
import { TrytonDateTime, TrytonDecimal } from './tryton-codec.js';
import { LOCATION_FIELDS, TrytonLocationTree, locationRecordSchema } from './tryton-locations.js';
import { TrytonRpcClient, type TrytonContext } from './tryton-rpc-client.js';
import { openDemandByLocation, type OpenShipmentMove } from './tryton-stock-terms.js';

export interface TrytonErpConnectorOptions {
  /** trytond's base URL (`ERP_URL`), e.g. `http://127.0.0.1:8000/`. */
  readonly url: string;
  readonly database: string;
  readonly user: string;
  readonly password: string;
  readonly logger: Logger;
  /** Bound on one HTTP round trip. */
  readonly timeoutMs?: number;
  /**
   * `capabilities.inDoubtSettleMs`. trytond itself never stops a request whose client left, so
   * this must exceed the longest a request may run in the deployment (the WSGI/proxy timeout,
   * PostgreSQL's `statement_timeout`); default 120 s.
   */
  readonly inDoubtSettleMs?: number;
  /** The HTTP client (tests put faults on the wire with it). */
  readonly fetch?: typeof fetch;
  /** Limiter and retry settings of the shared call policy. */
  readonly policy?: Partial<Omit<ErpCallPolicyOptions, 'erp' | 'logger'>>;
  /** SKUs per page of batch reads (and per `code in [...]` domain). */
  readonly maxSkusPerRequest?: number;
  /** How far back each change-feed read goes before the watermark (late commits, P8). */
  readonly overlapSeconds?: number;
  /** How long the location tree is trusted before it is read again. */
  readonly locationCacheSeconds?: number;
}

/**
 * Marks the sales Stockbridge creates (in `sale.sale.description`, read-only once the sale is
 * confirmed), so that stock reads can leave them out of `wholesaleCommitted`.
 */
export const STOCKBRIDGE_SALE_MARKER = '[Stockbridge]';

const ids = z.array(z.number().int());
const nothing = z.unknown();
/** SQLite answers booleans as 0/1 (P11). */
const bool = z.union([z.boolean(), z.number()]).transform((v) => Boolean(v));
const stamp = z.string().nullable();
const codeOnly = z.object({ code: z.string().nullable(), id: z.number().int() });

const productRecord = z.object({
  id: z.number().int(),
  code: z.string().nullable(),
  name: z.string(),
  type: z.string(),
  consumable: bool.optional(),
  default_uom: z.number().int(),
  boms: ids.optional(),
});
type ProductRecord = z.output<typeof productRecord>;
const PRODUCT_FIELDS = ['code', 'name', 'type', 'consumable', 'default_uom', 'boms'];

const quantityRecord = z.object({ id: z.number().int(), quantity: z.number() });
const stockProductRecord = z.object({ id: z.number().int(), code: z.string().nullable(), quantity: z.number() });

const bomLinkRecord = z.object({ id: z.number().int(), product: z.number().int(), bom: z.number().int(), sequence: z.number().nullable().optional() });
const bomLineRecord = z.object({
  bom: z.number().int(),
  product: z.number().int(),
  quantity: z.number(),
  uom: z.number().int(),
  'product.': z.object({ code: z.string().nullable(), default_uom: z.number().int() }).nullable(),
});
const uomRecord = z.object({ id: z.number().int(), factor: z.number(), category: z.number().int() });

const openMoveRecord = z.object({
  id: z.number().int(),
  state: z.enum(['assigned', 'draft']),
  product: z.number().int(),
  internal_quantity: z.number(),
  from_location: z.number().int(),
  to_location: z.number().int(),
  'shipment.': z.object({ state: z.string() }).nullable().optional(),
});

const changedMoveRecord = z.object({
  id: z.number().int(),
  create_date: stamp,
  write_date: stamp,
  'product.': z.object({ code: z.string().nullable() }).nullable(),
});
const changedProductRecord = z.object({
  id: z.number().int(),
  code: z.string().nullable(),
  create_date: stamp,
  write_date: stamp,
  'template.': z.object({ create_date: stamp, write_date: stamp }).nullable(),
});
const stampRecord = z.object({ id: z.number().int(), create_date: stamp.optional(), write_date: stamp.optional() });

const lotRecord = z.object({
  id: z.number().int(),
  number: z.string(),
  product: z.number().int(),
  quantity: z.number(),
  expiration_date: z.string().nullable().optional(),
  shelf_life_expiration_date: z.string().nullable().optional(),
});

const saleRecord = z.object({
  id: z.number().int(),
  number: z.string().nullable(),
  reference: z.string().nullable(),
  description: z.string().nullable(),
  state: z.string(),
  warehouse: z.number().int().nullable(),
  party: z.number().int(),
  shipment_address: z.number().int().nullable(),
  currency: z.number().int(),
});
type SaleRecord = z.output<typeof saleRecord>;
const SALE_FIELDS = ['number', 'reference', 'description', 'state', 'warehouse', 'party', 'shipment_address', 'currency'];
const saleLineRecord = z.object({
  id: z.number().int(),
  type: z.string(),
  quantity: z.number().nullable(),
  unit_price: z.string().nullable(),
  'product.': z.object({ code: z.string().nullable() }).nullable(),
});
const lineMoveRecord = z.object({
  id: z.number().int(),
  origin: z.string().nullable(),
  state: z.string(),
  internal_quantity: z.number(),
  to_location: z.number().int(),
});
const wizardStart = z.tuple([z.number().int(), z.string(), z.string()]);
const wizardAsk = z.object({ view: z.object({ defaults: z.object({ domain_moves: ids }) }) });

/** A product as the connector resolved it from a SKU. */
interface ResolvedProduct {
  readonly id: number;
  readonly sku: string;
  readonly name: string;
  readonly uom: number;
}

/** trytond computes quantities for 1,000 products in ~0.2 s; bigger pages gain little (bench/erp-stock.bench.ts). */
const DEFAULT_MAX_SKUS = 1_000;

/**
 * `ErpConnector` over Tryton 6.0's JSON-RPC. See `src/erp/erp-connector.ts` for the guarantees;
 * how Tryton's notions map to the port's terms:
 *
 * - SKU = `product.product.code`; products without a code are invisible to the gateway.
 * - Locations = warehouses (`stock.location` type `warehouse`) and the coded storage locations
 *   of their storage zones; each is read alone (several ids in one context drop children, P9).
 * - onHand = `quantity` with `{locations: [L]}`; allocated = the assigned moves leaving L, which
 *   is what `quantity − quantity{stock_assign}` computes, read for all locations in one call,
 *   plus the goods of picked two-step shipments;
 *   wholesaleCommitted = draft customer-shipment moves of sales not made by Stockbridge (see
 *   `tryton-stock-terms.ts` for why not `forecast_quantity`).
 * - Sales orders: `sale.sale` with `reference` = external reference and a description marked
 *   `[Stockbridge]`; created, quoted and confirmed (invoice method `manual`, P6). Tryton 6.0
 *   cannot cancel a confirmed sale: cancelling cancels its shipments and ignores their moves
 *   (the "handle shipment exception" wizard), after which Tryton calls the sale done; the port
 *   reports such a sale (nothing shipped, every move cancelled) as `cancelled`.
 * - Customer returns: a draft `stock.shipment.out.return` with `reference` = the return's
 *   external reference, to be received by the warehouse when the parcel arrives.
 */
export class TrytonErpConnector implements ErpConnector {
  readonly capabilities: ErpCapabilities;
  private readonly client: TrytonRpcClient;
  private readonly policy: ErpCallPolicy;
  private readonly logger: Logger;
  private readonly overlap: number;
  private readonly locationTtlMs: number;
  private tree: { value: Promise<TrytonLocationTree>; loadedAt: number; lane: ErpLane; settled: boolean } | null = null;
  private lotExpiryFields: Promise<string[]> | null = null;
  private readonly customers = new KeyedSerializer();

  constructor(options: TrytonErpConnectorOptions) {
    const timeoutMs = options.timeoutMs ?? 20_000;
    this.logger = options.logger.child({ erp: 'tryton' });
    this.client = new TrytonRpcClient({ ...options, timeoutMs, logger: options.logger });
    const inDoubtSettleMs = options.inDoubtSettleMs ?? 120_000;
    // One attempt may include a login (login + preferences + the call itself).
    this.policy = createErpCallPolicy({ erp: 'tryton', maxConcurrent: 2, timeoutMs: timeoutMs * 3 + 1_000, ...options.policy, inDoubtSettleMs, logger: this.logger });
    this.capabilities = {
      lots: true,
      kits: true,
      customerReturns: true,
      ordersSpanWarehouses: false,
      maxSkusPerRequest: options.maxSkusPerRequest ?? DEFAULT_MAX_SKUS,
      inDoubtSettleMs,
    };
    this.overlap = (options.overlapSeconds ?? 300) * 1_000_000;
    this.locationTtlMs = (options.locationCacheSeconds ?? 600) * 1000;
  }

  /** Round trips made to Tryton so far (for benchmarks and batching tests). */
  get roundTrips(): number {
    return this.client.roundTrips;
  }

  /** Waits for calls in flight and refuses new ones. */
  async close(): Promise<void> {
    await this.policy.stop();
  }

  forLane(lane: ErpLane, options?: ErpLaneOptions): ErpConnector {
    return createLaneView(this, lane, options);
  }

  /** Slots in use and calls waiting per lane. */
  laneStats() {
    return this.policy.stats();
  }

  // ---------------------------------------------------------------------------------------------
  // Round trips

  private read<T>(model: string, method: string, args: readonly unknown[], schema: z.ZodType<T>, extra: TrytonContext = {}): Promise<T> {
    return this.policy.run(`${model}.${method}`, (signal) => this.client.model(model, method, args, schema, extra, signal));
  }

  /**
   * Writes are resent only when nothing was applied; a lost answer is `ERP_IN_DOUBT` (the
   * caller looks before writing again). `retryConflicts: false` hands a conflict back at once.
   */
  private write<T>(model: string, method: string, args: readonly unknown[], schema: z.ZodType<T>, options: { retryConflicts?: boolean } = {}): Promise<T> {
    return this.policy.run(`${model}.${method}`, (signal) => this.client.model(model, method, args, schema, {}, signal), { write: true, ...options });
  }

  /**
   * A write whose effect a later call completes anyway (a workflow step, a record found again by
   * its natural key): a lost answer is reported `ERP_UNAVAILABLE`, retryable, not in doubt.
   */
  private async writeResumable<T>(what: string, write: () => Promise<T>): Promise<T> {
    try {
      return await write();
    } catch (error) {
      if (!(error instanceof ErpInDoubtError)) throw error;
      throw new ErpUnavailableError(`Tryton lost the answer to ${what}; calling again resumes it`, { operation: what }, { cause: error, notApplied: true });
    }
  }

  private searchRead<T>(model: string, domain: unknown[], fields: readonly string[], schema: z.ZodType<T>, options: { order?: unknown; limit?: number | null; context?: TrytonContext } = {}): Promise<T[]> {
    return this.read(model, 'search_read', [domain, 0, options.limit ?? null, options.order ?? null, fields], z.array(schema), options.context ?? {});
  }

  // ---------------------------------------------------------------------------------------------
  // Connection and locations

  async checkConnection(): Promise<ErpStatus> {
    const version = await this.policy.run('common.server.version', (signal) => this.client.serverVersion(signal));
    // A version alone does not prove the credentials: log in too.
    await this.policy.run('common.db.login', () => this.client.context());
    return { version: `tryton ${version}` };
  }

  async listLocations(): Promise<readonly Location[]> {
    return (await this.locationTree({ fresh: true })).locations;
  }

  private locationTree(options: { fresh?: boolean } = {}): Promise<TrytonLocationTree> {
    const now = Date.now();
    const lane = currentLane().lane;
    if (!options.fresh && this.tree && now - this.tree.loadedAt < this.locationTtlMs) {
      // A read still waiting in the interactive queue must not hold a background caller up: it
      // joins only a read of its own lane, or one that has already answered.
      if (this.tree.settled || this.tree.lane === lane || lane === 'interactive') return this.tree.value;
    }
    const value = this.searchRead('stock.location', [], LOCATION_FIELDS, locationRecordSchema).then((records) => {
      const tree = new TrytonLocationTree(records);
      if (tree.duplicateCodes.length > 0) this.logger.warn({ codes: tree.duplicateCodes }, 'several Tryton locations share a code; the first one is used');
      return tree;
    });
    const entry = { value, loadedAt: now, lane, settled: false };
    this.tree = entry;
    value.then(
      () => {
        entry.settled = true;
      },
      () => {
        if (this.tree === entry) this.tree = null;
      },
    );
    return value;
  }

  /** Location codes → ids (default: every warehouse); unknown codes throw after one re-read. */
  private async resolveLocations(codes: readonly string[] | undefined): Promise<{ tree: TrytonLocationTree; locations: { id: number; code: string }[] }> {
    let tree = await this.locationTree();
    const wanted = codes ? uniqueInOrder(codes) : tree.warehouseCodes;
    if (wanted.some((code) => tree.idOf(code) === undefined)) {
      tree = await this.locationTree({ fresh: true });
      const unknown = wanted.filter((code) => tree.idOf(code) === undefined);
      if (unknown.length > 0) throw new UnknownLocationError(unknown);
    }
    return { tree, locations: wanted.map((code) => ({ id: tree.idOf(code)!, code })) };
  }

  // ---------------------------------------------------------------------------------------------
  // Products

  async listProducts(page: PageRequest = {}): Promise<Page<Product>> {
    const limit = pageSize(page.limit, this.capabilities.maxSkusPerRequest);
    const after = decodeSkuCursor(page.cursor);
    const domain: unknown[] = [['code', '!=', null]];
    if (after !== null) domain.push(['code', '>', after]);
    const records = await this.searchRead('product.product', domain, PRODUCT_FIELDS, productRecord, { order: [['code', 'ASC']], limit });
    const items = await this.withComponents(records);
    return { items, nextCursor: records.length === limit ? encodeSkuCursor(items[items.length - 1]!.sku) : null };
  }

  async getProductsBySkus(skus: readonly string[]): Promise<{ readonly products: readonly Product[]; readonly unknownSkus: readonly string[] }> {
    const wanted = uniqueInOrder(skus);
    const found = new Map<string, Product>();
    for (const page of chunk(wanted, this.capabilities.maxSkusPerRequest)) {
      const records = await this.searchRead('product.product', [['code', 'in', page]], PRODUCT_FIELDS, productRecord);
      for (const product of await this.withComponents(records)) found.set(product.sku, product);
    }
    return { products: wanted.filter((s) => found.has(s)).map((s) => found.get(s)!), unknownSkus: wanted.filter((s) => !found.has(s)) };
  }

  async getProductsChangedSince(watermark: ErpWatermark | null): Promise<ProductChanges> {
    const kind = 'tryton-products';
    if (watermark === null) {
      const now = await this.latestStamp(['product.product', 'product.template']);
      const recent = await this.changedProducts(now - this.overlap);
      return { products: [], nextWatermark: encodeWatermark(kind, startFeed(now, recent, this.overlap)) };
    }
    const position = decodeWatermark(kind, watermark);
    const records = await this.changedProducts(readFrom(position, this.overlap));
    const { skus, next } = advanceFeed(position, records, this.overlap);
    const { products } = await this.getProductsBySkus(skus);
    return { products, nextWatermark: encodeWatermark(kind, next) };
  }

  /** Products whose product, template or BOM was created or written after `from`. */
  private async changedProducts(from: number): Promise<ChangeRecord[]> {
    const since = new TrytonDateTime(isoFromStamp(from));
    const rows = await this.searchRead(
      'product.product',
      [
        ['code', '!=', null],
        [
          'OR',
          ['create_date', '>', since],
          ['write_date', '>', since],
          ['template.create_date', '>', since],
          ['template.write_date', '>', since],
          ['boms.create_date', '>', since],
          ['boms.bom.write_date', '>', since],
        ],
      ],
      ['code', 'create_date', 'write_date', 'template.create_date', 'template.write_date'],
      changedProductRecord,
    );
    return rows.map((row) => ({
      id: String(row.id),
      sku: row.code!,
      // A change seen only through its BOM has no newer stamp of its own: it may be reported again.
      stamp: Math.max(stampOf(row.create_date), stampOf(row.write_date), stampOf(row['template.']?.create_date ?? null), stampOf(row['template.']?.write_date ?? null)),
    }));
  }

  /** Kit components from each product's first BOM, per one unit of the product's default unit. */
  private async withComponents(records: readonly ProductRecord[]): Promise<Product[]> {
    const withCode = records.filter((r): r is ProductRecord & { code: string } => r.code !== null);
    const linkIds = withCode.flatMap((r) => r.boms ?? []);
    const components = new Map<number, KitComponent[]>();
    if (linkIds.length > 0) {
      const links = await this.read('product.product-production.bom', 'read', [linkIds, ['product', 'bom', 'sequence']], z.array(bomLinkRecord));
      const firstBom = new Map<number, number>();
      for (const link of [...links].sort((a, b) => (a.sequence ?? 0) - (b.sequence ?? 0) || a.id - b.id)) {
        if (!firstBom.has(link.product)) firstBom.set(link.product, link.bom);
      }
      const bomIds = [...new Set(firstBom.values())];
      const lineFields = ['bom', 'product', 'quantity', 'uom', 'product.code', 'product.default_uom'];
      const inputs = await this.searchRead('production.bom.input', [['bom', 'in', bomIds]], lineFields, bomLineRecord);
      const outputs = await this.searchRead('production.bom.output', [['bom', 'in', bomIds]], lineFields, bomLineRecord);
      const uomIds = [...new Set([...inputs, ...outputs].flatMap((l) => [l.uom, l['product.']?.default_uom ?? l.uom]))];
      const uoms = new Map((await this.read('product.uom', 'read', [uomIds, ['factor', 'category']], z.array(uomRecord))).map((u) => [u.id, u]));
      const inDefaultUnit = (line: z.output<typeof bomLineRecord>): number => {
        const from = uoms.get(line.uom);
        const to = uoms.get(line['product.']?.default_uom ?? line.uom);
        return from && to && from.id !== to.id ? (line.quantity * from.factor) / to.factor : line.quantity;
      };
      for (const [productId, bomId] of firstBom) {
        const made = outputs.filter((o) => o.bom === bomId && o.product === productId).reduce((sum, o) => sum + inDefaultUnit(o), 0);
        if (made <= 0) continue;
        const perUnit = new Map<string, number>();
        for (const input of inputs.filter((i) => i.bom === bomId)) {
          const sku = input['product.']?.code;
          if (!sku) continue;
          perUnit.set(sku, (perUnit.get(sku) ?? 0) + inDefaultUnit(input) / made);
        }
        components.set(
          productId,
          [...perUnit].map(([sku, quantity]) => ({ sku, quantity: roundQuantity(quantity) })),
        );
      }
    }
    return withCode.map((r) => ({
      sku: r.code,
      name: r.name,
      stockTracked: r.type === 'goods' && !r.consumable,
      components: components.get(r.id) ?? [],
    }));
  }

  // ---------------------------------------------------------------------------------------------
  // Stock

  async getStockBySkus(skus: readonly string[], locationCodes?: readonly string[]): Promise<StockSnapshot> {
    const { tree, locations } = await this.resolveLocations(locationCodes);
    const wanted = uniqueInOrder(skus);
    const levels = new Map<string, StockLevel[]>();
    for (const page of chunk(wanted, this.capabilities.maxSkusPerRequest)) {
      for (const level of await this.readStockPage([['code', 'in', page]], tree, locations, {})) {
        levels.set(level.sku, [...(levels.get(level.sku) ?? []), level]);
      }
    }
    return { levels: wanted.flatMap((sku) => levels.get(sku) ?? []), unknownSkus: wanted.filter((sku) => !levels.has(sku)) };
  }

  async listAllStock(page: PageRequest & { readonly locationCodes?: readonly string[] } = {}): Promise<Page<StockLevel>> {
    const { tree, locations } = await this.resolveLocations(page.locationCodes);
    const limit = pageSize(page.limit, this.capabilities.maxSkusPerRequest);
    const after = decodeSkuCursor(page.cursor);
    const domain: unknown[] = [['code', '!=', null], ['type', '=', 'goods'], ['consumable', '=', false]];
    if (after !== null) domain.push(['code', '>', after]);
    const items = await this.readStockPage(domain, tree, locations, { order: [['code', 'ASC']], limit });
    const skuCount = new Set(items.map((i) => i.sku)).size;
    return { items, nextCursor: skuCount === limit ? encodeSkuCursor(items[items.length - 1]!.sku) : null };
  }

  /**
   * Stock terms of one page of products (selected by `domain`) at each location, in
   * locations + 2 round trips whatever the page size: `quantity` per location (the first call
   * also finds the products), then the open moves of the page at all locations at once
   * (assigned moves, draft customer-shipment moves), then which of those are Stockbridge's.
   */
  private async readStockPage(
    domain: unknown[],
    tree: TrytonLocationTree,
    locations: readonly { id: number; code: string }[],
    options: { order?: unknown; limit?: number },
  ): Promise<StockLevel[]> {
    if (locations.length === 0) return [];
    const first = locations[0]!;
    const products = (await this.searchRead('product.product', domain, ['code', 'quantity'], stockProductRecord, { ...options, context: { locations: [first.id] } })).filter(
      (p): p is z.output<typeof stockProductRecord> & { code: string } => p.code !== null,
    );
    if (products.length === 0) return [];
    const productIds = products.map((p) => p.id);
    const onHand = new Map<string, number>(products.map((p) => [`${p.id}@${first.id}`, p.quantity]));
    // Quantities are computed one location at a time: several ids in one context drop the
    // children of each (P9). trytond computes them under the GIL, so parallel calls gain nothing.
    for (const location of locations.slice(1)) {
      const rows = await this.read('product.product', 'read', [productIds, ['quantity']], z.array(quantityRecord), { locations: [location.id] });
      for (const row of rows) onHand.set(`${row.id}@${location.id}`, row.quantity);
    }

    const company = (await this.client.context()).company;
    const openDomain = [
      ['product', 'in', productIds],
      ['from_location', 'child_of', locations.map((l) => l.id), 'parent'],
      ...(typeof company === 'number' ? [['company', '=', company]] : []),
      ['OR', ['state', '=', 'assigned'], [['state', '=', 'draft'], ['shipment', 'like', 'stock.shipment.out,%']]],
    ];
    const open = await this.searchRead('stock.move', openDomain, ['state', 'product', 'internal_quantity', 'from_location', 'to_location', 'shipment.state'], openMoveRecord);
    const ours = !open.some((m) => m.state === 'draft')
      ? new Set<number>()
      : new Set(await this.read('stock.move', 'search', [[...openDomain, ['state', '=', 'draft'], ourSaleClause()], 0, null, null], ids));
    const demand = openDemandByLocation(
      tree,
      open.map(
        (m): OpenShipmentMove => ({
          id: m.id,
          state: m.state,
          product: m.product,
          quantity: m.internal_quantity,
          from: m.from_location,
          to: m.to_location,
          shipmentState: m['shipment.']?.state ?? null,
          ours: ours.has(m.id),
        }),
      ),
      locations.map((l) => l.id),
    );

    return products.flatMap((product) =>
      locations.map((location): StockLevel => {
        const key = `${product.id}@${location.id}`;
        const hand = onHand.get(key) ?? 0;
        const terms = demand.get(key);
        return {
          sku: product.code,
          location: location.code,
          onHand: roundQuantity(hand),
          allocated: roundQuantity(terms?.allocated ?? 0),
          wholesaleCommitted: roundQuantity(terms?.committed ?? 0),
        };
      }),
    );
  }

  async getLotsBySkus(skus: readonly string[], locationCodes?: readonly string[]): Promise<readonly Lot[]> {
    const { locations } = await this.resolveLocations(locationCodes);
    const expiryFields = await this.lotExpiry();
    const lots: Lot[] = [];
    for (const page of chunk(uniqueInOrder(skus), this.capabilities.maxSkusPerRequest)) {
      const products = await this.searchRead('product.product', [['code', 'in', page]], ['code'], codeOnly);
      const skuOf = new Map(products.filter((p) => p.code !== null).map((p) => [p.id, p.code!]));
      if (skuOf.size === 0) continue;
      for (const location of locations) {
        // Lot quantities come from the same `locations` context; they ignore reservations made
        // without a lot (P10), as the port documents.
        const rows = await this.searchRead(
          'stock.lot',
          [
            ['product', 'in', [...skuOf.keys()]],
            ['quantity', '!=', 0],
          ],
          ['number', 'product', 'quantity', ...expiryFields],
          lotRecord,
          { context: { locations: [location.id] } },
        );
        for (const row of rows) {
          lots.push({
            number: row.number,
            sku: skuOf.get(row.product)!,
            location: location.code,
            quantity: roundQuantity(row.quantity),
            expiresOn: row.expiration_date ?? row.shelf_life_expiration_date ?? null,
          });
        }
      }
    }
    return lots.sort(compareLots);
  }

  /** Which expiry fields `stock.lot` has (`stock_lot_sled` adds them; without it lots never expire). */
  private lotExpiry(): Promise<string[]> {
    this.lotExpiryFields ??= this.read('stock.lot', 'fields_get', [['expiration_date', 'shelf_life_expiration_date']], z.record(z.string(), z.unknown())).then(
      (fields) => Object.keys(fields).filter((f) => f === 'expiration_date' || f === 'shelf_life_expiration_date'),
    );
    this.lotExpiryFields.catch(() => {
      this.lotExpiryFields = null;
    });
    return this.lotExpiryFields;
  }

  // ---------------------------------------------------------------------------------------------
  // Change feed

  async getStockChangesSince(watermark: ErpWatermark | null): Promise<StockChanges> {
    const kind = 'tryton-stock';
    if (watermark === null) {
      const now = await this.latestStamp(['stock.move']);
      const recent = await this.changedMoves(now - this.overlap);
      return { skus: [], nextWatermark: encodeWatermark(kind, startFeed(now, recent, this.overlap)) };
    }
    const position = decodeWatermark(kind, watermark);
    const records = await this.changedMoves(readFrom(position, this.overlap));
    const { skus, next } = advanceFeed(position, records, this.overlap);
    return { skus, nextWatermark: encodeWatermark(kind, next) };
  }

  /** Every stock move created or written after `from` (stock changes only through moves). */
  private async changedMoves(from: number): Promise<ChangeRecord[]> {
    const since = new TrytonDateTime(isoFromStamp(from));
    // write_date stays NULL until a record is first written (P7): look at both.
    const rows = await this.searchRead('stock.move', [['OR', ['create_date', '>', since], ['write_date', '>', since]]], ['create_date', 'write_date', 'product.code'], changedMoveRecord);
    return rows
      .filter((row) => row['product.']?.code)
      .map((row) => ({ id: String(row.id), sku: row['product.']!.code!, stamp: Math.max(stampOf(row.create_date), stampOf(row.write_date)) }));
  }

  /** The newest create/write stamp of these models: the ERP's clock, read from its own records. */
  private async latestStamp(models: readonly string[]): Promise<number> {
    let latest = 0;
    for (const model of models) {
      for (const field of ['create_date', 'write_date']) {
        const [row] = await this.searchRead(model, [[field, '!=', null]], [field], stampRecord, { order: [[field, 'DESC']], limit: 1 });
        latest = Math.max(latest, stampOf(row?.[field as 'create_date'] ?? null));
      }
    }
    return latest;
  }

  // ---------------------------------------------------------------------------------------------
  // Sales orders

  async createSalesOrder(input: SalesOrderInput): Promise<CreateSalesOrderResult> {
    const order = parseSalesOrderInput(input);
    // Everything is checked before the first write: an invalid order leaves nothing behind.
    const { tree, locations } = await this.resolveLocations(order.lines.map((l) => l.location));
    const warehouses = new Set(locations.map((l) => tree.warehouseContaining(l.id)?.code));
    if (warehouses.size !== 1 || warehouses.has(undefined)) {
      throw new ErpRejectedError('A Tryton sale ships from one warehouse: split the order per warehouse', {
        externalReference: order.externalReference,
        warehouses: [...warehouses].filter(Boolean),
      });
    }
    const warehouse = tree.warehouseByCode([...warehouses][0]!)!;
    const products = await this.resolveProducts(order.lines.map((l) => l.sku));

    const existing = await this.findSale(order.externalReference);
    if (existing) {
      const sale = await this.completeWorkflow(existing);
      const view = await this.salesOrderView(sale, tree);
      return { externalReference: order.externalReference, erpReference: erpReferenceOf(sale), status: view.status, created: false };
    }

    const [currency] = await this.read('currency.currency', 'search', [[['code', '=', order.currency]], 0, 1, null], ids);
    if (currency === undefined) throw new ErpRejectedError(`Tryton has no currency ${order.currency}`, { currency: order.currency });
    const customer = await this.customerParty(order);

    let saleId: number;
    try {
      [saleId] = (await this.write(
        'sale.sale',
        'create',
        [
          [
            {
              party: customer.party,
              invoice_address: customer.address,
              shipment_address: customer.address,
              currency,
              warehouse: warehouse.id,
              invoice_method: 'manual',
              shipment_method: 'order',
              reference: order.externalReference,
              description: `${STOCKBRIDGE_SALE_MARKER} Shopify order ${order.name}`,
              lines: [
                [
                  'create',
                  order.lines.map((line) => {
                    const product = products.get(line.sku)!;
                    return { type: 'line', product: product.id, quantity: line.quantity, unit: product.uom, unit_price: new TrytonDecimal(line.unitPrice), description: product.name };
                  }),
                ],
              ],
            },
          ],
        ],
        z.tuple([z.number().int()]),
      )) as [number];
    } catch (error) {
      if (!(error instanceof ErpInDoubtError)) throw error;
      // Found now: conclusive at once. Not found: proves nothing until the create has settled
      // (trytond may still commit it), so the caller must wait, not resend.
      const committed = await this.findSale(order.externalReference).catch(() => null);
      if (!committed) throw error.about('createSalesOrder', { externalReference: order.externalReference });
      saleId = committed.id;
    }
    const [created] = await this.readSales([saleId]);
    const sale = await this.completeWorkflow(created!);
    const view = await this.salesOrderView(sale, tree);
    return { externalReference: order.externalReference, erpReference: erpReferenceOf(sale), status: view.status, created: true };
  }

  /**
   * Quotes and confirms a sale left in draft or quotation (by this call, or by an earlier one
   * that failed half-way), so that a retried create finishes the job instead of leaving a draft.
   */
  private async completeWorkflow(sale: SaleRecord): Promise<SaleRecord> {
    if (sale.state !== 'draft' && sale.state !== 'quotation') return sale;
    if (!sale.description?.startsWith(STOCKBRIDGE_SALE_MARKER)) return sale;
    // A lost answer here leaves a draft or quoted sale that the next createSalesOrder completes.
    if (sale.state === 'draft') await this.writeResumable('quoting the sale', () => this.write('sale.sale', 'quote', [[sale.id]], nothing));
    // confirm runs the queued `process` at the end of the request: shipments exist when it returns.
    await this.writeResumable('confirming the sale', () => this.write('sale.sale', 'confirm', [[sale.id]], nothing));
    const [after] = await this.readSales([sale.id]);
    return after!;
  }

  async findSalesOrder(externalReference: string): Promise<SalesOrder | null> {
    const sale = await this.findSale(externalReference);
    if (!sale) return null;
    const view = await this.salesOrderView(sale, await this.locationTree());
    return { externalReference, erpReference: erpReferenceOf(sale), status: view.status, allocated: view.allocated, lines: view.lines };
  }

  async cancelSalesOrder(externalReference: string): Promise<CancelSalesOrderResult> {
    try {
      return await this.cancelSale(externalReference);
    } catch (error) {
      if (!(error instanceof ErpInDoubtError)) throw error;
      // Cancelled now: conclusive. Otherwise the caller reads the status again after settling.
      const now = await this.findSalesOrder(externalReference).catch(() => null);
      if (now?.status === 'cancelled') return { externalReference, erpReference: now.erpReference, status: 'cancelled', cancelled: true };
      throw error.about('cancelSalesOrder', { externalReference });
    }
  }

  private async cancelSale(externalReference: string): Promise<CancelSalesOrderResult> {
    const sale = await this.findSale(externalReference);
    if (!sale) throw new NotFoundError('Sales order', externalReference);
    const tree = await this.locationTree();
    const before = await this.salesOrderView(sale, tree);
    const result = (cancelled: boolean): CancelSalesOrderResult => ({ externalReference, erpReference: erpReferenceOf(sale), status: 'cancelled', cancelled });
    if (before.status === 'cancelled') return result(false);
    if (before.status === 'done' || before.lines.some((l) => l.shippedQuantity > 0)) {
      throw new ErpRejectedError('The sale has already shipped; it can no longer be cancelled', { externalReference, erpReference: erpReferenceOf(sale) });
    }
    if (sale.state === 'draft' || sale.state === 'quotation') {
      await this.write('sale.sale', 'cancel', [[sale.id]], nothing);
      return result(true);
    }
    if (sale.state === 'confirmed') {
      // Not processed yet (a trytond with queue workers processes confirmed sales later): no
      // shipment exists, and Tryton lets a confirmed sale go back to draft. Not reachable in CI,
      // where trytond processes a sale within the confirming request.
      await this.write('sale.sale', 'draft', [[sale.id]], nothing);
      await this.write('sale.sale', 'cancel', [[sale.id]], nothing);
      return result(true);
    }
    // Confirmed: cancel the customer shipments (this frees their reservations), then tell the
    // sale to ignore the cancelled moves instead of recreating them.
    const shipments = await this.read('stock.shipment.out', 'search', [[['moves.sale', '=', sale.id], ['state', 'not in', ['cancelled', 'done']]], 0, null, null], ids);
    if (shipments.length > 0) await this.write('stock.shipment.out', 'cancel', [shipments], nothing);
    await this.ignoreCancelledMoves(sale.id);
    const after = await this.salesOrderView((await this.readSales([sale.id]))[0]!, tree);
    if (after.status !== 'cancelled') {
      throw new ErpRejectedError(`Tryton left the sale ${after.status} after cancelling its shipments`, { externalReference, status: after.status });
    }
    return result(true);
  }

  /** Runs the "handle shipment exception" wizard of the sale, recreating nothing. */
  private async ignoreCancelledMoves(saleId: number): Promise<void> {
    const wizard = 'wizard.sale.handle.shipment.exception';
    const active = { active_id: saleId, active_ids: [saleId], active_model: 'sale.sale' };
    const run = <T>(method: string, params: (context: TrytonContext) => unknown[], schema: z.ZodType<T>) =>
      this.policy.run(`${wizard}.${method}`, (signal) => this.client.authenticated(`${wizard}.${method}`, params, schema, signal), { write: true });
    const [session] = await run('create', (context) => [context], wizardStart);
    try {
      const ask = await run('execute', (context) => [session, {}, 'ask', { ...context, ...active }], wizardAsk);
      const moves = ask.view.defaults.domain_moves;
      if (moves.length > 0) {
        await run('execute', (context) => [session, { ask: { recreate_moves: [], domain_moves: moves } }, 'handle', { ...context, ...active }], nothing);
      }
    } finally {
      await run('delete', (context) => [session, { ...context, ...active }], nothing).catch((error: unknown) => {
        this.logger.warn({ err: error, session }, 'could not delete a Tryton wizard session');
      });
    }
  }

  private async findSale(externalReference: string): Promise<SaleRecord | null> {
    const sales = await this.searchRead('sale.sale', [['reference', '=', externalReference]], SALE_FIELDS, saleRecord, { order: [['id', 'ASC']] });
    // Prefer the sale Stockbridge made if a person happened to type the same reference.
    return sales.find((s) => s.description?.startsWith(STOCKBRIDGE_SALE_MARKER)) ?? sales[0] ?? null;
  }

  private readSales(saleIds: readonly number[]): Promise<SaleRecord[]> {
    return this.read('sale.sale', 'read', [saleIds, SALE_FIELDS], z.array(saleRecord));
  }

  /**
   * Lines with allocated and shipped quantities, read from the lines' moves: a done outgoing
   * move is shipped; an assigned one is allocated; a draft one is allocated as far as its
   * inventory moves (two-step warehouses) are assigned or done.
   */
  private async salesOrderView(sale: SaleRecord, tree: TrytonLocationTree): Promise<{ status: SalesOrderStatus; allocated: boolean; lines: SalesOrderLine[] }> {
    const lines = (await this.searchRead('sale.line', [['sale', '=', sale.id]], ['type', 'quantity', 'unit_price', 'product.code'], saleLineRecord, { order: [['id', 'ASC']] })).filter(
      (l) => l.type === 'line' && l['product.']?.code && (l.quantity ?? 0) > 0,
    );
    const moves = lines.length === 0 ? [] : await this.searchRead('stock.move', [['origin', 'in', lines.map((l) => `sale.line,${l.id}`)]], ['origin', 'state', 'internal_quantity', 'to_location'], lineMoveRecord);
    const outgoing = moves.filter((m) => tree.typeOf(m.to_location) === 'customer');
    const inventory =
      outgoing.length === 0 ? [] : await this.searchRead('stock.move', [['origin', 'in', outgoing.map((m) => `stock.move,${m.id}`)]], ['origin', 'state', 'internal_quantity', 'to_location'], lineMoveRecord);
    const location = (sale.warehouse !== null ? tree.codeOf(sale.warehouse) : undefined) ?? '';
    let everyMoveCancelled = outgoing.length > 0;
    const view: SalesOrderLine[] = lines.map((line) => {
      let allocated = 0;
      let shipped = 0;
      for (const move of outgoing.filter((m) => m.origin === `sale.line,${line.id}`)) {
        if (move.state !== 'cancelled') everyMoveCancelled = false;
        if (move.state === 'done') shipped += move.internal_quantity;
        else if (move.state === 'assigned') allocated += move.internal_quantity;
        else if (move.state === 'draft') {
          const picked = inventory.filter((i) => i.origin === `stock.move,${move.id}` && (i.state === 'assigned' || i.state === 'done')).reduce((sum, i) => sum + i.internal_quantity, 0);
          allocated += Math.min(move.internal_quantity, picked);
        }
      }
      return { sku: line['product.']!.code!, location, quantity: line.quantity!, allocatedQuantity: roundQuantity(allocated), shippedQuantity: roundQuantity(shipped) };
    });
    const nothingShipped = view.every((l) => l.shippedQuantity === 0);
    const status = statusOf(sale.state, everyMoveCancelled && nothingShipped);
    const allocated = status !== 'cancelled' && status !== 'draft' && view.length > 0 && view.every((l) => l.allocatedQuantity + l.shippedQuantity >= l.quantity);
    return { status, allocated, lines: view };
  }

  /** SKU → product, or `UNKNOWN_SKU` naming every unknown one (before anything is written). */
  private async resolveProducts(skus: readonly string[]): Promise<Map<string, ResolvedProduct>> {
    const wanted = uniqueInOrder(skus);
    const found = new Map<string, ResolvedProduct>();
    for (const page of chunk(wanted, this.capabilities.maxSkusPerRequest)) {
      const rows = await this.searchRead('product.product', [['code', 'in', page]], ['code', 'name', 'default_uom'], productRecord.pick({ id: true, code: true, name: true, default_uom: true }));
      for (const row of rows) if (row.code) found.set(row.code, { id: row.id, sku: row.code, name: row.name, uom: row.default_uom });
    }
    const unknown = wanted.filter((s) => !found.has(s));
    if (unknown.length > 0) throw new UnknownSkuError(unknown);
    return found;
  }

  /**
   * The customer's party and the shipping address on it, found or created safely under
   * concurrency: one at a time per customer in this process, and across processes by the party
   * code, which is derived from the customer's natural key (`customerKey`) and unique in Tryton,
   * so the second of two concurrent creates gets "The code on party must be unique." and looks
   * again. A lost answer is `ERP_UNAVAILABLE`: the order was not sent, and the next attempt
   * finds the party (or conflicts with it).
   */
  private customerParty(order: SalesOrderInput): Promise<{ party: number; address: number }> {
    const key = customerKey(order.customer);
    return this.customers.run(key, async () => {
      const party = await this.writeResumable('creating the customer', () => this.findOrCreateParty(order, key));
      const address = await this.writeResumable('creating the address', () => this.addressFor(party, order.shippingAddress));
      return { party, address };
    });
  }

  private async findOrCreateParty(order: SalesOrderInput, key: string): Promise<number> {
    const code = partyCodeFor(key);
    const email = order.customer.email?.trim().toLowerCase() || null;
    const find = async (): Promise<number | undefined> => {
      const [byCode] = await this.read('party.party', 'search', [[['code', '=', code]], 0, 1, [['id', 'ASC']]], ids);
      if (byCode !== undefined || !email) return byCode;
      // A party made before codes were derived, or by a clerk: found by its e-mail.
      const [mechanism] = await this.searchRead('party.contact_mechanism', [['type', '=', 'email'], ['value', '=', email]], ['party'], z.object({ party: z.number().int() }), { limit: 1, order: [['id', 'ASC']] });
      return mechanism?.party;
    };
    const found = await find();
    if (found !== undefined) return found;
    const mechanisms = [...(email ? [{ type: 'email', value: email }] : []), ...(order.customer.phone ? [{ type: 'phone', value: order.customer.phone }] : [])];
    try {
      const [party] = await this.write('party.party', 'create', [[{ name: order.customer.name, code, contact_mechanisms: [['create', mechanisms]] }]], z.tuple([z.number().int()]), { retryConflicts: false });
      return party;
    } catch (error) {
      if (!(error instanceof ErpConflictError) && !(error instanceof ErpInDoubtError)) throw error;
      const again = await find();
      if (again !== undefined) return again;
      throw error;
    }
  }

  private async addressFor(party: number, postal: PostalAddress | null): Promise<number> {
    if (postal === null) {
      const [first] = await this.read('party.address', 'search', [[['party', '=', party]], 0, 1, [['sequence', 'ASC'], ['id', 'ASC']]], ids);
      if (first !== undefined) return first;
      await this.write('party.address', 'create', [[{ party }]], ids);
      const [oldest] = await this.read('party.address', 'search', [[['party', '=', party]], 0, 1, [['sequence', 'ASC'], ['id', 'ASC']]], ids);
      return oldest!;
    }
    const street = [postal.company, postal.line1, postal.line2].filter((part): part is string => Boolean(part?.trim())).join('\n');
    const [country] = await this.read('country.country', 'search', [[['code', '=', postal.countryCode.toUpperCase()]], 0, 1, null], ids);
    const values = { street, city: postal.city, postal_code: postal.postalCode, country: country ?? null, party_name: postal.name };
    const [same] = await this.read(
      'party.address',
      'search',
      [[['party', '=', party], ...Object.entries(values).map(([field, value]) => [field, '=', value])], 0, 1, null],
      ids,
    );
    if (same !== undefined) return same;
    await this.write('party.address', 'create', [[{ party, ...values }]], ids);
    // Another process may have made the same address at the same time (no unique key exists for
    // addresses): every process uses the oldest of the equal ones, so their sales agree.
    const [oldest] = await this.read(
      'party.address',
      'search',
      [[['party', '=', party], ...Object.entries(values).map(([field, value]) => [field, '=', value])], 0, 1, [['id', 'ASC']]],
      ids,
    );
    return oldest!;
  }

  // ---------------------------------------------------------------------------------------------
  // Customer returns

  async createCustomerReturn(input: CustomerReturnInput): Promise<CustomerReturnResult> {
    const request = parseCustomerReturnInput(input);
    const sale = await this.findSale(request.salesOrderReference);
    if (!sale) throw new NotFoundError('Sales order', request.salesOrderReference);
    const { tree, locations } = await this.resolveLocations(request.lines.map((l) => l.location));
    const warehouses = new Set(locations.map((l) => tree.warehouseContaining(l.id)?.code));
    if (warehouses.size !== 1 || warehouses.has(undefined)) {
      throw new ErpRejectedError('A Tryton customer return is received at one warehouse: split the return per warehouse', { externalReference: request.externalReference });
    }
    const products = await this.resolveProducts(request.lines.map((l) => l.sku));

    const existing = await this.findCustomerReturn(request.externalReference);
    if (existing) return { supported: true, erpReference: existing.erpReference, created: false };

    const warehouse = tree.warehouseByCode([...warehouses][0]!)!;
    const [warehouseRecord] = await this.read('stock.location', 'read', [[warehouse.id], ['input_location']], z.array(z.object({ input_location: z.number().int().nullable() })));
    const [customerLocation] = await this.read('stock.location', 'search', [[['type', '=', 'customer']], 0, 1, [['id', 'ASC']]], ids);
    const prices = new Map(
      (await this.searchRead('sale.line', [['sale', '=', sale.id]], ['unit_price', 'product.code'], saleLineRecord.pick({ id: true, unit_price: true, 'product.': true }))).map((l) => [
        l['product.']?.code ?? '',
        l.unit_price ?? '0',
      ]),
    );
    let id: number | undefined;
    try {
      [id] = await this.write(
      'stock.shipment.out.return',
      'create',
      [
        [
          {
            customer: sale.party,
            delivery_address: sale.shipment_address,
            warehouse: warehouse.id,
            reference: request.externalReference,
            incoming_moves: [
              [
                'create',
                request.lines.map((line) => {
                  const product = products.get(line.sku)!;
                  return {
                    product: product.id,
                    uom: product.uom,
                    quantity: line.quantity,
                    from_location: customerLocation,
                    to_location: warehouseRecord?.input_location ?? warehouse.pickFrom,
                    unit_price: new TrytonDecimal(prices.get(line.sku) ?? '0'),
                    currency: sale.currency,
                  };
                }),
              ],
            ],
          },
        ],
      ],
      ids,
    );
    } catch (error) {
      if (!(error instanceof ErpInDoubtError)) throw error;
      const committed = await this.findCustomerReturn(request.externalReference).catch(() => null);
      if (!committed) throw error.about('createCustomerReturn', { externalReference: request.externalReference });
      return { supported: true, erpReference: committed.erpReference, created: true };
    }
    const [made] = await this.read('stock.shipment.out.return', 'read', [[id], ['number']], z.array(z.object({ number: z.string().nullable() })));
    return { supported: true, erpReference: made?.number ?? `return:${id}`, created: true };
  }

  async findCustomerReturn(externalReference: string): Promise<{ readonly erpReference: string } | null> {
    const [found] = await this.searchRead('stock.shipment.out.return', [['reference', '=', externalReference]], ['number'], z.object({ id: z.number().int(), number: z.string().nullable() }), {
      limit: 1,
      order: [['id', 'ASC']],
    });
    return found ? { erpReference: found.number ?? `return:${found.id}` } : null;
  }
}

function ourSaleClause(): unknown[] {
  const pattern = `${STOCKBRIDGE_SALE_MARKER}%`;
  // Outgoing moves come from sale lines; inventory moves come from those outgoing moves.
  return ['OR', ['sale.description', 'like', pattern], ['origin.sale.description', 'like', pattern, 'stock.move']];
}

function statusOf(state: string, everythingCancelled: boolean): SalesOrderStatus {
  switch (state) {
    case 'draft':
    case 'quotation':
      return 'draft';
    case 'confirmed':
      return 'confirmed';
    case 'processing':
      return 'processing';
    case 'done':
      return everythingCancelled ? 'cancelled' : 'done';
    case 'cancelled':
      return 'cancelled';
    default:
      return 'processing';
  }
}

/**
 * The Tryton party code of a customer: derived from its natural key so that two processes
 * creating the same new customer collide on Tryton's unique party code instead of making two.
 */
export function partyCodeFor(key: string): string {
  return `SB-${createHash('sha256').update(key).digest('hex').slice(0, 20).toUpperCase()}`;
}

function erpReferenceOf(sale: SaleRecord): string {
  return sale.number ?? `sale:${sale.id}`;
}

/** Quantities are floats in Tryton; sums of them should not show binary noise. */
function roundQuantity(value: number): number {
  return Math.round(value * 1e6) / 1e6;
}

/** Naive server datetime (`YYYY-MM-DDTHH:MM:SS.ffffff`) → microseconds, for the feed arithmetic. */
export function stampOf(iso: string | null): number {
  if (iso === null) return 0;
  const match = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})\.(\d{6})$/.exec(iso);
  if (!match) return 0;
  const [, y, mo, d, h, mi, s, micro] = match.map(Number) as number[];
  return Date.UTC(y!, mo! - 1, d!, h!, mi!, s!) * 1000 + micro!;
}

export function isoFromStamp(value: number): string {
  const clamped = Math.max(0, Math.floor(value));
  const seconds = Math.floor(clamped / 1_000_000);
  const micro = clamped - seconds * 1_000_000;
  return `${new Date(seconds * 1000).toISOString().slice(0, 19)}.${String(micro).padStart(6, '0')}`;
}
