import { sql } from 'drizzle-orm';
import { bigint, boolean, index, integer, jsonb, pgTable, primaryKey, text, timestamp, uniqueIndex, uuid } from 'drizzle-orm/pg-core';

/**
 * The push side of the sync: runs and their per-item errors and changes, the ERP feed
 * watermarks, write intents (what is in flight to Shopify) and per-item push state.
 * Every row carries `shop`.
 */

export const syncRunKinds = ['DELTA', 'FULL', 'MANUAL', 'EVENT'] as const;
export type SyncRunKind = (typeof syncRunKinds)[number];
export const syncRunStatuses = ['RUNNING', 'SUCCEEDED', 'PARTIAL', 'FAILED'] as const;
export type SyncRunStatus = (typeof syncRunStatuses)[number];

/**
 * One push run. Counts are per Shopify item × location ("item"): considered = compared with
 * Shopify, pushed = written (for a dry run: would be written), unchanged = Shopify already had
 * the value, failed = refused or still stale after the retry.
 */
export const syncRuns = pgTable(
  'sync_runs',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    /** Insertion order, for stable keyset pagination (newest first). */
    seq: bigint('seq', { mode: 'number' }).generatedAlwaysAsIdentity().notNull(),
    shop: text('shop').notNull(),
    kind: text('kind', { enum: syncRunKinds }).notNull(),
    status: text('status', { enum: syncRunStatuses }).notNull(),
    dryRun: boolean('dry_run').notNull().default(false),
    /** Read every Shopify level and compare everything (a full reconcile). */
    full: boolean('full').notNull().default(false),
    /** What was asked for: `{ skus?, locations? }` (MANUAL), `{ watermarkFrom? }` (DELTA). */
    request: jsonb('request').$type<Record<string, unknown>>().notNull().default({}),
    startedAt: timestamp('started_at', { withTimezone: true }).notNull().defaultNow(),
    /** Renewed while the run works; a RUNNING run whose heartbeat is old was abandoned by a dead process. */
    heartbeatAt: timestamp('heartbeat_at', { withTimezone: true }).notNull().defaultNow(),
    finishedAt: timestamp('finished_at', { withTimezone: true }),
    /** How many times the run was started (a delta run abandoned by a crash is taken over, keeping its id). */
    attempts: integer('attempts').notNull().default(1),
    /**
     * The scheduler's fencing token of the job run working on it (delta runs): a run is taken
     * over only with a newer token, and its progress and outcome are written only with its own.
     */
    fence: bigint('fence', { mode: 'number' }),
    /**
     * Work that must run once at a time per shop (`reconcile`, `reconcile:dry`): at most one
     * RUNNING run per key (a unique index), so a second request finds the first and joins it.
     */
    singleFlight: text('single_flight'),
    itemsConsidered: integer('items_considered').notNull().default(0),
    itemsPushed: integer('items_pushed').notNull().default(0),
    itemsUnchanged: integer('items_unchanged').notNull().default(0),
    itemsFailed: integer('items_failed').notNull().default(0),
    /** Items whose Shopify value differed from the ATP when read (full reconcile only). */
    driftFound: integer('drift_found'),
    /** Why a FAILED run failed: `{ code, message }`. */
    failure: jsonb('failure').$type<{ code: string; message: string }>(),
  },
  (table) => [
    index('sync_runs_shop_seq_idx').on(table.shop, table.seq),
    index('sync_runs_running_idx').on(table.shop, table.kind).where(sql`${table.status} = 'RUNNING'`),
    uniqueIndex('sync_runs_single_flight_idx')
      .on(table.shop, table.singleFlight)
      .where(sql`${table.status} = 'RUNNING' and ${table.singleFlight} is not null`),
  ],
);

