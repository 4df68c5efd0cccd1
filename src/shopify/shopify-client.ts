/**
 * The gateway's port to a Shopify store, in the gateway's own terms. Every id is Shopify's global
 * id as a plain string (`gid://shopify/InventoryItem/123`); no generated Admin API type appears
 * here. The implementation (`admin-api-shopify-client.ts`) owns rate limiting, retries and
 * idempotency keys, so callers never sleep, retry or split batches themselves.
 *
 * Failures that are not an expected outcome (the store unreachable after bounded retries, a
 * revoked token, a query Shopify refuses) are thrown as `AppError` with a stable code from
 * `shopify.errors.ts` (`ShopifyError`).
 */

/** `gid://shopify/Location/…` */
export type LocationId = string;
/** `gid://shopify/InventoryItem/…` */
export type InventoryItemId = string;
/** `gid://shopify/ProductVariant/…` */
export type VariantId = string;
/** `gid://shopify/Order/…` */
export type OrderId = string;

/** One page of a listing; `nextCursor` is null on the last page. */
export interface Page<T> {
  items: T[];
  nextCursor: string | null;
}

export interface PageRequest {
  /** Cursor from the previous page's `nextCursor`; absent or null for the first page. */
  after?: string | null;
  /** Page size wish; the client may return fewer per page to stay within Shopify's cost limit. */
  first?: number;
}

export interface ShopifyLocation {
  id: LocationId;
  name: string;
  isActive: boolean;
  fulfillsOnlineOrders: boolean;
}

export interface ShopifyVariant {
  variantId: VariantId;
  /** Exactly as stored in Shopify (may differ in case from the SKU searched for); null when unset. */
  sku: string | null;
  productId: string;
  productTitle: string;
  variantTitle: string;
  inventoryItemId: InventoryItemId;
  /** Whether Shopify tracks inventory for the item; untracked items cannot be set. */
  tracked: boolean;
}

export interface InventoryItemLocation {
  inventoryItemId: InventoryItemId;
  locationId: LocationId;
}

/** Shopify's named quantities of one item at one location. */
export interface InventoryLevelQuantities extends InventoryItemLocation {
  available: number;
  onHand: number;
  committed: number;
  /** When Shopify last changed this level (ISO 8601), if it says. */
  updatedAt: string | null;
}

/** `exportInventoryLevels`: what the caller needs between Shopify's end of the export and the download. */
export interface ExportInventoryLevelsOptions {
  /** Awaited before the result is fetched (a reconcile still refreshing the ERP); a rejection ends the export with it. */
  readonly beforeDownload?: () => Promise<void>;
}

export interface SetAvailableQuantity extends InventoryItemLocation {
  /** The new absolute `available` quantity. */
  quantity: number;
  /**
   * The `available` value the caller last read from Shopify (compare-and-set); Shopify refuses
   * the write with `CHANGE_FROM_QUANTITY_STALE` when it differs. `null` skips the check: only
   * for a caller that is the sole source of truth.
   */
  changeFromQuantity: number | null;
}

/** One relative change of `available` (`adjustAvailableQuantities`). */
export interface AdjustAvailableQuantity extends InventoryItemLocation {
  /** Negative takes units out of what Shopify offers; positive gives them back. Never 0. */
  delta: number;
}

export interface AdjustAvailableOptions {
  /**
   * The `@idempotent` key, derived by the caller from what it decided: the same key sent again
   * (a retry after a lost answer) replays the first call instead of applying it twice.
   */
  idempotencyKey: string;
  /** Shopify adjustment reason, e.g. `reservation_created`. */
  reason: string;
  /** e.g. `gid://stockbridge/Reservation/<id>`; shown in Shopify's inventory history. */
  referenceDocumentUri: string;
}

/** One change as Shopify applied it: `quantityAfterChange` is `available` right after it (may be negative). */
export interface AdjustedAvailable extends AdjustAvailableQuantity {
  quantityAfterChange: number;
}

