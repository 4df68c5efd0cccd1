import { sql } from 'drizzle-orm';
import { bigint, bigserial, index, integer, jsonb, pgTable, text, timestamp, uniqueIndex } from 'drizzle-orm/pg-core';

/**
 * The fulfilments domain: ERP customer shipments on their way to Shopify as fulfilments. One row
 * per shipment (unique per shop and ERP shipment id), recorded from the ERP's shipment feed
 * before its watermark moves, then written to Shopify once by a claimed worker.
 */

/**
 * PENDING: to write; SUBMITTING: a fulfilment was sent and its answer is not recorded (in doubt
 * until looked up); FULFILLED: written (`shopify_fulfillment_ids`); SKIPPED_MANUAL: nothing left to
 * fulfil, the units were fulfilled in Shopify by someone else; FAILED: keeps failing or was
 * refused (retried slowly, alerted).
 */
export const fulfilmentStatuses = ['PENDING', 'SUBMITTING', 'FULFILLED', 'SKIPPED_MANUAL', 'FAILED'] as const;
export type FulfilmentStatus = (typeof fulfilmentStatuses)[number];

/** A shipped line as the ERP reported it (ERP SKU, ERP location code, ERP units). */
export interface FulfilmentShipmentLine {
  readonly sku: string;
  readonly quantity: number;
  readonly location: string;
  readonly lotNumber: string | null;
}

/** What one fulfilment sends (or sent) to Shopify: units of fulfilment order lines. */
export interface FulfilmentPlannedLine {
  readonly fulfillmentOrderId: string;
  readonly fulfillmentOrderLineItemId: string;
  /** The order line (`gid://shopify/LineItem/…`), as Shopify's fulfilments name them. */
  readonly lineItemId: string;
  readonly quantity: number;
}

export const fulfilments = pgTable(
  'fulfilments',
  {
    id: bigserial('id', { mode: 'number' }).primaryKey(),
    shop: text('shop').notNull(),
    /** The ERP's stable id of the shipment. */
    shipmentId: text('shipment_id').notNull(),
    /** The ERP's reference of the shipment, for people (e.g. `CS000123`). */
    shipmentReference: text('shipment_reference').notNull(),
    /** The sales order's external reference, as given to the ERP. */
    salesOrderReference: text('sales_order_reference').notNull(),
    /** Numeric Shopify order id derived from the reference; null when it names no Shopify order. */
    shopifyOrderId: text('shopify_order_id'),
    status: text('status', { enum: fulfilmentStatuses }).notNull(),
    carrier: text('carrier'),
    trackingNumber: text('tracking_number'),
    trackingUrl: text('tracking_url'),
    shippedAt: timestamp('shipped_at', { withTimezone: true }).notNull(),
    lines: jsonb('lines').$type<FulfilmentShipmentLine[]>().notNull(),
    /** The fulfilment being (or last) sent; what a look-up after a lost answer compares against. */
    plannedLines: jsonb('planned_lines').$type<FulfilmentPlannedLine[]>(),
    /** When the planned fulfilment was sent: a look-up finding nothing is conclusive only after it settles. */
    submittedAt: timestamp('submitted_at', { withTimezone: true }),
    shopifyFulfillmentIds: jsonb('shopify_fulfillment_ids').$type<string[]>().notNull().default([]),
    /** Why it was skipped, or what was left out (units already fulfilled by hand), for people. */
    note: text('note'),
    attempts: integer('attempts').notNull().default(0),
    lastErrorCode: text('last_error_code'),
    lastError: text('last_error'),
    nextAttemptAt: timestamp('next_attempt_at', { withTimezone: true }).notNull().defaultNow(),
    /** The worker holding the row: writes state the token, so a lost claim writes nothing. */
    claimToken: text('claim_token'),
    claimExpiresAt: timestamp('claim_expires_at', { withTimezone: true }),
    alertedAt: timestamp('alerted_at', { withTimezone: true }),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
    updatedAt: timestamp('updated_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (table) => [
    uniqueIndex('fulfilments_shop_shipment_idx').on(table.shop, table.shipmentId),
    index('fulfilments_shop_order_idx').on(table.shop, table.shopifyOrderId),
    index('fulfilments_due_idx').on(table.nextAttemptAt).where(sql`${table.status} in ('PENDING', 'SUBMITTING', 'FAILED')`),
  ],
);

/** The ERP shipment feed's position per shop, moved only by the feed job's lease holder (fenced). */
export const fulfilmentFeedPositions = pgTable('fulfilment_feed_positions', {
  shop: text('shop').primaryKey(),
  watermark: text('watermark').notNull(),
  /** Fencing token of the run that wrote it; an older token cannot move it back. */
  fence: bigint('fence', { mode: 'number' }),
  updatedAt: timestamp('updated_at', { withTimezone: true }).notNull(),
});
