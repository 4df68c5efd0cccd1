// One unit though long: the four run kinds (delta, full reconcile, event push, manual push) share
// the run record, its fencing token, the shop's go-live switch and the settle step; each kind is
// one method. Planning is push-plan.ts, sending is push-executor.ts, storage the repositories.
import type { AlertSender } from '../alerts/alert-sender.js';
import type { ErpConnector } from '../erp/erp-connector.js';
import { groupPushTargets, type AtpService, type ErpSource, type MappingService, type ShopifyPushGroup } from '../inventory/inventory.port.js';
import type { Logger } from '../logger.js';
import { JOB_LEASE_LOST, leaseLostError, type JobFence } from '../scheduler/fence.js';
import { AppError, isAppError, ValidationError } from '../shared/errors.js';
import { decodeCursor, invalidCursor, pageSize, toConnection, type Connection } from '../shared/pagination.js';
import type { InventoryLevelQuantities, ShopifyClient } from '../shopify/shopify-client.js';
import type { LotsPusher } from './lots-push.js';
import type { DriftEventRecord } from './merchant-edits.repository.js';
import type { MerchantEditsService, SetLocationPolicyResult } from './merchant-edits.service.js';
import type { PreparedPush, PushExecutor, RunContext } from './push-executor.js';
import { PushPipeline } from './push-pipeline.js';
import type { RefreshProgress } from './refresh-progress.js';
import { SeenLevels } from './seen-levels.js';
import { levelKey } from './push-plan.js';
import type { PushRepository } from './push.repository.js';
import type { SyncMetrics } from './sync.metrics.js';
import {
  emptyTally,
  type PushInventoryInput,
  type RunTally,
  type SyncRunChangeRecord,
  type SyncRunErrorRecord,
  type SyncRunKind,
  type SyncRunRecord,
} from './sync.models.js';
import type { SyncRunRepository } from './sync-run.repository.js';

/**
 * The push side of the sync: delta runs (the ERP change feed), full reconciles (every Shopify
 * level read in bulk), event pushes (positions Stockbridge itself marked) and manual pushes,
 * each recorded as a sync run. The executor does the per-item work; this decides what to push.
 */

/** The ERP stock change feed's name in `sync_watermarks`. */
export const ERP_STOCK_FEED = 'erp-stock';
/** The stock watch's own position in the same feed (the delta's is left to the delta). */
export const ERP_STOCK_WATCH_FEED = 'erp-stock-watch';
/** SKUs per page of a push (one targets lookup, one positions read, up to ~12 Shopify writes at 3 locations). */
const SKUS_PER_PAGE = 1_000;
/**
 * SKUs per page of a pipelined push (about 3 Shopify calls at 3 locations): small enough that
 * the next page is read and planned while this one's few calls are in flight, and a page's
 * database work never holds the writes back for long.
 */
const PIPELINED_SKUS_PER_PAGE = 250;
/** Push targets per page of a full reconcile's pass over the targets the export did not list. */
const TARGETS_PER_PAGE = 10_000;
/** Levels of Shopify's export per page of a full reconcile: compared, pushed and dropped before the one after next is read. */
const RECONCILE_LEVELS_PER_PAGE = 5_000;
/** A RUNNING run that has not beaten for this long belongs to a dead process. */
const ABANDONED_AFTER_MS = 10 * 60_000;
const HEARTBEAT_MS = 60_000;
/** Intents older than this are forgotten (their outcome was settled by a reading long since). */
const INTENT_RETENTION_MS = 24 * 60 * 60_000;
/** Finished runs are kept this long (an active shop makes an event run every few seconds). */
const RUN_RETENTION_MS = 30 * 24 * 60 * 60_000;
/** Passes of one event run before it finishes (more marks are taken by the next run). */
const EVENT_PASSES_PER_RUN = 10;
/** How long a `pushInventory` call waits for its run before answering with it still RUNNING. */
const MANUAL_WAIT_MS = 20_000;
/** How long a push waits for the first start's catalogue fill before `CATALOGUE_NOT_READY`. */
const CATALOGUE_WAIT_MS = 10_000;
const JOIN_POLL_MS = 1_000;

export interface SyncServiceDeps {
  readonly shop: string;
  readonly erp: ErpConnector;
  readonly shopify: ShopifyClient;
  readonly mapping: Pick<MappingService, 'getPushTargets' | 'listPushTargets' | 'getErpSources'>;
  readonly atp: Pick<AtpService, 'refreshPositions'>;
  readonly runs: SyncRunRepository;
  readonly positions: PushRepository;
  readonly executor: PushExecutor;
  readonly alerts: AlertSender;
  readonly metrics: SyncMetrics;
  readonly log: Logger;
  readonly now: () => Date;
  /** How long `pushInventory` waits before answering with a RUNNING run (default 20 s). */
  readonly manualWaitMs?: number;
  /**
   * The go-live switch INVENTORY_PUSH as it stands (switches.service.ts; default on): shadow
   * makes every run a dry run (computed, recorded with its drift, nothing written to Shopify),
   * off stops the scheduled and event pushes and refuses a manual one.
   */
  readonly pushMode?: () => Promise<'on' | 'shadow' | 'off'>;
  /**
   * The catalogue's first fill (the inventory module): manual pushes and reconciles wait for it
   * a bounded time and are refused with `CATALOGUE_NOT_READY` until both sides were filled.
   */
  readonly catalogue?: SyncCatalogueReadiness | undefined;
  /** How long a push waits for the first start's catalogue fill (default 10 s). */
  readonly catalogueWaitMs?: number;
  /** How often a joined run on another instance is looked at (default 1 s). */
  readonly joinPollMs?: number;
  /** Levels of Shopify's export per compared page of a full reconcile (default 5,000). */
  readonly reconcileLevelsPerPage?: number;
  /**
   * How far a full reconcile's ERP refresh has got (refresh-progress.ts): with it, the export is
   * compared while the refresh runs, SKUs not yet refreshed held back; without it, the export's
   * download waits for the whole refresh.
   */
  readonly refreshProgress?: RefreshProgress;
  /** Lots to Shopify metafields: pushed for the same SKUs, by the same runs, as the quantities. */
  readonly lots?: Pick<LotsPusher, 'pushSkus'>;
  /** Merchants' edits in Shopify: the drift they made and the per-position policies. */
  readonly merchantEdits?: Pick<MerchantEditsService, 'setLocationPolicy' | 'listDrift' | 'findLatestDrift'>;
}

