import { sql } from 'drizzle-orm';
import { bigserial, index, integer, jsonb, pgTable, text, timestamp, uniqueIndex } from 'drizzle-orm/pg-core';

/**
 * The privacy domain: Shopify's GDPR requests as received. A row is recorded before Shopify gets
 * its 200 (so a crash after the answer loses nothing) and worked on after it. The customer's
 * e-mail is kept only until the request is done: it is what finds their orders.
 */

export const privacyRequestTopics = ['customers/data_request', 'customers/redact', 'shop/redact'] as const;
export type PrivacyRequestTopic = (typeof privacyRequestTopics)[number];

/** PENDING: to do (or waiting for orders still on their way to the ERP); DONE: done, see `outcome`. */
export const privacyRequestStatuses = ['PENDING', 'DONE'] as const;
export type PrivacyRequestStatus = (typeof privacyRequestStatuses)[number];

export const privacyRequests = pgTable(
  'privacy_requests',
  {
    id: bigserial('id', { mode: 'number' }).primaryKey(),
    shop: text('shop').notNull(),
    topic: text('topic', { enum: privacyRequestTopics }).notNull(),
    /** X-Shopify-Webhook-Id: a redelivery is a no-op. */
    webhookId: text('webhook_id').notNull(),
    /** Shopify's customer id (numeric); null for shop/redact. */
    shopifyCustomerId: text('shopify_customer_id'),
    /** Cleared once the request is done. */
    customerEmail: text('customer_email'),
    /** Numeric Shopify order ids the request names (`orders_requested`, `orders_to_redact`). */
    orderIds: jsonb('order_ids').$type<string[]>().notNull().default([]),
    /** Shopify's id of a data request (customers/data_request), for the operator's answer. */
    dataRequestId: text('data_request_id'),
    status: text('status', { enum: privacyRequestStatuses }).notNull(),
    attempts: integer('attempts').notNull().default(0),
    /** What was done (or what it waits for), for people. */
    outcome: text('outcome'),
    receivedAt: timestamp('received_at', { withTimezone: true }).notNull().defaultNow(),
    processedAt: timestamp('processed_at', { withTimezone: true }),
  },
  (table) => [
    uniqueIndex('privacy_requests_webhook_id_idx').on(table.webhookId),
    index('privacy_requests_pending_idx').on(table.receivedAt).where(sql`${table.status} = 'PENDING'`),
  ],
);
