// One unit though long: the ERP port, its types and the guarantee each operation states; a
// connector implements all of it and the contract suite (test/erp/) checks all of it.
/**
 * The ERP port: everything Stockbridge asks of a manufacturer's ERP, in Stockbridge's own terms.
 * One implementation per ERP lives in a folder beside this file (`simulated/`, `tryton/`); the
 * composition root picks one. Every implementation passes `test/erp/erp-connector.contract.ts`.
 * One file: it is one contract, mostly comments, whose types and guarantees are read together.
 *
 * Conventions that hold for every method:
 * - SKU: the ERP's product code, compared exactly (case-sensitive, no trimming).
 * - Location: the ERP's location code (`Location.code`). The figures of a location include its
 *   sub-locations, so a warehouse's figures already contain its storage locations: never add a
 *   location to one of its own ancestors.
 * - Quantities are plain numbers in the product's stock unit of measure in the ERP (Tryton
 *   `default_uom`, Odoo `uom_id`, ERPNext `stock_uom`). They may be fractional; the ATP engine,
 *   not the connector, decides how to round for Shopify's whole units.
 * - Money is a decimal string (`"19.90"`) with an ISO 4217 currency code, never a float.
 * - Dates are `YYYY-MM-DD` strings in the ERP's calendar.
 * - Batch reads take any number of SKUs and split them into pages internally; the number of
 *   round trips to the ERP is a constant per page of SKUs (per location at most), never one per
 *   SKU. `capabilities.maxSkusPerRequest` is that page size.
 * - SKUs the ERP does not know are reported in `unknownSkus` by reads (one deleted product must
 *   not fail a batch), and rejected with `UNKNOWN_SKU` by writes.
 * - Failures are `AppError`s from `./erp-errors.ts`: `ERP_UNAVAILABLE` (down, timed out, after
 *   bounded retries; worth retrying later; for a write: known to have changed nothing),
 *   `ERP_IN_DOUBT` (a write was sent and its answer lost: see "In-doubt writes" below),
 *   `ERP_CONFLICT` (a uniqueness conflict, lock timeout, serialization failure or concurrent
 *   update: nothing applied, retry; never a rejection of the order), `ERP_REJECTED` (the ERP
 *   refused the request on its merits; retrying the same request will not help),
 *   `ERP_INVALID_RESPONSE` (the answer did not parse), `ERP_BUSY` (the gateway's own ERP queue
 *   refused the call: nothing was sent), `UNKNOWN_SKU`, `UNKNOWN_LOCATION`, and `NOT_FOUND` for a
 *   sales order that does not exist. No call hangs: every round trip has a bounded timeout.
 *
 * In-doubt writes (the contract between connectors and the order pipeline):
 * - A write (`createSalesOrder`, `cancelSalesOrder`, `createCustomerReturn`) is never sent again
 *   blind, neither by the connector nor by its call policy, once its request may have left:
 *   retries happen only for reads and for failures known to be before sending (connection
 *   refused) or answered as rolled back (`ERP_CONFLICT`, a busy database).
 * - When the answer of a sent write is lost (client timeout after sending, connection reset,
 *   HTTP 5xx, an answer that does not parse) the method throws `ErpInDoubtError` (`ERP_IN_DOUBT`, not retryable) carrying
 *   `sentAt` and `settlesAt = sentAt + capabilities.inDoubtSettleMs`.
 * - The caller records the write as IN_DOUBT and resolves it by looking the document up again
 *   only after `settlesAt`: `findSalesOrder` for a create (found: it was applied; null: it was
 *   not, and may be sent again), `findSalesOrder(...).status` for a cancel (`cancelled` or not),
 *   `findCustomerReturn` for a return. A look-up before `settlesAt` that finds nothing proves
 *   nothing: the ERP may still commit. A look-up that finds the document is conclusive at once.
 * - Records a write creates on the way (Tryton: the customer's party and address) are found or
 *   created safely under concurrency: serialized per natural key inside the connector, and
 *   looked up again after a uniqueness conflict with another process; a lost answer there is
 *   `ERP_UNAVAILABLE` (the order itself was not sent), never a duplicate customer.
 *
 * Lanes: `forLane('interactive' | 'background')` gives a view of the same connector whose
 * round trips queue in that lane of the connector's one limiter. Background work (the sync, the
 * order pipeline, reservations) keeps its own share of the ERP's capacity and goes first; the
 * interactive lane (GraphQL reads) is bounded and refused fast with `ERP_BUSY` when full. A
 * view's `signal` aborts its calls that are still queued (`ERP_BUSY`, nothing sent) and those in
 * flight (a read: `ERP_UNAVAILABLE`; a sent write: `ERP_IN_DOUBT`). Calls made on the connector
 * itself run in the background lane.
 *
 * How the port's terms map to the ERPs (Tryton 6.0 is implemented; Odoo and ERPNext are the
 * shapes this port was checked against):
 *
 * | port                      | Tryton 6.0                                                                 | Odoo (≥ 15)                                                  | ERPNext (Frappe)                                      |
 * |---------------------------|----------------------------------------------------------------------------|--------------------------------------------------------------|-------------------------------------------------------|
 * | SKU                       | `product.product.code`                                                     | `product.product.default_code`                               | `Item.item_code`                                      |
 * | Location (warehouse)      | `stock.location` type `warehouse`                                           | `stock.warehouse` (its `lot_stock_id` for quantities)        | `Warehouse` (non-group)                               |
 * | Location (storage)        | `stock.location` type `storage`, child of a warehouse                      | `stock.location` usage `internal`                            | child `Warehouse` of a group warehouse                |
 * | onHand                    | `quantity` with context `{locations:[L]}` (one location per call, P9)     | `qty_available` with context `{location: L}`                 | `Bin.actual_qty`                                      |
 * | allocated                 | `quantity − quantity{stock_assign:true}` (assigned outgoing moves)        | `qty_available − free_qty` (`stock.quant.reserved_quantity`) | `Bin.reserved_qty` once a Pick List/DN reserves (v14+ `Stock Reservation Entry`) |
 * | wholesaleCommitted        | draft outgoing moves to customers of sales not made by Stockbridge       | `outgoing_qty` of confirmed orders not made by Stockbridge   | `Bin.reserved_qty` of Sales Orders not made by Stockbridge |
 * | Lot                       | `stock.lot` (`number`, `expiration_date` if `stock_lot_sled`), same contexts | `stock.lot` (`name`, `expiration_date`), `stock.quant.lot_id` | `Batch` (`batch_id`, `expiry_date`)                   |
 * | kit components            | `production.bom` inputs of the product's first BOM, per one output unit   | `mrp.bom` of type `phantom` (kit) lines                      | `Product Bundle` items (or default `BOM`)             |
 * | change feed clock         | `stock.move` `create_date`/`write_date`, `stock.lot` `write_date` (server clock) | `stock.move`/`stock.quant` `write_date` (UTC)                | `Bin.modified` / `Stock Ledger Entry.creation`        |
 * | sales order               | `sale.sale`, `reference` = external reference; create → quote → confirm   | `sale.order`, `client_order_ref`; create → `action_confirm`  | `Sales Order`, `po_no`; insert → submit (docstatus 1) |
 * | allocation of an order    | its customer shipment's moves are `assigned`                              | picking `state = assigned`                                   | Pick List / Stock Reservation Entry                   |
 * | customer return           | `stock.shipment.out.return` (or a return sale)                            | return picking of the delivery                               | Sales Return (Delivery Note with `is_return`)         |
 * | shipment (done)           | `stock.shipment.out` `done`, `reference` = tracking, done outgoing moves with `lot` | `stock.picking` outgoing `done`, `carrier_tracking_ref` (delivery) | `Delivery Note` submitted, `lr_no` (transport receipt) |
 */