/** What the sync needs to know of the catalogue's first fill. */
export interface SyncCatalogueReadiness {
  /** Resolves when this process's first-start work is over (done or failed). */
  whenReady(): Promise<void>;
  /** When each side was first filled, as recorded (null: never). */
  catalogueFills(): Promise<{ readonly erpFilledAt: Date | null; readonly shopifyFilledAt: Date | null }>;
}

export interface RunOptions {
  readonly signal?: AbortSignal;
  /**
   * The scheduler run's fencing token (the scheduled jobs pass it): the run's take-overs,
   * progress, outcome and watermark are written only while it holds the job's lease, and a lost
   * lease ends the call with `JOB_LEASE_LOST`. Direct calls without one take over only unfenced runs.
   */
  readonly fence?: JobFence;
}

function throwIfAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw new AppError('SYNC_ABORTED', 'the run was stopped (timeout or shutdown)');
}

/** A page of a full reconcile's export: its levels and their push targets (reverse lookup). */
interface ReconcilePage {
  readonly levels: InventoryLevelQuantities[];
  readonly sources: readonly ErpSource[];
}

/** How often a full reconcile with a page of levels held for the ERP refresh looks whether the refresh has written them. */
const HELD_LOOK_MS = 1_000;
/** How often a full reconcile writes its progress (tally and heartbeat): not once per page. */
const RECONCILE_PROGRESS_MS = 2_000;

/** A progress write at most every `RECONCILE_PROGRESS_MS`, and the first one at once. */
function progressBeat(write: () => Promise<unknown>): { maybe(): Promise<void> } {
  let last = -Infinity;
  return {
    async maybe() {
      if (performance.now() - last < RECONCILE_PROGRESS_MS) return;
      last = performance.now();
      await write();
    },
  };
}

/** A page split by SKU: the levels and sources of SKUs not in `stale`, and those of SKUs in it. */
function splitPage(part: ReconcilePage, stale: ReadonlySet<string>): [ReconcilePage, ReconcilePage] {
  const waitingKeys = new Set<string>();
  const fresh: ErpSource[] = [];
  const waiting: ErpSource[] = [];
  for (const source of part.sources) {
    if (stale.has(source.sku)) {
      waiting.push(source);
      waitingKeys.add(levelKey(source.inventoryItemId, source.shopifyLocationId));
    } else {
      fresh.push(source);
    }
  }
  const levelsWhere = (isWaiting: boolean) => part.levels.filter((level) => waitingKeys.has(levelKey(level.inventoryItemId, level.locationId)) === isWaiting);
  return [
    { levels: levelsWhere(false), sources: fresh },
    { levels: levelsWhere(true), sources: waiting },
  ];
}

/** An export level's push group, from the reverse lookup of its item × location. */
function groupOfSource(source: ErpSource): ShopifyPushGroup {
  const { sku, inventoryItemId, variantId, shopifyLocationId, erpLocations, conversion } = source;
  return { sku, inventoryItemId, variantId, shopifySku: null, shopifyLocationId, erpLocations, conversion };
}

function statusOf(tally: RunTally): 'SUCCEEDED' | 'PARTIAL' | 'FAILED' {
  if (tally.failed === 0) return 'SUCCEEDED';
  return tally.failed >= tally.considered ? 'FAILED' : 'PARTIAL';
}

export class SyncService {
  readonly #background = new Set<Promise<unknown>>();
  /** Runs started by this instance that others may join, by id. */
  readonly #running = new Map<string, Promise<SyncRunRecord>>();

  constructor(private readonly deps: SyncServiceDeps) {}

  // ------------------------------------------------------------------ delta

