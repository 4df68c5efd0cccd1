// A reservation's take out of what Shopify offers, decided while the positions' rows are locked
// (src/reservations/README.md, "No two channels sell the same unit"): the arithmetic per Shopify
// level, the calls through the StoreTakePort (implemented by the sync domain), and the second
// decision when Shopify turns out to have sold units Stockbridge did not know of.
import { createHash } from 'node:crypto';
import type { Db } from '../db/database.js';
import { StoreUnavailableError, toErpUnits, toShopifyUnits, type StoreTakeGroup, type StoreTakePort, type StoreTakeRecord } from '../inventory/inventory.port.js';

/** How a batch's take went, for `stockbridge_reservation_store_takes_total`. */
export type TakeOutcome = 'taken' | 'none_needed' | 'short' | 'unavailable';

/** What the reservations repository needs to take from the store: the port, and the levels the batch's positions are pushed to. */
export interface StoreTakeContext {
  readonly port: StoreTakePort;
  /** Decided before the batch's decision (StoreTakePort.groupsFor); empty = decide locally. */
  readonly groups: readonly StoreTakeGroup[];
  /** Told how each batch's take went and how long its Shopify calls took (null: none made). */
  onTake?(outcome: TakeOutcome, seconds: number | null): void;
  readonly now?: () => Date;
}

/** A locked position as the take needs it. */
export interface TakePosition {
  readonly sku: string;
  readonly location: string;
  readonly atp: number;
  readonly shopifyAvailable: number | null;
  readonly shopifyReadAt: Date | null;
  readonly unexplainedShopifyDrop: number;
}

/** What one decision of the batch grants, per position (ERP units). */
export interface Granted {
  readonly byPosition: ReadonlyMap<string, number>;
}

export const positionKey = (position: { sku: string; location: string }) => `${position.sku}\u0000${position.location}`;

/** The groups' positions (every ERP location of each group), so the caller locks them all. */
export function groupPositions(groups: readonly StoreTakeGroup[]): { sku: string; location: string }[] {
  return groups.flatMap((group) => group.erpLocations.map((location) => ({ sku: group.sku, location })));
}

interface GroupState {
  readonly group: StoreTakeGroup;
  readonly positions: readonly TakePosition[];
  readonly atpBefore: number;
  /** Orders known but not yet seen in Shopify's numbers (negative unexplained drop), ERP units. */
  readonly creditErp: number;
  baseline: number | null;
}

function sum(values: Iterable<number>): number {
  let total = 0;
  for (const value of values) total += value;
  return total;
}

function grantedIn(state: GroupState, granted: Granted): number {
  return sum(state.positions.map((position) => granted.byPosition.get(positionKey(position)) ?? 0));
}

function newestBaseline(positions: readonly TakePosition[]): number | null {
  let best: TakePosition | null = null;
  for (const position of positions) {
    if (position.shopifyAvailable === null) continue;
    if (!best || (position.shopifyReadAt?.getTime() ?? 0) > (best.shopifyReadAt?.getTime() ?? 0)) best = position;
  }
  return best ? best.shopifyAvailable : null;
}

/** `t = max(0, baseline − targetAfter)`: the units Shopify must stop offering before the grant commits. */
export function takeNeeded(baseline: number, atpBefore: number, grantedErp: number, group: Pick<StoreTakeGroup, 'conversion'>): number {
  return Math.max(0, baseline - toShopifyUnits(atpBefore - grantedErp, group.conversion));
}

/**
 * When Shopify's value after the take is below 0, Shopify had sold units Stockbridge did not know
 * of: `s = baseline − A` (A = Shopify's value before the take), less the orders already known but
 * not yet seen in Shopify's numbers. What may still be reserved in the group (ERP units):
 * clamp(ATP before − s, 0, ATP before); Shopify units: clamp(A − baseline + targetBefore, …).
 */
export function maxReservable(atpBefore: number, unknownSoldErp: number): number {
  return Math.min(atpBefore, Math.max(0, atpBefore - unknownSoldErp));
}

/** Spreads a drop over a group's positions as the push plan does: each up to its ATP after the grants, the first the rest. */
export function spreadDrop(positions: readonly TakePosition[], dropErp: number, granted: Granted): { sku: string; location: string; delta: number }[] {
  if (dropErp <= 0 || positions.length === 0) return [];
  const sorted = [...positions].sort((a, b) => a.location.localeCompare(b.location));
  const shares = sorted.map((position) => ({ sku: position.sku, location: position.location, delta: 0 }));
  let remaining = dropErp;
  sorted.forEach((position, index) => {
    const room = Math.max(0, position.atp - (granted.byPosition.get(positionKey(position)) ?? 0));
    const share = Math.min(remaining, room);
    shares[index]!.delta = share;
    remaining -= share;
  });
  if (remaining > 0) shares[0]!.delta += remaining;
  return shares.filter((share) => share.delta !== 0);
}