/** A place that holds stock in the ERP. */
export interface Location {
  /** The ERP's location code, unique in the ERP: the key every other method uses. */
  readonly code: string;
  readonly name: string;
  /** `warehouse`: a site that ships orders; `storage`: a place inside a warehouse. */
  readonly kind: 'warehouse' | 'storage';
  /** Code of the parent location, or null for a top-level warehouse. */
  readonly parentCode: string | null;
  /** Code of the warehouse this location belongs to (its own code for a warehouse). */
  readonly warehouseCode: string;
}

/** One component of a kit: `quantity` units of `sku` make one unit of the kit. */
export interface KitComponent {
  readonly sku: string;
  readonly quantity: number;
}

export interface Product {
  readonly sku: string;
  readonly name: string;
  /**
   * Whether the ERP keeps stock of this product. False for services and for kits assembled on
   * demand, whose availability the gateway derives from their components.
   */
  readonly stockTracked: boolean;
  /** Non-empty when the ERP defines the product as a kit (a BOM); empty otherwise. */
  readonly components: readonly KitComponent[];
  /**
   * The name of the product's stock unit of measure in the ERP (Tryton `default_uom`, e.g.
   * "Unit", "Kilogram"): the unit its quantities are in. Null when the ERP gives none.
   */
  readonly unit: string | null;
}

