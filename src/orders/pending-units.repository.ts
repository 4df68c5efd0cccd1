import { and, eq, sql } from 'drizzle-orm';
import { rowsOf, type Db } from '../db/database.js';
import { pairIn, valuesTable } from '../db/sql-lists.js';
import { inventoryLevels, shopifyOrderLines, shopifyOrders } from '../db/schema/index.js';
import { expiringSoon } from '../inventory/read-model/atp-formula.js';
import { comparePositions, createInventoryLevelsWriter, type PositionKey } from '../inventory/read-model/inventory-levels.writer.js';
import type { OversellFinding } from './order-health.port.js';
import type { OrderRecord } from './order.models.js';
import { toLine, type NewLine, type OrderRepository, type StoredLine } from './order.repository.js';

/**
 * The only caller that changes `inventory_levels.pending_orders` (through the read model's
 * writer, src/inventory/read-model/inventory-levels.writer.ts, in the caller's transaction: an
 * order's pending units commit with the order that holds them). Each order line records in
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
  /**
   * Units added beyond what the ATP could cover at that moment (before the order's own units
   * were counted): one finding per order and position. Reported once the transaction commits.
   */
  readonly oversold?: readonly OversellFinding[];
}

const EPSILON = 1e-9;

function keyOf(sku: string, location: string): string {
  return `${sku}\u0000${location}`;
}

/** One line's change of a position's units, in the order the lines were moved. */
interface UnitStep {
  readonly key: string;
  readonly sku: string;
  readonly location: string;
  /** The order of the line, for oversell findings; null: no finding is looked for. */
  readonly orderId: string | null;
  readonly delta: number;
  readonly explain: number;
}

/**
 * Pending units moved in one transaction but written to the positions only at its end, by
 * `flush`, the transaction's last statement but one. A transaction that moves the units of many
 * orders (the inbox's batch of deliveries) would otherwise hold the locks of hot positions from
 * its first order to its commit, and every other writer of those positions (the other instances'
 * batches, reservations, the push) would queue behind it: at 10,000 orders a minute the batches
 * of three instances ran one after another. Deferred, a position is locked for two statements
 * and the commit.
 *
 * Which positions exist is read without a lock (`present`); `flush` locks them, in (sku,
 * location) order, and fails the transaction when one has vanished meanwhile, so no line ever
 * holds units its position does not count. The oversell check runs at `flush` on the rows as
 * locked, over the steps in the order they were moved: the same findings as moving them one by
 * one under the lock.
 */
export interface DeferredPositionWrites {
  /** Keys (`sku\u0000location`) of these positions that have a read-model row. */
  present(positions: readonly PositionKey[]): Promise<Set<string>>;
  add(steps: readonly UnitStep[]): void;
  /** How many steps are held, for `discardSince`. */
  mark(): number;
  /** Forgets the steps added since `mark`: what a savepoint that rolled back had moved. */
  discardSince(mark: number): void;
  /** Locks the positions moved, applies their totals and returns the oversells; call it last. */
  flush(at: Date): Promise<{ readonly positions: readonly PositionKey[]; readonly oversold: readonly OversellFinding[] }>;
}

export class PositionVanished extends Error {
  constructor(readonly positions: readonly PositionKey[]) {
    super(`read-model position(s) ${positions.map((p) => `${p.sku}@${p.location}`).join(', ')} vanished while their pending units were being moved; the transaction is retried`);
    this.name = 'PositionVanished';
  }
}

