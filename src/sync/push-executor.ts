// One unit: sending planned quantities to Shopify and recording each item's outcome (applied,
// refused, stale, in doubt) are one step, whose records must match what was sent.
import type { AlertSender } from '../alerts/alert-sender.js';
import type { ShopifyPushGroup } from '../inventory/inventory.port.js';
import type { Logger } from '../logger.js';
import type { SetAvailableQuantity, SetQuantityOutcome, ShopifyClient } from '../shopify/shopify-client.js';
import { baselineOf, levelKey, planGroup, type GroupPlan, type PushPosition, type ShopifyReading } from './push-plan.js';
import type { ItemRef, PushRepository } from './push.repository.js';
import type { SyncMetrics } from './sync.metrics.js';
import { addTally, emptyTally, type RunTally, type SyncRunChangeRecord, type SyncRunErrorRecord, type SyncRunKind } from './sync.models.js';
import type { SyncRunRepository } from './sync-run.repository.js';
import type { JobFence } from '../scheduler/fence.js';
import type { NewDriftEvent } from './merchant-edits.repository.js';

/**
 * Pushes Shopify item × location groups: plans each (push-plan.ts), records what readings taught
 * the read model, sends only differences through compare-and-set writes, re-plans and retries
 * once what a concurrent sale made stale, and records every outcome. One refused item never
 * blocks the others; a write whose outcome is unknown leaves an intent behind (push.repository.ts).
 *
 * Pushes of one process are serialised (`exclusive`), so two runs never race each other's
 * compare values; across instances the scheduler runs each job once at a time, and the
 * intents keep a write by another instance from looking like a sale.
 */

/** A run in progress, as the executor needs it: where to count and record. */
export interface RunContext {
  readonly id: string;
  readonly kind: SyncRunKind;
  readonly dryRun: boolean;
  /** Read Shopify's levels first (a reconcile): the drift it finds is recorded as `RECONCILE`. */
  readonly full?: boolean;
  readonly tally: RunTally;
  errorsRecorded: number;
  changesRecorded: number;
  /** The scheduler token a fenced run (the scheduled delta) writes under: its items are recorded only while it holds the run. */
  readonly fence?: JobFence | undefined;
  /** Planned writes held back to fill whole Shopify calls (`deferWrites`), sent by `flush`. */
  deferred?: Planned[];
  flushes?: number;
}

export interface PushGroupsOptions {
  /** Stable per run and page: the Shopify idempotency keys derive from it. */
  readonly batchId: string;
  /** Readings of Shopify's levels (a full reconcile's export); absent = trust the read model's baseline. */
  readonly readings?: {
    readonly get: (key: string) => number | undefined;
    readonly at: Date;
    /** When that level's value was Shopify's (e.g. a webhook's `updated_at`), if not `at`. */
    readonly atOf?: (key: string) => Date | undefined;
  } | null;
  /** With `readings`: a level absent from them is 0 (the export lists every level Shopify has). */
  readonly readingsComplete?: boolean;
  /**
   * Hold the writes back until 250 are waiting (a reconcile's pages each find a few): fewer,
   * fuller Shopify calls. The caller must `flush(run)` at the end.
   */
  readonly deferWrites?: boolean;
}

export interface PushExecutorDeps {
  readonly shopify: ShopifyClient;
  readonly positions: PushRepository;
  readonly runs: SyncRunRepository;
  readonly log: Logger;
  readonly metrics: SyncMetrics;
  readonly alerts: AlertSender;
  readonly now: () => Date;
  /** How long an unexplained Shopify drop waits for its order (see push-plan.ts). */
  readonly orderWindowMs: number;
  /** Positions a merchant runs from Shopify (FOLLOW_SHOPIFY, `sku|location`): never written. */
  readonly policies?: { findFollowShopify(skus: readonly string[]): Promise<Set<string>> };
  /** Where a full reconcile's drift is recorded, with where it came from (`RECONCILE`). */
  readonly drift?: { recordReconcileDrift(events: readonly NewDriftEvent[]): Promise<void> };
  /**
   * The success metrics (src/health/, through a port): each settled item, with when the change
   * that made it due was seen (its push mark) and when Shopify confirmed it. A failure to record
   * is logged, never fails the push.
   */
  readonly outcomes?: { recordPushOutcomes(outcomes: ReadonlyArray<{ ok: boolean; changeSeenAt: Date | null; confirmedAt: Date }>): Promise<void> };
}