export interface SetAvailableQuantitiesOptions {
  /**
   * Stable id of the caller's batch (e.g. the sync run id). Idempotency keys are derived from it,
   * the chunk index and the chunk contents: re-running the same batch after a crash never applies
   * a write twice, and a changed batch gets new keys.
   */
  batchId: string;
  /** Shopify adjustment reason, e.g. `correction`. */
  reason: string;
  /** e.g. `gid://stockbridge/SyncRun/<id>`; shown in Shopify's inventory history. */
  referenceDocumentUri: string;
  /**
   * What to do with items whose `changeFromQuantity` was stale. Absent: report them as `stale`
   * with the fresh value and let the caller decide. Present: the client re-reads the fresh
   * `available`, calls this to recompute the target (return null to leave the item alone) and
   * retries once with the fresh value as `changeFromQuantity`; an item still stale after that
   * retry is reported as `stale`.
   */
  recomputeOnStale?: (item: SetAvailableQuantity, freshAvailable: number) => number | null;
}

/**
 * What happened to one requested quantity. Every requested item gets exactly one outcome, in
 * request order.
 * - `applied`: Shopify's `available` now equals `quantity`.
 * - `stale`: not written because Shopify's value differed from `changeFromQuantity` (after the
 *   optional retry); `currentAvailable` is the fresh value re-read from Shopify (null if the
 *   level no longer exists).
 * - `skipped`: `recomputeOnStale` returned null for the item; `currentAvailable` is the fresh value.
 * - `failed`: Shopify refused the item; `code` is Shopify's user-error code (e.g.
 *   `INVALID_INVENTORY_ITEM`, `NON_MUTABLE_INVENTORY_ITEM`) or ours (`SHOPIFY_UNAVAILABLE`).
 */
export type SetQuantityOutcome =
  | (InventoryItemLocation & { status: 'applied'; quantity: number })
  | (InventoryItemLocation & { status: 'stale'; quantity: number; changeFromQuantity: number | null; currentAvailable: number | null })
  | (InventoryItemLocation & { status: 'skipped'; quantity: number; currentAvailable: number | null })
  | (InventoryItemLocation & { status: 'failed'; quantity: number; code: string; message: string });

export interface ShopifyOrderLine {
  id: string;
  sku: string | null;
  variantId: VariantId | null;
  title: string;
  /** Quantity originally ordered. */
  quantity: number;
  /** Quantity after removals and refunds. */
  currentQuantity: number;
}

/** An order as a listing reads it: what the poll needs to tell a known order from a missed one. */
export interface ShopifyOrderSummary {
  id: OrderId;
  /** The numeric REST id, as in webhook payloads. */
  legacyId: string;
  name: string;
  createdAt: string;
  updatedAt: string;
  cancelledAt: string | null;
  cancelReason: string | null;
  /** e.g. `PAID`, `PENDING`, `REFUNDED` (GraphQL `OrderDisplayFinancialStatus`). */
  financialStatus: string | null;
  /** e.g. `UNFULFILLED`, `FULFILLED` (GraphQL `OrderDisplayFulfillmentStatus`). */
  fulfillmentStatus: string;
  test: boolean;
}

export interface ShopifyOrder extends ShopifyOrderSummary {
  lineItems: ShopifyOrderLine[];
}

/** An order line as `findOrder` reads it: with its price. */
export interface ShopifyOrderDetailLine extends ShopifyOrderLine {
  /** Price of one unit after all discounts, in the shop's currency (decimal string). */
  unitPrice: string;
}

/** A postal address as an order carries it (any field may be null: protected customer data). */
export interface ShopifyOrderAddress {
  name: string | null;
  company: string | null;
  address1: string | null;
  address2: string | null;
  city: string | null;
  zip: string | null;
  provinceCode: string | null;
  /** ISO 3166-1 alpha-2. */
  countryCode: string | null;
  phone: string | null;
}