/** The ERP's stock terms for one SKU at one location (figures include sub-locations). */
export interface StockLevel {
  readonly sku: string;
  readonly location: string;
  /** Physically in the location, including what is reserved. */
  readonly onHand: number;
  /** Reserved for existing orders (assigned outgoing moves): still on hand, no longer free. */
  readonly allocated: number;
  /**
   * Confirmed demand from other channels (wholesale, EDI, manual sales) that the ERP has not yet
   * allocated. Excludes orders created through `createSalesOrder`: the gateway counts those as
   * pending Shopify orders until they are allocated, and counting them here too would subtract
   * them twice.
   */
  readonly wholesaleCommitted: number;
}

export interface StockSnapshot {
  /** One level per known, requested SKU per requested location, zeros included. */
  readonly levels: readonly StockLevel[];
  /** Requested SKUs the ERP does not know, in request order. */
  readonly unknownSkus: readonly string[];
}

export interface Lot {
  /** The lot (batch) number, unique per SKU. */
  readonly number: string;
  readonly sku: string;
  readonly location: string;
  /**
   * Physically in the location. Reservations that name no lot do not lower it (Tryton reserves
   * products, not lots), so the sum over lots may exceed `onHand − allocated`.
   */
  readonly quantity: number;
  /** `YYYY-MM-DD`, or null when the lot does not expire or the ERP does not track expiry. */
  readonly expiresOn: string | null;
}

export interface Page<T> {
  readonly items: readonly T[];
  /** Pass to the next call to continue; null when this was the last page. */
  readonly nextCursor: string | null;
}

export interface PageRequest {
  /** Null or absent for the first page; otherwise the previous page's `nextCursor`. */
  readonly cursor?: string | null;
  /** Page size; the connector may cap it at `capabilities.maxSkusPerRequest`. */
  readonly limit?: number;
}

/**
 * An opaque position in the ERP's own clock (never the gateway's). Store it as given and pass it
 * back; only the connector that issued it can read it.
 */
export type ErpWatermark = string;

export interface ProductChanges {
  readonly products: readonly Product[];
  readonly nextWatermark: ErpWatermark;
}

export interface StockChanges {
  /** SKUs whose stock terms may have changed since the watermark, each once, sorted. */
  readonly skus: readonly string[];
  readonly nextWatermark: ErpWatermark;
}

export interface PostalAddress {
  readonly name: string | null;
  readonly company: string | null;
  readonly line1: string;
  readonly line2: string | null;
  readonly city: string;
  readonly postalCode: string | null;
  /** ISO 3166-1 alpha-2. */
  readonly countryCode: string;
  /** Province or state code where the country has them. */
  readonly provinceCode: string | null;
  readonly phone: string | null;
}

export interface SalesOrderLineInput {
  readonly sku: string;
  /** Positive, in the product's stock unit. */
  readonly quantity: number;
  /** Code of the location the line ships from (a warehouse, or a storage location inside one). */
  readonly location: string;
  /** Price per unit, tax excluded, as a decimal string in the order's currency. */
  readonly unitPrice: string;
}

export interface SalesOrderInput {
  /**
   * The idempotency key: the Shopify order id (e.g. `gid://shopify/Order/450789469`, or with a
   * `@LOCATION` suffix when the gateway splits an order per location). Stored in the ERP order
   * so the order can be found again by it.
   */
  readonly externalReference: string;
  /** The Shopify order name (`#1001`), shown to people in the ERP. */
  readonly name: string;
  readonly customer: { readonly name: string; readonly email: string | null; readonly phone: string | null };
  readonly shippingAddress: PostalAddress | null;
  /**
   * ISO 4217 code for every price of the order. One currency per order (not per line): no ERP
   * accepts an order whose lines are in different currencies.
   */
  readonly currency: string;
  /** At least one line; a SKU may appear on several lines. */
  readonly lines: readonly SalesOrderLineInput[];
}

