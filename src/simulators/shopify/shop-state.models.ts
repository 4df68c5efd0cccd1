/**
 * The simulated shop's records. Ids are Shopify's numeric ids (gids are rendered at the edge);
 * timestamps are epoch milliseconds from the simulator clock. Field names follow the GraphQL
 * Admin API where one exists, so resolvers can read most of them directly.
 */

export const QUANTITY_NAMES = ['available', 'on_hand', 'committed', 'reserved', 'incoming', 'damaged', 'safety_stock', 'quality_control'] as const;
export type QuantityName = (typeof QUANTITY_NAMES)[number];
/** The states stored on a level; `on_hand` is their sum (minus `incoming`), never stored. */
export type StoredQuantityName = Exclude<QuantityName, 'on_hand'>;

export interface AddressRecord {
  address1: string | null;
  address2: string | null;
  city: string | null;
  province: string | null;
  provinceCode: string | null;
  zip: string | null;
  country: string | null;
  countryCode: string | null;
  phone: string | null;
}

export interface LocationRecord {
  __typename: 'Location';
  id: number;
  name: string;
  isActive: boolean;
  fulfillsOnlineOrders: boolean;
  shipsInventory: boolean;
  address: AddressRecord;
  createdAt: number;
  updatedAt: number;
  deactivatedAt: number | null;
}

export interface ProductRecord {
  __typename: 'Product';
  id: number;
  title: string;
  handle: string;
  status: 'ACTIVE' | 'DRAFT' | 'ARCHIVED';
  vendor: string;
  productType: string;
  tags: string[];
  createdAt: number;
  updatedAt: number;
  variantIds: number[];
}

export interface VariantRecord {
  __typename: 'ProductVariant';
  id: number;
  productId: number;
  title: string;
  sku: string | null;
  barcode: string | null;
  /** Money as Shopify's decimal string, e.g. "19.99". */
  price: string;
  compareAtPrice: string | null;
  inventoryPolicy: 'DENY' | 'CONTINUE';
  inventoryItemId: number;
  position: number;
  taxable: boolean;
  createdAt: number;
  updatedAt: number;
}

export interface InventoryItemRecord {
  __typename: 'InventoryItem';
  id: number;
  sku: string | null;
  tracked: boolean;
  requiresShipping: boolean;
  /** A bundle parent or otherwise not adjustable through the API (`NON_MUTABLE_INVENTORY_ITEM`). */
  nonMutable: boolean;
  variantId: number;
  createdAt: number;
  updatedAt: number;
  unitCost: string | null;
  /** Levels by location id. */
  levels: Map<number, LevelRecord>;
}

export interface LevelRecord {
  __typename: 'InventoryLevel';
  itemId: number;
  locationId: number;
  available: number;
  committed: number;
  reserved: number;
  incoming: number;
  damaged: number;
  safety_stock: number;
  quality_control: number;
  isActive: boolean;
  createdAt: number;
  updatedAt: number;
}

export interface CustomerRecord {
  id: number;
  email: string | null;
  firstName: string | null;
  lastName: string | null;
  phone: string | null;
}

export interface LineItemRecord {
  __typename: 'LineItem';
  id: number;
  orderId: number;
  variantId: number | null;
  productId: number | null;
  inventoryItemId: number | null;
  sku: string | null;
  title: string;
  variantTitle: string | null;
  name: string;
  quantity: number;
  price: string;
  /** Where the units were committed (the fulfilling location). */
  locationId: number | null;
  fulfilledQuantity: number;
  /** Units removed by refunds or cancellation. */
  removedQuantity: number;
  requiresShipping: boolean;
  taxable: boolean;
  vendor: string | null;
}

export type RestockType = 'NO_RESTOCK' | 'CANCEL' | 'RETURN';

export interface RefundLineRecord {
  id: number;
  lineItemId: number;
  quantity: number;
  restockType: RestockType;
  locationId: number | null;
  subtotal: string;
}

export interface RefundRecord {
  __typename: 'Refund';
  id: number;
  orderId: number;
  createdAt: number;
  note: string | null;
  restock: boolean;
  lines: RefundLineRecord[];
}

export type FinancialStatus = 'AUTHORIZED' | 'EXPIRED' | 'PAID' | 'PARTIALLY_PAID' | 'PARTIALLY_REFUNDED' | 'PENDING' | 'REFUNDED' | 'VOIDED';
export type FulfillmentStatus = 'UNFULFILLED' | 'PARTIALLY_FULFILLED' | 'FULFILLED' | 'RESTOCKED';
export type CancelReason = 'CUSTOMER' | 'DECLINED' | 'FRAUD' | 'INVENTORY' | 'OTHER' | 'STAFF';

export interface OrderRecord {
  __typename: 'Order';
  id: number;
  number: number;
  name: string;
  email: string | null;
  createdAt: number;
  updatedAt: number;
  processedAt: number;
  cancelledAt: number | null;
  cancelReason: CancelReason | null;
  closedAt: number | null;
  financialStatus: FinancialStatus;
  fulfillmentStatus: FulfillmentStatus;
  currency: string;
  test: boolean;
  tags: string[];
  note: string | null;
  sourceName: string;
  poNumber: string | null;
  /** The location named when the order was placed (REST `location_id`, as for a POS sale); null for online orders. */
  locationId: number | null;
  customer: CustomerRecord | null;
  shippingAddress: (AddressRecord & { firstName: string | null; lastName: string | null }) | null;
  lineItems: LineItemRecord[];
  refunds: RefundRecord[];
  /** Created with the order, one per location its lines were assigned to. */
  fulfillmentOrders: FulfillmentOrderRecord[];
  fulfillments: FulfillmentRecord[];
}