/** An order as `findOrder` reads it: what an ERP sales order is made from. */
export interface ShopifyOrderDetails extends ShopifyOrder {
  /** The shop's currency, in which the lines' `unitPrice` is given. */
  currencyCode: string;
  email: string | null;
  customer: { displayName: string; email: string | null } | null;
  shippingAddress: ShopifyOrderAddress | null;
  /** `gid://shopify/Location/…` the order was placed at (POS; REST `location_id`); null for online orders. */
  locationId: LocationId | null;
  lineItems: ShopifyOrderDetailLine[];
}

export interface WebhookSubscription {
  id: string;
  /** GraphQL enum form, e.g. `ORDERS_CREATE`. */
  topic: string;
  uri: string;
  name: string | null;
  includeFields: string[];
}

export interface CreateWebhookSubscription {
  topic: string;
  uri: string;
  name?: string;
  includeFields?: string[];
}

export interface VariantMetafield {
  variantId: VariantId;
  namespace: string;
  key: string;
  /** Shopify metafield type, e.g. `json`, `single_line_text_field`. */
  type: string;
  value: string;
  /** Shopify's digest of the value as read (the guard `compareDigest` of a later write); absent when not read. */
  compareDigest?: string | null;
}

/**
 * One metafield to write under a guard: `compareDigest` is the digest last read or written (the
 * write is refused as `stale` when the metafield changed since); null writes unguarded (a
 * metafield Stockbridge never wrote).
 */
export interface GuardedVariantMetafield extends VariantMetafield {
  compareDigest: string | null;
}

/**
 * What happened to one guarded metafield write, in request order.
 * - `applied`: written; `compareDigest` is Shopify's digest of the new value (null if it did not say).
 * - `stale`: not written, the metafield changed since `compareDigest` (Shopify's `STALE_OBJECT`).
 * - `failed`: refused with Shopify's code (e.g. `INVALID` for a deleted variant).
 */
export type MetafieldWriteOutcome =
  | { status: 'applied'; variantId: VariantId; compareDigest: string | null }
  | { status: 'stale'; variantId: VariantId }
  | { status: 'failed'; variantId: VariantId; code: string; message: string };

/** A metafield definition: the type and the name and description merchants see in the admin. */
export interface VariantMetafieldDefinition {
  namespace: string;
  key: string;
  type: string;
  name: string;
  description: string;
}

/** One line of a fulfilment order: units of one order line to ship from the order's location. */
export interface ShopifyFulfillmentOrderLine {
  /** `gid://shopify/FulfillmentOrderLineItem/…` */
  id: string;
  /** The order line (`gid://shopify/LineItem/…`) these units belong to. */
  lineItemId: string;
  sku: string | null;
  inventoryItemId: InventoryItemId | null;
  totalQuantity: number;
  /** Units not yet fulfilled (nor cancelled): what a fulfilment may still ship. */
  remainingQuantity: number;
}

/** Shopify's plan of what ships from where: one per order and assigned location. */
export interface ShopifyFulfillmentOrder {
  /** `gid://shopify/FulfillmentOrder/…` */
  id: string;
  /** `OPEN`, `IN_PROGRESS`, `SCHEDULED`, `ON_HOLD`, `INCOMPLETE`, `CLOSED`, `CANCELLED`. */
  status: string;
  /** The location it ships from; null when Shopify does not say (a deleted location). */
  locationId: LocationId | null;
  lineItems: ShopifyFulfillmentOrderLine[];
}

/** A fulfilment already made on the order (by anyone: the merchant, an app, Stockbridge). */
export interface ShopifyFulfillment {
  /** `gid://shopify/Fulfillment/…` */
  id: string;
  /** e.g. `SUCCESS`, `CANCELLED`. */
  status: string;
  createdAt: string;
  tracking: { number: string | null; company: string | null; url: string | null }[];
  /** Units shipped per order line. */
  lines: { lineItemId: string; quantity: number }[];
}

/** What `getOrderFulfilments` reads of an order. */
export interface ShopifyOrderFulfilments {
  orderId: OrderId;
  cancelledAt: string | null;
  fulfillmentOrders: ShopifyFulfillmentOrder[];
  fulfillments: ShopifyFulfillment[];
}