  /**
   * The scheduled delta: the ERP's stock changes since the stored watermark, their positions
   * refreshed, differences pushed, and only then the watermark stored. A run a dead process
   * left RUNNING is taken over under its id, so its Shopify writes replay under the same keys.
   */
  async runDelta(options: RunOptions = {}): Promise<SyncRunRecord> {
    const { runs, erp, log } = this.deps;
    const { fence } = options;
    // Event and manual runs a dead process left RUNNING stop showing as running (a live run beats
    // every page, a delta run is taken over below, a full one by the next reconcile).
    await runs.failAbandoned(new Date(this.deps.now().getTime() - ABANDONED_AFTER_MS), this.deps.now(), ['EVENT', 'MANUAL']);
    const watermarkFrom = await runs.getWatermark(ERP_STOCK_FEED);
    // Delta runs left RUNNING belong to earlier holders of the job's lease (this run holds the
    // newest token): one covering the same watermark is resumed, the others are closed. Each
    // take-over states the token, so a holder frozen past its lease takes nothing over.
    const abandoned = await runs.findRunning('DELTA');
    const resumable = abandoned.filter((run) => run.request.watermarkFrom === watermarkFrom).at(-1);
    for (const run of abandoned) if (run !== resumable) await runs.takeOverRun(run.id, 'fail', this.deps.now(), fence);
    let record: SyncRunRecord | null = null;
    if (resumable) {
      record = await runs.takeOverRun(resumable.id, 'resume', this.deps.now(), fence);
      if (record) log.warn({ runId: record.id, attempts: record.attempts }, 'taking over a delta run a stopped process left unfinished');
    }
    record ??= await runs.createRun({ kind: 'DELTA', dryRun: (await this.pushMode()) !== 'on', full: false, request: { watermarkFrom }, at: this.deps.now(), fence });
    return this.#execute(record, fence, async (run) => {
      const changes = await erp.getStockChangesSince(watermarkFrom);
      throwIfAborted(options.signal);
      let skus = [...new Set(changes.skus)].sort();
      if (skus.length > 0) {
        skus = await this.#refreshAndPush(run, skus, null, options.signal, 'skus');
        await this.#pushLots(run, skus);
      }
      // Every position the feed named is now in Shopify, unchanged, or marked for a retry: durable.
      await runs.setWatermark(ERP_STOCK_FEED, changes.nextWatermark, this.deps.now(), fence);
      if (skus.length > 0) log.info({ runId: run.id, skus: skus.length, ...run.tally }, 'delta sync pushed the ERP changes');
    });
  }

  // ------------------------------------------------------------------ stock watch

  /**
   * The stock watch (`sync.stock-watch`, every `STOCK_WATCH_INTERVAL_SECONDS`): one look at the
   * ERP's change feed (its cheapest call) from the watch's own watermark. SKUs it names are
   * refreshed and pushed at once, in an EVENT run (`request.source` = `stock-watch`), and only
   * then the watch's watermark moves (under the job's fence, like the delta's). Nothing changed:
   * no run is recorded. The delta keeps its own watermark and still runs (the safety net: it
   * finds the same SKUs already pushed and sends nothing for them). Off unless the push is on.
   */
  async watchStock(options: RunOptions = {}): Promise<{ changedSkus: number; run: SyncRunRecord | null }> {
    const { runs, erp } = this.deps;
    if ((await this.pushMode()) !== 'on') return { changedSkus: 0, run: null };
    // A first look starts where the delta stands (or, before any delta, at the ERP's present).
    const watermarkFrom = (await runs.getWatermark(ERP_STOCK_WATCH_FEED)) ?? (await runs.getWatermark(ERP_STOCK_FEED));
    const changes = await erp.getStockChangesSince(watermarkFrom);
    throwIfAborted(options.signal);
    const skus = [...new Set(changes.skus)].sort();
    if (skus.length === 0) {
      if (changes.nextWatermark !== watermarkFrom) await runs.setWatermark(ERP_STOCK_WATCH_FEED, changes.nextWatermark, this.deps.now(), options.fence);
      return { changedSkus: 0, run: null };
    }
    const record = await runs.createRun({ kind: 'EVENT', dryRun: false, full: false, request: { source: 'stock-watch', skus: skus.slice(0, 100), changedSkus: skus.length }, at: this.deps.now() });
    const finished = await this.#execute(record, undefined, async (run) => {
      const pushed = await this.#refreshAndPush(run, skus, null, options.signal, 'watch');
      await this.#pushLots(run, pushed);
    });
    // Pushed (or durably marked for a retry): the watch need not name these SKUs again.
    if (finished.status !== 'FAILED' || finished.failure === null) await runs.setWatermark(ERP_STOCK_WATCH_FEED, changes.nextWatermark, this.deps.now(), options.fence);
    return { changedSkus: skus.length, run: finished };
  }

  // ------------------------------------------------------------------ full reconcile

  /**
   * Reads every Shopify level in one bulk export, refreshes every position from the ERP and
   * corrects every difference; records the drift found. Repairs what a delta cannot see
   * (deleted moves, manual edits in Shopify, items never pushed).
   *
   * Single flight: while a full reconcile runs (on any instance, scheduled or manual), another
   * request joins it and gets that run when it ends, rather than starting a second export (see
   * `#startFullReconcile`).
   */
  async runFullReconcile(options: RunOptions & { kind?: 'FULL' | 'MANUAL'; dryRun?: boolean; locations?: readonly string[] | null } = {}): Promise<SyncRunRecord> {
    await this.#requireCatalogue();
    return (await this.#startFullReconcile(options)).done;
  }

  /**
   * Starts a full reconcile, or joins the one running: a RUNNING run per single-flight key is
   * unique in the database, so of two requests on any instances exactly one inserts its run and
   * the other finds it. A joined run limited to some locations does not cover a request for
   * others: that request is refused with `FULL_RECONCILE_RUNNING` (and the run's id).
   */
  async #startFullReconcile(
    options: RunOptions & { kind?: 'FULL' | 'MANUAL'; dryRun?: boolean; locations?: readonly string[] | null },
  ): Promise<{ record: SyncRunRecord; done: Promise<SyncRunRecord>; joined: boolean }> {
    const { runs, log } = this.deps;
    const dryRun = (options.dryRun ?? false) || (await this.pushMode()) !== 'on';
    // A run whose process died would hold the key for ever: runs that stopped beating are closed first.
    await runs.failAbandoned(new Date(this.deps.now().getTime() - ABANDONED_AFTER_MS), this.deps.now());
    const { run: record, joined } = await runs.startSingleFlightRun(dryRun ? 'reconcile:dry' : 'reconcile', {
      kind: options.kind ?? 'FULL',
      dryRun,
      full: true,
      request: options.locations ? { locations: options.locations } : {},
      at: this.deps.now(),
    });
    if (joined) {
      const covered = record.request.locations as readonly string[] | undefined;
      if (covered && (!options.locations || options.locations.some((location) => !covered.includes(location)))) {
        throw new AppError('FULL_RECONCILE_RUNNING', `a full reconcile limited to ${covered.join(', ')} is running (run ${record.id}); ask again when it ends`, {
          runId: record.id,
          locations: covered,
        });
      }
      log.info({ runId: record.id, kind: record.kind }, 'a full reconcile is already running: joining it');
      return { record, done: this.#awaitRun(record.id, options.signal), joined };
    }
    const done = this.#execute(record, undefined, (run) => this.#reconcile(run, dryRun, options.locations ?? null, options.signal));
    this.#running.set(record.id, done);
    void done.finally(() => this.#running.delete(record.id)).catch(() => undefined);
    return { record, done, joined };
  }

  /** The end of a run this call joined: its promise when it runs here, else its record, looked at until it ends. */
  async #awaitRun(id: string, signal: AbortSignal | undefined): Promise<SyncRunRecord> {
    const here = this.#running.get(id);
    if (here) return here;
    const pollMs = this.deps.joinPollMs ?? JOIN_POLL_MS;
    for (;;) {
      const run = await this.deps.runs.findRun(id);
      if (!run) throw new AppError('SYNC_RUN_NOT_FOUND', `the joined run ${id} is gone`, { runId: id });
      if (run.status !== 'RUNNING') return run;
      throwIfAborted(signal);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, pollMs);
        timer.unref();
        signal?.addEventListener('abort', () => resolve(), { once: true });
      });
      throwIfAborted(signal);
    }
  }

  /**
   * Refuses work that needs the catalogue before its first fill (`CATALOGUE_NOT_READY`): waits
   * for the first start a bounded time, then checks that both sides were filled at least once.
   * A push on an empty mapping would report success having considered nothing.
   */
  async #requireCatalogue(): Promise<void> {
    const catalogue = this.deps.catalogue;
    if (!catalogue) return;
    let timer: NodeJS.Timeout | undefined;
    const waited = await Promise.race([
      catalogue.whenReady().then(() => true),
      new Promise<false>((resolve) => {
        timer = setTimeout(() => resolve(false), this.deps.catalogueWaitMs ?? CATALOGUE_WAIT_MS);
        timer.unref();
      }),
    ]);
    clearTimeout(timer);
    const fills = await catalogue.catalogueFills();
    if (waited && fills.erpFilledAt && fills.shopifyFilledAt) return;
    const missing = [...(fills.erpFilledAt ? [] : ['ERP']), ...(fills.shopifyFilledAt ? [] : ['Shopify'])];
    throw new AppError(
      'CATALOGUE_NOT_READY',
      waited
        ? `the ${missing.join(' and ')} catalogue has never been filled (the first fill failed: see the logs; the catalogue job retries); retry later`
        : 'the first catalogue fill is still running; retry in a minute',
      { erpFilledAt: fills.erpFilledAt?.toISOString() ?? null, shopifyFilledAt: fills.shopifyFilledAt?.toISOString() ?? null, retryAfterSeconds: 60 },
    );
  }

  /**
   * The full reconcile, streamed: Shopify's export is read a page of levels at a time (the next
   * page read while this one is compared), each page joined to its push targets, compared and
   * pushed, then dropped; no more than two pages of levels are ever held. Every position is
   * refreshed from the ERP first (paged by the ATP engine) while Shopify runs the export, whose
   * download waits for the refresh (a page is never compared with positions not yet refreshed).
   * Targets the export never listed are then compared with 0 (Shopify has no level there).
   */
  async #reconcile(run: RunContext, dryRun: boolean, locations: readonly string[] | null, signal: AbortSignal | undefined): Promise<void> {
    const { shopify, atp, mapping, runs, positions, executor, log } = this.deps;
    if (!dryRun) {
      await positions.deleteIntentsOlderThan(new Date(this.deps.now().getTime() - INTENT_RETENTION_MS));
      const pruned = await runs.deleteFinishedBefore(new Date(this.deps.now().getTime() - RUN_RETENTION_MS));
      if (pruned > 0) log.info({ runId: run.id, pruned }, 'sync runs older than 30 days deleted');
    }

    // The readings are stamped with the export's start, so the executor ignores any that a write
    // recorded since has made out of date.
    const readAt = this.deps.now();
    const started = performance.now();
    const progressOfRefresh = dryRun ? undefined : this.deps.refreshProgress;
    // Positions written by the refresh are those whose `erp_read_at` is after this moment.
    const refreshFrom = this.deps.now();
    const refresh = { ended: progressOfRefresh === undefined, failure: null as unknown };
    const refreshing = (async () => {
      if (dryRun) return;
      const refreshed = await atp.refreshPositions('all', { signal, collectChanges: false });
      log.info({ runId: run.id, positions: refreshed.positionsRead, ms: Math.round(performance.now() - started) }, 'full reconcile: positions refreshed from the ERP');
    })();
    refreshing.then(
      () => void (refresh.ended = true),
      (error: unknown) => void (refresh.failure = error ?? new Error('the ERP refresh failed')),
    );
    const wanted = (group: ShopifyPushGroup) => !locations || group.erpLocations.some((l) => locations.includes(l));
    const push = (groups: readonly ShopifyPushGroup[], label: string, readings: { get: (key: string) => number | undefined; at: Date }) =>
      executor.exclusive(() => executor.pushGroups(run, groups, { batchId: `${run.id}:${label}`, readings, readingsComplete: true, deferWrites: true }));
    const progress = progressBeat(() => runs.heartbeat(run.id, run.tally, true, this.deps.now()));
    let page = 0;
    /** Levels compared before the refresh ended, and levels held back for it: the overlap, logged. */
    const overlap = { comparedDuringRefresh: 0, heldForRefresh: 0 };
    const compare = async (part: ReconcilePage, label: string) => {
      if (part.sources.length === 0) return;
      if (!refresh.ended) overlap.comparedDuringRefresh += part.levels.length;
      const available = new Map<string, number>();
      for (const level of part.levels) available.set(levelKey(level.inventoryItemId, level.locationId), level.available);
      await push(part.sources.map(groupOfSource).filter(wanted), `${label}:${page++}`, { get: (key) => available.get(key), at: readAt });
      await progress.maybe();
    };

    // Without a progress reader the download waits for the whole refresh (no level is compared
    // with a position not yet refreshed, and no connection sits stalled meanwhile).
    const levels = shopify.exportInventoryLevels(progressOfRefresh ? {} : { beforeDownload: () => refreshing })[Symbol.asyncIterator]();
    const seen = new SeenLevels();
    // A page of the export with its push targets: read, parsed and joined to the read model while
    // the page before it is compared and pushed (two pages held at most, and the held-back levels).
    const readPage = async (): Promise<ReconcilePage> => {
      const part: InventoryLevelQuantities[] = [];
      while (part.length < this.#levelsPerPage) {
        const next = await levels.next();
        if (next.done) break;
        part.push(next.value);
      }
      if (part.length === 0) return { levels: part, sources: [] };
      const sources = await mapping.getErpSources(part.map((level) => ({ inventoryItemId: level.inventoryItemId, locationId: level.locationId })));
      return { levels: part, sources };
    };
    // Levels whose SKU the refresh has not written yet, compared once it has: at most a page of
    // them is held, beyond which the comparison waits for the refresh to end.
    let held: ReconcilePage = { levels: [], sources: [] };
    const throwIfRefreshFailed = () => {
      if (refresh.failure) throw refresh.failure;
    };
    let next = readPage();
    next.catch(() => undefined); // awaited below
    let read = 0;
    try {
      if (!progressOfRefresh) {
        const [refreshed, first] = await Promise.allSettled([refreshing, next]);
        if (refreshed.status === 'rejected') throw refreshed.reason;
        if (first.status === 'rejected') throw first.reason;
      }
      throwIfAborted(signal);
      for (;;) {
        const current = await next;
        throwIfRefreshFailed();
        if (current.levels.length === 0) break;
        next = current.levels.length < this.#levelsPerPage ? Promise.resolve({ levels: [], sources: [] }) : readPage();
        next.catch(() => undefined);
        read += current.levels.length;
        for (const level of current.levels) seen.add(level.inventoryItemId, level.locationId);
        let ready = current;
        if (!refresh.ended && progressOfRefresh) {
          const stale = await progressOfRefresh.staleSkus(current.sources.map((source) => source.sku), refreshFrom);
          if (stale.size > 0 && !refresh.ended) {
            const [fresh, waiting] = splitPage(current, stale);
            ready = fresh;
            overlap.heldForRefresh += waiting.levels.length;
            held = { levels: [...held.levels, ...waiting.levels], sources: [...held.sources, ...waiting.sources] };
            // A page's worth held: compare what the refresh has written since, a look a second,
            // until less than a page is left or the refresh has ended.
            while (held.levels.length >= this.#levelsPerPage && !refresh.ended) {
              await Promise.race([refreshing.catch(() => undefined), new Promise((resolve) => setTimeout(resolve, HELD_LOOK_MS))]);
              throwIfRefreshFailed();
              throwIfAborted(signal);
              if (refresh.ended) break;
              const [nowFresh, still] = splitPage(held, await progressOfRefresh.staleSkus(held.sources.map((source) => source.sku), refreshFrom));
              held = still;
              await compare(nowFresh, 'full:held');
            }
            if (held.levels.length >= this.#levelsPerPage) {
              await compare(held, 'full:held');
              held = { levels: [], sources: [] };
            }
          }
        }
        await compare(ready, 'full');
        throwIfAborted(signal);
      }
      await refreshing;
      await compare(held, 'full:held');
      held = { levels: [], sources: [] };
    } finally {
      // Stopped early (a failure, an abort): the download is cancelled, not left half-read.
      await next.catch(() => undefined);
      await levels.return?.();
      await refreshing.catch(() => undefined);
    }
    log.info({ runId: run.id, levels: read, pages: page, ...overlap, ms: Math.round(performance.now() - started) }, 'full reconcile: Shopify levels read, compared and pushed');

    // Targets the export did not list: Shopify holds no level for the item there (0).
    const absent = { get: () => undefined, at: readAt };
    for (let after: string | null = null, unseen = 0; ; ) {
      const result: Awaited<ReturnType<typeof mapping.listPushTargets>> = await mapping.listPushTargets({ after, first: TARGETS_PER_PAGE });
      const groups = groupPushTargets(result.items).filter((group) => wanted(group) && !seen.has(group.inventoryItemId, group.shopifyLocationId));
      if (groups.length > 0) {
        unseen += groups.length;
        await push(groups, `full:absent:${page++}`, absent);
        await progress.maybe();
      }
      throwIfAborted(signal);
      if (result.nextCursor === null) {
        if (unseen > 0) log.info({ runId: run.id, targets: unseen }, 'full reconcile: targets the export did not list compared with 0');
        break;
      }
      after = result.nextCursor;
    }
    await executor.exclusive(() => executor.flush(run));
    log.info({ runId: run.id, ...run.tally, ms: Math.round(performance.now() - started) }, 'full reconcile: compared and pushed');
    // Lots: every SKU's metafield compared with what was last written (unchanged ones cost no call).
    for (let after: string | null = null; ; ) {
      const batch = await positions.listSkus(after, SKUS_PER_PAGE);
      if (batch.length === 0) break;
      await this.#pushLots(run, batch);
      after = batch.at(-1)!;
      throwIfAborted(signal);
    }
    if (run.tally.drift > 0) log.warn({ runId: run.id, drift: run.tally.drift, pushed: run.tally.pushed }, 'full reconcile found Shopify levels that differed from the ATP');
  }

  get #levelsPerPage(): number {
    return this.deps.reconcileLevelsPerPage ?? RECONCILE_LEVELS_PER_PAGE;
  }

  // ------------------------------------------------------------------ event push

  /**
   * Pushes the positions Stockbridge itself marked (reservations, orders, safety stock, mapping
   * changes, retries and held drops now due). Returns null when nothing was due.
   */
  /** INVENTORY_PUSH as in force now (on when no switches are wired). */
  async pushMode(): Promise<'on' | 'shadow' | 'off'> {
    return (await this.deps.pushMode?.()) ?? 'on';
  }

  async runEventPush(options: RunOptions = {}): Promise<SyncRunRecord | null> {
    const { positions, runs } = this.deps;
    // Marks wait while the push is not on: switched on, they go out with the next pass.
    if ((await this.pushMode()) !== 'on') return null;
    let skus = await positions.findSkusDueForPush(this.deps.now(), SKUS_PER_PAGE);
    if (skus.length === 0) return null;
    const record = await runs.createRun({ kind: 'EVENT', dryRun: false, full: false, request: {}, at: this.deps.now() });
    return this.#execute(record, undefined, async (run) => {
      for (let pass = 0; pass < EVENT_PASSES_PER_RUN && skus.length > 0; pass++) {
        await this.#pushSkus(run, skus, null, options.signal, `event:${pass}`);
        await this.#pushLots(run, skus);
        throwIfAborted(options.signal);
        skus = await positions.findSkusDueForPush(this.deps.now(), SKUS_PER_PAGE);
      }
    });
  }

  // ------------------------------------------------------------------ manual

  /**
   * `pushInventory`: SKUs (default every SKU of the read model) at ERP locations (default all)
   * refreshed from the ERP and pushed now; `full` reads Shopify's levels first (a reconcile);
   * `dryRun` records what would change and writes nothing (no ERP refresh either: it compares
   * the read model as it stands). Answers with the finished run, or with it RUNNING when it
   * takes longer than the wait (follow it with `syncRun(id)`).
   */
  /** `signal` stops a manual run between batches (the CLI's Ctrl-C); the run is recorded as failed. */
  async pushInventory(input: PushInventoryInput, options: { readonly signal?: AbortSignal } = {}): Promise<SyncRunRecord> {
    const skus = input.skus ? [...new Set(input.skus.map((sku) => sku.trim()).filter(Boolean))] : null;
    const locations = input.locations ? [...new Set(input.locations.map((l) => l.trim()).filter(Boolean))] : null;
    if (input.skus && skus!.length === 0) throw new ValidationError('skus, when given, must name at least one SKU', { code: 'SYNC_NO_SKUS' });
    if (input.locations && locations!.length === 0) throw new ValidationError('locations, when given, must name at least one ERP location', { code: 'SYNC_NO_LOCATIONS' });
    if (skus && skus.length > 10_000) throw new ValidationError('at most 10,000 SKUs per push; use full: true for everything', { code: 'SYNC_TOO_MANY_SKUS' });
    const mode = await this.pushMode();
    if (mode === 'off' && !input.dryRun) {
      throw new AppError('INVENTORY_PUSH_OFF', 'the inventory push is switched off (INVENTORY_PUSH=off): ask for a dry run, or `switches set --inventory-push shadow|on`');
    }
    const dryRun = (input.dryRun ?? false) || mode === 'shadow';
    await this.#requireCatalogue();

    let started: { record: SyncRunRecord; done: Promise<SyncRunRecord> };
    if (input.full && !skus) {
      started = await this.#startFullReconcile({ kind: 'MANUAL', dryRun, locations, signal: options.signal });
    } else {
      const record = await this.deps.runs.createRun({
        kind: 'MANUAL',
        dryRun,
        full: input.full ?? false,
        request: { ...(skus ? { skus } : {}), ...(locations ? { locations } : {}) },
        at: this.deps.now(),
      });
      started = { record, done: this.#execute(record, undefined, (run) => this.#manual(run, skus, locations, input.full ?? false, options.signal)) };
    }
    return this.#answerWithin(started.record.id, started.done, this.deps.manualWaitMs ?? MANUAL_WAIT_MS);
  }

  async #manual(run: RunContext, skus: string[] | null, locations: string[] | null, full: boolean, signal?: AbortSignal): Promise<void> {
    const { positions, atp, shopify } = this.deps;
    if (skus && !full) {
      // Refreshed (not in a dry run) and pushed a page at a time, reads overlapping writes.
      skus = await this.#refreshAndPush(run, skus, locations, signal, 'manual', !run.dryRun);
      await this.#pushLots(run, skus);
      return;
    }
    if (skus) {
      if (!run.dryRun) {
        const refreshed = await atp.refreshPositions(skus, { signal });
        skus = [...new Set([...skus, ...refreshed.changed.map((change) => change.sku)])];
      }
      // A full push of named SKUs: read their Shopify levels now rather than trust the read model.
      const targets = await this.deps.mapping.getPushTargets(skus);
      const at = this.deps.now();
      const levels = await shopify.getInventoryLevels(groupPushTargets(targets).map((g) => ({ inventoryItemId: g.inventoryItemId, locationId: g.shopifyLocationId })));
      const byKey = new Map(levels.map((level) => [levelKey(level.inventoryItemId, level.locationId), level.available]));
      const readings = { get: (key: string) => byKey.get(key), at };
      await this.#pushSkus(run, skus, locations, signal, 'manual', readings);
      await this.#pushLots(run, skus);
      return;
    }
    if (!run.dryRun) await atp.refreshPositions('all', { collectChanges: false, signal });
    let after: string | null = null;
    let page = 0;
    for (;;) {
      throwIfAborted(signal);
      const batch = await positions.listSkus(after, SKUS_PER_PAGE);
      if (batch.length === 0) break;
      await this.#pushSkus(run, batch, locations, signal, `manual:${page++}`);
      await this.#pushLots(run, batch);
      after = batch.at(-1)!;
    }
  }

  // ------------------------------------------------------------------ reads

  lastFullReconcileAt(): Promise<Date | null> {
    return this.deps.runs.lastFullSuccessAt();
  }

  findRun(id: string): Promise<SyncRunRecord | null> {
    return this.deps.runs.findRun(id);
  }

  /** Runs newest first, one page (src/shared/pagination.ts); `withTotalCount` counts them all too. */
  async listRuns(first: number | null | undefined, after: string | null | undefined, withTotalCount = false): Promise<Connection<SyncRunRecord>> {
    const size = pageSize(first);
    let afterSeq: number | null = null;
    if (after) {
      const [seq] = decodeCursor('syncRuns', after, 1);
      afterSeq = typeof seq === 'number' && Number.isSafeInteger(seq) ? seq : invalidCursor('syncRuns', after);
    }
    const [rows, totalCount] = await Promise.all([this.deps.runs.listRuns(size + 1, afterSeq), withTotalCount ? this.deps.runs.countRuns() : null]);
    return toConnection('syncRuns', rows, { first: size, after, keyOf: (row) => [row.seq], nodeOf: (row) => row.run, totalCount });
  }

  /** `setLocationPolicy`: whether pushes write this SKU at this ERP location (ERP_IS_TRUTH) or leave Shopify's value (FOLLOW_SHOPIFY). */
  setLocationPolicy(input: { sku: string; location: string; policy: 'ERP_IS_TRUTH' | 'FOLLOW_SHOPIFY' }): Promise<SetLocationPolicyResult> {
    return this.#edits().setLocationPolicy(input);
  }

  /** Drift found (merchants' edits, reconciles), newest first; `beforeId` continues a list. */
  listDrift(filter: { sku?: string | null; location?: string | null; source?: 'MERCHANT_EDIT' | 'RECONCILE' | null }, limit: number, beforeId: number | null): Promise<DriftEventRecord[]> {
    return this.#edits().listDrift(filter, limit, beforeId);
  }

  /** The latest drift of each item × location (`inventoryItemId|shopifyLocationId` keys). */
  findLatestDrift(items: readonly { inventoryItemId: string; shopifyLocationId: string }[]): Promise<Map<string, DriftEventRecord>> {
    return this.deps.merchantEdits ? this.deps.merchantEdits.findLatestDrift(items) : Promise.resolve(new Map());
  }

  #edits(): NonNullable<SyncServiceDeps['merchantEdits']> {
    if (!this.deps.merchantEdits) throw new AppError('MERCHANT_EDITS_UNAVAILABLE', 'merchant edits are not wired in this process');
    return this.deps.merchantEdits;
  }

  getRunErrors(runIds: readonly string[], limit: number): Promise<Map<string, SyncRunErrorRecord[]>> {
    return this.deps.runs.getErrors(runIds, limit);
  }

  getRunChanges(runIds: readonly string[], limit: number): Promise<Map<string, SyncRunChangeRecord[]>> {
    return this.deps.runs.getChanges(runIds, limit);
  }

  /** Waits for manual runs still going in the background (shutdown, tests). */
  async settle(): Promise<void> {
    while (this.#background.size > 0) await Promise.allSettled([...this.#background]);
  }

  // ------------------------------------------------------------------ shared

  /** Pushes these SKUs in pages: targets, groups (filtered to `locations`), executor. */
  async #pushSkus(
    run: RunContext,
    skus: readonly string[],
    locations: readonly string[] | null,
    signal: AbortSignal | undefined,
    label = 'skus',
    readings: { get: (key: string) => number | undefined; at: Date } | null = null,
  ): Promise<void> {
    const { mapping, executor, positions } = this.deps;
    for (let start = 0, page = 0; start < skus.length; start += SKUS_PER_PAGE, page++) {
      const batch = skus.slice(start, start + SKUS_PER_PAGE);
      const targets = await mapping.getPushTargets(batch);
      const groups = groupPushTargets(targets).filter((group) => !locations || group.erpLocations.some((l) => locations.includes(l)));
      await executor.exclusive(() => executor.pushGroups(run, groups, { batchId: `${run.id}:${label}:${page}`, readings }));
      if (run.kind === 'EVENT') {
        // Marks on positions nothing can be pushed for (unmapped SKU or location, ambiguous SKU)
        // would be picked up again and again: there is nothing to send for them.
        await positions.clearMarksWithout(batch, new Set(targets.map((t) => `${t.sku}|${t.location}`)), this.deps.now());
      }
      await this.deps.runs.heartbeat(run.id, run.tally, false, this.deps.now(), run.fence);
      throwIfAborted(signal);
    }
  }

  /**
   * Refreshes these SKUs from the ERP (unless `refresh` is false) and pushes them a page at a
   * time, each page's ERP read and planning overlapping the previous page's Shopify writes
   * (push-pipeline.ts), so a large push runs at the cost bucket's pace. Pages are the SKUs in
   * the order given (a delta taken over sends its pages under the same idempotency keys). SKUs a
   * refresh changed outside its page (kits over components) are pushed once every page is
   * written. The whole push holds the executor (`exclusive`). Returns every SKU pushed.
   */
  async #refreshAndPush(run: RunContext, skus: readonly string[], locations: readonly string[] | null, signal: AbortSignal | undefined, label: string, refresh = true): Promise<string[]> {
    const { atp, executor, mapping } = this.deps;
    const wanted = new Set(skus);
    const pushed = new Set<string>();
    const again = new Set<string>();
    const pipeline = new PushPipeline<PreparedPush>(
      {
        prepare: async (batch, page) => {
          const targets = await mapping.getPushTargets(batch);
          const groups = groupPushTargets(targets).filter((group) => !locations || group.erpLocations.some((l) => locations.includes(l)));
          return executor.prepareGroups(run, groups, { batchId: `${run.id}:${label}:${page}` });
        },
        write: async (prepared) => {
          await executor.writePrepared(run, prepared);
          await this.deps.runs.heartbeat(run.id, run.tally, false, this.deps.now(), run.fence);
        },
      },
      { pageSize: PIPELINED_SKUS_PER_PAGE, maxQueued: 2 },
    );
    await executor.exclusive(async () => {
      try {
        for (let start = 0; start < skus.length; start += SKUS_PER_PAGE) {
          throwIfAborted(signal);
          const chunk = skus.slice(start, start + SKUS_PER_PAGE);
          if (refresh) {
            const inChunk = new Set(chunk);
            const refreshed = await atp.refreshPositions(chunk, { signal });
            for (const { sku } of refreshed.changed) if (!inChunk.has(sku) && (!wanted.has(sku) || pushed.has(sku))) again.add(sku);
          }
          for (const sku of chunk) pushed.add(sku);
          await pipeline.add(chunk);
        }
        await pipeline.finish();
      } finally {
        await pipeline.drain();
      }
    });
    throwIfAborted(signal);
    const extra = [...again].sort();
    if (extra.length > 0) await this.#pushSkus(run, extra, locations, signal, `${label}:again`);
    return [...new Set([...pushed, ...extra])];
  }

  /**
   * The lots metafields of these SKUs (a dry run counts what would be written). A failure is
   * logged and left for the next push of the SKUs: lots never fail the quantities' run.
   */
  async #pushLots(run: RunContext, skus: readonly string[]): Promise<void> {
    const { lots, log } = this.deps;
    if (!lots || skus.length === 0) return;
    try {
      const tally = await lots.pushSkus(skus, { dryRun: run.dryRun });
      if (tally.written > 0 || tally.failed > 0) log.info({ runId: run.id, lots: tally, dryRun: run.dryRun }, 'lots metafields pushed');
    } catch (error) {
      log.warn({ err: error, runId: run.id, skus: skus.length }, 'lots metafields push failed; tried again at the next push of these SKUs');
    }
  }

  /**
   * Pushes these groups with readings of Shopify's levels (an `inventory_levels/update`): one
   * EVENT run through the executor's arithmetic, so a reading is held, released or corrected
   * exactly as a reconcile's would be. Under INVENTORY_PUSH=shadow a dry run; off: nothing.
   */
  async pushWithReadings(groups: readonly ShopifyPushGroup[], readings: ReadonlyMap<string, number>, at: Date, times?: ReadonlyMap<string, Date>): Promise<SyncRunRecord | null> {
    const mode = await this.pushMode();
    if (mode === 'off' || groups.length === 0) return null;
    const record = await this.deps.runs.createRun({ kind: 'EVENT', dryRun: mode !== 'on', full: false, request: { source: 'inventory_levels/update' }, at: this.deps.now() });
    return this.#execute(record, undefined, async (run) => {
      await this.deps.executor.exclusive(() =>
        this.deps.executor.pushGroups(run, groups, { batchId: `${run.id}:levels`, readings: { get: (key) => readings.get(key), at, atOf: (key) => times?.get(key) } }),
      );
    });
  }

  /**
   * Runs the work, records the outcome, counts it, alerts on failure. Never throws for a failed
   * run; throws `JOB_LEASE_LOST` when a fenced run's outcome was refused (a newer holder took
   * the run over: its outcome is that holder's to write).
   */
  async #execute(record: SyncRunRecord, fence: JobFence | undefined, work: (run: RunContext) => Promise<void>): Promise<SyncRunRecord> {
    const { runs, metrics, alerts, log } = this.deps;
    const run: RunContext = { id: record.id, kind: record.kind, dryRun: record.dryRun, full: record.full, tally: emptyTally(), errorsRecorded: 0, changesRecorded: 0, fence };
    const started = this.deps.now();
    let finished: SyncRunRecord | null;
    // Proof of life through long phases (a catalogue-wide ERP refresh), so no one takes the run for abandoned.
    const beat = setInterval(() => {
      runs.heartbeat(run.id, run.tally, record.full, this.deps.now(), fence).catch((error: unknown) => log.warn({ err: error, runId: run.id }, 'sync run heartbeat failed'));
    }, HEARTBEAT_MS);
    beat.unref();
    let lost: unknown;
    try {
      await work(run);
      finished = await runs.finishRun(run.id, { status: statusOf(run.tally), tally: run.tally, full: record.full, at: this.deps.now() }, fence);
    } catch (error) {
      if (isAppError(error) && error.code === JOB_LEASE_LOST) lost = error;
      const failure = isAppError(error) ? { code: error.code, message: error.message } : { code: 'SYNC_FAILED', message: error instanceof Error ? error.message : String(error) };
      if (!isAppError(error)) log.error({ err: error, runId: run.id }, 'sync run failed unexpectedly');
      finished = await runs.finishRun(run.id, { status: 'FAILED', tally: run.tally, full: record.full, failure, at: this.deps.now() }, fence);
    } finally {
      clearInterval(beat);
    }
    if (!finished) {
      log.warn({ runId: run.id, fence: fence?.token }, 'sync run taken over by a newer holder of the job; its outcome is not recorded here');
      throw lost ?? leaseLostError(fence!, 'recording the sync run');
    }
    const seconds = (this.deps.now().getTime() - started.getTime()) / 1000;
    metrics.runs.inc({ kind: finished.kind, status: finished.status });
    metrics.runDuration.observe({ kind: finished.kind, status: finished.status }, seconds);
    if (finished.full && !finished.dryRun && finished.driftFound !== null) {
      metrics.driftFound.inc({ kind: finished.kind }, finished.driftFound);
      metrics.lastDrift.set(finished.driftFound);
    }
    const summary = { runId: finished.id, kind: finished.kind, status: finished.status, dryRun: finished.dryRun, seconds, considered: finished.itemsConsidered, pushed: finished.itemsPushed, unchanged: finished.itemsUnchanged, failed: finished.itemsFailed, drift: finished.driftFound };
    if (finished.status === 'FAILED') {
      log.error({ ...summary, failure: finished.failure }, 'sync run failed');
      // An event run whose only items failed is a retry of items already alerting on their own
      // (SYNC_ITEM_FAILING); a run that could not work at all always alerts.
      if (finished.failure || finished.kind !== 'EVENT') alerts.send({
        code: 'SYNC_RUN_FAILED',
        severity: 'critical',
        message: `${finished.kind} sync run ${finished.id} failed: ${finished.failure?.code ?? 'ITEMS_FAILED'} ${finished.failure?.message ?? `${finished.itemsFailed} of ${finished.itemsConsidered} items failed`}`,
        details: summary,
      });
    } else if (finished.kind !== 'EVENT' || finished.itemsPushed > 0 || finished.itemsFailed > 0) {
      log.info(summary, 'sync run finished');
    }
    return finished;
  }

  async #answerWithin(runId: string, work: Promise<SyncRunRecord>, waitMs: number): Promise<SyncRunRecord> {
    this.#background.add(work);
    void work.finally(() => this.#background.delete(work)).catch(() => undefined);
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<'timeout'>((resolve) => {
      timer = setTimeout(() => resolve('timeout'), waitMs);
      timer.unref();
    });
    const first = await Promise.race([work, timeout]);
    clearTimeout(timer);
    if (first !== 'timeout') return first;
    // Still going: answer with the run as it stands; it finishes in the background.
    return (await this.deps.runs.findRun(runId)) ?? work;
  }
}

export type { SyncRunKind };
