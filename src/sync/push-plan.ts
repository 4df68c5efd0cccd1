import { availableToPromise, type AtpTerms } from '../inventory/read-model/atp-formula.js';
import { withoutGidPrefix } from '../shopify/gid.js';
import { toErpUnits, toShopifyUnits, type ShopifyPushGroup } from '../inventory/inventory.port.js';

/**
 * What to set in Shopify for one item at one location, and what the read model must learn on
 * the way: pure arithmetic, so the oversell invariant is written (and tested) once.
 *
 * The invariant: a push never hands back units Shopify sold that the ERP does not yet hold.
 * Shopify's `available` as Stockbridge last knew it (the baseline: the value it set, or last
 * read) can only fall by sales, merchants' edits and other apps. When a reading shows it lower
 * than the baseline, the fall is added to the positions' signed `unexplained_shopify_drop`, from
 * which the orders domain subtracts every order it learns of (the handshake in the header of
 * src/db/schema/inventory-levels.ts). Whatever is positive counts like a pending order in the ATP,
 * so the target already excludes units sold that Stockbridge has no order for yet; once the order
 * arrives it moves from the drop into `pending_orders` and the ATP does not change.
 *
 * A drop that no order explains within the order window (a merchant's edit, a lost order) is
 * released: the ERP is the source of truth. A negative remainder (orders whose sale never showed
 * in Shopify's numbers) is released at the next reading, where the sale would have shown.
 */

/** One read-model row as the push needs it. */
export interface PushPosition extends Readonly<AtpTerms> {
  readonly sku: string;
  readonly location: string;
  readonly availableToPromise: number;
  readonly shopifyAvailable: number | null;
  readonly shopifyReadAt: Date | null;
  readonly pushRequestedAt: Date | null;
  /** When an order last added units here (`pending_counted_at`); absent = never. */
  readonly pendingCountedAt?: Date | null;
}

/** Shopify's `available` as read at `at` (0 when Shopify has no level for the pair). */
export interface ShopifyReading {
  readonly available: number;
  readonly at: Date;
  /**
   * The moment Shopify surely held that value (the request's sending, a webhook's `updated_at`),
   * when earlier than `at`: an order counted after it may have sold after it, so no credit is
   * released for it. Absent: `at`.
   */
  readonly heldAt?: Date;
}

export interface GroupInput {
  readonly group: ShopifyPushGroup;
  /** The group's positions that exist in the read model (any of `group.erpLocations`). */
  readonly positions: readonly PushPosition[];
  /** A reading of Shopify's level, if one was taken; ignored when older than the baseline. */
  readonly reading: ShopifyReading | null;
  /** `to_quantity` of writes whose outcome is unknown (sync_push_intents). */
  readonly inFlight: readonly number[];
  readonly lastUnexplainedDropAt: Date | null;
}

export interface PlanOptions {
  readonly now: Date;
  /** How long a drop may wait for its order before it is released. */
  readonly orderWindowMs: number;
}

export interface DropChange {
  readonly sku: string;
  readonly location: string;
  /** Added to `unexplained_shopify_drop` (ERP units); applied relatively, so concurrent order handshakes are kept. */
  readonly delta: number;
}

export interface GroupPlan {
  readonly group: ShopifyPushGroup;
  /** What Shopify is believed to hold (the compare-and-set value); null when never read. */
  readonly expected: number | null;
  /** What Shopify should hold. */
  readonly target: number;
  /** The ATP each position should have once `dropChanges` are applied. */
  readonly atpByLocation: ReadonlyMap<string, number>;
  readonly dropChanges: readonly DropChange[];
  /** A reading newer than the baseline: it becomes the baseline. */
  readonly newBaseline: ShopifyReading | null;
  /** Shopify units that fell without an explaining order, found by this reading. */
  readonly unexplainedDrop: number;
  /**
   * ERP units of unexplained drop released: `window`, a drop no order explained in the order
   * window; `credit`, orders whose sale a reading did not show.
   */
  readonly released: { readonly window: number; readonly credit: number };
  /** Null when the group no longer holds a positive unexplained drop. */
  readonly lastUnexplainedDropAt: Date | null;
  /** The input's `lastUnexplainedDropAt`, to know whether it changed. */
  readonly lastUnexplainedDropAtBefore: Date | null;
  /** When a held drop will be released, if one is held (the event push re-plans then). */
  readonly releaseAt: Date | null;
  /**
   * The reading differed from what Shopify should have held by the read model as it stood (a
   * reconcile's drift): a level that was wrong, whether it is now corrected or held back.
   */
  readonly drift: boolean;
  /**
   * A reading newer than the baseline met writes in flight: those sent no later than this moment
   * (the reading's `heldAt`) are settled by it, landed or not, and must widen no later reading.
   * Null when no write in flight was weighed.
   */
  readonly settlesIntentsUpTo: Date | null;
}

const EPSILON = 1e-9;

/** The baseline: Shopify's value as Stockbridge last knew it (the newest of the positions'). */
export function baselineOf(positions: readonly PushPosition[]): { available: number; at: Date | null } | null {
  let best: PushPosition | null = null;
  for (const position of positions) {
    if (position.shopifyAvailable === null) continue;
    if (!best || (position.shopifyReadAt?.getTime() ?? 0) > (best.shopifyReadAt?.getTime() ?? 0)) best = position;
  }
  return best ? { available: best.shopifyAvailable!, at: best.shopifyReadAt } : null;
}

