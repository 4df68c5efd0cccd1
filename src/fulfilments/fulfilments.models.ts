import type { FulfilmentPlannedLine, FulfilmentShipmentLine, FulfilmentStatus } from '../db/schema/fulfilments.js';
import type { SkuMapping } from '../inventory/inventory.port.js';
import { closedCode } from '../shared/closed-code.js';
import { shopifyGid } from '../shopify/gid.js';
import { SHOPIFY_FAILURE_CODES } from '../shopify/shopify.errors.js';

export type { FulfilmentPlannedLine, FulfilmentShipmentLine, FulfilmentStatus } from '../db/schema/fulfilments.js';

/**
 * Every code a fulfilment's `lastErrorCode` may hold (`FulfilmentErrorCode` in
 * schema/fulfilments.graphql lists the same; test/orders/error-codes.test.ts keeps them equal).
 * A code outside the list is stored as INTERNAL_ERROR (the message keeps the detail).
 */
export const FULFILMENT_ERROR_CODES = [
  'FULFILMENT_LINES_UNMATCHED',
  'FULFILMENT_ORDER_UNKNOWN',
  'SHOPIFY_ORDER_NOT_FOUND',
  // src/shopify/shopify.errors.ts and the credentials.
  ...SHOPIFY_FAILURE_CODES,
  'INTERNAL_ERROR',
] as const;

export type FulfilmentErrorCode = (typeof FULFILMENT_ERROR_CODES)[number];

/** The stored code of an error code: itself when listed, else INTERNAL_ERROR. */
export const fulfilmentErrorCodeOf: (code: string) => FulfilmentErrorCode = closedCode(FULFILMENT_ERROR_CODES, 'INTERNAL_ERROR');

/** One ERP shipment on its way to Shopify as a fulfilment (a row of `fulfilments`). */
export interface FulfilmentRecord {
  readonly id: number;
  readonly shop: string;
  readonly shipmentId: string;
  readonly shipmentReference: string;
  readonly salesOrderReference: string;
  /** Numeric Shopify order id; null when the sales order's reference names no Shopify order. */
  readonly shopifyOrderId: string | null;
  readonly status: FulfilmentStatus;
  readonly carrier: string | null;
  readonly trackingNumber: string | null;
  readonly trackingUrl: string | null;
  readonly shippedAt: Date;
  readonly lines: readonly FulfilmentShipmentLine[];
  readonly plannedLines: readonly FulfilmentPlannedLine[] | null;
  /** Set while a sent fulfilment's answer is unknown (in doubt until looked up). */
  readonly submittedAt: Date | null;
  readonly shopifyFulfillmentIds: readonly string[];
  readonly note: string | null;
  readonly attempts: number;
  readonly lastErrorCode: FulfilmentErrorCode | null;
  readonly lastError: string | null;
  readonly nextAttemptAt: Date;
  readonly alertedAt: Date | null;
  readonly createdAt: Date;
  readonly updatedAt: Date;
}

/** A row held by one worker: every write it makes states `token`. */
export interface ClaimedFulfilment extends FulfilmentRecord {
  readonly token: string;
}

/**
 * What the fulfilments domain needs of the inventory domain's mapping (a port the composition
 * root cuts from the mapping service): which Shopify items an ERP SKU is, in which units, and
 * which Shopify location an ERP location is.
 */
export interface FulfilmentMappingLookup {
  findSkuMappingsBySkus(erpSkus: readonly string[]): Promise<readonly SkuMapping[]>;
  listLocationMappings(): Promise<readonly { readonly erpLocation: string; readonly shopifyLocationId: string }[]>;
}

/**
 * The Shopify order an ERP sales order was made from, by its external reference: the order's
 * gid (`gid://shopify/Order/123`), with a `@LOCATION` suffix when the order pipeline split it per
 * warehouse (the inverse of the orders domain's `externalReferenceOf`). Null for an order of
 * another channel.
 */
export function shopifyOrderIdOfReference(externalReference: string): string | null {
  const match = /^gid:\/\/shopify\/Order\/(\d+)(?:@.*)?$/.exec(externalReference.trim());
  return match ? match[1]! : null;
}

/** The order's gid, made by the one gid helper (src/shopify/gid.ts). */
export function shopifyOrderGid(shopifyOrderId: string): string {
  return shopifyGid('Order', shopifyOrderId);
}