export function deferPositionWrites(tx: Db, shop: string): DeferredPositionWrites {
  const known = new Map<string, boolean>();
  const steps: UnitStep[] = [];
  return {
    async present(positions) {
      const unknown = new Map<string, PositionKey>();
      for (const position of positions) {
        const key = keyOf(position.sku, position.location);
        if (!known.has(key)) unknown.set(key, position);
      }
      if (unknown.size > 0) {
        const rows = await tx
          .select({ sku: inventoryLevels.sku, location: inventoryLevels.location })
          .from(inventoryLevels)
          .where(and(eq(inventoryLevels.shop, shop), pairIn(inventoryLevels.sku, inventoryLevels.location, [...unknown.values()].map((p) => [p.sku, p.location] as const))));
        for (const key of unknown.keys()) known.set(key, false);
        for (const row of rows) known.set(keyOf(row.sku, row.location), true);
      }
      return new Set(positions.map((p) => keyOf(p.sku, p.location)).filter((key) => known.get(key)));
    },
    add(moved) {
      steps.push(...moved);
    },
    mark() {
      return steps.length;
    },
    discardSince(mark) {
      steps.length = Math.min(steps.length, mark);
    },
    async flush(at) {
      const totals = new Map<string, PositionKey & { delta: number; explain: number }>();
      for (const step of steps) {
        const total = totals.get(step.key) ?? { sku: step.sku, location: step.location, delta: 0, explain: 0 };
        total.delta += step.delta;
        total.explain += step.explain;
        totals.set(step.key, total);
      }
      const changed = [...totals.values()].filter((t) => Math.abs(t.delta) > EPSILON || t.explain > EPSILON).sort(comparePositions);
      if (changed.length === 0) return { positions: [], oversold: [] };
      const writer = createInventoryLevelsWriter(tx, shop);
      const rows = await writer.lockRows(changed);
      if (rows.length < changed.length) {
        const found = new Set(rows.map((row) => keyOf(row.sku, row.location)));
        throw new PositionVanished(changed.filter((p) => !found.has(keyOf(p.sku, p.location))));
      }
      const oversold = oversellsOf(rows, steps);
      await writer.adjustPendingOrders(changed, at);
      steps.length = 0;
      return { positions: changed.map(({ sku, location }) => ({ sku, location })), oversold };
    },
  };
}

export interface MoveUnitsOptions {
  /** The order each line belongs to (for oversell findings); without it, nothing is looked for. */
  readonly orderIdOf?: (index: number) => string;
  /** Write the positions at the transaction's end (see DeferredPositionWrites); oversells are found there. */
  readonly deferred?: DeferredPositionWrites | null;
}

/**
 * Works out each line's new pending units (`target(line)`, 0 for unmapped lines), changes the
 * positions by the difference, recomputes their ATP and marks them for the event push, in the
 * caller's transaction (or, `deferred`, at its end). A position with no read-model row yet holds
 * nothing: its line stays at 0 and a later call (the allocation check) adds the units once the
 * row exists. Returns the new pending and explained units of the lines that change, by their
 * index in `lines` (which may belong to several orders), for the caller to store.
 */
