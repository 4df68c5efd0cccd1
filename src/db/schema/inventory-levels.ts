import { sql } from 'drizzle-orm';
import { doublePrecision, index, integer, pgTable, primaryKey, text, timestamp } from 'drizzle-orm/pg-core';

/**
 * The read model: one row per shop, ERP SKU and ERP location, holding every term of the ATP
 * formula, the ATP itself, the value Stockbridge last set in Shopify and the value it last read
 * there. GraphQL reads come from here; reservations decide against it atomically.
 *
 * Quantities are in the ERP's stock unit (they may be fractional); `available_to_promise` is the
 * whole number of ERP units that can be promised. Unit conversion to Shopify happens at the push.
 *
 * Ownership of the terms:
 * - on_hand, allocated, wholesale_committed, erp_read_at: the ATP engine (from the ERP);
 * - safety_stock: the ATP engine (from the safety stock rules);
 * - expiring_lot_units: the ATP engine (units in lots of `inventory_lots` that expire before
 *   today + the sellable shelf life; the formula counts at most on_hand − allocated of them as
 *   `expiringSoon`, see src/inventory/read-model/atp-formula.ts);
 * - reserved: the reservations domain (sum of ACTIVE reservations, changed in the same
 *   transaction as the reservation);
 * - pending_shopify_orders: the orders domain (units of Shopify orders not yet allocated in the
 *   ERP) plus the sync's unexplained Shopify drops (see `unexplained_shopify_drop`).
 *
 * The oversell handshake between orders and sync (src/sync/README.md, "The oversell invariant"):
 * - `unexplained_shopify_drop` is signed. The sync adds to it what Shopify's `available` fell by
 *   (as read) beyond the value it last knew there, and subtracts what it rose by; it releases a
 *   positive remainder that no order explained within the order window, and a negative one at
 *   the next reading of Shopify taken after the last order counted there (`pending_counted_at`):
 *   an earlier reading may simply predate that order's sale.
 * - The orders domain, when it adds q units to `pending_orders` (a Shopify order it learned of),
 *   subtracts q from `unexplained_shopify_drop` in the same statement. It may go negative: an
 *   order whose sale the sync has not yet seen in Shopify's numbers. When units leave
 *   `pending_orders` (allocated in the ERP, cancelled, refunded) it leaves the drop alone.
 * - Only the positive part counts in the ATP: a negative drop never adds units.
 * One writer: every INSERT, UPDATE and DELETE of this table goes through
 * src/inventory/read-model/inventory-levels.writer.ts, which owns the ATP formula
 * (src/inventory/read-model/atp-formula.ts), recomputes `available_to_promise` in the statement
 * that changes a term, and owns the meaning of `push_requested_at` ("push no later than"), so
 * the event push picks a changed position up even after a crash.
 */
export const inventoryLevels = pgTable(
  'inventory_levels',
  {
    shop: text('shop').notNull(),
    sku: text('sku').notNull(),
    location: text('location').notNull(),
    onHand: doublePrecision('on_hand').notNull().default(0),
    allocated: doublePrecision('allocated').notNull().default(0),
    wholesaleCommitted: doublePrecision('wholesale_committed').notNull().default(0),
    safetyStock: doublePrecision('safety_stock').notNull().default(0),
    /** Units in lots expiring before today + the SKU's sellable shelf life (uncapped; the formula caps it). */
    expiringLotUnits: doublePrecision('expiring_lot_units').notNull().default(0),
    reserved: doublePrecision('reserved').notNull().default(0),
    /** Units of known Shopify orders not yet allocated in the ERP. */
    pendingOrders: doublePrecision('pending_orders').notNull().default(0),
    /**
     * Units Shopify's `available` dropped by that known orders do not explain (oversell guard);
     * signed, only the positive part counts (see the handshake above).
     */
    unexplainedShopifyDrop: doublePrecision('unexplained_shopify_drop').notNull().default(0),
    /**
     * When an order last added units here (and took them off the drop): a reading of Shopify
     * taken before that moment may not show that order's sale yet, so it releases no credit
     * (the handshake above; src/sync/push-plan.ts).
     */
    pendingCountedAt: timestamp('pending_counted_at', { withTimezone: true }),
    availableToPromise: integer('available_to_promise').notNull().default(0),
    erpReadAt: timestamp('erp_read_at', { withTimezone: true }),
    computedAt: timestamp('computed_at', { withTimezone: true }).notNull().defaultNow(),
    /** Shopify's `available` as last read (Shopify units), and when. */
    shopifyAvailable: integer('shopify_available'),
    shopifyReadAt: timestamp('shopify_read_at', { withTimezone: true }),
    /**
     * Shopify units a reservation's take of Stockbridge's own may have lowered `available` by,
     * beyond what `shopify_available` accounts for (a take whose answer never came, or whose
     * give-back did not land), and when it was last added to. Only a take after the last push
     * counts (`last_pushed_at`: a push sets the value whole). A negative Shopify value it covers is
     * Stockbridge's take, not a sale beyond stock (src/health: SHOPIFY_NEGATIVE_AVAILABLE).
     */
    unconfirmedTake: integer('unconfirmed_take').notNull().default(0),
    unconfirmedTakeAt: timestamp('unconfirmed_take_at', { withTimezone: true }),
    /** The value Stockbridge last set in Shopify (Shopify units), and when. */
    lastPushedQuantity: integer('last_pushed_quantity'),
    lastPushedAt: timestamp('last_pushed_at', { withTimezone: true }),
    /** Set when a term changed because of Stockbridge itself; cleared by the push that sent it. */
    pushRequestedAt: timestamp('push_requested_at', { withTimezone: true }),
  },
  (table) => [
    primaryKey({ columns: [table.shop, table.sku, table.location] }),
    index('inventory_levels_location_idx').on(table.shop, table.location, table.sku),
    index('inventory_levels_push_requested_idx')
      .on(table.shop, table.pushRequestedAt)
      .where(sql`${table.pushRequestedAt} is not null`),
  ],
);