/** A UUID-shaped digest: the `@idempotent` key of a take, derived from the decision so a retry replays. */
export function takeKey(parts: unknown): string {
  const hash = createHash('sha256').update(JSON.stringify(parts)).digest('hex');
  return `${hash.slice(0, 8)}-${hash.slice(8, 12)}-5${hash.slice(13, 16)}-${((parseInt(hash.slice(16, 17), 16) & 0x3) | 0x8).toString(16)}${hash.slice(17, 20)}-${hash.slice(20, 32)}`;
}

export interface TakeInput<D> {
  readonly tx: Db;
  readonly shop: string;
  readonly context: StoreTakeContext;
  /** Every locked position of the batch's lines and of the groups, by positionKey. */
  readonly positions: ReadonlyMap<string, TakePosition>;
  /**
   * Decides the batch in arrival order; with `budgets` (ERP units per group key), a request
   * also needs room in the budget of each line's group. Returns the decision and what it grants.
   */
  readonly decide: (budgets: ReadonlyMap<string, number> | null) => { decision: D; granted: Granted };
  /** Who the new requests are (API key, idempotency key): they name the take, never a row id (new on each retry). */
  readonly requests: readonly { readonly createdBy: string; readonly idempotencyKey: string }[];
  /** The batch's decision time; Shopify's values are recorded as read no earlier. */
  readonly at: Date;
}

/**
 * Decides the batch and takes from Shopify what the grant needs, in the caller's transaction
 * (its row locks held throughout). Returns the final decision and `record`, which the caller runs
 * in the same transaction once the units are taken (baselines, drops found). Throws
 * StoreUnavailableError when Shopify does not answer within the budget: the caller's transaction
 * must then roll back (nothing held).
 */
