import { sql } from 'drizzle-orm';
import { bigserial, doublePrecision, index, integer, jsonb, pgTable, primaryKey, text, timestamp, uniqueIndex, uuid } from 'drizzle-orm/pg-core';

/**
 * The orders domain: Shopify webhook deliveries as received (the inbox), Shopify orders on their
 * way to the ERP, their lines (with the units they hold in `inventory_levels.pending_orders`),
 * customer returns, and the order poll's watermark. Every row carries `shop`.
 */

export const webhookInboxStatuses = ['PENDING', 'DONE', 'FAILED', 'IGNORED'] as const;
export type WebhookInboxStatus = (typeof webhookInboxStatuses)[number];

/**
 * Every signed webhook delivery, stored before Shopify gets its 200, so a crash after the answer
 * loses nothing. `webhook_id` (X-Shopify-Webhook-Id) is unique: a retried delivery is a no-op.
 * PENDING rows are claimed with `for update skip locked` and applied to `shopify_orders`; a row
 * that cannot be applied yet (a refund before its order) waits for `next_attempt_at`.
 */
export const webhookInbox = pgTable(
  'webhook_inbox',
  {
    id: bigserial('id', { mode: 'number' }).primaryKey(),
    shop: text('shop').notNull(),
    webhookId: text('webhook_id').notNull(),
    /** X-Shopify-Event-Id: the same for every delivery of one event. */
    eventId: text('event_id'),
    topic: text('topic').notNull(),
    apiVersion: text('api_version'),
    triggeredAt: timestamp('triggered_at', { withTimezone: true }),
    receivedAt: timestamp('received_at', { withTimezone: true }).notNull().defaultNow(),
    /** The raw body exactly as signed (UTF-8 JSON). */
    body: text('body').notNull(),
    /** The Shopify order id (numeric, as in REST payloads) the body is about, when it parsed. */
    orderRef: text('order_ref'),
    status: text('status', { enum: webhookInboxStatuses }).notNull(),
    attempts: integer('attempts').notNull().default(0),
    nextAttemptAt: timestamp('next_attempt_at', { withTimezone: true }),
    lastError: text('last_error'),
    /** What applying it did, for people (`created order`, `duplicate`, `conflict flagged`, …). */
    outcome: text('outcome'),
    processedAt: timestamp('processed_at', { withTimezone: true }),
    /** When the body was blanked (retention or a GDPR redaction, src/privacy): ids and status stay. */
    redactedAt: timestamp('redacted_at', { withTimezone: true }),
  },
  (table) => [
    uniqueIndex('webhook_inbox_webhook_id_idx').on(table.webhookId),
    /** One event delivered under two webhook ids (two subscriptions to a topic) is stored once. */
    uniqueIndex('webhook_inbox_event_idx').on(table.shop, table.topic, table.eventId).where(sql`${table.eventId} is not null`),
    index('webhook_inbox_retention_idx').on(table.receivedAt).where(sql`${table.redactedAt} is null`),
    index('webhook_inbox_pending_idx').on(table.nextAttemptAt).where(sql`${table.status} = 'PENDING'`),
    index('webhook_inbox_status_idx').on(table.shop, table.status, table.id),
    index('webhook_inbox_order_idx').on(table.shop, table.orderRef),
  ],
);

/**
 * `IN_DOUBT`: a create was sent and its answer lost (or its sender lost its claim mid-call); the
 * ERP may or may not hold the order. Resolved by looking it up once the ERP's own transaction
 * timeout has passed since the send (`erp_sent_at`), never by sending it again blind.
 */
export const orderStatuses = ['RECEIVED', 'SUBMITTED', 'FAILED', 'CANCELLED', 'IN_DOUBT'] as const;
export type OrderStatusValue = (typeof orderStatuses)[number];

/**
 * One Shopify order on its way to the ERP. `next_attempt_at` set means the pipeline has ERP work
 * to do (create, cancel, returns); a worker claims the row by setting a fresh `lease_token` (one
 * per attempt, the fencing token), `lease_owner` (the instance, for people) and a short
 * `lease_until` in one conditional update. A claim is refused while another live claim holds the
 * row, the holder renews it while it works, and every write the holder makes states its token:
 * a stale token writes nothing.
 */