export async function moveUnits(
  tx: Db,
  shop: string,
  lines: readonly StoredLine[],
  target: (line: StoredLine, index: number) => number,
  at: Date,
  options: MoveUnitsOptions = {},
): Promise<{ change: PendingChange; next: Map<number, { pending: number; explained: number }> }> {
  const { orderIdOf, deferred } = options;
  const wanted = new Map<string, PositionKey>();
  for (const line of lines) if (line.erpSku && line.location) wanted.set(keyOf(line.erpSku, line.location), { sku: line.erpSku, location: line.location });

  // Deferred: which rows exist, unlocked (the flush locks them). Otherwise lock the positions in
  // a fixed order first, so two orders never wait on each other in a cycle; the rows as locked
  // are the oversell check's.
  const writer = createInventoryLevelsWriter(tx, shop);
  let existing: Set<string>;
  let locked: Awaited<ReturnType<typeof writer.lockRows>> = [];
  if (deferred) existing = await deferred.present([...wanted.values()]);
  else {
    locked = await writer.lockRows([...wanted.values()]);
    existing = new Set(locked.map((row) => keyOf(row.sku, row.location)));
  }

  const perPosition = new Map<string, { sku: string; location: string; delta: number; explain: number }>();
  const next = new Map<number, { pending: number; explained: number }>();
  /** Each line's change, in line order, for the oversell check. */
  const steps: UnitStep[] = [];
  let net = 0;
  for (const [index, line] of lines.entries()) {
    const mapped = line.erpSku !== null && line.location !== null && line.quantity !== null;
    const key = mapped ? keyOf(line.erpSku!, line.location!) : null;
    const present = key !== null && existing.has(key);
    const desired = present ? Math.max(0, target(line, index)) : 0;
    // A line whose row vanished (or that lost its mapping) releases nothing: there is nothing to release from.
    const previous = present ? line.pendingQuantity : 0;
    const delta = desired - previous;
    const explain = Math.max(0, desired - line.explainedQuantity);
    if (Math.abs(desired - line.pendingQuantity) > EPSILON || explain > EPSILON) {
      next.set(index, { pending: desired, explained: Math.max(line.explainedQuantity, desired) });
    }
    if (!present || (Math.abs(delta) <= EPSILON && explain <= EPSILON)) continue;
    steps.push({ key: key!, sku: line.erpSku!, location: line.location!, orderId: orderIdOf ? orderIdOf(index) : null, delta, explain });
    const change = perPosition.get(key!) ?? { sku: line.erpSku!, location: line.location!, delta: 0, explain: 0 };
    change.delta += delta;
    change.explain += explain;
    perPosition.set(key!, change);
    net += delta;
  }

  const changed = [...perPosition.values()].sort(comparePositions);
  const positions = changed.map(({ sku, location }) => ({ sku, location }));
  if (deferred) {
    deferred.add(steps);
    return { change: { positions, delta: net, oversold: [] }, next };
  }
  const oversold = orderIdOf && steps.some((step) => step.delta > EPSILON) ? oversellsOf(locked, steps) : [];
  // One statement: the new terms, their ATP and the push mark.
  await writer.adjustPendingOrders(changed, at);
  return { change: { positions, delta: net, oversold }, next };
}

/**
 * The oversell check, on the positions as locked (before these steps' changes): each step that
 * adds units is compared with the ATP left for it, i.e. the formula over the position's terms
 * with the earlier steps' changes applied and this step's Shopify drop explained (its units
 * already shown as a drop are its own, not someone else's), but without its own units. What it
 * adds beyond that is an oversell of its order at that position. Reads only the read model.
 */
function oversellsOf(rows: readonly (typeof inventoryLevels.$inferSelect)[], steps: readonly UnitStep[]): OversellFinding[] {
  const state = new Map(
    rows.map((row) => [
      keyOf(row.sku, row.location),
      {
        // Every term but the unexplained drop (which each line may explain in part).
        base: row.onHand - row.allocated - row.safetyStock - row.wholesaleCommitted - row.reserved - row.pendingOrders - expiringSoon(row),
        drop: row.unexplainedShopifyDrop,
      },
    ]),
  );
  const found = new Map<string, OversellFinding & { units: number; added: number; atpLeft: number }>();
  for (const step of steps) {
    const position = state.get(step.key);
    if (!position) continue;
    if (step.delta > EPSILON && step.orderId !== null) {
      const atpLeft = position.base - Math.max(0, position.drop - step.explain);
      const beyond = step.delta - Math.max(0, Math.floor(atpLeft + EPSILON));
      if (beyond > EPSILON) {
        const id = `${step.orderId}\u0000${step.key}`;
        const previous = found.get(id);
        if (previous) {
          previous.units += beyond;
          previous.added += step.delta;
        } else {
          found.set(id, { sku: step.sku, location: step.location, orderId: step.orderId, units: beyond, added: step.delta, atpLeft });
        }
      }
    }
    position.base -= step.delta;
    position.drop -= step.explain;
  }
  return [...found.values()];
}

