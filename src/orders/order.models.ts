import type { PostalAddress } from '../erp/erp-connector.js';
import { closedCode } from '../shared/closed-code.js';
import { shopifyGid } from '../shopify/gid.js';
import { SHOPIFY_FAILURE_CODES } from '../shopify/shopify.errors.js';
import type { OrderStatusValue, WebhookInboxStatus } from '../db/schema/orders.js';

/**
 * The orders domain's own terms. A Shopify order reaches the gateway as a webhook body (REST
 * shape) or from the poll (GraphQL shape); both become an `OrderSnapshot`, and everything after
 * that (mapping, the ERP, pending units, conflicts) works on snapshots only.
 */

export type OrderStatus = OrderStatusValue;

/** One Shopify line item, in Shopify's terms. */
export interface SnapshotLine {
  /** Numeric line item id. */
  readonly lineItemId: string;
  readonly sku: string | null;
  /** `gid://shopify/ProductVariant/…`, or null when the variant was deleted (or a custom item). */
  readonly variantId: string | null;
  readonly title: string;
  /** Quantity ordered. */
  readonly quantity: number;
  /** Quantity still on the order (ordered minus removed by edits, refunds or cancellation). */
  readonly currentQuantity: number;
  /** Units removed that no refund explains: an order edit (part of the conflict digest). */
  readonly editedAwayQuantity: number;
  /** Net price of one unit, tax excluded, after discounts, in the shop's currency. */
  readonly unitPrice: string;
  /** Gift cards are not goods: never sent to the ERP. */
  readonly giftCard: boolean;
}

export interface OrderSnapshot {
  /** Numeric order id. */
  readonly shopifyOrderId: string;
  readonly name: string;
  readonly createdAt: string;
  readonly updatedAt: string;
  readonly cancelledAt: string | null;
  readonly test: boolean;
  /** ISO 4217 code of every price in the snapshot (the shop's currency). */
  readonly currency: string;
  readonly customer: { readonly name: string; readonly email: string | null; readonly phone: string | null };
  readonly shippingAddress: PostalAddress | null;
  /** `gid://shopify/Location/…` the order was placed at (POS, or a named location); null for online orders. */
  readonly locationId: string | null;
  readonly lines: readonly SnapshotLine[];
}

/** A refund's lines that put goods back into stock, in Shopify's terms. */
export interface RefundSnapshot {
  readonly refundId: string;
  readonly shopifyOrderId: string;
  readonly createdAt: string;
  readonly lines: readonly {
    readonly lineItemId: string;
    readonly quantity: number;
    /** `return` (goods came back), `cancel` (never shipped), `no_restock`, `legacy_restock`. */
    readonly restockType: string;
    /** `gid://shopify/Location/…` the goods were restocked at, when Shopify says. */
    readonly locationId: string | null;
  }[];
}

export type OrderFlagCode =
  /** Shopify changed an order the ERP already has; the ERP order was not touched. */
  | 'CONFLICT'
  /** Units were removed from an order the ERP already has (refund of unshipped units). */
  | 'LINES_REMOVED'
  /** A refund restocked goods and the ERP connector cannot record customer returns. */
  | 'RETURN_NOT_SUPPORTED'
  /** The ERP refused a customer return, or stayed unreachable for every attempt. */
  | 'RETURN_FAILED'
  /** Shopify cancelled the order and the ERP refused to cancel it (e.g. already shipped), or stayed unreachable. */
  | 'CANCEL_FAILED';

export interface OrderFlag {
  readonly code: OrderFlagCode;
  readonly message: string;
  readonly raisedAt: string;
}

export interface OrderLine {
  readonly lineNo: number;
  readonly shopifyLineId: string;
  readonly shopifySku: string | null;
  readonly shopifyVariantId: string | null;
  readonly title: string;
  readonly shopifyQuantity: number;
  readonly unitPrice: string;
  /** ERP SKU; null while the line maps to no ERP product. */
  readonly erpSku: string | null;
  /** ERP location code the line ships from; null while unknown. */
  readonly location: string | null;
  /** Open units in the ERP's stock unit; null while unmapped. */
  readonly quantity: number | null;
  readonly mappingError: string | null;
  /** Units counted in `pendingShopifyOrders` for this line now. */
  readonly pendingQuantity: number;
}

