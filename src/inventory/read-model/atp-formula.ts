import { sql, type SQL } from 'drizzle-orm';
import { inventoryLevels } from '../../db/schema/index.js';

/**
 * The ATP formula, once in SQL and once in TypeScript, beside the only code that writes the read
 * model (./inventory-levels.writer.ts). Reads may use it too (a reservation's lock reads ATP
 * with it); writes go through the writer, which recomputes `available_to_promise` with it in the
 * statement that changes a term.
 */

/** The terms of the formula, as every read of the read model carries them. */
export interface AtpTerms {
  onHand: number;
  allocated: number;
  safetyStock: number;
  wholesaleCommitted: number;
  reserved: number;
  pendingOrders: number;
  unexplainedShopifyDrop: number;
  /** Units in lots expiring before the sellable horizon, uncapped (the formula caps them: `expiringSoon`). */
  expiringLotUnits: number;
}

/**
 * ATP in SQL over the row's current terms:
 * max(0, floor(onHand − allocated − safetyStock − wholesaleCommitted − reserved − pendingShopifyOrders − expiringSoon)),
 * where pendingShopifyOrders counts only the positive part of the unexplained drop, and
 * expiringSoon = min(expiring lot units, max(0, onHand − allocated)).
 *
 * Why expiringSoon is capped at onHand − allocated: lots are physical stock, and Tryton (like
 * most ERPs) allocates products, not lots, so we cannot know which lots an allocation will ship.
 * We assume the worst for selling: allocations take the fresh units, so every expiring unit
 * that is not allocated stays unsellable. The units an allocation holds are already subtracted
 * (as `allocated`), so expiring units beyond onHand − allocated would subtract the same
 * physical units twice. (The other choice, allocations shipping the expiring lots first,
 * would promise fresh units the picker may then need for those allocations.)
 * (Kits: the ATP engine stores a kit's buildable quantity as its on_hand, so the same formula
 * applies to its own safety stock, reservations and orders; its components' expiry is already
 * in their ATP, which is what the kit is built from.)
 */
export const atpExpression: SQL<number> = sql<number>`greatest(0, floor(
  ${inventoryLevels.onHand} - ${inventoryLevels.allocated} - ${inventoryLevels.safetyStock}
  - ${inventoryLevels.wholesaleCommitted} - ${inventoryLevels.reserved}
  - ${inventoryLevels.pendingOrders} - greatest(0, ${inventoryLevels.unexplainedShopifyDrop})
  - least(${inventoryLevels.expiringLotUnits}, greatest(0, ${inventoryLevels.onHand} - ${inventoryLevels.allocated}))))::integer`;

/** `expiringSoon` as the API shows it: the expiring lot units the formula subtracts. */
export const expiringSoonExpression: SQL<number> = sql<number>`least(${inventoryLevels.expiringLotUnits}, greatest(0, ${inventoryLevels.onHand} - ${inventoryLevels.allocated}))`;

/** The same cap in TypeScript. */
export function expiringSoon(terms: Pick<AtpTerms, 'onHand' | 'allocated' | 'expiringLotUnits'>): number {
  return Math.min(terms.expiringLotUnits, Math.max(0, terms.onHand - terms.allocated));
}

/** `pendingShopifyOrders` as the API shows it: known orders plus unexplained drops. */
export const pendingShopifyOrdersExpression: SQL<number> = sql<number>`(${inventoryLevels.pendingOrders} + greatest(0, ${inventoryLevels.unexplainedShopifyDrop}))`;

/** The same formula in TypeScript, for computing before writing and for tests. */
export function availableToPromise(terms: AtpTerms): number {
  const raw =
    terms.onHand -
    terms.allocated -
    terms.safetyStock -
    terms.wholesaleCommitted -
    terms.reserved -
    terms.pendingOrders -
    Math.max(0, terms.unexplainedShopifyDrop) -
    expiringSoon(terms);
  // A tiny epsilon keeps 2.9999999999 (float sums of fractional units) from flooring to 2.
  return Math.max(0, Math.floor(raw + 1e-9));
}

/** The formula's terms as the table's columns, in the order `atpOf` takes them. */
export const TERM_COLUMNS = ['on_hand', 'allocated', 'wholesale_committed', 'safety_stock', 'reserved', 'pending_orders', 'unexplained_shopify_drop', 'expiring_lot_units'] as const;

export type TermColumn = (typeof TERM_COLUMNS)[number];

/**
 * The ATP of a row made of these terms, computed by `atpExpression` itself: the derived table is
 * named `inventory_levels`, so the formula's column references read these values. This lets one
 * statement change a term and store the ATP of the new terms (an UPDATE's right-hand sides all
 * see the row as it was), while keeping the one formula. Terms not given are the row's own
 * (`inventory_levels.<column>` of the statement's target, or of the INSERT's conflicting row).
 */
export function atpOf(terms: Partial<Record<TermColumn, SQL>>): SQL {
  const values = TERM_COLUMNS.map((column) => terms[column] ?? sql`${inventoryLevels}.${sql.identifier(column)}`);
  return sql`(select ${atpExpression} from (select ${sql.join(values, sql`, `)}) as inventory_levels(${sql.raw(TERM_COLUMNS.join(', '))}))`;
}