/**
 * `draft`: recorded but not confirmed (no effect on stock); `confirmed`: accepted, demand known
 * to the ERP; `processing`: being picked or partly shipped; `done`: shipped; `cancelled`.
 */
export type SalesOrderStatus = 'draft' | 'confirmed' | 'processing' | 'done' | 'cancelled';

export interface SalesOrderLine {
  readonly sku: string;
  readonly location: string;
  readonly quantity: number;
  /** Reserved for this line and still on hand. */
  readonly allocatedQuantity: number;
  /** Already shipped (no longer on hand). */
  readonly shippedQuantity: number;
}

export interface SalesOrder {
  readonly externalReference: string;
  /** The ERP's own number or id for the order, for people and for support. */
  readonly erpReference: string;
  readonly status: SalesOrderStatus;
  /**
   * True when the ERP accounts for every line in its stock: each line is allocated or shipped in
   * full. From then on the order is in `allocated` (or gone from `onHand`), no longer pending.
   */
  readonly allocated: boolean;
  readonly lines: readonly SalesOrderLine[];
}

export interface CreateSalesOrderResult {
  readonly externalReference: string;
  readonly erpReference: string;
  readonly status: SalesOrderStatus;
  /** False when an order with this external reference already existed and was returned as is. */
  readonly created: boolean;
}

/** One order's outcome in `createSalesOrders`: its result, or the error `createSalesOrder` would have thrown. */
export type SalesOrderOutcome = { readonly ok: true; readonly result: CreateSalesOrderResult } | { readonly ok: false; readonly error: unknown };

export interface CancelSalesOrderResult {
  readonly externalReference: string;
  readonly erpReference: string;
  readonly status: 'cancelled';
  /** False when the order was already cancelled. */
  readonly cancelled: boolean;
}

export interface CustomerReturnInput {
  /** Idempotency key of the return, e.g. the Shopify refund or return id. */
  readonly externalReference: string;
  /** The external reference of the sales order the goods were sold on. */
  readonly salesOrderReference: string;
  /** Goods coming back to stock, by SKU and receiving location. */
  readonly lines: readonly { readonly sku: string; readonly quantity: number; readonly location: string }[];
}

export type CustomerReturnResult =
  | { readonly supported: true; readonly erpReference: string; readonly created: boolean }
  | { readonly supported: false };

/**
 * Goods that left a warehouse for a customer against one sales order: a Tryton customer shipment
 * in state `done`. One sales order may ship in several shipments (partial shipments); each is
 * reported once per change of its content, so consumers key their writes by `id`.
 */
export interface Shipment {
  /** The shipment's id in the ERP, stable (e.g. Tryton's `stock.shipment.out` id). */
  readonly id: string;
  /** The ERP's own reference of the shipment (e.g. `CS000123`). */
  readonly erpReference: string;
  /** The sales order's external reference (the one given to `createSalesOrder`). */
  readonly salesOrderReference: string;
  /** When the ERP marked it shipped (ISO-8601). */
  readonly shippedAt: string;
  readonly carrier: string | null;
  readonly trackingNumber: string | null;
  readonly trackingUrl: string | null;
  /** What left, per SKU and location, with the lot the ERP took when it records one. */
  readonly lines: ReadonlyArray<{
    readonly sku: string;
    readonly quantity: number;
    readonly location: string;
    readonly lotNumber: string | null;
  }>;
}

export interface ShipmentChanges {
  /** Shipments done (or changed after done) since the watermark, oldest first, each once. */
  readonly shipments: readonly Shipment[];
  readonly nextWatermark: ErpWatermark;
}

export interface ErpCapabilities {
  /** Lots are read (`getLotsBySkus` returns them); false means it always answers `[]`. */
  readonly lots: boolean;
  /** Lots carry an expiry date (`Lot.expiresOn`); false means it is always null. */
  readonly lotExpiry: boolean;
  /** `getShipmentsChangedSince` reports customer shipments; false means it always answers none. */
  readonly shipments: boolean;
  /** Kit components are read from the ERP's BOMs. */
  readonly kits: boolean;
  /** `createCustomerReturn` records returns; false means it answers `{ supported: false }`. */
  readonly customerReturns: boolean;
  /**
   * One sales order may have lines at several warehouses. When false, `createSalesOrder` rejects
   * such an order with `ERP_REJECTED`, and the gateway splits it per warehouse.
   */
  readonly ordersSpanWarehouses: boolean;
  /** The connector's page size for batch reads (SKUs per round trip). */
  readonly maxSkusPerRequest: number;
  /**
   * How long after an in-doubt write was sent a look-up becomes conclusive: longer than the
   * longest time the ERP may still be working on (and then commit) a request whose client gave
   * up, i.e. its own request or transaction timeout. See "In-doubt writes" above.
   */
  readonly inDoubtSettleMs: number;
  /**
   * How many orders the order pipeline may keep in this ERP's queue at once (its ERP slots): many
   * for an ERP that answers in a millisecond, few for one whose sale takes seconds (a sale queued
   * behind too many others outlasts its wait). Absent: 4.
   */
  readonly ordersInFlight?: number;
}

