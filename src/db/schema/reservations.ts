import { sql } from 'drizzle-orm';
import { bigint, check, index, integer, pgTable, primaryKey, text, timestamp, uniqueIndex, uuid } from 'drizzle-orm/pg-core';

/**
 * Reservations: units a wholesale app holds against the ATP of one or more positions (SKU at an
 * ERP location), one `reservation_lines` row per position. The reservation row's `sku`,
 * `location` and `quantity` are its first line's (what a one-line reservation always was); its
 * `status` is ACTIVE while any line is ACTIVE, then COMMITTED if any line was committed, else
 * RELEASED or EXPIRED.
 *
 * A reservation counts in `inventory_levels.reserved` while it is ACTIVE, and after COMMITTED
 * until the ERP's own figures show the order (`erp_confirmed_at` set): see
 * src/reservations/README.md, "Commit without double counting". Every change of `status` (and
 * the ERP confirmation) is written to `reservation_events` in the same transaction.
 */
export const reservations = pgTable(
  'reservations',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    /** Insertion order, for stable keyset pagination (timestamps can tie). */
    seq: bigint('seq', { mode: 'number' }).generatedAlwaysAsIdentity().notNull(),
    shop: text('shop').notNull(),
    sku: text('sku').notNull(),
    location: text('location').notNull(),
    quantity: integer('quantity').notNull(),
    reference: text('reference').notNull(),
    /** The caller's key: unique per shop and API key, so two apps cannot collide. */
    idempotencyKey: text('idempotency_key').notNull(),
    /** SHA-256 of the arguments the key was first used with; a reuse with others is refused. */
    requestHash: text('request_hash').notNull(),
    status: text('status', { enum: ['ACTIVE', 'COMMITTED', 'RELEASED', 'EXPIRED'] }).notNull(),
    expiresAt: timestamp('expires_at', { withTimezone: true }).notNull(),
    /** The id of the API key that created it (or a `system:` actor for internal callers). */
    createdBy: text('created_by').notNull(),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull(),
    updatedAt: timestamp('updated_at', { withTimezone: true }).notNull(),
    committedAt: timestamp('committed_at', { withTimezone: true }),
    /** When it left ACTIVE other than by commit: released or expired. */
    closedAt: timestamp('closed_at', { withTimezone: true }),
    /** COMMITTED only: when an ERP read taken after the commit was seen, so the units stopped counting in `reserved`. */
    erpConfirmedAt: timestamp('erp_confirmed_at', { withTimezone: true }),
  },
  (table) => [
    uniqueIndex('reservations_idempotency_idx').on(table.shop, table.createdBy, table.idempotencyKey),
    index('reservations_due_idx').on(table.shop, table.expiresAt).where(sql`${table.status} = 'ACTIVE'`),
    index('reservations_unconfirmed_idx')
      .on(table.shop, table.sku, table.location)
      .where(sql`${table.status} = 'COMMITTED' and ${table.erpConfirmedAt} is null`),
    index('reservations_position_idx').on(table.shop, table.sku, table.location, table.seq),
    index('reservations_owner_idx').on(table.shop, table.createdBy, table.seq),
    index('reservations_listing_idx').on(table.shop, table.seq),
    check('reservations_quantity_positive', sql`${table.quantity} > 0`),
    check('reservations_status_known', sql`${table.status} in ('ACTIVE', 'COMMITTED', 'RELEASED', 'EXPIRED')`),
  ],
);

/**
 * The lines of a reservation, numbered from 1 in the caller's order. Each line counts in its
 * position's `inventory_levels.reserved` while it is ACTIVE, and after COMMITTED until the ERP's
 * figures show it (`erp_confirmed_at`); lines are released and committed one by one or together.
 */
export const reservationLines = pgTable(
  'reservation_lines',
  {
    reservationId: uuid('reservation_id')
      .notNull()
      .references(() => reservations.id, { onDelete: 'cascade' }),
    line: integer('line').notNull(),
    shop: text('shop').notNull(),
    sku: text('sku').notNull(),
    location: text('location').notNull(),
    quantity: integer('quantity').notNull(),
    status: text('status', { enum: ['ACTIVE', 'COMMITTED', 'RELEASED', 'EXPIRED'] }).notNull(),
    updatedAt: timestamp('updated_at', { withTimezone: true }).notNull(),
    committedAt: timestamp('committed_at', { withTimezone: true }),
    closedAt: timestamp('closed_at', { withTimezone: true }),
    erpConfirmedAt: timestamp('erp_confirmed_at', { withTimezone: true }),
  },
  (table) => [
    primaryKey({ columns: [table.reservationId, table.line] }),
    index('reservation_lines_counting_idx')
      .on(table.shop, table.sku, table.location)
      .where(sql`${table.status} = 'ACTIVE' or (${table.status} = 'COMMITTED' and ${table.erpConfirmedAt} is null)`),
    index('reservation_lines_position_idx').on(table.shop, table.sku, table.location, table.reservationId),
    check('reservation_lines_quantity_positive', sql`${table.quantity} > 0`),
    check('reservation_lines_line_positive', sql`${table.line} > 0`),
    check('reservation_lines_status_known', sql`${table.status} in ('ACTIVE', 'COMMITTED', 'RELEASED', 'EXPIRED')`),
  ],
);

/** The audit trail: one row per transition of a reservation, written in the same transaction. */
export const reservationEvents = pgTable(
  'reservation_events',
  {
    id: bigint('id', { mode: 'number' }).generatedAlwaysAsIdentity().primaryKey(),
    reservationId: uuid('reservation_id')
      .notNull()
      .references(() => reservations.id, { onDelete: 'cascade' }),
    /** Null for the creation. */
    fromStatus: text('from_status', { enum: ['ACTIVE', 'COMMITTED', 'RELEASED', 'EXPIRED'] }),
    toStatus: text('to_status', { enum: ['ACTIVE', 'COMMITTED', 'RELEASED', 'EXPIRED'] }).notNull(),
    /** Who: an API key id, or `system:expiry` / `system:erp-confirmation`. */
    actor: text('actor').notNull(),
    /** Why, in a stable word: RESERVED, RELEASED, COMMITTED, EXPIRED, ERP_CONFIRMED, EXTENDED, LINES_RELEASED, LINES_COMMITTED. */
    reason: text('reason').notNull(),
    /** The lines a partial release or commit moved (their numbers); null when it concerned the whole reservation. */
    lines: integer('lines').array(),
    occurredAt: timestamp('occurred_at', { withTimezone: true }).notNull(),
  },
  (table) => [index('reservation_events_reservation_idx').on(table.reservationId, table.id)],
);