/**
 * OPEN until something ships, IN_PROGRESS while some units remain, CLOSED when none remain;
 * CANCELLED when the order is cancelled before anything shipped from it.
 */
export type FulfillmentOrderStatus = 'OPEN' | 'IN_PROGRESS' | 'CLOSED' | 'CANCELLED';

export interface FulfillmentOrderLineItemRecord {
  __typename: 'FulfillmentOrderLineItem';
  id: number;
  fulfillmentOrderId: number;
  orderId: number;
  lineItemId: number;
  /** Units assigned to this fulfilment order (less any removed by refunds or cancellation). */
  totalQuantity: number;
  /** Units still to ship. */
  remainingQuantity: number;
}

export interface FulfillmentOrderRecord {
  __typename: 'FulfillmentOrder';
  id: number;
  orderId: number;
  /** The assigned location. */
  locationId: number;
  status: FulfillmentOrderStatus;
  createdAt: number;
  updatedAt: number;
  lineItems: FulfillmentOrderLineItemRecord[];
}

export interface TrackingRecord {
  company: string | null;
  number: string | null;
  url: string | null;
}

export interface FulfillmentLineRecord {
  id: number;
  lineItemId: number;
  fulfillmentOrderId: number;
  fulfillmentOrderLineItemId: number;
  quantity: number;
}

export interface OriginAddressRecord {
  address1: string | null;
  address2: string | null;
  city: string | null;
  countryCode: string;
  provinceCode: string | null;
  zip: string | null;
}

export interface FulfillmentRecord {
  __typename: 'Fulfillment';
  id: number;
  orderId: number;
  /** `#1001.1`, `#1001.2`, … */
  name: string;
  status: 'SUCCESS' | 'CANCELLED';
  locationId: number;
  createdAt: number;
  updatedAt: number;
  tracking: TrackingRecord[];
  notifyCustomer: boolean;
  originAddress: OriginAddressRecord | null;
  fulfillmentOrderIds: number[];
  lines: FulfillmentLineRecord[];
  /** Through the Admin API (`fulfillmentCreate`) or by hand in the admin (control API). */
  createdBy: 'app' | 'merchant';
}

export interface WebhookSubscriptionRecord {
  __typename: 'WebhookSubscription';
  id: number;
  /** GraphQL enum form, e.g. `ORDERS_CREATE`. */
  topic: string;
  uri: string;
  format: 'JSON' | 'XML';
  includeFields: string[];
  metafieldNamespaces: string[];
  filter: string | null;
  name: string | null;
  apiVersion: string;
  createdAt: number;
  updatedAt: number;
}

export interface InventoryChangeRecord {
  name: QuantityName;
  delta: number;
  quantityAfterChange: number;
  itemId: number;
  locationId: number;
  ledgerDocumentUri: string | null;
}

export interface AdjustmentGroupRecord {
  __typename: 'InventoryAdjustmentGroup';
  id: number;
  createdAt: number;
  reason: string;
  referenceDocumentUri: string | null;
  changes: InventoryChangeRecord[];
}

export interface MetafieldRecord {
  __typename: 'Metafield';
  id: number;
  ownerType: 'PRODUCTVARIANT' | 'PRODUCT' | 'ORDER' | 'LOCATION';
  ownerId: number;
  namespace: string;
  key: string;
  type: string;
  value: string;
  createdAt: number;
  updatedAt: number;
}

export interface MetafieldDefinitionRecord {
  __typename: 'MetafieldDefinition';
  id: number;
  ownerType: MetafieldRecord['ownerType'];
  namespace: string;
  key: string;
  name: string;
  description: string | null;
  type: string;
  createdAt: number;
  updatedAt: number;
}

/** Units a checkout sold beyond what was available (the variant continued selling). */
export interface OversellRecord {
  orderId: number;
  lineItemId: number;
  sku: string | null;
  inventoryItemId: number;
  locationId: number;
  /** Units sold beyond stock by this line. */
  units: number;
  availableBefore: number;
  at: number;
}

/** What the shop announces; the webhook dispatcher turns these into deliveries. */
export type ShopEvent =
  | { topic: 'orders/create' | 'orders/updated' | 'orders/cancelled' | 'orders/paid' | 'orders/fulfilled' | 'orders/partially_fulfilled'; order: OrderRecord }
  | { topic: 'fulfillments/create'; order: OrderRecord; fulfillment: FulfillmentRecord }
  | { topic: 'refunds/create'; order: OrderRecord; refund: RefundRecord }
  | { topic: 'inventory_levels/update'; level: LevelRecord }
  | { topic: 'bulk_operations/finish'; bulkOperation: { id: number; status: string; errorCode: string | null; completedAt: number | null; createdAt: number; type: string } };

export type ShopTopic = ShopEvent['topic'];