/** Which share of the ERP's capacity a call uses (see "Lanes" above). */
export type ErpLane = 'interactive' | 'background';

export interface ErpLaneOptions {
  /**
   * Aborts the view's calls: those still queued fail with `ERP_BUSY` (nothing was sent), those in
   * flight as their kind dictates (reads `ERP_UNAVAILABLE`, sent writes `ERP_IN_DOUBT`). The
   * order pipeline passes its lease's signal, so time queued for the ERP counts against it.
   */
  readonly signal?: AbortSignal;
}

export interface ErpStatus {
  /** What the ERP says it is, e.g. `tryton 6.0.29` or `simulated`. */
  readonly version: string;
}

/**
 * Guarantee: every method either returns data the ERP itself stated (parsed and checked, in the
 * port's terms above) or throws a typed `AppError`; batch reads cost a constant number of round
 * trips per page of SKUs; writes are idempotent by their external reference, and a write that
 * fails validation (`UNKNOWN_SKU`, `UNKNOWN_LOCATION`, `ERP_REJECTED` before anything is sent)
 * leaves nothing behind in the ERP; a write whose answer was lost is reported `ERP_IN_DOUBT`,
 * never sent again blind.
 */
export interface ErpConnector {
  readonly capabilities: ErpCapabilities;

  /**
   * A view of this connector (same session, same limiter) whose calls queue in `lane`, and are
   * bounded by `options.signal` when given. Cheap: make one per job or per claimed order.
   */
  forLane(lane: ErpLane, options?: ErpLaneOptions): ErpConnector;

  /** Logs in if needed and asks the ERP who it is; throws `ERP_UNAVAILABLE` when it cannot. */
  checkConnection(): Promise<ErpStatus>;

  /** Every warehouse and storage location the gateway may map, parents before children. */
  listLocations(): Promise<readonly Location[]>;

  /** All products (active, with a SKU) in SKU order, one page at a time. */
  listProducts(page?: PageRequest): Promise<Page<Product>>;

  /** The products with these SKUs, in request order, and the SKUs the ERP does not know. */
  getProductsBySkus(skus: readonly string[]): Promise<{ readonly products: readonly Product[]; readonly unknownSkus: readonly string[] }>;

  /**
   * Products created or changed since the watermark (name, tracking, kit components). With a
   * null watermark it returns no products and the current watermark: start a feed with a full
   * `listProducts`, then follow it from that watermark. A product may be reported again in a
   * later call (the overlap window); it is never missed.
   */
  getProductsChangedSince(watermark: ErpWatermark | null): Promise<ProductChanges>;

  /**
   * Stock terms for these SKUs at these locations (default: every warehouse from
   * `listLocations`). Unknown SKUs are listed, not thrown; an unknown location code throws
   * `UNKNOWN_LOCATION`.
   */
  getStockBySkus(skus: readonly string[], locationCodes?: readonly string[]): Promise<StockSnapshot>;

  /**
   * Lots with a non-zero quantity for these SKUs at these locations (default: every warehouse),
   * ordered by SKU, location, then expiry (soonest first, non-expiring last) and number.
   */
  getLotsBySkus(skus: readonly string[], locationCodes?: readonly string[]): Promise<readonly Lot[]>;

  /**
   * The change feed: SKUs whose stock terms or lots (quantities, an expiry date corrected) may
   * have changed since the watermark, read from the ERP's own clock. The connector re-reads an overlap window before the watermark so that a
   * transaction that commits late with an older timestamp is not missed, and it remembers what it
   * already reported in that window, so a change is reported once (a SKU changed again is
   * reported again). With a null watermark it returns no SKUs and the current watermark.
   * Changes that leave no trace in the ERP (a deleted draft move) are not reported: that is what
   * `listAllStock` is for.
   */
  getStockChangesSince(watermark: ErpWatermark | null): Promise<StockChanges>;