/**
 * The oversell findings held to what is certain; run after the transaction that found them
 * committed, never while it holds the positions. An order the ERP may already have may be
 * counted twice at its position until the allocation check releases its pending units: once
 * here, once in the `allocated` (or the lower `onHand`) of an ERP read taken after its create was
 * sent, whether or not its answer was written back yet (SUBMITTED, or in doubt, or answered while
 * the database was away). So the pending units of orders whose create was sent no later than the
 * position's ERP read (the margin) are added back to the ATP a finding was judged on: what the
 * order added beyond even that is an oversell. At a peak the ERP allocates and ships thousands of
 * orders a minute before the check comes round to them, and each new order on a hot SKU looked
 * like an oversell.
 *
 * The margin of a hot position sums thousands of lines (200 ms at the peak), and at a peak most
 * batches find something there: each position's margin is kept and read again when a finding
 * goes beyond it and it is older than `freshMs` (it grows as orders are sent, and a margin a
 * moment old still holds every order sent before it), and whatever the findings once it is older
 * than `maxAgeMs` (it shrinks as the allocation check releases orders: an old one would hide a
 * real oversell).
 */
/** A finding as it is recorded: its position, order and units, without what it was judged on. */
export function asIncident({ sku, location, orderId, units }: OversellFinding): OversellFinding {
  return { sku, location, orderId, units };
}

export interface OversellJudge {
  judge(findings: readonly OversellFinding[]): Promise<OversellFinding[]>;
}

export function createOversellJudge(db: Db, shop: string, options: { freshMs?: number; maxAgeMs?: number; now?: () => number } = {}): OversellJudge {
  const freshMs = options.freshMs ?? 2_000;
  const maxAgeMs = options.maxAgeMs ?? 30_000;
  const now = options.now ?? Date.now;
  const margins = new Map<string, { units: number; at: number }>();
  const beyond = (finding: OversellFinding, margin: number) =>
    Math.min(finding.units, finding.added! - Math.max(0, Math.floor(finding.atpLeft! + margin + EPSILON)));

  async function readMargins(positions: ReadonlyArray<readonly [string, string]>): Promise<void> {
    const at = now();
    const sums = await db.execute(sql`
      select il.sku, il.location, sum(l.pending_quantity)::double precision as units
      from ${inventoryLevels} il
      join ${shopifyOrderLines} l on l.shop = il.shop and l.erp_sku = il.sku and l.location = il.location and l.pending_quantity > 0
      join ${shopifyOrders} o on o.id = l.order_id and o.create_sent_at <= il.erp_read_at
      where il.shop = ${shop} and ${pairIn(sql`il.sku`, sql`il.location`, positions)}
      group by il.sku, il.location`);
    for (const [sku, location] of positions) margins.set(keyOf(sku, location), { units: 0, at });
    for (const row of rowsOf<{ sku: string; location: string; units: number }>(sums)) margins.set(keyOf(row.sku, row.location), { units: Number(row.units), at });
  }

  return {
    async judge(findings) {
      const judged = findings.filter((finding) => finding.atpLeft !== undefined && finding.added !== undefined);
      const stale = new Map<string, readonly [string, string]>();
      for (const finding of judged) {
        const key = keyOf(finding.sku, finding.location);
        const kept = margins.get(key);
        const age = kept ? now() - kept.at : Number.POSITIVE_INFINITY;
        if (age >= maxAgeMs || (age >= freshMs && beyond(finding, kept!.units) > EPSILON)) stale.set(key, [finding.sku, finding.location]);
      }
      if (stale.size > 0) await readMargins([...stale.values()]);
      return findings.flatMap((finding) => {
        if (finding.atpLeft === undefined || finding.added === undefined) return [finding];
        const units = beyond(finding, margins.get(keyOf(finding.sku, finding.location))?.units ?? 0);
        return units > EPSILON ? [{ ...asIncident(finding), units }] : [];
      });
    },
  };
}

