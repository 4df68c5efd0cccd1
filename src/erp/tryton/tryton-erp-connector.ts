import type { Logger } from '../../logger.js';
import { createErpCallPolicy, type ErpCallPolicyOptions } from '../erp-call-policy.js';
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
  ShipmentChanges,
  StockChanges,
  StockLevel,
  StockSnapshot,
} from '../erp-connector.js';
import { createLaneView } from '../erp-lanes.js';
import { TrytonCalls } from './tryton-calls.js';
import { TrytonCustomers } from './tryton-customers.js';
import { TrytonRecords } from './tryton-records.js';
import { TrytonReturns } from './tryton-returns.js';
import { TrytonRpcClient } from './tryton-rpc-client.js';
import { TrytonSales } from './tryton-sales.js';
import { TrytonShipments } from './tryton-shipments.js';
import { TrytonStock } from './tryton-stock.js';

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
  /** How far back the stock change feed reads before the watermark (late commits, P8); default 300 s. */
  readonly overlapSeconds?: number;
  /**
   * How far back a look of the stock feed reads between reads of the whole overlap window
   * (default 30 s), and how often each chain of watermarks reads the whole window (default 60 s).
   */
  readonly stockFeed?: { readonly recentOverlapSeconds?: number; readonly wholeWindowEverySeconds?: number };
  /** How long the location tree is trusted before it is read again. */
  readonly locationCacheSeconds?: number;
}

/** trytond computes quantities for 1,000 products in ~0.2 s; bigger pages gain little (bench/erp-stock.bench.ts). */
const DEFAULT_MAX_SKUS = 1_000;

/**
 * `ErpConnector` over Tryton 6.0's JSON-RPC. See `src/erp/erp-connector.ts` for the guarantees.
 * This class is the facade: it owns the session, the call policy and the capabilities, and
 * hands each port method to the unit of its aggregate, where the mapping of Tryton's notions to
 * the port's terms is written down:
 *
 * - `tryton-records.ts`: locations (warehouses and the coded storage locations of their storage
 *   zones) and products (`product.product.code` = SKU, kits from BOMs, product feed);
 * - `tryton-stock.ts`: onHand, allocated, wholesaleCommitted, lots, the stock change feed;
 * - `tryton-sales.ts` and `tryton-customers.ts`: sales orders and their customers;
 * - `tryton-returns.ts`: customer returns;
 * - `tryton-shipments.ts`: the feed of customer shipments done (tracking, lines, lots);
 * - `tryton-calls.ts`: what they share (round trips, the location tree, the ERP's clock).
 */
export class TrytonErpConnector implements ErpConnector {
  readonly capabilities: ErpCapabilities;
  private readonly client: TrytonRpcClient;
  private readonly calls: TrytonCalls;
  private readonly records: TrytonRecords;
  private readonly stock: TrytonStock;
  private readonly sales: TrytonSales;
  private readonly returns: TrytonReturns;
  private readonly shipments: TrytonShipments;

  constructor(options: TrytonErpConnectorOptions) {
    const timeoutMs = options.timeoutMs ?? 20_000;
    const logger = options.logger.child({ erp: 'tryton' });
    this.client = new TrytonRpcClient({ ...options, timeoutMs, logger: options.logger });
    const inDoubtSettleMs = options.inDoubtSettleMs ?? 120_000;
    // One attempt may include a login (login + preferences + the call itself).
    const policy = createErpCallPolicy({ erp: 'tryton', maxConcurrent: 2, timeoutMs: timeoutMs * 3 + 1_000, ...options.policy, inDoubtSettleMs, logger });
    this.capabilities = {
      lots: true,
      // Expiry dates come from module stock_lot_sled (scripts/tryton.sh activates it); on a
      // Tryton without it `stock.lot` has no expiry field and every `expiresOn` is null.
      lotExpiry: true,
      shipments: true,
      kits: true,
      customerReturns: true,
      ordersSpanWarehouses: false,
      maxSkusPerRequest: options.maxSkusPerRequest ?? DEFAULT_MAX_SKUS,
      inDoubtSettleMs,
    };
    this.calls = new TrytonCalls({
      client: this.client,
      policy,
      logger,
      locationTtlMs: (options.locationCacheSeconds ?? 600) * 1000,
      maxSkusPerRequest: this.capabilities.maxSkusPerRequest,
      overlap: (options.overlapSeconds ?? 300) * 1_000_000,
    });
    this.records = new TrytonRecords(this.calls);
    this.stock = new TrytonStock(this.calls, {
      recentOverlap: (options.stockFeed?.recentOverlapSeconds ?? 30) * 1_000_000,
      wholeWindowEveryMs: (options.stockFeed?.wholeWindowEverySeconds ?? 60) * 1000,
    });
    this.sales = new TrytonSales(this.calls, this.records, new TrytonCustomers(this.calls));
    this.returns = new TrytonReturns(this.calls, this.records, this.sales);
    this.shipments = new TrytonShipments(this.calls);
  }