  /**
   * Full listing for reconciliation: stock terms of every stock-tracked product at these
   * locations (default: every warehouse), in SKU order, one page of SKUs at a time; a page holds
   * every requested location of each of its SKUs.
   */
  listAllStock(page?: PageRequest & { readonly locationCodes?: readonly string[] }): Promise<Page<StockLevel>>;

  /**
   * Creates and confirms a sales order, or returns the one that already has this external
   * reference (whatever its status) with `created: false`, without changing it. Validates every
   * SKU and location before writing: `UNKNOWN_SKU` (details.skus lists all of them) or
   * `UNKNOWN_LOCATION` leave no trace in the ERP. Idempotent for retries one after another;
   * callers serialise concurrent calls for the same reference (the order pipeline holds a claim).
   * Confirmation makes the demand known to the ERP; allocation happens when the ERP assigns
   * stock (for Tryton: when the shipment is assigned), which `findSalesOrder` reports.
   * `ERP_IN_DOUBT` when the create's answer was lost: resolve with `findSalesOrder` after
   * `settlesAt`. The customer is found (by e-mail, else by name) or created once, whatever runs
   * at the same time; `ERP_CONFLICT` from the ERP is retried or resolved inside, never thrown as
   * `ERP_REJECTED`.
   */
  createSalesOrder(order: SalesOrderInput): Promise<CreateSalesOrderResult>;

  /**
   * Optional capability: several orders in as few round trips as the ERP allows (the order
   * pipeline sends the orders it has in hand together when a connector has it; one at a time
   * otherwise). Each order is exactly what `createSalesOrder` would make of it, and its outcome is
   * its own, in input order: one refused order (`UNKNOWN_SKU`, `ERP_REJECTED`) leaves the others
   * made. A failure before anything was sent fails every order with it; a lost answer makes the
   * orders not found again by their reference `ERP_IN_DOUBT` (resolved one by one as today).
   * Callers never put the same external reference twice in one call.
   */
  createSalesOrders?(orders: readonly SalesOrderInput[]): Promise<ReadonlyArray<SalesOrderOutcome>>;

  /**
   * Cancels the order with this external reference and frees its allocations. Cancelling a
   * cancelled order succeeds with `cancelled: false`. Throws `NOT_FOUND` when there is no such
   * order, and `ERP_REJECTED` when the ERP refuses (e.g. already shipped). `ERP_IN_DOUBT` when
   * a cancelling write's answer was lost: after `settlesAt`, `findSalesOrder(...).status` says
   * whether it is cancelled (if not, cancelling again is safe). `NOT_FOUND` for an order whose
   * create is itself in doubt proves nothing before that create has settled.
   */
  cancelSalesOrder(externalReference: string): Promise<CancelSalesOrderResult>;

  /** The order with this external reference and its allocation state, or null. */
  findSalesOrder(externalReference: string): Promise<SalesOrder | null>;

  /**
   * `findSalesOrder` for many references in a constant number of round trips, whatever their
   * number: the orders the ERP has, by external reference (a reference it does not know is
   * absent). For the allocation check, which reads every submitted order that is not yet held.
   */
  findSalesOrders(externalReferences: readonly string[]): Promise<ReadonlyMap<string, SalesOrder>>;

  /**
   * Records goods returned by a customer against a sales order, idempotently by the return's
   * external reference. `{ supported: false }` when the connector cannot (see capabilities).
   * `ERP_IN_DOUBT` when the create's answer was lost: resolve with `findCustomerReturn` after
   * `settlesAt`.
   */
  createCustomerReturn(input: CustomerReturnInput): Promise<CustomerReturnResult>;

  /**
   * The customer return recorded with this external reference, or null (always null when the
   * connector does not support returns).
   */
  findCustomerReturn(externalReference: string): Promise<{ readonly erpReference: string } | null>;

  /**
   * Customer shipments done since the watermark (null: from now on, with no history), for sales
   * orders this gateway created. The same guarantee as the stock feed: a shipment committed late
   * is not missed, and each is reported once per change (see src/erp/erp-change-feed.ts).
   */
  getShipmentsChangedSince(watermark: ErpWatermark | null): Promise<ShipmentChanges>;
}