/** Retry delay after the n-th consecutive failure of an item: 30 s, 1 min, 2 min … at most 1 h. */
export function retryDelayMs(consecutiveFailures: number): number {
  return Math.min(60 * 60_000, 30_000 * 2 ** Math.max(0, consecutiveFailures - 1));
}

/** Shopify takes at most this many quantities per `inventorySetQuantities` call (the port splits bigger batches). */
const QUANTITIES_PER_CALL = 250;
/** Failures after which an item alerts (and again every time the count doubles). */
const ALERT_AFTER_FAILURES = 3;
/** A write still stale after its one retry is tried again this soon by the event push. */
const STALE_RETRY_DELAY_MS = 5_000;
/** Codes that mean the write may have reached Shopify: its intent stays until a reading settles it. */
const OUTCOME_UNKNOWN_CODES = new Set(['SHOPIFY_UNAVAILABLE', 'SHOPIFY_BAD_RESPONSE', 'UNKNOWN']);
/** Failures that are contention, not errors: left out of the error rate (health). */
const CONTENTION_CODES = new Set(['CHANGE_FROM_QUANTITY_STALE']);

const itemKeyOf = (ref: ItemRef) => `${ref.inventoryItemId}|${ref.shopifyLocationId}`;

export interface Planned {
  readonly group: ShopifyPushGroup;
  readonly positions: readonly PushPosition[];
  readonly plan: GroupPlan;
}

/** Groups planned by `prepareGroups`, their writes not yet sent. */
export interface PreparedPush {
  /** What planning counted (considered, unchanged, drift); already added to the run's tally. */
  readonly tally: RunTally;
  toWrite: Planned[];
  readonly batchId: string;
}

export class PushExecutor {
  #queue: Promise<unknown> = Promise.resolve();

  constructor(private readonly deps: PushExecutorDeps) {}

  /** Runs `work` when no other push of this process is running. */
  exclusive<T>(work: () => Promise<T>): Promise<T> {
    const next = this.#queue.then(work, work);
    this.#queue = next.catch(() => undefined);
    return next;
  }

  /** Plans, records and pushes these groups; returns what it counted (also added to `run.tally`). */
  async pushGroups(run: RunContext, groups: readonly ShopifyPushGroup[], options: PushGroupsOptions): Promise<RunTally> {
    const prepared = await this.prepareGroups(run, groups, options);
    const written = await this.writePrepared(run, prepared);
    return addTally(addTally(emptyTally(), prepared.tally), written);
  }