  /** Round trips made to Tryton so far (for benchmarks and batching tests). */
  get roundTrips(): number {
    return this.client.roundTrips;
  }

  /** Waits for calls in flight and refuses new ones. */
  async close(): Promise<void> {
    await this.calls.policy.stop();
  }

  forLane(lane: ErpLane, options?: ErpLaneOptions): ErpConnector {
    return createLaneView(this, lane, options);
  }

  /** Slots in use and calls waiting per lane. */
  laneStats() {
    return this.calls.policy.stats();
  }

  async checkConnection(): Promise<ErpStatus> {
    const version = await this.calls.policy.run('common.server.version', (signal) => this.client.serverVersion(signal));
    // A version alone does not prove the credentials: log in too.
    await this.calls.policy.run('common.db.login', () => this.client.context());
    return { version: `tryton ${version}` };
  }

  listLocations(): Promise<readonly Location[]> {
    return this.records.listLocations();
  }

  listProducts(page?: PageRequest): Promise<Page<Product>> {
    return this.records.listProducts(page);
  }

  getProductsBySkus(skus: readonly string[]): Promise<{ readonly products: readonly Product[]; readonly unknownSkus: readonly string[] }> {
    return this.records.getProductsBySkus(skus);
  }

  getProductsChangedSince(watermark: ErpWatermark | null): Promise<ProductChanges> {
    return this.records.getProductsChangedSince(watermark);
  }

  getStockBySkus(skus: readonly string[], locationCodes?: readonly string[]): Promise<StockSnapshot> {
    return this.stock.getStockBySkus(skus, locationCodes);
  }

  getLotsBySkus(skus: readonly string[], locationCodes?: readonly string[]): Promise<readonly Lot[]> {
    return this.stock.getLotsBySkus(skus, locationCodes);
  }

  getStockChangesSince(watermark: ErpWatermark | null): Promise<StockChanges> {
    return this.stock.getStockChangesSince(watermark);
  }

  listAllStock(page?: PageRequest & { readonly locationCodes?: readonly string[] }): Promise<Page<StockLevel>> {
    return this.stock.listAllStock(page);
  }

  createSalesOrder(order: SalesOrderInput): Promise<CreateSalesOrderResult> {
    return this.sales.createSalesOrder(order);
  }

  cancelSalesOrder(externalReference: string): Promise<CancelSalesOrderResult> {
    return this.sales.cancelSalesOrder(externalReference);
  }

  findSalesOrder(externalReference: string): Promise<SalesOrder | null> {
    return this.sales.findSalesOrder(externalReference);
  }

  findSalesOrders(externalReferences: readonly string[]): Promise<ReadonlyMap<string, SalesOrder>> {
    return this.sales.findSalesOrders(externalReferences);
  }

  createCustomerReturn(input: CustomerReturnInput): Promise<CustomerReturnResult> {
    return this.returns.createCustomerReturn(input);
  }

  findCustomerReturn(externalReference: string): Promise<{ readonly erpReference: string } | null> {
    return this.returns.findCustomerReturn(externalReference);
  }

  getShipmentsChangedSince(watermark: ErpWatermark | null): Promise<ShipmentChanges> {
    return this.shipments.getShipmentsChangedSince(watermark);
  }
}
