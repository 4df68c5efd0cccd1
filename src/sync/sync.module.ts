import { createAlertSender, type AlertSender } from '../alerts/alert-sender.js';
import type { AtpService, MappingService, PushSignalHub, StoreTakePort } from '../inventory/inventory.port.js';
import type { DomainModule, ModuleDeps } from '../domain-module.js';
import { EventPusher } from './event-pusher.js';
import { createInventoryLotsReader } from '../inventory/read-model/inventory-lots.reader.js';
import { LotsPusher } from './lots-push.js';
import { createLotMetafieldsRepository } from './lots-metafields.repository.js';
import { createMerchantEditsRepository } from './merchant-edits.repository.js';
import { INVENTORY_LEVELS_UPDATE, MerchantEditsService } from './merchant-edits.service.js';
import { MerchantEditsWorker } from './merchant-edits.worker.js';
import { PushExecutor, type PushExecutorDeps } from './push-executor.js';
import { createPushRepository } from './push.repository.js';
import { createRefreshProgress } from './refresh-progress.js';
import { createSyncJobs } from './sync.job.js';
import { createSyncLoaders, type SyncLoaders } from './sync.loaders.js';
import { createSyncMetrics } from './sync.metrics.js';
import { SyncService, type SyncCatalogueReadiness } from './sync.service.js';
import { createSyncRunRepository } from './sync-run.repository.js';
import { createStoreTake } from './store-take.js';
import { syncResolvers } from './sync.resolvers.js';

/**
 * `startWithScheduler()` starts the event push loop (SCHEDULER=on); `stop()` stops it and waits
 * for manual runs still going.
 */
export interface SyncModule extends DomainModule<'sync', SyncService, SyncLoaders> {
  startWithScheduler(): Promise<void>;
  stop(): Promise<void>;
  /** Shopify's side of a reservation's grant (store-take.ts), for the reservations module. */
  readonly storeTake: StoreTakePort;
}

export interface SyncModuleOptions {
  readonly mapping: Pick<MappingService, 'getPushTargets' | 'listPushTargets' | 'getErpSources'>;
  readonly atp: Pick<AtpService, 'refreshPositions'>;
  /** The hub every domain wakes after marking positions; the event pusher subscribes to it. */
  readonly pushSignal: PushSignalHub;
  /** Shared with the other domains (one rate limit per code across the process); made here if absent. */
  readonly alerts?: AlertSender;
  /**
   * Resolves when the mapping and the read model are filled (the inventory module's first start):
   * scheduled runs wait for it, so a first reconcile does not run on an empty mapping.
   */
  readonly ready?: () => Promise<void>;
  /**
   * The catalogue's recorded first fill (the inventory module): manual pushes and reconciles are
   * refused with `CATALOGUE_NOT_READY` before it, rather than succeed having considered nothing.
   */
  readonly catalogue?: SyncCatalogueReadiness;
  /** How long a push waits for the first start's catalogue fill before `CATALOGUE_NOT_READY` (default 10 s). */
  readonly catalogueWaitMs?: number;
  /** Longest wait of the event push between two looks at the marks (default 5 s). */
  readonly eventPollMs?: number;
  /**
   * How long an unexplained drop in Shopify waits for its order before it is released. Default:
   * three order polls, at least 15 minutes (webhooks arrive in seconds; the poll is the fallback).
   */
  readonly orderWindowMs?: number;
  /** How long a fall in Shopify no known order explains waits for its order before it counts as a merchant's edit (default 60 s). */
  readonly merchantEditGraceMs?: number;
  /** Where each pushed item's outcome and sync latency is recorded (the health module's port). */
  readonly outcomes?: PushExecutorDeps['outcomes'];
  /** Longest wait of the `inventory_levels/update` worker between two looks (default 5 s). */
  readonly levelEventsPollMs?: number;
  /** Levels of Shopify's export per compared page of a full reconcile (default 5,000; tests make it small). */
  readonly reconcileLevelsPerPage?: number;
}

/**
 * The push side of the sync: delta and reconcile jobs, the event push loop behind the push
 * signal, manual pushes and the sync-run records, for one shop.
 */
