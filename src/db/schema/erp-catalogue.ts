import { bigint, boolean, doublePrecision, index, jsonb, pgTable, primaryKey, text, timestamp } from 'drizzle-orm/pg-core';

/**
 * What Stockbridge last read of the ERP's catalogue: its locations and products (with kit
 * components). ERP-side data, so no `shop` column: several shops on one ERP share it. The read
 * API answers `product`, `products` and `locations` from here, never from the ERP.
 */
export const erpLocations = pgTable('erp_locations', {
  code: text('code').primaryKey(),
  name: text('name').notNull(),
  /** `warehouse` or `storage` (see the ERP port). */
  kind: text('kind').notNull(),
  parentCode: text('parent_code'),
  warehouseCode: text('warehouse_code').notNull(),
  /** False once the ERP stopped listing it; kept so mappings and history still resolve. */
  active: boolean('active').notNull().default(true),
  refreshedAt: timestamp('refreshed_at', { withTimezone: true }).notNull().defaultNow(),
  /** The location refresh generation that last saw it (`catalogue_refreshes`); an older one never overwrites it. */
  seenGeneration: bigint('seen_generation', { mode: 'number' }).notNull().default(0),
});

export const erpProducts = pgTable(
  'erp_products',
  {
    sku: text('sku').primaryKey(),
    name: text('name').notNull(),
    stockTracked: boolean('stock_tracked').notNull(),
    /** `[{ sku, quantity }]`: quantity of each component per kit; empty for a plain product. */
    components: jsonb('components').$type<Array<{ sku: string; quantity: number }>>().notNull().default([]),
    /** The ERP's name of the product's stock unit of measure ("Unit", "Kilogram"); null when it gives none. */
    unit: text('unit'),
    /** False once the ERP stopped knowing the SKU (deleted, archived): its ATP is then 0. */
    active: boolean('active').notNull().default(true),
    refreshedAt: timestamp('refreshed_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (table) => [index('erp_products_active_idx').on(table.active, table.sku)],
);

/**
 * The kit components again, one row per kit and component, so "which kits use this SKU" is an
 * index lookup when a component's ATP changes.
 */
export const erpKitComponents = pgTable(
  'erp_kit_components',
  {
    kitSku: text('kit_sku').notNull(),
    componentSku: text('component_sku').notNull(),
    quantity: doublePrecision('quantity').notNull(),
  },
  (table) => [primaryKey({ columns: [table.kitSku, table.componentSku] }), index('erp_kit_components_component_idx').on(table.componentSku)],
);

/**
 * The ERP's own stock of kits it holds assembled (stock-tracked kits), per location. A kit's
 * position holds own stock + what its components can build as `on_hand`; keeping the own part
 * here lets the ATP engine recompute the buildable part from the read model alone when a
 * component's ATP changes (a reservation, an order), without asking the ERP.
 */
export const erpKitStock = pgTable(
  'erp_kit_stock',
  {
    sku: text('sku').notNull(),
    location: text('location').notNull(),
    onHand: doublePrecision('on_hand').notNull(),
    readAt: timestamp('read_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (table) => [primaryKey({ columns: [table.sku, table.location] })],
);
