import { bigint, pgTable, primaryKey, text, timestamp } from 'drizzle-orm/pg-core';

/** The catalogue listings a refresh reads, each with its own generation. */
export const catalogueSources = ['erp-locations', 'erp-products', 'shopify-locations', 'shopify-variants'] as const;
export type CatalogueSource = (typeof catalogueSources)[number];

/**
 * One row per catalogue listing (per shop for Shopify's, `*` for the ERP's, which shops share):
 * the generation of its newest refresh and when a refresh last completed.
 *
 * A refresh takes the next generation before it lists anything; the rows it writes carry that
 * generation, and a row is never overwritten by an older one. Only the newest refresh, once its
 * listing is complete, retires rows it did not see, so two overlapping refreshes never mark
 * active what the newer saw gone, nor inactive what the older did not look at.
 *
 * `first_completed_at` records that the first fill is done: it is never inferred from row counts
 * (a `mapSku` during the first start inserts a few variants long before the catalogue is read).
 */
export const catalogueRefreshes = pgTable(
  'catalogue_refreshes',
  {
    /** The shop domain, or `*` for the ERP catalogue. */
    scope: text('scope').notNull(),
    source: text('source', { enum: catalogueSources }).notNull(),
    generation: bigint('generation', { mode: 'number' }).notNull().default(0),
    startedAt: timestamp('started_at', { withTimezone: true }),
    completedGeneration: bigint('completed_generation', { mode: 'number' }),
    completedAt: timestamp('completed_at', { withTimezone: true }),
    firstCompletedAt: timestamp('first_completed_at', { withTimezone: true }),
  },
  (table) => [primaryKey({ columns: [table.scope, table.source] })],
);
