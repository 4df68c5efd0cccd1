import type { DomainModule, ModuleDeps } from '../domain-module.js';
import { createAtpService, type AtpService } from './atp.service.js';
import { createCatalogueRefreshJob } from './catalogue-refresh.job.js';
import { createExpiryJob } from './expiry.job.js';
import { createInventoryReadService, type InventoryReadService } from './inventory-read.service.js';
import { createCatalogueRefreshesRepository } from './catalogue-refreshes.repository.js';
import { createNormalizationRulesRepository } from './normalization-rules.repository.js';
import { createMappingService, type MappingService, type MappingServiceDeps } from './mapping.service.js';
import { createInventoryLoaders, type InventoryLoaders } from './inventory.loaders.js';
import { inventoryResolvers } from './inventory.resolvers.js';
import { mappingAdminResolvers } from './mapping-admin.resolvers.js';
import { createPushSignal, type PushSignalHub } from './push-signal.js';
import { DEFAULT_NORMALIZATION_RULES } from './sku-normalization.js';
import { createPositionsRepository } from './positions.repository.js';
import { createLiveNodeCache, type LiveNodeCacheOptions } from '../shopify/live-nodes.js';

/** The services resolvers and other domains use (`context.services.inventory`). */
export interface InventoryServices {
  readonly mapping: MappingService;
  readonly atp: AtpService;
  readonly reads: InventoryReadService;
  /** Woken after every change Stockbridge makes to a term (the event pusher subscribes). */
  readonly pushSignal: PushSignalHub;
  /** Resolves when the first-start work has finished (or failed and been logged). */
  whenReady(): Promise<void>;
  /** When each side of the catalogue was first completely read, as recorded (null: never). */
  catalogueFills(): Promise<{ readonly erpFilledAt: Date | null; readonly shopifyFilledAt: Date | null }>;
  /** The catalogue's fill state for operators (`serverInfo`, `/readyz`). */
  catalogueStatus(): Promise<CatalogueStatus>;
}

/** When each side of the catalogue was filled, first and last. */
export interface CatalogueStatus {
  /** False while this process's first start is still filling (operator calls wait or are told to retry). */
  readonly ready: boolean;
  readonly erpFilledAt: Date | null;
  readonly erpRefreshedAt: Date | null;
  readonly shopifyFilledAt: Date | null;
  readonly shopifyRefreshedAt: Date | null;
}

/**
 * The inventory domain: the catalogues and mappings, the ATP read model and its reads, the
 * catalogue job. `start()` is the first-start work, in the background: fills empty catalogues
 * from the ERP and Shopify, seeds the normalization rules, maps warehouses to same-named Shopify
 * locations when none is mapped, matches SKUs, and computes every position when the read model
 * is empty. Failures are logged (the ERP or Shopify may be down at start); the catalogue job
 * retries later. `services.whenReady()` resolves when it has finished.
 */
export interface InventoryModule extends DomainModule<'inventory', InventoryServices, InventoryLoaders> {
  start(): Promise<void>;
  stop(): Promise<void>;
}

export interface InventoryModuleOptions {
  /** The signal the other domains wake too (`services.pushSignal`); default: a new in-process one. */
  readonly pushSignal?: PushSignalHub;
  /** Abbreviations of the rules seeded at first start (the demo passes its finish words). */
  readonly defaultAbbreviations?: Readonly<Record<string, string>>;
  /** Map ERP warehouses to Shopify locations of the same name when nothing is mapped (default true). */
  readonly autoMapLocations?: boolean;
  /** How long `mapSku`/`mapLocation` wait for the first start's fill before `CATALOGUE_NOT_READY` (default 10 s). */
  readonly readyWaitMs?: number;
  /** Pause points for interleaving tests (see `MappingServiceDeps.pause`). */
  readonly pause?: MappingServiceDeps['pause'];
  /** Told when a mapping changed (see `MappingServiceDeps.onMappingChanged`). */
  readonly onMappingChanged?: MappingServiceDeps['onMappingChanged'];
  /** The cache of `Product.shopify` (default: 30 s, 10,000 variants). */
  readonly liveFields?: LiveNodeCacheOptions;
}