/** Per-item failures of a run, with Shopify's code (or ours, e.g. `SHOPIFY_UNAVAILABLE`). */
export const syncRunErrors = pgTable(
  'sync_run_errors',
  {
    id: bigint('id', { mode: 'number' }).generatedAlwaysAsIdentity().primaryKey(),
    runId: uuid('run_id')
      .notNull()
      .references(() => syncRuns.id, { onDelete: 'cascade' }),
    /** ERP SKU. */
    sku: text('sku').notNull(),
    /** ERP location code(s) feeding the Shopify location, `+`-joined when several. */
    location: text('location').notNull(),
    inventoryItemId: text('inventory_item_id'),
    shopifyLocationId: text('shopify_location_id'),
    code: text('code').notNull(),
    message: text('message').notNull(),
  },
  (table) => [index('sync_run_errors_run_idx').on(table.runId, table.id)],
);

/**
 * What a run changed (or, dry, would change) in Shopify: the first few thousand items of a run,
 * so an operator sees what moved and a dry run shows its plan.
 */
export const syncRunChanges = pgTable(
  'sync_run_changes',
  {
    id: bigint('id', { mode: 'number' }).generatedAlwaysAsIdentity().primaryKey(),
    runId: uuid('run_id')
      .notNull()
      .references(() => syncRuns.id, { onDelete: 'cascade' }),
    sku: text('sku').notNull(),
    location: text('location').notNull(),
    inventoryItemId: text('inventory_item_id').notNull(),
    shopifyLocationId: text('shopify_location_id').notNull(),
    /** Shopify's `available` as known before (null: never read). */
    fromQuantity: integer('from_quantity'),
    toQuantity: integer('to_quantity').notNull(),
    /** False for a dry run, and for an item that failed. */
    applied: boolean('applied').notNull(),
  },
  (table) => [index('sync_run_changes_run_idx').on(table.runId, table.id)],
);

/**
 * Where a feed stands, per shop: the ERP change feed's opaque watermark. Moved only after every
 * position it covers was pushed (or durably marked for a retry), so a crash redoes the work.
 */
export const syncWatermarks = pgTable(
  'sync_watermarks',
  {
    shop: text('shop').notNull(),
    feed: text('feed').notNull(),
    watermark: text('watermark').notNull(),
    /** The fencing token of the job run that wrote it: a write with an older token is refused. */
    fence: bigint('fence', { mode: 'number' }),
    updatedAt: timestamp('updated_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (table) => [primaryKey({ columns: [table.shop, table.feed] })],
);

/**
 * Writes sent (or about to be sent) to Shopify whose outcome is not yet recorded: written before
 * the request, deleted with the outcome. When Shopify's value is later read, an intent whose
 * `to_quantity` equals it says "our own write landed" (a lost answer, a crash, another instance),
 * not a sale; without intents a stale baseline would look like a drop or a gain.
 */
export const syncPushIntents = pgTable(
  'sync_push_intents',
  {
    shop: text('shop').notNull(),
    inventoryItemId: text('inventory_item_id').notNull(),
    shopifyLocationId: text('shopify_location_id').notNull(),
    runId: uuid('run_id').notNull(),
    fromQuantity: integer('from_quantity'),
    toQuantity: integer('to_quantity').notNull(),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (table) => [primaryKey({ columns: [table.shop, table.inventoryItemId, table.shopifyLocationId, table.runId] })],
);

/**
 * Push state per Shopify item × location that the read model has no room for: consecutive
 * failures (the backoff of the retry, and the "failing repeatedly" alert) and when a Shopify
 * drop was last left unexplained (such drops are released after the order window, see
 * src/sync/README.md).
 */
export const syncItemStates = pgTable(
  'sync_item_states',
  {
    shop: text('shop').notNull(),
    inventoryItemId: text('inventory_item_id').notNull(),
    shopifyLocationId: text('shopify_location_id').notNull(),
    consecutiveFailures: integer('consecutive_failures').notNull().default(0),
    lastFailureCode: text('last_failure_code'),
    lastFailureMessage: text('last_failure_message'),
    lastFailedAt: timestamp('last_failed_at', { withTimezone: true }),
    /** When Stockbridge last saw Shopify's `available` drop by more than known orders explain. */
    lastUnexplainedDropAt: timestamp('last_unexplained_drop_at', { withTimezone: true }),
  },
  (table) => [primaryKey({ columns: [table.shop, table.inventoryItemId, table.shopifyLocationId] })],
);