export function createSyncModule(deps: ModuleDeps, options: SyncModuleOptions): SyncModule {
  const log = deps.log.child({ component: 'sync' });
  const runs = createSyncRunRepository(deps.database.db, deps.shop);
  const positions = createPushRepository(deps.database.db, deps.shop);
  const alerts = options.alerts ?? createAlertSender({ log: deps.log, webhookUrl: deps.config.alertWebhookUrl });
  const metrics = createSyncMetrics(deps.metrics, () => runs.lastSuccessAt(['DELTA', 'FULL']));
  const orderWindowMs = options.orderWindowMs ?? Math.max(15 * 60_000, 3 * deps.config.orderPollIntervalSeconds * 1000);
  const edits = createMerchantEditsRepository(deps.database.db, deps.shop);
  const executor = new PushExecutor({
    shopify: deps.shopify,
    positions,
    runs,
    log,
    metrics,
    alerts,
    now: deps.now,
    orderWindowMs,
    policies: edits,
    drift: { recordReconcileDrift: async (events) => void (events.length > 0 && (await edits.recordDrift(events, deps.now()))) },
    outcomes: options.outcomes,
  });
  const lots = new LotsPusher({
    shopify: deps.shopify,
    mapping: options.mapping,
    reader: createInventoryLotsReader(deps.database.db, deps.shop),
    lots: createLotMetafieldsRepository(deps.database.db, deps.shop), log: log.child({ part: 'lots' }), now: deps.now });
  // Built before the service it pushes through: the calls below happen only once both exist.
  const merchantEdits: MerchantEditsService = new MerchantEditsService({
    repository: edits,
    positions,
    mapping: options.mapping,
    push: { pushMode: () => sync.pushMode(), pushWithReadings: (groups, readings, at, times) => sync.pushWithReadings(groups, readings, at, times) },
    wakePush: () => options.pushSignal.wake(),
    alerts,
    log: log.child({ part: 'merchant-edits' }),
    now: deps.now,
    graceMs: options.merchantEditGraceMs,
  });
  const sync = new SyncService({
    shop: deps.shop,
    erp: deps.erp,
    shopify: deps.shopify,
    mapping: options.mapping,
    atp: options.atp,
    runs,
    positions,
    executor,
    alerts,
    metrics,
    log,
    now: deps.now,
    catalogue: options.catalogue,
    pushMode: deps.switches ? () => deps.switches!.inventoryPush() : undefined,
    lots,
    merchantEdits,
    reconcileLevelsPerPage: options.reconcileLevelsPerPage,
    refreshProgress: createRefreshProgress(deps.database.db, deps.shop),
  });
  const levelEvents = new MerchantEditsWorker({ service: merchantEdits, log: log.child({ loop: 'level-events' }), now: deps.now, pollMs: options.levelEventsPollMs });
  const pusher = new EventPusher({ service: sync, positions, signal: options.pushSignal, log: log.child({ loop: 'event-push' }), now: deps.now, pollMs: options.eventPollMs });
  const storeTake = createStoreTake({
    shop: deps.shop,
    shopify: deps.shopify,
    mapping: options.mapping,
    pushMode: () => sync.pushMode(),
    policies: edits,
    log: log.child({ part: 'store-take' }),
  });
  return {
    name: 'sync',
    storeTake,
    services: sync,
    createLoaders: () => createSyncLoaders(sync),
    resolvers: syncResolvers,
    jobs: createSyncJobs(sync, {
      syncIntervalSeconds: deps.config.syncIntervalSeconds,
      reconcileIntervalSeconds: deps.config.reconcileIntervalSeconds,
      stockWatchIntervalSeconds: deps.config.stockWatchIntervalSeconds,
      ready: options.ready,
    }),
    webhookTopics: {
      // Stored before the answer; looked at right after it.
      [INVENTORY_LEVELS_UPDATE]: async (delivery, requestLog) => {
        const handled = await merchantEdits.receive(delivery, requestLog);
        if (handled.result === 'stored') levelEvents.wake();
        return handled;
      },
    },
    async start() {
      // A write to Shopify like any other: not while INVENTORY_PUSH is shadow or off (the first lots write makes it then).
      if ((await sync.pushMode()) === 'on') await lots.ensureDefinition();
    },
    async startWithScheduler() {
      pusher.start();
      levelEvents.start();
    },
    async stop() {
      await levelEvents.stop();
      await pusher.stop();
      await sync.settle();
      if (!options.alerts) await alerts.close();
    },
  };
}
