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
}

/**
 * ATP in SQL over the row's current terms:
 * max(0, floor(onHand − allocated − safetyStock − wholesaleCommitted − reserved − pendingShopifyOrders)),
 * where pendingShopifyOrders counts only the positive part of the unexplained drop.
 * (Kits: the ATP engine stores a kit's buildable quantity as its on_hand, so the same formula
 * applies to its own safety stock, reservations and orders.)
 */
export const atpExpression: SQL<number> = sql<number>`greatest(0, floor(
  ${inventoryLevels.onHand} - ${inventoryLevels.allocated} - ${inventoryLevels.safetyStock}
  - ${inventoryLevels.wholesaleCommitted} - ${inventoryLevels.reserved}
  - ${inventoryLevels.pendingOrders} - greatest(0, ${inventoryLevels.unexplainedShopifyDrop})))::integer`;

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
    Math.max(0, terms.unexplainedShopifyDrop);
  // A tiny epsilon keeps 2.9999999999 (float sums of fractional units) from flooring to 2.
  return Math.max(0, Math.floor(raw + 1e-9));
}

/** The formula's terms as the table's columns, in the order `atpOf` takes them. */
export const TERM_COLUMNS = ['on_hand', 'allocated', 'wholesale_committed', 'safety_stock', 'reserved', 'pending_orders', 'unexplained_shopify_drop'] as const;

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
