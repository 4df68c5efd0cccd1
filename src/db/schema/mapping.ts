import { bigint, boolean, index, integer, jsonb, pgTable, primaryKey, text, timestamp, uniqueIndex } from 'drizzle-orm/pg-core';

/**
 * How the ERP's catalogue meets one Shopify shop: the shop's variants and locations as last
 * read, which ERP SKU feeds which variant (by hand or by rule), which ERP location feeds which
 * Shopify location, and the operator's SKU normalization rules. Every row carries `shop`, so a
 * second store on the same ERP is a new set of rows, not a migration.
 */

/** The shop's variants as last read (bulk export or paging); replaced at each catalogue refresh. */
export const shopifyVariants = pgTable(
  'shopify_variants',
  {
    shop: text('shop').notNull(),
    variantId: text('variant_id').notNull(),
    /** As stored in Shopify (case and all); null when the variant has no SKU. */
    sku: text('sku'),
    productId: text('product_id').notNull(),
    productTitle: text('product_title').notNull(),
    variantTitle: text('variant_title').notNull(),
    inventoryItemId: text('inventory_item_id').notNull(),
    tracked: boolean('tracked').notNull(),
    seenAt: timestamp('seen_at', { withTimezone: true }).notNull().defaultNow(),
    /** The catalogue refresh generation that last saw it (`catalogue_refreshes`); an older one never overwrites it. */
    seenGeneration: bigint('seen_generation', { mode: 'number' }).notNull().default(0),
  },
  (table) => [
    primaryKey({ columns: [table.shop, table.variantId] }),
    index('shopify_variants_item_idx').on(table.shop, table.inventoryItemId),
    index('shopify_variants_sku_idx').on(table.shop, table.sku),
  ],
);

export const shopifyLocations = pgTable(
  'shopify_locations',
  {
    shop: text('shop').notNull(),
    locationId: text('location_id').notNull(),
    name: text('name').notNull(),
    isActive: boolean('is_active').notNull(),
    fulfillsOnlineOrders: boolean('fulfills_online_orders').notNull(),
    seenAt: timestamp('seen_at', { withTimezone: true }).notNull().defaultNow(),
    /** The location refresh generation that last saw it; an older refresh never overwrites it. */
    seenGeneration: bigint('seen_generation', { mode: 'number' }).notNull().default(0),
  },
  (table) => [primaryKey({ columns: [table.shop, table.locationId] })],
);

/**
 * One ERP SKU → one Shopify variant. `MANUAL` rows are the operator's and survive every refresh;
 * `RULE` rows are rewritten by each matching run. A variant is fed by at most one ERP SKU.
 *
 * Units: `erp_units` ERP units are `shopify_units` Shopify units (cases of 12 in the ERP sold
 * singly: 1 and 12; the reverse: 12 and 1). Quantities going to Shopify are rounded down.
 */
export const skuMappings = pgTable(
  'sku_mappings',
  {
    shop: text('shop').notNull(),
    erpSku: text('erp_sku').notNull(),
    /** `MANUAL` or `RULE`. */
    source: text('source').notNull(),
    shopifyVariantId: text('shopify_variant_id').notNull(),
    shopifySku: text('shopify_sku'),
    shopifyInventoryItemId: text('shopify_inventory_item_id').notNull(),
    erpUnits: integer('erp_units').notNull().default(1),
    shopifyUnits: integer('shopify_units').notNull().default(1),
    updatedAt: timestamp('updated_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (table) => [
    primaryKey({ columns: [table.shop, table.erpSku] }),
    uniqueIndex('sku_mappings_variant_idx').on(table.shop, table.shopifyVariantId),
    index('sku_mappings_item_idx').on(table.shop, table.shopifyInventoryItemId),
  ],
);

/**
 * ERP SKUs the last matching run could not map safely (several candidate variants, or several
 * ERP SKUs wanting the same variant). They are never pushed until an operator maps them by hand.
 */
export const skuMappingConflicts = pgTable(
  'sku_mapping_conflicts',
  {
    shop: text('shop').notNull(),
    erpSku: text('erp_sku').notNull(),
    /** `SEVERAL_SHOPIFY_VARIANTS` or `SEVERAL_ERP_SKUS`. */
    reason: text('reason').notNull(),
    /** The variants it could have meant: `[{ variantId, sku, inventoryItemId }]`. */
    candidates: jsonb('candidates').$type<Array<{ variantId: string; sku: string | null; inventoryItemId: string }>>().notNull(),
    /** Other ERP SKUs that matched the same variants (reason `SEVERAL_ERP_SKUS`). */
    competingErpSkus: jsonb('competing_erp_skus').$type<string[]>().notNull().default([]),
    detectedAt: timestamp('detected_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (table) => [primaryKey({ columns: [table.shop, table.erpSku] })],
);

/**
 * One ERP location → one Shopify location; several ERP locations may feed the same Shopify
 * location (their ATP is summed). An ERP location without a row is never pushed.
 */
export const locationMappings = pgTable(
  'location_mappings',
  {
    shop: text('shop').notNull(),
    erpLocation: text('erp_location').notNull(),
    shopifyLocationId: text('shopify_location_id').notNull(),
    /** `MANUAL` or `AUTO` (matched by name or code at first start). */
    source: text('source').notNull(),
    updatedAt: timestamp('updated_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (table) => [primaryKey({ columns: [table.shop, table.erpLocation] }), index('location_mappings_shopify_idx').on(table.shop, table.shopifyLocationId)],
);

/** The operator's SKU normalization rules for a shop; no row = the defaults. */
export const skuNormalizationSettings = pgTable('sku_normalization_settings', {
  shop: text('shop').primaryKey(),
  ignoreCase: boolean('ignore_case').notNull().default(true),
  /** Treat every character of `separators` as the same separator (`BRACKET_V2` = `bracket-v2`). */
  ignoreSeparators: boolean('ignore_separators').notNull().default(true),
  separators: text('separators').notNull().default('-_./'),
  /** Trim, and treat runs of whitespace as one separator. */
  ignoreWhitespace: boolean('ignore_whitespace').notNull().default(true),
  updatedAt: timestamp('updated_at', { withTimezone: true }).notNull().defaultNow(),
});

/** Words that mean the same in a SKU (`BLU` = `blue`), compared after the rules above. */
export const skuAbbreviations = pgTable(
  'sku_abbreviations',
  {
    shop: text('shop').notNull(),
    abbreviation: text('abbreviation').notNull(),
    expansion: text('expansion').notNull(),
  },
  (table) => [primaryKey({ columns: [table.shop, table.abbreviation] })],
);