/**
 * How far Shopify fell (positive) or rose (negative) since the baseline, in Shopify units. A
 * reading equal to one of our own writes in flight means that write landed: no change. When
 * writes are in flight and the reading matches neither them nor the baseline, the highest of
 * them is taken as the baseline: over-counting a fall holds units back, under-counting oversells.
 * Once: the reading settles those writes (`settlesIntentsUpTo`). A write whose answer never came
 * (its process killed, the database cut before its outcome was recorded) stayed in flight for
 * every later reading, and each added its whole distance to the drop again: tens of thousands
 * of units held at one hot position in a full run.
 */
export function shopifyFall(baseline: number, reading: number, inFlight: readonly number[]): number {
  if (reading === baseline || inFlight.includes(reading)) return 0;
  return Math.max(baseline, ...inFlight) - reading;
}

export function planGroup(input: GroupInput, options: PlanOptions): GroupPlan {
  const { group, reading } = input;
  const positions = [...input.positions].sort((a, b) => a.location.localeCompare(b.location));
  const baseline = baselineOf(positions);
  const readingApplies = reading !== null && (baseline === null || baseline.at === null || reading.at.getTime() > baseline.at.getTime());

  const targetBefore = toShopifyUnits(
    positions.reduce((sum, position) => sum + availableToPromise(position), 0),
    group.conversion,
  );
  let drop = positions.reduce((sum, position) => sum + position.unexplainedShopifyDrop, 0);
  let unexplainedDrop = 0;
  const released = { window: 0, credit: 0 };
  let lastDropAt = input.lastUnexplainedDropAt;
  let expected: number | null = baseline?.available ?? null;

  if (readingApplies) {
    expected = reading.available;
    if (baseline !== null) {
      const fall = shopifyFall(baseline.available, reading.available, input.inFlight);
      drop += toErpUnits(fall, group.conversion);
      if (fall > 0) {
        unexplainedDrop = fall;
        lastDropAt = options.now;
      }
    }
    // Orders subtracted from the drop whose sale this reading does not show: their units were
    // never taken from Shopify's `available`, so they need not be held back. Only when the
    // reading was taken after the last order counted here: an order counted after it may have
    // sold after it too, and its fall, read next time, must still meet its credit (releasing the
    // credit now would count that sale twice, as a pending order and as a drop).
    const lastCounted = Math.max(0, ...positions.map((position) => position.pendingCountedAt?.getTime() ?? 0));
    if (drop < -EPSILON && (reading.heldAt ?? reading.at).getTime() > lastCounted) {
      released.credit += -drop;
      drop = 0;
    }
  }

  if (drop > EPSILON) {
    lastDropAt ??= options.now;
    if (options.now.getTime() - lastDropAt.getTime() >= options.orderWindowMs) {
      released.window += drop;
      drop = 0;
    }
  }
  if (Math.abs(drop) <= EPSILON) drop = 0;
  const holding = drop > 0;

  // Spread the group's drop over its positions so the sum of their ATP falls by it: each takes
  // at most its own ATP before the drop, the first takes the rest (and any credit).
  const shares = new Map<string, number>();
  let remaining = drop;
  for (const position of positions) {
    const base = availableToPromise({ ...position, unexplainedShopifyDrop: 0 });
    const share = remaining > 0 ? Math.min(remaining, base) : 0;
    shares.set(position.location, share);
    remaining -= share;
  }
  if (positions.length > 0 && Math.abs(remaining) > EPSILON) {
    const first = positions[0]!.location;
    shares.set(first, shares.get(first)! + remaining);
  }

  const atpByLocation = new Map<string, number>();
  const dropChanges: DropChange[] = [];
  let atpSum = 0;
  for (const position of positions) {
    const share = shares.get(position.location)!;
    const atp = availableToPromise({ ...position, unexplainedShopifyDrop: share });
    atpByLocation.set(position.location, atp);
    atpSum += atp;
    const delta = share - position.unexplainedShopifyDrop;
    if (Math.abs(delta) > EPSILON) dropChanges.push({ sku: position.sku, location: position.location, delta });
  }
  const target = toShopifyUnits(atpSum, group.conversion);

  return {
    group,
    expected,
    target,
    atpByLocation,
    dropChanges,
    newBaseline: readingApplies ? reading : null,
    unexplainedDrop,
    released,
    lastUnexplainedDropAt: holding ? lastDropAt : null,
    lastUnexplainedDropAtBefore: input.lastUnexplainedDropAt,
    releaseAt: holding && lastDropAt ? new Date(lastDropAt.getTime() + options.orderWindowMs) : null,
    drift: readingApplies && reading.available !== targetBefore,
    settlesIntentsUpTo: readingApplies && baseline !== null && input.inFlight.length > 0 ? (reading.heldAt ?? reading.at) : null,
  };
}

/** `gid://shopify/InventoryItem/12|gid://shopify/Location/3` → a short key for maps of 300,000 levels. */
export function levelKey(inventoryItemId: string, locationId: string): string {
  return `${withoutGidPrefix(inventoryItemId, 'InventoryItem')}|${withoutGidPrefix(locationId, 'Location')}`;
}