export const shopifyOrders = pgTable(
  'shopify_orders',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    shop: text('shop').notNull(),
    /** Shopify's numeric order id (REST `id`, GraphQL `legacyResourceId`). */
    shopifyOrderId: text('shopify_order_id').notNull(),
    name: text('name').notNull(),
    status: text('status', { enum: orderStatuses }).notNull(),
    /** `webhook` or `poll`: how the order first reached the gateway. */
    source: text('source').notNull(),
    erpReference: text('erp_reference'),
    lastError: text('last_error'),
    lastErrorCode: text('last_error_code'),
    /** ERP attempts since the last success or replay (bounded; then FAILED). */
    attempts: integer('attempts').notNull().default(0),
    nextAttemptAt: timestamp('next_attempt_at', { withTimezone: true }),
    leaseOwner: text('lease_owner'),
    leaseUntil: timestamp('lease_until', { withTimezone: true }),
    /** The fencing token of the live claim (a new one per attempt); null when unclaimed. */
    leaseToken: text('lease_token'),
    /**
     * An ERP write sent for this order whose answer is not recorded yet (`create` or `cancel`):
     * set with `erp_sent_at` in the fenced statement right before the call, cleared by the
     * write-back of its answer. Found set by a later claim, the write is in doubt.
     */
    erpSending: text('erp_sending', { enum: ['create', 'cancel'] }),
    erpSentAt: timestamp('erp_sent_at', { withTimezone: true }),
    /** When a create was last sent (a cancellation that finds nothing waits until it has settled). */
    createSentAt: timestamp('create_sent_at', { withTimezone: true }),
    receivedAt: timestamp('received_at', { withTimezone: true }).notNull().defaultNow(),
    shopifyCreatedAt: timestamp('shopify_created_at', { withTimezone: true }).notNull(),
    shopifyUpdatedAt: timestamp('shopify_updated_at', { withTimezone: true }).notNull(),
    /** Set once Shopify says the order is cancelled (webhook or poll). */
    shopifyCancelledAt: timestamp('shopify_cancelled_at', { withTimezone: true }),
    /** The order as the gateway knows it (`OrderSnapshot`, src/orders/order.models.ts). */
    snapshot: jsonb('snapshot').notNull(),
    /** Digest of the snapshot the lines were mapped from; another digest means map them again. */
    linesDigest: text('lines_digest'),
    /** Digest of the content sent to the ERP; a later update with other content is a conflict. */
    submittedDigest: text('submitted_digest'),
    /** Set before the first ERP create call: from then on the ERP may hold the order. */
    createAttemptedAt: timestamp('create_attempted_at', { withTimezone: true }),
    submittedAt: timestamp('submitted_at', { withTimezone: true }),
    cancelledAt: timestamp('cancelled_at', { withTimezone: true }),
    /** When the ERP last reported the order fully allocated (its pending units released). */
    allocatedAt: timestamp('allocated_at', { withTimezone: true }),
    allocationCheckedAt: timestamp('allocation_checked_at', { withTimezone: true }),
    /** Things a person must look at: `[{ code, message, raisedAt }]`. */
    flags: jsonb('flags').notNull().default([]),
    updatedAt: timestamp('updated_at', { withTimezone: true }).notNull().defaultNow(),
    /** When the snapshot's customer and address were removed (retention or GDPR, src/privacy). */
    redactedAt: timestamp('redacted_at', { withTimezone: true }),
  },
  (table) => [
    uniqueIndex('shopify_orders_shop_order_idx').on(table.shop, table.shopifyOrderId),
    index('shopify_orders_list_idx').on(table.shop, table.receivedAt, table.id),
    index('shopify_orders_status_idx').on(table.shop, table.status, table.receivedAt, table.id),
    index('shopify_orders_due_idx').on(table.nextAttemptAt).where(sql`${table.nextAttemptAt} is not null`),
    index('shopify_orders_retention_idx').on(table.receivedAt).where(sql`${table.redactedAt} is null`),
    // The drain rate of the backlog (src/orders/order-backlog.ts): orders submitted lately.
    index('shopify_orders_submitted_idx').on(table.shop, table.submittedAt).where(sql`${table.submittedAt} is not null`),
  ],
);