export function createInventoryModule(deps: ModuleDeps, options: InventoryModuleOptions = {}): InventoryModule {
  const db = deps.database.db;
  const log = deps.log.child({ component: 'inventory' });
  const pushSignal = options.pushSignal ?? createPushSignal();
  const common = { db, shop: deps.shop, erp: deps.erp, log, now: deps.now, pushSignal };
  let ready: Promise<void> = Promise.resolve();
  let started = false;
  let settled = true;
  const mapping = createMappingService({
    ...common,
    shopify: deps.shopify,
    readiness: { whenReady: () => ready, waitMs: options.readyWaitMs },
    pause: options.pause,
    onMappingChanged: options.onMappingChanged,
  });
  const catalogueRefreshes = createCatalogueRefreshesRepository(db, deps.shop);
  const normalizationRules = createNormalizationRulesRepository(db, deps.shop);
  const atp = createAtpService({ ...common, sellableShelfLifeDays: deps.config.sellableShelfLifeDays });
  // Every GraphQL read, lots included, comes from the read model: no ERP call on the read path.
  const reads = createInventoryReadService({ db, shop: deps.shop, mapping });
  const live = createLiveNodeCache(deps.shopify, options.liveFields);

  const stopping = new AbortController();

  async function catalogueFills() {
    const refreshes = await catalogueRefreshes.listCatalogueRefreshes();
    const of = (source: string) => refreshes.find((r) => r.source === source);
    return {
      erpFilledAt: of('erp-products')?.firstCompletedAt ?? null,
      erpRefreshedAt: of('erp-products')?.completedAt ?? null,
      shopifyFilledAt: of('shopify-variants')?.firstCompletedAt ?? null,
      shopifyRefreshedAt: of('shopify-variants')?.completedAt ?? null,
    };
  }

  /**
   * Each step on its own: the ERP down at start must not keep the Shopify catalogue from being
   * read, nor the other way round. What fails is logged and left to the catalogue job.
   */
  async function firstStart(): Promise<void> {
    const signal = stopping.signal;
    const step = async (name: string, run: () => Promise<void>) => {
      if (signal.aborted) return;
      try {
        await run();
      } catch (error) {
        if (!signal.aborted) log.error({ err: error, step: name }, 'inventory first-start step failed; the catalogue job will retry');
      }
    };
    await step('normalization rules', async () => {
      const seeded = await normalizationRules.seedNormalizationRules({ ...DEFAULT_NORMALIZATION_RULES, abbreviations: options.defaultAbbreviations ?? {} }, deps.now());
      if (seeded) log.info({ abbreviations: Object.keys(options.defaultAbbreviations ?? {}).length }, 'SKU normalization rules seeded');
    });
    // Whether each side was ever filled is recorded when a complete listing was read, never
    // guessed from row counts: a `mapSku` inserts a variant or two long before the first fill.
    const fills = await catalogueFills().catch(() => ({ erpFilledAt: null, shopifyFilledAt: null }));
    await step('ERP catalogue', async () => {
      if (!fills.erpFilledAt) await mapping.refreshErpCatalogue({ signal });
    });
    await step('read model', async () => {
      if ((await createPositionsRepository(db, deps.shop).countPositions()) > 0) return;
      const result = await atp.refreshPositions('all', { signal, collectChanges: false });
      log.info({ positions: result.positionsRead }, 'read model filled from the ERP');
    });
    await step('Shopify catalogue', async () => {
      if (!fills.shopifyFilledAt) await mapping.refreshShopifyCatalogue({ signal });
    });
    await step('location mapping', async () => {
      if (options.autoMapLocations ?? true) await mapping.autoMapLocations();
    });
    await step('SKU matching', async () => {
      await mapping.rematch();
    });
  }

  const services: InventoryServices = {
    mapping,
    atp,
    reads,
    pushSignal,
    whenReady: () => ready,
    catalogueFills,
    async catalogueStatus() {
      return { ready: settled, ...(await catalogueFills()) };
    },
  };
  return {
    name: 'inventory',
    services,
    createLoaders: () => createInventoryLoaders(reads, live),
    resolvers: {
      ...inventoryResolvers,
      Query: { ...inventoryResolvers.Query, ...mappingAdminResolvers.Query },
      Mutation: { ...inventoryResolvers.Mutation, ...mappingAdminResolvers.Mutation },
    },
    jobs: [createCatalogueRefreshJob(mapping, { autoMapLocations: options.autoMapLocations ?? true }), createExpiryJob(atp)],
    async start() {
      if (started) return;
      started = true;
      settled = false;
      ready = firstStart().finally(() => {
        settled = true;
      });
    },
    async stop() {
      stopping.abort();
      await ready;
    },
  };
}