/** Moves every line of a stored order to `target(line)` pending units (see `moveUnits`). */
export async function setPendingUnits(
  tx: Db,
  shop: string,
  orderId: string,
  target: (line: StoredLine) => number,
  at: Date,
  deferred?: DeferredPositionWrites | null,
): Promise<PendingChange> {
  const rows = await tx.select().from(shopifyOrderLines).where(eq(shopifyOrderLines.orderId, orderId)).orderBy(shopifyOrderLines.lineNo).for('update');
  const lines = rows.map(toLine);
  const { change, next } = await moveUnits(tx, shop, lines, target, at, { orderIdOf: () => orderId, deferred });
  if (next.size > 0) {
    const rows = [...next].map(([index, value]) => sql`(${lines[index]!.lineNo}::integer, ${value.pending}::double precision, ${value.explained}::double precision)`);
    await tx.execute(sql`
      update ${shopifyOrderLines} set pending_quantity = v.pending, explained_quantity = v.explained
      from ${valuesTable(rows, 'line_no, pending, explained')}
      where ${shopifyOrderLines.orderId} = ${orderId} and ${shopifyOrderLines.lineNo} = v.line_no`);
  }
  return change;
}

/** Target of an order line's pending units: open units the ERP does not yet hold, or 0 once cancelled. */
export function pendingTargetOf(order: Pick<OrderRecord, 'status' | 'shopifyCancelledAt'>) {
  const cancelled = order.status === 'CANCELLED' || order.shopifyCancelledAt !== null;
  return (line: { quantity: number | null; erpCoveredQuantity: number }) => (cancelled || line.quantity === null ? 0 : Math.max(0, line.quantity - line.erpCoveredQuantity));
}

/**
 * Gives an order (locked by the caller) the lines mapped from the snapshot with `digest`, and
 * moves its pending units with them, in the caller's transaction: the old lines' units are
 * released and the new ones counted in the same commit, so the ATP never shows them free.
 */
export async function replaceOrderLines(
  tx: Db,
  repository: OrderRepository,
  shop: string,
  order: OrderRecord,
  lines: readonly NewLine[],
  digest: string,
  at: Date,
  options: { readonly newOrder?: boolean; readonly deferred?: DeferredPositionWrites | null } = {},
): Promise<PendingChange> {
  // A new order has no lines yet: nothing to read, release or delete.
  const old = options.newOrder ? [] : ((await repository.linesOf(tx, [order.id])).get(order.id) ?? []);
  const released = old.length > 0 ? await setPendingUnits(tx, shop, order.id, () => 0, at, options.deferred) : { positions: [], delta: 0 };
  const explained = new Map(old.map((line) => [line.shopifyLineId, line.explainedQuantity]));
  const fresh: StoredLine[] = lines.map((line) => ({
    ...line,
    pendingQuantity: 0,
    erpCoveredQuantity: 0,
    explainedQuantity: explained.get(line.shopifyLineId) ?? line.explainedQuantity ?? 0,
  }));
  // The new lines are ours alone until this transaction commits: their units are worked out
  // before they are written, and written once.
  const { change: added, next } = await moveUnits(tx, shop, fresh, pendingTargetOf(order), at, { orderIdOf: () => order.id, deferred: options.deferred });
  await repository.replaceLines(
    tx,
    shop,
    order.id,
    fresh.map((line, index) => ({ ...line, pendingQuantity: next.get(index)?.pending ?? 0, explainedQuantity: next.get(index)?.explained ?? line.explainedQuantity })),
    { keepNone: !options.newOrder },
  );
  await repository.update(tx, order.id, { linesDigest: digest });
  const positions = new Map([...released.positions, ...added.positions].map((position) => [`${position.sku}\u0000${position.location}`, position]));
  return { positions: [...positions.values()], delta: released.delta + added.delta, oversold: added.oversold ?? [] };
}