export async function decideWithStore<D>(input: TakeInput<D>): Promise<{ decision: D; record: () => Promise<void> }> {
  const { context, positions } = input;
  // Shopify's values are as of the end of the calls: later than the Shopify time of every
  // inventory_levels/update our own take causes, so the webhook of an intermediate value (a take
  // then a give-back) reads as older than the baseline, not as a fall.
  const readAt = () => {
    const now = context.now?.() ?? new Date();
    return now.getTime() > input.at.getTime() ? now : input.at;
  };
  const first = input.decide(null);
  const groupOf = new Map<string, string>();
  const states: GroupState[] = [];
  for (const group of context.groups) {
    const own = group.erpLocations.map((location) => positions.get(positionKey({ sku: group.sku, location }))).filter((p): p is TakePosition => p !== undefined);
    if (own.length === 0) continue;
    for (const position of own) groupOf.set(positionKey(position), group.key);
    states.push({
      group,
      positions: own,
      atpBefore: sum(own.map((position) => position.atp)),
      creditErp: sum(own.map((position) => Math.max(0, -position.unexplainedShopifyDrop))),
      baseline: newestBaseline(own),
    });
  }
  const touched = states.filter((state) => grantedIn(state, first.granted) > 0);
  if (touched.length === 0) {
    context.onTake?.('none_needed', null);
    return { decision: first.decision, record: async () => undefined };
  }

  const started = Date.now();
  const records = new Map<string, StoreTakeRecord>();
  // A baseline never read: Shopify's value is read first (and becomes the baseline).
  const neverRead = touched.filter((state) => state.baseline === null);
  if (neverRead.length > 0) {
    const read = await context.port.readLevels(neverRead.map((state) => state.group));
    for (const state of neverRead) {
      state.baseline = read.get(state.group.key) ?? 0;
      records.set(state.group.key, { group: state.group, available: state.baseline, drops: [] });
    }
  }
  const takes = touched
    .map((state) => ({ state, t: takeNeeded(state.baseline!, state.atpBefore, grantedIn(state, first.granted), state.group) }))
    .filter((take) => take.t > 0);
  if (takes.length === 0) {
    context.onTake?.('none_needed', neverRead.length > 0 ? (Date.now() - started) / 1000 : null);
    return { decision: first.decision, record: () => context.port.record(input.tx, [...records.values()], readAt()) };
  }

  const requests = [...input.requests].sort((a, b) => (a.createdBy + a.idempotencyKey < b.createdBy + b.idempotencyKey ? -1 : 1));
  const key = takeKey([input.shop, requests.map((r) => [r.createdBy, r.idempotencyKey]), takes.map(({ state, t }) => [state.group.key, state.baseline, -t])]);
  // Every parameter of the call, not only the key, derives from the requests and the decision: a
  // request asked again after a take whose answer never came sends the very same call, so Shopify
  // replays the take that landed instead of refusing the key (a new reservation row id each time).
  const referenceDocumentUri =
    requests.length === 1
      ? `gid://stockbridge/ReservationTake/${key}?idempotencyKey=${encodeURIComponent(requests[0]!.idempotencyKey)}`
      : `gid://stockbridge/ReservationTake/${key}?requests=${requests.length}`;
  // A take whose answer never comes may still have landed: the refusal names it, so that Shopify's
  // value lowered by it (below zero when Shopify had sold more) is known as ours.
  const inDoubt = takes.map(({ state, t }) => ({ group: state.group, units: t }));
  const after = await context.port
    .adjust(
      takes.map(({ state, t }) => ({ group: state.group, delta: -t })),
      { idempotencyKey: key, referenceDocumentUri },
    )
    .catch((error: unknown) => {
      throw error instanceof StoreUnavailableError && !error.refusedByShopify ? error.withTakesInDoubt(inDoubt) : error;
    });

  // What Shopify held before the take, and the units it sold that no known order explains.
  const taken = takes.map(({ state, t }) => {
    const afterTake = after.get(state.group.key);
    if (afterTake === undefined) throw new StoreUnavailableError(`Shopify did not say the value after the take of ${state.group.key}`);
    const before = afterTake + t;
    const soldErp = toErpUnits(Math.max(0, state.baseline! - before), state.group.conversion);
    return { state, t, afterTake, before, soldErp, unknownErp: Math.max(0, soldErp - state.creditErp) };
  });
  const short = taken.filter((take) => take.afterTake < 0);
  let final = first;
  if (short.length > 0) {
    const budgets = new Map(short.map((take) => [take.state.group.key, maxReservable(take.state.atpBefore, take.unknownErp)]));
    final = input.decide(budgets);
  }

  // Corrections in one more call: what a smaller grant does not need back, and what a write that
  // landed just before the take (Shopify above the baseline) still offers beyond what remains.
  const corrections = taken.flatMap((take) => {
    const targetAfterFirst = toShopifyUnits(take.state.atpBefore - grantedIn(take.state, first.granted), take.state.group.conversion);
    const targetAfterFinal = toShopifyUnits(take.state.atpBefore - grantedIn(take.state, final.granted), take.state.group.conversion);
    const giveBack = Math.min(take.t, Math.max(0, targetAfterFinal - targetAfterFirst));
    const extra = take.before > take.state.baseline! ? take.before - take.state.baseline! : 0;
    const delta = giveBack - extra;
    return delta === 0 ? [] : [{ take, delta }];
  });
  const finalValue = new Map(taken.map((take) => [take.state.group.key, take.afterTake]));
  if (corrections.length > 0) {
    try {
      const corrected = await context.port.adjust(
        corrections.map(({ take, delta }) => ({ group: take.state.group, delta })),
        { idempotencyKey: takeKey([key, 'correction', corrections.map(({ take, delta }) => [take.state.group.key, delta])]), referenceDocumentUri },
      );
      for (const [groupKey, value] of corrected) finalValue.set(groupKey, value);
    } catch (error) {
      // A give-back that did not land leaves Shopify low (safe; the push raises it). A further take
      // that did not land must refuse: the first take landed, and the further one may have.
      if (corrections.some(({ delta }) => delta < 0)) {
        if (!(error instanceof StoreUnavailableError)) throw error;
        const further = new Map(error.refusedByShopify ? [] : corrections.filter(({ delta }) => delta < 0).map(({ take, delta }) => [take.state.group.key, -delta]));
        throw error.withTakesInDoubt(taken.map((take) => ({ group: take.state.group, units: take.t + (further.get(take.state.group.key) ?? 0) })));
      }
    }
  }
  for (const take of taken) {
    const available = finalValue.get(take.state.group.key)!;
    records.set(take.state.group.key, {
      group: take.state.group,
      available,
      drops: spreadDrop(take.state.positions, take.soldErp, final.granted),
      // Left below zero (its give-back did not land): our take, not a sale beyond stock.
      ...(available < 0 ? { unconfirmedTake: take.t } : {}),
    });
  }
  context.onTake?.(short.length > 0 ? 'short' : 'taken', (Date.now() - started) / 1000);
  // Recorded after the units are taken: a drop lowers the ATP the take's guard checks.
  return { decision: final.decision, record: () => context.port.record(input.tx, [...records.values()], readAt()) };
}
