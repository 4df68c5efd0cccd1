import { doublePrecision, pgTable, primaryKey, text, timestamp } from 'drizzle-orm/pg-core';

/**
 * Safety stock rules of a shop, in ERP units. `sku` and `location` are `''` for "any": the row
 * with both empty is the default. The most specific rule wins: SKU at a location, then SKU,
 * then location, then the default (see src/inventory/safety-stock.ts).
 */
export const safetyStockRules = pgTable(
  'safety_stock_rules',
  {
    shop: text('shop').notNull(),
    sku: text('sku').notNull().default(''),
    location: text('location').notNull().default(''),
    quantity: doublePrecision('quantity').notNull(),
    updatedAt: timestamp('updated_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (table) => [primaryKey({ columns: [table.shop, table.sku, table.location] })],
);
