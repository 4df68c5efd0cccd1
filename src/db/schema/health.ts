import { sql } from 'drizzle-orm';
import { bigserial, boolean, doublePrecision, index, integer, jsonb, pgTable, text, timestamp } from 'drizzle-orm/pg-core';

/**
 * The success metrics' raw material, durable so every instance and the console compute the same
 * numbers: one row per attempt that counts in the error rate (an item push, an order sent to the
 * ERP), with the sync latency of a successful push (ERP change seen -> Shopify `available`
 * confirmed). Bounded by retention (the health module deletes rows older than the longest window).
 * Written only by src/health/.
 */
export const healthSamples = pgTable(
  'health_samples',
  {
    id: bigserial('id', { mode: 'number' }).primaryKey(),
    /** `push_item` (one pushed position) or `order` (one order sent to the ERP). */
    kind: text('kind').notNull(),
    ok: boolean('ok').notNull(),
    /** Seconds from the ERP change being seen to Shopify's confirmation; only successful pushes with a known change time. */
    latencySeconds: doublePrecision('latency_seconds'),
    at: timestamp('at', { withTimezone: true }).notNull().defaultNow(),
  },
  (table) => [index('health_samples_at_idx').on(table.at)],
);

/**
 * Oversell incidents: an order Shopify accepted that the ATP could not cover, or Shopify's
 * `available` seen below zero; one row per incident (`key` deduplicates a sighting seen twice).
 * Written only by src/health/.
 */
export const oversellIncidents = pgTable(
  'oversell_incidents',
  {
    id: bigserial('id', { mode: 'number' }).primaryKey(),
    key: text('key').notNull().unique(),
    sku: text('sku').notNull(),
    location: text('location').notNull(),
    /** The gateway's order id (order intake); null for a negative `available` no order names. */
    orderId: text('order_id'),
    /** `ORDER_BEYOND_ATP` or `SHOPIFY_NEGATIVE_AVAILABLE`. */
    source: text('source').notNull(),
    units: doublePrecision('units').notNull(),
    at: timestamp('at', { withTimezone: true }).notNull().defaultNow(),
  },
  (table) => [index('oversell_incidents_at_idx').on(table.at)],
);

/**
 * Alerts for people on call, deduplicated by `key` (one row per alert, `count` sightings). An
 * alert is open until acknowledged or resolved (a threshold back under its limit); raising a
 * resolved one again reopens it, which is a new crossing. Written only by src/alerts/.
 */
export const alerts = pgTable(
  'alerts',
  {
    id: bigserial('id', { mode: 'number' }).primaryKey(),
    key: text('key').notNull().unique(),
    code: text('code').notNull(),
    severity: text('severity').notNull(),
    message: text('message').notNull(),
    details: jsonb('details').notNull().default(sql`'{}'::jsonb`),
    firstSeenAt: timestamp('first_seen_at', { withTimezone: true }).notNull().defaultNow(),
    lastSeenAt: timestamp('last_seen_at', { withTimezone: true }).notNull().defaultNow(),
    count: integer('count').notNull().default(1),
    resolvedAt: timestamp('resolved_at', { withTimezone: true }),
    acknowledgedAt: timestamp('acknowledged_at', { withTimezone: true }),
    acknowledgedBy: text('acknowledged_by'),
  },
  (table) => [index('alerts_open_idx').on(table.id).where(sql`${table.acknowledgedAt} is null and ${table.resolvedAt} is null`)],
);
