import { sql } from 'drizzle-orm';
import { bigint, index, integer, pgTable, primaryKey, text, timestamp, uniqueIndex } from 'drizzle-orm/pg-core';

/**
 * The sync's view of what happens in Shopify besides its quantity pushes: the lots metafield it
 * last wrote per variant, the `inventory_levels/update` deliveries it received, the drift it
 * found (and where from), and the positions a merchant runs from Shopify. Written only by
 * src/sync/ (lots-metafields.repository.ts, merchant-edits.repository.ts). Every row carries `shop`.
 */

/**
 * What Stockbridge last wrote to a variant's `stockbridge.lots` metafield: the digest of the
 * value (so a value that did not change costs no Shopify call), the lots digest of the SKU it
 * was made from (`inventory_lot_digests.digest`: SKUs whose digest moved are the ones to push)
 * and Shopify's `compareDigest` after the write (the guard of the next write).
 */
export const syncLotMetafields = pgTable(
  'sync_lot_metafields',
  {
    shop: text('shop').notNull(),
    variantId: text('variant_id').notNull(),
    sku: text('sku').notNull(),
    valueDigest: text('value_digest').notNull(),
    /** The SKU's lots digest the value was made from; null when the SKU had no lots row. */
    lotsDigest: text('lots_digest'),
    /** Shopify's `compareDigest` of the metafield as written (null when Shopify did not say). */
    compareDigest: text('compare_digest'),
    writtenAt: timestamp('written_at', { withTimezone: true }).notNull(),
  },
  (table) => [primaryKey({ columns: [table.shop, table.variantId] }), index('sync_lot_metafields_sku_idx').on(table.shop, table.sku)],
);

export const levelEventOutcomes = ['PENDING', 'ECHO', 'STALE', 'UNMAPPED', 'CONSISTENT', 'EXPLAINED', 'HELD', 'DRIFT', 'FOLLOWED', 'FAILED'] as const;
export type LevelEventOutcome = (typeof levelEventOutcomes)[number];

/**
 * `inventory_levels/update` deliveries, stored before Shopify gets its 200 and looked at after
 * it: once per `X-Shopify-Webhook-Id` (and per event id). `due_at` is when the processor looks
 * (again); null once settled. A fall waits one grace period for the order that may explain it.
 */
export const syncLevelEvents = pgTable(
  'sync_level_events',
  {
    id: bigint('id', { mode: 'number' }).generatedAlwaysAsIdentity().primaryKey(),
    shop: text('shop').notNull(),
    webhookId: text('webhook_id').notNull(),
    eventId: text('event_id'),
    inventoryItemId: text('inventory_item_id').notNull(),
    shopifyLocationId: text('shopify_location_id').notNull(),
    /** Shopify's `available` after the change (Shopify units). */
    available: integer('available').notNull(),
    /** Shopify's `updated_at` of the level. */
    shopifyUpdatedAt: timestamp('shopify_updated_at', { withTimezone: true }),
    receivedAt: timestamp('received_at', { withTimezone: true }).notNull(),
    dueAt: timestamp('due_at', { withTimezone: true }),
    /** Times the processor took it (a claim that was not settled is taken again). */
    attempts: integer('attempts').notNull().default(0),
    outcome: text('outcome', { enum: levelEventOutcomes }).notNull().default('PENDING'),
    /** Shopify's value before the change as Stockbridge knew it, when a fall waits for its order. */
    before: integer('before'),
    settledAt: timestamp('settled_at', { withTimezone: true }),
  },
  (table) => [
    uniqueIndex('sync_level_events_webhook_idx').on(table.shop, table.webhookId),
    uniqueIndex('sync_level_events_event_idx').on(table.shop, table.eventId).where(sql`${table.eventId} is not null`),
    index('sync_level_events_due_idx').on(table.shop, table.dueAt).where(sql`${table.dueAt} is not null`),
  ],
);

export const driftSources = ['MERCHANT_EDIT', 'RECONCILE'] as const;
export type DriftSource = (typeof driftSources)[number];
export const driftActions = ['CORRECTED', 'HELD', 'FOLLOWED', 'SHADOW'] as const;
export type DriftAction = (typeof driftActions)[number];

/**
 * Each time a Shopify level was found other than Stockbridge set or computed it: by a merchant's
 * edit (an `inventory_levels/update` Stockbridge did not cause) or by a full reconcile's read.
 */
export const syncDriftEvents = pgTable(
  'sync_drift_events',
  {
    id: bigint('id', { mode: 'number' }).generatedAlwaysAsIdentity().primaryKey(),
    shop: text('shop').notNull(),
    sku: text('sku').notNull(),
    /** ERP location codes feeding the Shopify location, `+`-joined. */
    location: text('location').notNull(),
    inventoryItemId: text('inventory_item_id').notNull(),
    shopifyLocationId: text('shopify_location_id').notNull(),
    source: text('source', { enum: driftSources }).notNull(),
    /** Shopify's `available` as Stockbridge knew it before (null: never read). */
    before: integer('before'),
    after: integer('after').notNull(),
    /** What Stockbridge would set (the ATP in Shopify units) when the drift was found. */
    expected: integer('expected').notNull(),
    action: text('action', { enum: driftActions }).notNull(),
    detectedAt: timestamp('detected_at', { withTimezone: true }).notNull(),
    /** Set on the drift that sent the alert (one per SKU and location in a window). */
    alertedAt: timestamp('alerted_at', { withTimezone: true }),
  },
  (table) => [
    index('sync_drift_events_item_idx').on(table.shop, table.inventoryItemId, table.shopifyLocationId, table.detectedAt),
    index('sync_drift_events_sku_idx').on(table.shop, table.sku, table.detectedAt),
    index('sync_drift_events_detected_idx').on(table.shop, table.detectedAt),
  ],
);

export const locationPolicies = ['ERP_IS_TRUTH', 'FOLLOW_SHOPIFY'] as const;
export type LocationPolicy = (typeof locationPolicies)[number];

/**
 * Positions (SKU at an ERP location) a merchant runs from Shopify (`FOLLOW_SHOPIFY`): pushes
 * never overwrite their Shopify level and a merchant's edit there is not drift to correct. No
 * row means `ERP_IS_TRUTH`.
 */
export const syncLocationPolicies = pgTable(
  'sync_location_policies',
  {
    shop: text('shop').notNull(),
    sku: text('sku').notNull(),
    location: text('location').notNull(),
    policy: text('policy', { enum: locationPolicies }).notNull(),
    updatedAt: timestamp('updated_at', { withTimezone: true }).notNull(),
  },
  (table) => [primaryKey({ columns: [table.shop, table.sku, table.location] })],
);