export interface CreateFulfillmentInput {
  /** Units per fulfilment order line; every fulfilment order must be of one order and one location. */
  lines: { fulfillmentOrderId: string; fulfillmentOrderLineItemId: string; quantity: number }[];
  tracking: { number: string | null; company: string | null; url: string | null } | null;
  notifyCustomer: boolean;
}

/** A variant's live Shopify fields (`readLiveNodes`). */
export interface ShopifyLiveVariant {
  kind: 'variant';
  id: VariantId;
  title: string;
  /** Decimal string in the shop's currency. */
  price: string;
  /** `DENY` or `CONTINUE` (sell when out of stock). */
  inventoryPolicy: string;
  tracked: boolean;
  productId: string;
  productTitle: string;
  /** `ACTIVE`, `ARCHIVED`, `DRAFT` or `UNLISTED`. */
  productStatus: string;
}

/** An order's live Shopify state (`readLiveNodes`). */
export interface ShopifyLiveOrder {
  kind: 'order';
  id: OrderId;
  /** Shopify's `OrderDisplayFinancialStatus` (e.g. `PAID`); null when Shopify has none. */
  financialStatus: string | null;
  /** Shopify's `OrderDisplayFulfillmentStatus` (e.g. `UNFULFILLED`). */
  fulfillmentStatus: string;
  cancelledAt: string | null;
}

export type ShopifyLiveNode = ShopifyLiveVariant | ShopifyLiveOrder;

/** What `readLiveNodes` read, and what Shopify charged for it over every call it took. */
export interface ShopifyLiveNodes {
  /** The ids Shopify knows as a variant or an order; the others are absent. */
  nodes: ShopifyLiveNode[];
  calls: number;
  /** Sum of Shopify's `requestedQueryCost` (null parts, when Shopify did not say, count as 0). */
  requestedQueryCost: number;
  actualQueryCost: number;
}

/** What the client has learned about the shop's rate limit from responses (null before the first). */
export interface ShopifyRateLimit {
  bucketSize: number;
  restoreRatePerSecond: number;
  currentlyAvailable: number;
}

export interface ShopifyClient {
  /** All locations of the shop, active ones and (with `includeInactive`) inactive ones; pages internally. */
  listLocations(options?: { includeInactive?: boolean }): Promise<ShopifyLocation[]>;

  /**
   * Every variant whose SKU equals one of `skus` ignoring case (duplicates in Shopify give several
   * variants for one SKU); SKUs with no variant are simply absent. Many SKUs go in one request.
   */
  findVariantsBySkus(skus: readonly string[]): Promise<ShopifyVariant[]>;

  /** One page of all variants with their inventory item ids, in a stable order, for mapping a whole catalogue. */
  listVariants(page?: PageRequest): Promise<Page<ShopifyVariant>>;

  /**
   * The named quantities of each requested item×location pair, read in as few requests as the
   * cost limit allows; a pair with no inventory level (or an unknown item) is absent from the result.
   */
  getInventoryLevels(pairs: readonly InventoryItemLocation[]): Promise<InventoryLevelQuantities[]>;

  /** One page of every inventory level at a location, for a full reconcile. */
  listInventoryLevelsAtLocation(locationId: LocationId, page?: PageRequest): Promise<Page<InventoryLevelQuantities>>;

  /**
   * Sets Shopify's `available` for each item (compare-and-set on `changeFromQuantity`), at most 250
   * per Shopify call, each call idempotent; one refused item never blocks the others. Returns one
   * outcome per requested item, in order. Duplicate item×location pairs in `items` are refused.
   */
  setAvailableQuantities(items: readonly SetAvailableQuantity[], options: SetAvailableQuantitiesOptions): Promise<SetQuantityOutcome[]>;