  /**
   * The first half of `pushGroups`: plans these groups and records what the plans taught (readings,
   * drops, unchanged items' marks); the writes wait in the result for `writePrepared`. A pipelined
   * push prepares the next page while this one's writes are in flight; its pages must not share
   * an item (a plan made before another write of its item landed would be stale: compare-and-set
   * would refuse it and the retry re-plan it, at the cost of a call).
   */
  async prepareGroups(run: RunContext, groups: readonly ShopifyPushGroup[], options: PushGroupsOptions): Promise<PreparedPush> {
    const tally = emptyTally();
    const prepared: PreparedPush = { tally, toWrite: [], batchId: options.batchId };
    if (groups.length === 0) return prepared;
    const { positions: repository, shopify, now } = this.deps;

    const positionsByKey = await this.#loadPositions(groups);
    // Positions that follow Shopify are never written; their marks have nothing to send.
    const followed = this.deps.policies ? await this.deps.policies.findFollowShopify([...new Set(groups.map((group) => group.sku))]) : new Set<string>();
    if (followed.size > 0 && !run.dryRun) {
      const marked = [...positionsByKey.values()].filter((p) => followed.has(`${p.sku}|${p.location}`) && p.pushRequestedAt !== null);
      await repository.clearMarks(marked.map((p) => ({ sku: p.sku, location: p.location, atp: p.availableToPromise })));
    }
    const withPositions = groups.filter(
      (group) => group.erpLocations.some((location) => positionsByKey.has(`${group.sku}|${location}`)) && !group.erpLocations.some((location) => followed.has(`${group.sku}|${location}`)),
    );
    const positionsOf = (group: ShopifyPushGroup) =>
      group.erpLocations.map((location) => positionsByKey.get(`${group.sku}|${location}`)).filter((p): p is PushPosition => p !== undefined);

    // Readings: the caller's (a reconcile's export), and a fresh read of levels never read before
    // (a compare-and-set needs the value Shopify holds).
    const readings = new Map<string, ShopifyReading>();
    if (options.readings) {
      for (const group of withPositions) {
        const key = levelKey(group.inventoryItemId, group.shopifyLocationId);
        const available = options.readings.get(key);
        const heldAt = options.readings.atOf?.(key);
        if (available !== undefined) readings.set(itemKeyOf(group), { available, at: options.readings.at, ...(heldAt ? { heldAt } : {}) });
        else if (options.readingsComplete) readings.set(itemKeyOf(group), { available: 0, at: options.readings.at });
      }
    }
    const neverRead = withPositions.filter((group) => !readings.has(itemKeyOf(group)) && positionsOf(group).every((p) => p.shopifyAvailable === null));
    if (neverRead.length > 0) {
      const at = now();
      const levels = await shopify.getInventoryLevels(neverRead.map((g) => ({ inventoryItemId: g.inventoryItemId, locationId: g.shopifyLocationId })));
      const read = new Map(levels.map((level) => [`${level.inventoryItemId}|${level.locationId}`, level.available]));
      for (const group of neverRead) readings.set(itemKeyOf(group), { available: read.get(itemKeyOf(group)) ?? 0, at });
    }

    const planned = await this.#plan(withPositions, positionsOf, readings);
    tally.considered += planned.length;
    tally.drift += planned.filter((p) => p.plan.drift).length;
    await this.#recordPlans(run, planned);

    const toWrite: Planned[] = [];
    const unchanged: Planned[] = [];
    for (const item of planned) (item.plan.target === item.plan.expected ? unchanged : toWrite).push(item);
    tally.unchanged += unchanged.length;
    if (!run.dryRun) await repository.clearMarks(unchanged.flatMap((p) => this.#atps(p).filter((_, i) => p.positions[i]!.pushRequestedAt !== null)));

    if (run.dryRun) {
      tally.pushed += toWrite.length;
      await this.#recordChanges(run, toWrite, false);
    } else {
      // Releases of groups not written now; a write marks its own after its outcome (clearing a
      // mark on success would otherwise lose the release).
      await this.#markReleases(unchanged);
      if (options.deferWrites) {
        (run.deferred ??= []).push(...toWrite);
        if (run.deferred.length >= QUANTITIES_PER_CALL) await this.#flush(run, tally, false);
      } else {
        prepared.toWrite = toWrite;
      }
    }
    addTally(run.tally, tally);
    return prepared;
  }

  /** The second half of `pushGroups`: sends what `prepareGroups` planned and records the outcomes. */
  async writePrepared(run: RunContext, prepared: PreparedPush): Promise<RunTally> {
    const tally = emptyTally();
    if (prepared.toWrite.length === 0) return tally;
    await this.#write(run, prepared.toWrite, prepared.batchId, tally);
    addTally(run.tally, tally);
    return tally;
  }

  /** Sends the writes `deferWrites` held back. */
  async flush(run: RunContext): Promise<RunTally> {
    const tally = emptyTally();
    await this.#flush(run, tally, true);
    addTally(run.tally, tally);
    return tally;
  }

  /** Sends whole calls' worth of the held writes, or (`all`) every one of them. */
  async #flush(run: RunContext, tally: RunTally, all: boolean): Promise<void> {
    const waiting = run.deferred ?? [];
    const count = all ? waiting.length : waiting.length - (waiting.length % QUANTITIES_PER_CALL);
    if (count === 0) return;
    const batch = waiting.splice(0, count);
    run.flushes = (run.flushes ?? 0) + 1;
    await this.#write(run, batch, `${run.id}:deferred:${run.flushes}`, tally);
  }

  /**
   * `waitForWriters` (the stale re-plans): waits for a reservation's transaction holding the rows,
   * whose take out of Shopify may be what made the write stale, so the re-plan sees its grant.
   */
  async #loadPositions(groups: readonly ShopifyPushGroup[], waitForWriters = false): Promise<Map<string, PushPosition>> {
    const rows = await this.deps.positions.getPositionsBySkus(groups.map((group) => group.sku), { waitForWriters });
    return new Map(rows.map((row) => [`${row.sku}|${row.location}`, row]));
  }

