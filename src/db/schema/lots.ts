import { date, doublePrecision, index, integer, pgTable, primaryKey, text, timestamp } from 'drizzle-orm/pg-core';

/**
 * Lots (batches) in the read model: what the ERP reported for each shop, SKU, ERP location and
 * lot number when the ATP engine last read the SKU's stock (the same page of SKUs, the same
 * transaction as its `inventory_levels` terms). GraphQL `lots` and `Product.lots` read here,
 * never the ERP. Quantities are in the ERP's stock unit; only lots with a non-zero quantity are
 * kept. `expires_on` is null for a lot without expiry (or an ERP that does not track it).
 *
 * One writer: src/inventory/read-model/inventory-lots.writer.ts (it also keeps the digests
 * below); other code reads these tables freely.
 */
export const inventoryLots = pgTable(
  'inventory_lots',
  {
    shop: text('shop').notNull(),
    sku: text('sku').notNull(),
    location: text('location').notNull(),
    number: text('number').notNull(),
    quantity: doublePrecision('quantity').notNull(),
    expiresOn: date('expires_on', { mode: 'string' }),
    refreshedAt: timestamp('refreshed_at', { withTimezone: true }).notNull(),
  },
  (table) => [
    primaryKey({ columns: [table.shop, table.sku, table.location, table.number] }),
    index('inventory_lots_expiry_idx').on(table.shop, table.expiresOn),
  ],
);

/**
 * Per shop and SKU, a digest of the SKU's lots at every location (number, location, quantity,
 * expiry) and when it last changed: a peer that mirrors lots elsewhere (the Shopify metafield
 * push) compares digests or walks `changed_at` instead of re-reading every lot. A SKU that never
 * had a lot has no row; one whose lots are all gone keeps a row with the digest of no lots.
 */
export const inventoryLotDigests = pgTable(
  'inventory_lot_digests',
  {
    shop: text('shop').notNull(),
    sku: text('sku').notNull(),
    digest: text('digest').notNull(),
    /** How many lots the digest covers. */
    lotCount: integer('lot_count').notNull(),
    changedAt: timestamp('changed_at', { withTimezone: true }).notNull(),
    refreshedAt: timestamp('refreshed_at', { withTimezone: true }).notNull(),
  },
  (table) => [primaryKey({ columns: [table.shop, table.sku] }), index('inventory_lot_digests_changed_idx').on(table.shop, table.changedAt, table.sku)],
);

/**
 * Per-SKU overrides of the sellable shelf life (`SELLABLE_SHELF_LIFE_DAYS` is the default):
 * units in lots that expire before today + `days` do not count in the ATP (`expiringSoon`).
 * Written by the ATP engine's `setSellableShelfLife` only.
 */
export const sellableShelfLifeRules = pgTable(
  'sellable_shelf_life_rules',
  {
    shop: text('shop').notNull(),
    sku: text('sku').notNull(),
    days: integer('days').notNull(),
    updatedAt: timestamp('updated_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (table) => [primaryKey({ columns: [table.shop, table.sku] })],
);