  /**
   * Adds each delta to Shopify's `available` in ONE call (at most 250 changes; no compare-and-set),
   * under the caller's idempotency key, and returns each change with Shopify's value after it.
   * Shopify applies the call all or none: a refusal throws `SHOPIFY_USER_ERROR` (nothing changed);
   * the store unreachable after the client's retries throws `SHOPIFY_UNAVAILABLE` (the change may
   * or may not have landed; the same key sent again replays it).
   */
  adjustAvailableQuantities(changes: readonly AdjustAvailableQuantity[], options: AdjustAvailableOptions): Promise<AdjustedAvailable[]>;

  /**
   * Every inventory level at every active location, from one Shopify bulk export (about 10 cost
   * points whatever the catalogue size), streamed as the result file is read: the full-reconcile read.
   * Levels come location by location (each location's line before its levels); the download waits
   * for `beforeDownload` once Shopify has finished the export.
   */
  exportInventoryLevels(options?: ExportInventoryLevelsOptions): AsyncIterable<InventoryLevelQuantities>;

  /** Every variant with its inventory item, from one bulk export, streamed: mapping a whole catalogue. */
  exportVariants(): AsyncIterable<ShopifyVariant>;

  /** One page of orders updated at or after `since`, oldest update first (pass `nextCursor` on to continue). */
  listOrdersUpdatedSince(since: Date, page?: PageRequest): Promise<Page<ShopifyOrderSummary>>;

  /** The order with its customer, address and prices, or null when Shopify has no order with that id. */
  findOrder(id: OrderId): Promise<ShopifyOrderDetails | null>;

  /** Every webhook subscription this app has on the shop. */
  listWebhookSubscriptions(): Promise<WebhookSubscription[]>;

  /** Creates the subscription; throws `SHOPIFY_USER_ERROR` with Shopify's message when refused. */
  createWebhookSubscription(subscription: CreateWebhookSubscription): Promise<WebhookSubscription>;

  /** The variants' metafields in `namespace` (all of them if absent); variants without any are absent. */
  getVariantMetafields(variantIds: readonly VariantId[], namespace?: string): Promise<VariantMetafield[]>;

  /** Creates or overwrites the metafields (≤25 per Shopify call, split internally); throws `SHOPIFY_USER_ERROR` when refused. */
  setVariantMetafields(metafields: readonly VariantMetafield[]): Promise<void>;

  /**
   * Writes the metafields, each guarded by its `compareDigest`, 25 per Shopify call. Shopify
   * applies a call all or none; the client re-sends once, without them, the elements of a call
   * that another element's refusal kept back, so one stale or refused variant never blocks the
   * others. Returns one outcome per input, in order.
   */
  writeVariantMetafields(metafields: readonly GuardedVariantMetafield[]): Promise<MetafieldWriteOutcome[]>;

  /** Creates the variant metafield definition; `exists` when the shop has it already (Shopify's `TAKEN`). */
  ensureVariantMetafieldDefinition(definition: VariantMetafieldDefinition): Promise<'created' | 'exists'>;

  /**
   * The order's fulfilment orders (with what remains to ship on each line) and its fulfilments
   * (with tracking and shipped units per order line), or null when Shopify has no such order.
   */
  getOrderFulfilments(orderId: OrderId): Promise<ShopifyOrderFulfilments | null>;

  /**
   * Creates one fulfilment (Shopify's `fulfillmentCreate`). Throws `SHOPIFY_USER_ERROR` with
   * Shopify's messages when refused (nothing shipped), and `SHOPIFY_IN_DOUBT` when the answer was
   * lost: Shopify offers no idempotency key for it, so the client never sends it twice; the caller
   * looks for the fulfilment (`getOrderFulfilments`) before creating it again.
   */
  createFulfillment(input: CreateFulfillmentInput): Promise<{ id: string; status: string; createdAt: string }>;

  /**
   * The live fields of variants and orders, by id, through `nodes`: one Shopify call per 250
   * ids (fewer if Shopify's cost limit asks), with what Shopify charged.
   */
  readLiveNodes(ids: readonly string[]): Promise<ShopifyLiveNodes>;

  /** The shop's rate limit as last seen in a response; null before the first call. */
  rateLimit(): ShopifyRateLimit | null;
}