/**
 * The lines of a Shopify order, mapped to the ERP. `pending_quantity` is exactly what this line
 * adds to `inventory_levels.pending_orders` at (shop, erp_sku, location) right now: every change
 * to it changes that column by the same amount in the same transaction.
 */
export const shopifyOrderLines = pgTable(
  'shopify_order_lines',
  {
    orderId: uuid('order_id')
      .notNull()
      .references(() => shopifyOrders.id, { onDelete: 'cascade' }),
    lineNo: integer('line_no').notNull(),
    shop: text('shop').notNull(),
    shopifyLineId: text('shopify_line_id').notNull(),
    shopifySku: text('shopify_sku'),
    shopifyVariantId: text('shopify_variant_id'),
    title: text('title').notNull(),
    /** Open units in Shopify's unit (ordered minus removed). */
    shopifyQuantity: integer('shopify_quantity').notNull(),
    /** Net unit price, tax excluded, decimal string in the order's currency. */
    unitPrice: text('unit_price').notNull(),
    erpSku: text('erp_sku'),
    location: text('location'),
    /** Open units in the ERP's stock unit; null while unmapped. */
    quantity: doublePrecision('quantity'),
    /** Why the line could not be mapped (null when mapped). */
    mappingError: text('mapping_error'),
    /** Units the ERP holds for this line (allocated or shipped), as last read. */
    erpCoveredQuantity: doublePrecision('erp_covered_quantity').notNull().default(0),
    pendingQuantity: doublePrecision('pending_quantity').notNull().default(0),
    /** Highest `pending_quantity` ever applied: units that already explained a Shopify drop. */
    explainedQuantity: doublePrecision('explained_quantity').notNull().default(0),
  },
  (table) => [
    primaryKey({ columns: [table.orderId, table.lineNo] }),
    index('shopify_order_lines_pending_idx').on(table.shop, table.erpSku, table.location).where(sql`${table.pendingQuantity} > 0`),
  ],
);

/** `IN_DOUBT`: sent, answer lost; looked up (`findCustomerReturn`) once `sent_at` has settled. */
export const orderReturnStatuses = ['PENDING', 'DONE', 'FLAGGED', 'IN_DOUBT'] as const;
export type OrderReturnStatus = (typeof orderReturnStatuses)[number];

/** Goods a Shopify refund restocked (restock type `return`), to be recorded in the ERP once. */
export const orderReturns = pgTable(
  'order_returns',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    shop: text('shop').notNull(),
    orderId: uuid('order_id')
      .notNull()
      .references(() => shopifyOrders.id, { onDelete: 'cascade' }),
    shopifyRefundId: text('shopify_refund_id').notNull(),
    /** `[{ sku, location, quantity }]` in ERP terms; `[{ shopifyLineId, quantity, … }]` while unmapped. */
    lines: jsonb('lines').notNull(),
    status: text('status', { enum: orderReturnStatuses }).notNull(),
    erpReference: text('erp_reference'),
    lastError: text('last_error'),
    /** When the return was last sent to the ERP (set right before the call). */
    sentAt: timestamp('sent_at', { withTimezone: true }),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
    processedAt: timestamp('processed_at', { withTimezone: true }),
  },
  (table) => [uniqueIndex('order_returns_refund_idx').on(table.shop, table.shopifyRefundId), index('order_returns_order_idx').on(table.orderId)],
);

/**
 * The order poll's position per shop. `cutover_at`: orders Shopify created before it predate the
 * gateway and are never sent to the ERP (the merchant handled them before); set once.
 */
export const orderPollState = pgTable('order_poll_state', {
  shop: text('shop').primaryKey(),
  cutoverAt: timestamp('cutover_at', { withTimezone: true }).notNull(),
  /** Shopify `updated_at` up to which every order has been seen; the poll re-reads an overlap before it. */
  watermark: timestamp('watermark', { withTimezone: true }).notNull(),
  lastRunAt: timestamp('last_run_at', { withTimezone: true }),
});