/**
 * Every code an order's `lastErrorCode` may hold (`OrderErrorCode` in schema/orders.graphql lists
 * the same; test/orders/error-codes.test.ts keeps them equal): the ERP connector's failures, the
 * pipeline's own reasons to wait or fail, and the Shopify and credential failures the line
 * mapping can meet. A code outside the list is stored as INTERNAL_ERROR (the message keeps the
 * detail), so the GraphQL enum never meets a value it does not know.
 */
export const ORDER_ERROR_CODES = [
  // The ERP connector (src/erp/erp-errors.ts).
  'ERP_UNAVAILABLE',
  'ERP_IN_DOUBT',
  'ERP_CONFLICT',
  'ERP_BUSY',
  'ERP_REJECTED',
  'ERP_INVALID_RESPONSE',
  'UNKNOWN_SKU',
  'UNKNOWN_LOCATION',
  // The pipeline's own.
  'UNMAPPED_LINE',
  'ORDER_WITHOUT_GOODS',
  'ORDER_LINES_CHANGING',
  'ORDER_MAPPING_UNAVAILABLE',
  'BAD_USER_INPUT',
  'NOT_FOUND',
  // Shopify, read by the line mapping (src/shopify/shopify.errors.ts, credentials).
  ...SHOPIFY_FAILURE_CODES,
  // Anything else (a bug, a database error).
  'INTERNAL_ERROR',
] as const;

export type OrderErrorCode = (typeof ORDER_ERROR_CODES)[number];

/** The stored code of an error code: itself when listed, else INTERNAL_ERROR. */
export const orderErrorCodeOf: (code: string) => OrderErrorCode = closedCode(ORDER_ERROR_CODES, 'INTERNAL_ERROR');

export interface OrderRecord {
  /** The gateway's id (a UUID). */
  readonly id: string;
  readonly shop: string;
  readonly shopifyOrderId: string;
  readonly name: string;
  readonly status: OrderStatus;
  readonly source: 'webhook' | 'poll';
  readonly erpReference: string | null;
  readonly lastError: string | null;
  readonly lastErrorCode: OrderErrorCode | null;
  readonly attempts: number;
  readonly nextAttemptAt: Date | null;
  readonly receivedAt: Date;
  readonly shopifyCreatedAt: Date;
  readonly shopifyUpdatedAt: Date;
  readonly shopifyCancelledAt: Date | null;
  readonly submittedAt: Date | null;
  readonly cancelledAt: Date | null;
  readonly allocatedAt: Date | null;
  readonly createAttemptedAt: Date | null;
  /** An ERP write sent and not yet answered (or whose answer was lost): `create` or `cancel`. */
  readonly erpSending: 'create' | 'cancel' | null;
  /** When that write (or the last one) was sent. */
  readonly erpSentAt: Date | null;
  /** When a create was last sent to the ERP. */
  readonly createSentAt: Date | null;
  readonly linesDigest: string | null;
  readonly submittedDigest: string | null;
  readonly flags: readonly OrderFlag[];
  readonly snapshot: OrderSnapshot;
}

export interface OrderWithLines extends OrderRecord {
  readonly lines: readonly OrderLine[];
}

export interface WebhookDeliveryRecord {
  readonly id: number;
  readonly shop: string;
  readonly webhookId: string;
  readonly eventId: string | null;
  readonly topic: string;
  readonly apiVersion: string | null;
  readonly triggeredAt: Date | null;
  readonly receivedAt: Date;
  readonly orderRef: string | null;
  readonly status: WebhookInboxStatus;
  readonly attempts: number;
  readonly nextAttemptAt: Date | null;
  readonly lastError: string | null;
  readonly outcome: string | null;
  readonly processedAt: Date | null;
  readonly body: string;
}

/** The webhook topics the pipeline acts on (X-Shopify-Topic form). */
export const ORDER_TOPICS = ['orders/create', 'orders/updated', 'orders/cancelled', 'refunds/create'] as const;
export type OrderTopic = (typeof ORDER_TOPICS)[number];

export function isOrderTopic(topic: string): topic is OrderTopic {
  return (ORDER_TOPICS as readonly string[]).includes(topic);
}

/** The ERP external reference (idempotency key) of an order: its Shopify gid (the port's convention). */
export function externalReferenceOf(shopifyOrderId: string): string {
  return shopifyGid('Order', shopifyOrderId);
}