  async #plan(
    groups: readonly ShopifyPushGroup[],
    positionsOf: (group: ShopifyPushGroup) => PushPosition[],
    readings: ReadonlyMap<string, ShopifyReading>,
  ): Promise<Planned[]> {
    // Only what the arithmetic can use is read: when a drop was last seen matters only to a group
    // holding one, writes in flight only to a reading that differs from the baseline.
    const holdingDrop = groups.filter((group) => positionsOf(group).reduce((sum, p) => sum + p.unexplainedShopifyDrop, 0) > 0);
    const readingMoved = groups.filter((group) => {
      const reading = readings.get(itemKeyOf(group));
      const baseline = reading ? baselineOf(positionsOf(group)) : null;
      return reading !== undefined && baseline !== null && baseline.available !== reading.available;
    });
    const [states, inFlight] = await Promise.all([
      holdingDrop.length > 0 ? this.deps.positions.getItemStates(holdingDrop) : Promise.resolve(new Map<string, { lastUnexplainedDropAt: Date | null }>()),
      readingMoved.length > 0 ? this.deps.positions.getInFlight(readingMoved) : Promise.resolve(new Map<string, number[]>()),
    ]);
    const now = this.deps.now();
    return groups.map((group) => {
      const positions = positionsOf(group);
      const plan = planGroup(
        {
          group,
          positions,
          reading: readings.get(itemKeyOf(group)) ?? null,
          inFlight: inFlight.get(itemKeyOf(group)) ?? [],
          lastUnexplainedDropAt: states.get(itemKeyOf(group))?.lastUnexplainedDropAt ?? null,
        },
        { now, orderWindowMs: this.deps.orderWindowMs },
      );
      return { group, positions, plan };
    });
  }

  /** What the plans taught the read model: drops found or released, and Shopify's values as read. */
  async #recordPlans(run: RunContext, planned: readonly Planned[]): Promise<void> {
    const { metrics } = this.deps;
    for (const { plan } of planned) {
      if (plan.unexplainedDrop > 0) metrics.unexplainedDrops.inc(plan.unexplainedDrop);
      if (plan.released.window > 0) metrics.releasedDrops.inc({ reason: 'window' }, plan.released.window);
      if (plan.released.credit > 0) metrics.releasedDrops.inc({ reason: 'credit' }, plan.released.credit);
    }
    const found = planned.filter((p) => p.plan.unexplainedDrop > 0);
    if (found.length > 0) {
      this.deps.log.warn(
        { runId: run.id, items: found.length, units: found.reduce((sum, p) => sum + p.plan.unexplainedDrop, 0), sample: found.slice(0, 5).map((p) => ({ sku: p.group.sku, location: p.group.shopifyLocationId, units: p.plan.unexplainedDrop })) },
        "Shopify's available fell by more than known orders explain: holding those units back until their orders arrive",
      );
    }
    if (run.dryRun) return;
    if (run.full) {
      const drifted = planned.filter((p) => p.plan.drift && p.plan.newBaseline);
      await this.deps.drift?.recordReconcileDrift(
        drifted.map((p) => ({
          sku: p.group.sku,
          location: p.group.erpLocations.join('+'),
          inventoryItemId: p.group.inventoryItemId,
          shopifyLocationId: p.group.shopifyLocationId,
          source: 'RECONCILE',
          before: baselineOf(p.positions)?.available ?? null,
          after: p.plan.newBaseline!.available,
          expected: p.plan.target,
          action: p.plan.target !== p.plan.expected ? 'CORRECTED' : 'HELD',
        })),
      );
    }
    const now = this.deps.now();
    const dropChanges = planned.flatMap((p) => p.plan.dropChanges);
    const dropTimes = planned
      .filter((p) => (p.plan.lastUnexplainedDropAt?.getTime() ?? null) !== (p.plan.lastUnexplainedDropAtBefore?.getTime() ?? null))
      .map((p) => ({ inventoryItemId: p.group.inventoryItemId, shopifyLocationId: p.group.shopifyLocationId, lastUnexplainedDropAt: p.plan.lastUnexplainedDropAt }));
    // Each position's drop change and the plan's reading, applied together and only where the
    // baseline is still the one planned from (a concurrent reader of the same fall counts it once).
    const deltas = new Map(dropChanges.map((change) => [`${change.sku}|${change.location}`, change.delta]));
    const learned = planned.flatMap((p) =>
      p.positions
        .map((position) => ({
          sku: position.sku,
          location: position.location,
          delta: deltas.get(`${position.sku}|${position.location}`) ?? 0,
          baselineAt: position.shopifyReadAt,
          reading: p.plan.newBaseline,
        }))
        .filter((change) => change.delta !== 0 || (change.reading !== null && change.reading.at.getTime() !== change.baselineAt?.getTime())),
    );
    const settled = planned
      .filter((p) => p.plan.settlesIntentsUpTo !== null)
      .map((p) => ({ inventoryItemId: p.group.inventoryItemId, shopifyLocationId: p.group.shopifyLocationId, upTo: p.plan.settlesIntentsUpTo! }));
    await this.deps.positions.applyPlannedReadings(learned, dropTimes, now, settled);
  }

  #atps(item: Planned): { sku: string; location: string; atp: number }[] {
    return item.positions.map((position) => ({ sku: position.sku, location: position.location, atp: item.plan.atpByLocation.get(position.location) ?? position.availableToPromise }));
  }

  /** Writes, settles, re-plans and retries what was stale; then marks held drops for their release. */
  async #write(run: RunContext, toWrite: readonly Planned[], batchId: string, tally: RunTally): Promise<void> {
    const plans: Planned[] = [...toWrite];
    try {
      await this.#writeOnce(run, toWrite, batchId, tally, plans);
    } finally {
      await this.#markReleases(plans);
    }
  }

  async #writeOnce(run: RunContext, toWrite: readonly Planned[], batchId: string, tally: RunTally, plans: Planned[]): Promise<void> {
    // A stale write's answer carries Shopify's value as of some moment after the request left:
    // Shopify surely held it at the sending (`heldAt`, for the credit rule in push-plan.ts).
    const firstSentAt = this.deps.now();
    const first = await this.#send(run, toWrite, batchId);
    const stale: { item: Planned; currentAvailable: number }[] = [];
    await this.#settle(run, first, tally, (item, currentAvailable) => stale.push({ item, currentAvailable }));
    if (stale.length === 0) return;

    // A sale (or an edit) landed between our reading and our write: re-read (the client did),
    // re-plan from the fresh value and the positions as they are now, and retry once. Shopify
    // refused the stale writes, so their intents go first: they must not explain the reading.
    await this.deps.positions.deleteIntents(run.id, stale.map((s) => s.item.group));
    const positionsByKey = await this.#loadPositions(stale.map((s) => s.item.group), true);
    const at = this.deps.now();
    const fresh = new Map(stale.map((s) => [itemKeyOf(s.item.group), { available: s.currentAvailable, at, heldAt: firstSentAt }]));
    const replanned = await this.#plan(
      stale.map((s) => s.item.group),
      (group) => group.erpLocations.map((location) => positionsByKey.get(`${group.sku}|${location}`)).filter((p): p is PushPosition => p !== undefined),
      fresh,
    );
    await this.#recordPlans(run, replanned);
    plans.push(...replanned);
    const retry: Planned[] = [];
    const settled: Planned[] = [];
    for (const item of replanned) (item.plan.target === item.plan.expected ? settled : retry).push(item);
    tally.unchanged += settled.length;
    await this.deps.positions.clearMarks(settled.flatMap((p) => this.#atps(p).filter((_, i) => p.positions[i]!.pushRequestedAt !== null)));
    if (retry.length === 0) return;

    const secondSentAt = this.deps.now();
    const second = await this.#send(run, retry, `${batchId}:stale-retry`);
    const staleAgain: { item: Planned; currentAvailable: number }[] = [];
    await this.#settle(run, second, tally, (item, currentAvailable) => staleAgain.push({ item, currentAvailable }));
    if (staleAgain.length === 0) return;

    // Still moving under us (a busy item during a sale): learn the latest reading, count it as
    // failed for this run, and let the event push try again in a few seconds.
    await this.deps.positions.deleteIntents(run.id, staleAgain.map((s) => s.item.group));
    const again = new Map(staleAgain.map((s) => [itemKeyOf(s.item.group), { available: s.currentAvailable, at: this.deps.now(), heldAt: secondSentAt }]));
    const positionsAgain = await this.#loadPositions(staleAgain.map((s) => s.item.group), true);
    const replannedAgain = await this.#plan(
      staleAgain.map((s) => s.item.group),
      (group) => group.erpLocations.map((location) => positionsAgain.get(`${group.sku}|${location}`)).filter((p): p is PushPosition => p !== undefined),
      again,
    );
    await this.#recordPlans(run, replannedAgain);
    plans.push(...replannedAgain);
    await this.#fail(
      run,
      staleAgain.map((s) => ({ item: s.item, code: 'CHANGE_FROM_QUANTITY_STALE', message: `Shopify's available kept changing during the push (last read ${s.currentAvailable}); retried shortly` })),
      tally,
      STALE_RETRY_DELAY_MS,
    );
  }

  async #send(run: RunContext, items: readonly Planned[], batchId: string): Promise<{ item: Planned; outcome: SetQuantityOutcome; sentAt: Date }[]> {
    const at = this.deps.now();
    await this.deps.positions.addIntents(
      run.id,
      items.map((p) => ({ inventoryItemId: p.group.inventoryItemId, shopifyLocationId: p.group.shopifyLocationId, fromQuantity: p.plan.expected, toQuantity: p.plan.target })),
      at,
    );
    const quantities: SetAvailableQuantity[] = items.map((p) => ({
      inventoryItemId: p.group.inventoryItemId,
      locationId: p.group.shopifyLocationId,
      quantity: p.plan.target,
      changeFromQuantity: p.plan.expected ?? 0,
    }));
    const outcomes = await this.deps.shopify.setAvailableQuantities(quantities, {
      batchId,
      reason: 'correction',
      referenceDocumentUri: `gid://stockbridge/SyncRun/${run.id}`,
    });
    return items.map((item, index) => ({ item, outcome: outcomes[index]!, sentAt: at }));
  }

  async #settle(
    run: RunContext,
    results: readonly { item: Planned; outcome: SetQuantityOutcome; sentAt?: Date }[],
    tally: RunTally,
    onStale: (item: Planned, currentAvailable: number) => void,
  ): Promise<void> {
    const at = this.deps.now();
    const applied: Planned[] = [];
    const failed: { item: Planned; code: string; message: string }[] = [];
    for (const { item, outcome } of results) {
      if (outcome.status === 'applied') applied.push(item);
      else if (outcome.status === 'failed') failed.push({ item, code: outcome.code, message: outcome.message });
      else onStale(item, outcome.currentAvailable ?? 0);
    }
    if (applied.length > 0) {
      await this.deps.positions.recordApplied(
        run.id,
        applied.map((p) => ({ item: p.group, quantity: p.plan.target, replaced: p.plan.expected, positions: this.#atps(p) })),
        at,
        results[0]?.sentAt,
      );
      tally.pushed += applied.length;
      this.deps.metrics.itemsPushed.inc({ kind: run.kind }, applied.length);
      for (const item of applied) {
        const marked = item.positions.map((p) => p.pushRequestedAt?.getTime() ?? Infinity).reduce((a, b) => Math.min(a, b), Infinity);
        if (marked !== Infinity && marked <= at.getTime()) this.deps.metrics.pushDelay.observe((at.getTime() - marked) / 1000);
      }
      await this.#recordOutcomes(
        applied.map((item) => {
          const marked = item.positions.map((p) => p.pushRequestedAt?.getTime() ?? Infinity).reduce((a, b) => Math.min(a, b), Infinity);
          return { ok: true, changeSeenAt: marked === Infinity ? null : new Date(marked), confirmedAt: at };
        }),
      );
      await this.#recordChanges(run, applied, true);
    }
    if (failed.length > 0) await this.#fail(run, failed, tally);
  }

  async #recordOutcomes(outcomes: ReadonlyArray<{ ok: boolean; changeSeenAt: Date | null; confirmedAt: Date }>): Promise<void> {
    if (!this.deps.outcomes || outcomes.length === 0) return;
    try {
      await this.deps.outcomes.recordPushOutcomes(outcomes);
    } catch (error) {
      this.deps.log.warn({ err: error }, 'could not record push outcomes for the health metrics');
    }
  }

  async #fail(run: RunContext, failed: readonly { item: Planned; code: string; message: string }[], tally: RunTally, fixedDelayMs?: number): Promise<void> {
    const { positions: repository, runs, metrics, alerts, log } = this.deps;
    const at = this.deps.now();
    tally.failed += failed.length;
    for (const f of failed) metrics.itemErrors.inc({ kind: run.kind, code: f.code });
    // A compare-and-set lost twice to sales in flight is the guard doing its work, not an error:
    // the item is planned again and pushed shortly, and its wait shows in the sync latency.
    await this.#recordOutcomes(failed.filter((f) => !CONTENTION_CODES.has(f.code)).map(() => ({ ok: false, changeSeenAt: null, confirmedAt: at })));
    const errors: SyncRunErrorRecord[] = failed.map((f) => ({
      sku: f.item.group.sku,
      location: f.item.group.erpLocations.join('+'),
      inventoryItemId: f.item.group.inventoryItemId,
      shopifyLocationId: f.item.group.shopifyLocationId,
      code: f.code,
      message: f.message,
    }));
    run.errorsRecorded += await runs.addErrors(run.id, errors, run.errorsRecorded, run.fence);
    // Shopify refused these: nothing landed. Unknown outcomes keep their intent for the next reading.
    await repository.deleteIntents(run.id, failed.filter((f) => !OUTCOME_UNKNOWN_CODES.has(f.code)).map((f) => f.item.group));
    const counts = await repository.recordFailures(
      failed.map((f) => ({ inventoryItemId: f.item.group.inventoryItemId, shopifyLocationId: f.item.group.shopifyLocationId, code: f.code, message: f.message })),
      at,
    );
    await repository.markForPushAt(
      failed.flatMap((f) => {
        const count = counts.get(itemKeyOf(f.item.group)) ?? 1;
        const retryAt = new Date(at.getTime() + (fixedDelayMs ?? retryDelayMs(count)));
        // A refused write states the ATP it was computed from, so a change that landed while it
        // was in flight keeps its push due. A stale one does not: its re-plan just moved the ATP
        // itself (the drop it read), and it must wait.
        if (fixedDelayMs !== undefined) return f.item.positions.map((p) => ({ sku: p.sku, location: p.location, at: retryAt }));
        return this.#atps(f.item).map((p) => ({ ...p, at: retryAt }));
      }),
    );
    log.warn({ runId: run.id, failed: failed.length, sample: errors.slice(0, 5) }, 'Shopify did not take some quantities; they will be retried');
    for (const f of failed) {
      const count = counts.get(itemKeyOf(f.item.group)) ?? 1;
      // Alert at the 3rd consecutive failure, then at the 6th, 12th…: a stuck item keeps reminding, not spamming.
      if (count >= ALERT_AFTER_FAILURES && Number.isInteger(Math.log2(count / ALERT_AFTER_FAILURES))) {
        alerts.send({
          code: 'SYNC_ITEM_FAILING',
          severity: 'warning',
          message: `${f.item.group.sku} at ${f.item.group.erpLocations.join('+')} failed to push ${count} times in a row: ${f.code} ${f.message}`,
          details: { sku: f.item.group.sku, erpLocations: f.item.group.erpLocations, inventoryItemId: f.item.group.inventoryItemId, shopifyLocationId: f.item.group.shopifyLocationId, code: f.code, consecutiveFailures: count },
        });
      }
    }
  }

  async #recordChanges(run: RunContext, items: readonly Planned[], applied: boolean): Promise<void> {
    if (items.length === 0) return;
    const changes: SyncRunChangeRecord[] = items.map((p) => ({
      sku: p.group.sku,
      location: p.group.erpLocations.join('+'),
      inventoryItemId: p.group.inventoryItemId,
      shopifyLocationId: p.group.shopifyLocationId,
      fromQuantity: p.plan.expected,
      toQuantity: p.plan.target,
      applied,
    }));
    run.changesRecorded += await this.deps.runs.addChanges(run.id, changes, run.changesRecorded, run.fence);
  }

  /** Held drops get a push mark at their release time, so the event push re-plans them then. */
  async #markReleases(planned: readonly Planned[]): Promise<void> {
    const marks = planned.flatMap((p) => (p.plan.releaseAt ? p.positions.map((position) => ({ sku: position.sku, location: position.location, at: p.plan.releaseAt! })) : []));
    if (marks.length > 0) await this.deps.positions.markForPushAt(marks, 'earliest');
  }
}
