import { and, eq, inArray, or, sql, type SQL } from 'drizzle-orm';
import { rowsOf, type Db } from '../db/database.js';
import { atpExpression, inventoryLevels, shopifyOrderLines } from '../db/schema/index.js';
import { requestPush, type PositionKey } from '../inventory/push-requests.js';
import { toLine, type StoredLine } from './order.repository.js';

/**
 * The only code that changes `inventory_levels.pending_orders`. Each order line records in
 * `pending_quantity` exactly what it adds to its position, so moving a line to a new target
 * changes the position by the difference, and the sum over open lines is the column's value.
 *
 * The handshake with the sync (header of src/db/schema/inventory-levels.ts): units an order adds
 * for the first time are subtracted from `unexplained_shopify_drop` in the same statement (the
 * order now explains Shopify's drop); units leaving `pending_orders` leave the drop alone. A line
 * remembers the most it ever added (`explained_quantity`), so a line that is released and added
 * again (an order re-mapped before submission) explains its units once.
 */

export interface PendingChange {
  readonly positions: readonly PositionKey[];
  /** Net units added (negative: released) over all positions. */
  readonly delta: number;
}

const EPSILON = 1e-9;

function keyOf(sku: string, location: string): string {
  return `${sku}\u0000${location}`;
}

function positionsCondition(positions: readonly PositionKey[]): SQL {
  const bySku = new Map<string, string[]>();
  for (const { sku, location } of positions) bySku.set(sku, [...(bySku.get(sku) ?? []), location]);
  return or(...[...bySku].map(([sku, locations]) => and(eq(inventoryLevels.sku, sku), inArray(inventoryLevels.location, locations))))!;
}

/**
 * Sets each line's pending units to `target(line)` (0 for unmapped lines) and changes the
 * positions with them, recomputes their ATP and marks them for the event push, in the caller's
 * transaction. A position with no read-model row yet holds nothing: its line stays at 0 and a
 * later call (the allocation check) adds the units once the row exists.
 */
export async function setPendingUnits(tx: Db, shop: string, orderId: string, target: (line: StoredLine) => number, at: Date): Promise<PendingChange> {
  const lineRows = await tx
    .select()
    .from(shopifyOrderLines)
    .where(eq(shopifyOrderLines.orderId, orderId))
    .orderBy(shopifyOrderLines.lineNo)
    .for('update');
  const lines = lineRows.map((row) => ({
    lineNo: row.lineNo,
    erpSku: row.erpSku,
    location: row.location,
    quantity: row.quantity,
    pendingQuantity: row.pendingQuantity,
    explainedQuantity: row.explainedQuantity,
    line: row,
  }));
  const wanted = new Map<string, PositionKey>();
  for (const line of lines) if (line.erpSku && line.location) wanted.set(keyOf(line.erpSku, line.location), { sku: line.erpSku, location: line.location });
  for (const line of lines) if (line.pendingQuantity > 0 && line.erpSku && line.location) wanted.set(keyOf(line.erpSku, line.location), { sku: line.erpSku, location: line.location });

  // Lock the positions in a fixed order first, so two orders never wait on each other in a cycle.
  const sorted = [...wanted.values()].sort((a, b) => (a.sku === b.sku ? (a.location < b.location ? -1 : 1) : a.sku < b.sku ? -1 : 1));
  const existing = new Set<string>();
  if (sorted.length > 0) {
    const rows = await tx.execute<{ sku: string; location: string }>(sql`
      select sku, location from ${inventoryLevels}
      where ${inventoryLevels.shop} = ${shop} and ${positionsCondition(sorted)}
      order by sku, location
      for update`);
    for (const row of rowsOf<{ sku: string; location: string }>(rows)) existing.add(keyOf(row.sku, row.location));
  }

  const perPosition = new Map<string, { sku: string; location: string; delta: number; explain: number }>();
  const lineUpdates: { lineNo: number; pending: number; explained: number }[] = [];
  let net = 0;
  for (const entry of lines) {
    const mapped = entry.erpSku !== null && entry.location !== null && entry.quantity !== null;
    const key = mapped ? keyOf(entry.erpSku!, entry.location!) : null;
    const present = key !== null && existing.has(key);
    const desired = present ? Math.max(0, target(toLine(entry.line))) : 0;
    // A line whose row vanished (or that lost its mapping) releases nothing: there is nothing to release from.
    const previous = present ? entry.pendingQuantity : 0;
    const delta = desired - previous;
    const explain = Math.max(0, desired - entry.explainedQuantity);
    if (Math.abs(delta) > EPSILON || Math.abs(desired - entry.pendingQuantity) > EPSILON) {
      lineUpdates.push({ lineNo: entry.lineNo, pending: desired, explained: Math.max(entry.explainedQuantity, desired) });
    }
    if (!present || (Math.abs(delta) <= EPSILON && explain <= EPSILON)) continue;
    const change = perPosition.get(key!) ?? { sku: entry.erpSku!, location: entry.location!, delta: 0, explain: 0 };
    change.delta += delta;
    change.explain += explain;
    perPosition.set(key!, change);
    net += delta;
  }

  const changed = [...perPosition.values()].sort((a, b) => (a.sku === b.sku ? (a.location < b.location ? -1 : 1) : a.sku < b.sku ? -1 : 1));
  if (changed.length > 0) {
    const values = sql.join(
      changed.map((change) => sql`(${change.sku}::text, ${change.location}::text, ${change.delta}::double precision, ${change.explain}::double precision)`),
      sql`, `,
    );
    await tx.execute(sql`
      update ${inventoryLevels}
      set pending_orders = greatest(0, ${inventoryLevels.pendingOrders} + changes.delta),
          unexplained_shopify_drop = ${inventoryLevels.unexplainedShopifyDrop} - changes.explain,
          computed_at = ${at.toISOString()}::timestamptz
      from (values ${values}) as changes(sku, location, delta, explain)
      where ${inventoryLevels.shop} = ${shop} and ${inventoryLevels.sku} = changes.sku and ${inventoryLevels.location} = changes.location`);
    // A second statement because SET sees the old terms: the ATP must come from the new ones.
    await tx
      .update(inventoryLevels)
      .set({ availableToPromise: atpExpression })
      .where(and(eq(inventoryLevels.shop, shop), positionsCondition(changed)));
    await requestPush(tx, shop, changed, at);
  }
  for (const update of lineUpdates) {
    await tx
      .update(shopifyOrderLines)
      .set({ pendingQuantity: update.pending, explainedQuantity: update.explained })
      .where(and(eq(shopifyOrderLines.orderId, orderId), eq(shopifyOrderLines.lineNo, update.lineNo)));
  }
  return { positions: changed.map(({ sku, location }) => ({ sku, location })), delta: net };
}

