// One unit though long: catalogue refreshes, SKU matching and operator mappings share the
// in-process single flight (`once`), the first-fill readiness gate and the shop's mapping lock,
// and each changes what the others decide on. Its persistence is split by aggregate (the
// *.repository.ts files beside it, combined in `repositoriesOf`).
import type { Db } from '../db/database.js';
import type { ErpConnector } from '../erp/erp-connector.js';
import type { Logger } from '../logger.js';
import { ValidationError } from '../shared/errors.js';
import { toShopifyGid } from '../shopify/gid.js';
import type { InventoryItemLocation, ShopifyClient, ShopifyVariant } from '../shopify/shopify-client.js';
import { InventoryError } from './inventory.errors.js';
import type {
  ErpSource,
  LocationMapping,
  LocationView,
  NormalizationRules,
  PushTarget,
  SkuMapping,
  SkuMappingReport,
  UnitConversion,
} from './inventory.models.js';
import { createCatalogueRefreshesRepository } from './catalogue-refreshes.repository.js';
import { createErpCatalogueRepository } from './erp-catalogue.repository.js';
import { createLocationMappingRepository } from './location-mapping.repository.js';
import { createNormalizationRulesRepository } from './normalization-rules.repository.js';
import { createPushTargetsRepository } from './push-targets.repository.js';
import { createInventoryLevelsWriter } from './read-model/inventory-levels.writer.js';
import { createShopifyCatalogueRepository } from './shopify-catalogue.repository.js';
import { createSkuMappingRepository } from './sku-mapping.repository.js';
import type { PushSignal } from './push-requests.js';
import { groupPushTargets } from './push-targets.js';
import { matchSkusByRule } from './sku-matching.js';
import { createSkuNormalizer, DEFAULT_NORMALIZATION_RULES } from './sku-normalization.js';
import { checkConversion, IDENTITY_CONVERSION } from './unit-conversion.js';

export interface CatalogueRefreshResult {
  readonly variants: number;
  readonly locations: number;
  readonly matching: MatchingSummary;
}

export interface MatchingSummary {
  readonly mapped: number;
  readonly manual: number;
  readonly byRule: number;
  readonly ambiguous: number;
  readonly unmappedErpSkus: number;
  /** ERP SKUs that gained (or changed) a pushable mapping in this run: their positions were marked for push. */
  readonly newlyMapped: readonly string[];
}

export interface MapSkuInput {
  readonly erpSku: string;
  /** One of the two names the variant: the SKU (must be unique in the shop) or the variant id. */
  readonly shopifySku?: string | null;
  readonly shopifyVariantId?: string | null;
  /** Default 1:1. */
  readonly conversion?: UnitConversion | null;
}

export interface MapLocationInput {
  readonly erpLocation: string;
  /** `gid://shopify/Location/…` or its numeric id; null removes the mapping (never pushed). */
  readonly shopifyLocationId: string | null;
}

/**
 * Which ERP SKU and location feed which Shopify variant and location, for one shop.
 *
 * Guarantee: a push target exists only for an ERP SKU with exactly one mapping (explicit, or one
 * unambiguous rule match) to a tracked variant that is in the shop's catalogue, at an ERP
 * location mapped to an active Shopify location. Ambiguous SKUs and unmapped locations are never
 * push targets; they are listed by `getMappingReport`. Every lookup is batched: one or two
 * database round trips whatever the number of SKUs.
 */
export interface MappingService {
  /** Reads the ERP's locations and every product (paged) into the catalogue tables, then re-runs matching. */
  refreshErpCatalogue(options?: { signal?: AbortSignal }): Promise<{ readonly products: number; readonly locations: number }>;

  /**
   * Reads the shop's locations and every variant (bulk export) into the catalogue tables, then
   * re-runs matching. Variants no longer in the shop are dropped (their manual mappings stay,
   * flagged `variantExists: false`, and are not pushed).
   */
  refreshShopifyCatalogue(options?: { signal?: AbortSignal }): Promise<CatalogueRefreshResult>;

  /** Re-runs SKU matching over the stored catalogues (explicit mappings first, then the rules). */
  rematch(): Promise<MatchingSummary>;

  /** Maps an ERP SKU by hand (`MANUAL`), replacing any rule match; marks its positions for push. */
  mapSku(input: MapSkuInput): Promise<SkuMapping>;

  /** Removes a manual mapping; the SKU goes back to rule matching. */
  unmapSku(erpSku: string): Promise<void>;

  /** Maps (or, with null, unmaps) an ERP location; marks its positions for push. */
  mapLocation(input: MapLocationInput): Promise<LocationView>;

  /**
   * When the shop has no location mapping at all, maps each ERP warehouse to the Shopify
   * location with the same name or code (compared ignoring case and spacing). Returns what it mapped.
   */
  autoMapLocations(): Promise<readonly LocationMapping[]>;

  getNormalizationRules(): Promise<NormalizationRules>;
  /** Stores the rules and re-runs matching. */
  setNormalizationRules(rules: NormalizationRules): Promise<MatchingSummary>;
  /**
   * Stores the rules, re-runs matching and says which ERP SKUs changed mapping; with `dryRun`
   * the same work runs in a transaction that is rolled back, so nothing is written.
   */
  changeNormalizationRules(rules: NormalizationRules, options?: { dryRun?: boolean }): Promise<NormalizationRulesChange>;

  /** The lists may be cut at `limit` entries each (`counts` gives the full sizes). */
  getMappingReport(options?: { limit?: number }): Promise<SkuMappingReport>;

  /** Push targets of these ERP SKUs: one per pushable SKU × mapped ERP location. */
  getPushTargets(skus: readonly string[]): Promise<PushTarget[]>;

  /** Every push target, by ERP SKU, one page at a time (a full reconcile). */
  listPushTargets(page?: { after?: string | null; first?: number }): Promise<{ readonly items: PushTarget[]; readonly nextCursor: string | null }>;

  /** The reverse: the ERP SKU and ERP locations behind Shopify item×location pairs; unknown pairs are absent. */
  getErpSources(pairs: readonly InventoryItemLocation[]): Promise<ErpSource[]>;

  /** Mappings of these Shopify variants (orders: a line's variant → ERP SKU); unmapped ones are absent. */
  findSkuMappingsByVariantIds(variantIds: readonly string[]): Promise<SkuMapping[]>;

  /** Mappings of these ERP SKUs; unmapped ones are absent. */
  findSkuMappingsBySkus(erpSkus: readonly string[]): Promise<SkuMapping[]>;

  /** ERP locations (from the catalogue) with their Shopify location. */
  listLocations(): Promise<LocationView[]>;

  listLocationMappings(): Promise<LocationMapping[]>;
}

// ---------------------------------------------------------------------------- implementation

export interface MappingServiceDeps {
  readonly db: Db;
  readonly shop: string;
  readonly erp: ErpConnector;
  readonly shopify: ShopifyClient;
  readonly log: Logger;
  readonly now: () => Date;
  readonly pushSignal: PushSignal;
  /**
   * The first start's catalogue fill (the inventory module): `mapSku` and `mapLocation` wait
   * for it up to `waitMs` (default 10 s), then answer `CATALOGUE_NOT_READY`. Absent: no wait.
   */
  readonly readiness?: { whenReady(): Promise<void>; readonly waitMs?: number } | undefined;
  /** Pause points for interleaving tests: awaited at named steps of a refresh. */
  readonly pause?: ((step: string, details: Record<string, unknown>) => Promise<void>) | undefined;
  /**
   * Called after a mapping changed (a SKU or location mapped or unmapped, new matches found), so
   * work waiting for a mapping (orders with unmapped lines) starts at once, not at its next retry.
   */
  readonly onMappingChanged?: (() => void) | undefined;
}

/** Variants per upsert while the bulk export streams in. */
const VARIANT_BATCH = 1_000;
/** How long an operator call waits for the first start's catalogue fill. */
const READY_WAIT_MS = 10_000;

/** Names and codes compared for the automatic location mapping: case, spacing and punctuation aside. */
function locationKey(text: string): string {
  return text
    .toLowerCase()
    .replace(/[^\p{L}\p{N}]+/gu, ' ')
    .trim();
}

/** The mapping's repositories, one per aggregate, over one executor: the pool or a transaction. */
function repositoriesOf(db: Db, shop: string) {
  return {
    refreshes: createCatalogueRefreshesRepository(db, shop),
    erp: createErpCatalogueRepository(db, shop),
    shopify: createShopifyCatalogueRepository(db, shop),
    skus: createSkuMappingRepository(db, shop),
    locations: createLocationMappingRepository(db, shop),
    rules: createNormalizationRulesRepository(db, shop),
    targets: createPushTargetsRepository(db, shop),
    /** Push marks go through the read model's one writer. */
    readModel: createInventoryLevelsWriter(db, shop),
  };
}

type MappingRepositories = ReturnType<typeof repositoriesOf>;

export function createMappingService(deps: MappingServiceDeps): MappingService {
  const { db, shop, erp, shopify, log, now, pushSignal, readiness, pause } = deps;
  const repository = repositoriesOf(db, shop);

  /** A mapping changed: positions may now be pushable, and waiting orders mappable. */
  function mappingChanged(): void {
    pushSignal.wake();
    deps.onMappingChanged?.();
  }

  /**
   * Work that may be asked for twice at once in this process (two location look-ups of
   * `mapLocation`, the catalogue job and the first start) runs once: the second caller joins.
   * Across instances, refresh generations keep overlapping refreshes right (see
   * `beginCatalogueRefresh`); this only saves the duplicate work.
   */
  const inFlight = new Map<string, Promise<unknown>>();
  function once<T>(key: string, work: () => Promise<T>): Promise<T> {
    const running = inFlight.get(key) as Promise<T> | undefined;
    if (running) return running;
    const started = work().finally(() => inFlight.delete(key));
    inFlight.set(key, started);
    return started;
  }

  function refreshErpLocations(at: Date): Promise<number> {
    return once('erp-locations', async () => {
      const generation = await repository.refreshes.beginCatalogueRefresh('erp-locations');
      const locations = await erp.listLocations();
      await repository.erp.upsertErpLocations(locations, at, generation);
      await repository.erp.deactivateErpLocationsNotSeenIn(generation);
      await repository.refreshes.completeCatalogueRefresh('erp-locations', generation);
      return locations.length;
    });
  }

  function refreshShopifyLocations(at: Date): Promise<number> {
    return once('shopify-locations', async () => {
      const generation = await repository.refreshes.beginCatalogueRefresh('shopify-locations');
      const locations = await shopify.listLocations({ includeInactive: true });
      await pause?.('shopify-locations:listed', { generation });
      await repository.shopify.upsertShopifyLocations(locations, at, generation);
      await pause?.('shopify-locations:written', { generation });
      await repository.shopify.deactivateShopifyLocationsNotSeenIn(generation);
      await repository.refreshes.completeCatalogueRefresh('shopify-locations', generation);
      return locations.length;
    });
  }

  /**
   * Operator calls made during the first start wait for its catalogue fill, a bounded time,
   * then are told to retry: a mapping made before the catalogue is read is made on a guess.
   */
  async function requireReady(): Promise<void> {
    if (!readiness) return;
    let timer: NodeJS.Timeout | undefined;
    const ready = await Promise.race([
      readiness.whenReady().then(() => true),
      new Promise<false>((resolve) => {
        timer = setTimeout(() => resolve(false), readiness.waitMs ?? READY_WAIT_MS);
        timer.unref();
      }),
    ]);
    clearTimeout(timer);
    if (!ready) {
      throw new InventoryError('CATALOGUE_NOT_READY', 'the first catalogue fill is still running; retry in a minute', { retryAfterSeconds: 60 });
    }
  }

  /** Matching inside the caller's transaction, under the shop's mapping lock. */
  async function rematchIn(tx: MappingRepositories, at: Date): Promise<MatchingSummary> {
    await tx.skus.lockMappings();
    const rules = (await tx.rules.getNormalizationRules()) ?? DEFAULT_NORMALIZATION_RULES;
    const erpSkus = await tx.erp.listMatchableErpSkus();
    const variants = await tx.shopify.listMatchableVariants();
    const existing = await tx.skus.listSkuMappings();

    const manual = existing.filter((m) => m.source === 'MANUAL');
    const manualSkus = new Set(manual.map((m) => m.erpSku));
    const manualVariants = new Set(manual.map((m) => m.shopifyVariantId));
    const { matches, ambiguous } = matchSkusByRule({
      erpSkus: erpSkus.filter((sku) => !manualSkus.has(sku)),
      variants: variants.filter((v) => !manualVariants.has(v.variantId)),
      normalize: createSkuNormalizer(rules),
    });

    const existingRule = new Map(existing.filter((m) => m.source === 'RULE').map((m) => [m.erpSku, m]));
    const desired = new Map(matches.map((m) => [m.erpSku, m.variant]));
    const stale = [...existingRule.values()].filter((m) => {
      const wanted = desired.get(m.erpSku);
      return !wanted || wanted.variantId !== m.shopifyVariantId || wanted.sku !== m.shopifySku || wanted.inventoryItemId !== m.shopifyInventoryItemId;
    });
    const staleSkus = new Set(stale.map((m) => m.erpSku));
    const fresh = matches.filter((m) => !existingRule.has(m.erpSku) || staleSkus.has(m.erpSku));

    await tx.skus.deleteSkuMappings([...staleSkus], 'RULE');
    await tx.skus.insertRuleMappings(fresh, at);
    await tx.skus.replaceConflicts(ambiguous, at);
    const newlyMapped = fresh.map((m) => m.erpSku);
    await tx.readModel.requestPushFor({ skus: newlyMapped }, at);

    return {
      mapped: manual.length + matches.length,
      manual: manual.length,
      byRule: matches.length,
      ambiguous: ambiguous.length,
      unmappedErpSkus: erpSkus.length - erpSkus.filter((sku) => manualSkus.has(sku)).length - matches.length - ambiguous.length,
      newlyMapped,
    };
  }

  async function rematch(): Promise<MatchingSummary> {
    const at = now();
    const summary = await db.transaction((tx) => rematchIn(repositoriesOf(tx, shop), at));
    if (summary.newlyMapped.length > 0) mappingChanged();
    log.info({ ...summary, newlyMapped: summary.newlyMapped.length }, 'SKU matching done');
    return summary;
  }

  async function ensureErpProduct(sku: string): Promise<void> {
    if ((await repository.erp.findErpProducts([sku])).length > 0) return;
    const { products } = await erp.getProductsBySkus([sku]);
    if (products.length === 0) throw new InventoryError('UNKNOWN_SKU', `The ERP has no product with SKU ${sku}`, { sku });
    await repository.erp.upsertErpProducts(products, now());
  }

  async function resolveVariant(input: MapSkuInput): Promise<{ variantId: string; sku: string | null; inventoryItemId: string }> {
    if (input.shopifyVariantId) {
      const variantId = toShopifyGid('ProductVariant', input.shopifyVariantId);
      const [variant] = await repository.shopify.findVariantsById([variantId]);
      if (!variant) {
        throw new InventoryError('SHOPIFY_VARIANT_NOT_FOUND', `No variant ${variantId} in the shop's catalogue (refresh the catalogue if it is new)`, { variantId });
      }
      return variant;
    }
    const shopifySku = input.shopifySku!.trim();
    let candidates: Array<{ variantId: string; sku: string | null; inventoryItemId: string }> = await repository.shopify.findVariantsBySkuIgnoringCase(shopifySku);
    if (candidates.length === 0) {
      // A variant added since the last catalogue refresh: ask Shopify, and remember it.
      const found = await shopify.findVariantsBySkus([shopifySku]);
      await repository.shopify.upsertShopifyVariants(found, now());
      candidates = found;
    }
    const exact = candidates.filter((v) => v.sku === shopifySku);
    const chosen = exact.length === 1 ? exact : candidates;
    if (chosen.length === 1) return chosen[0]!;
    if (chosen.length === 0) throw new InventoryError('SHOPIFY_VARIANT_NOT_FOUND', `No Shopify variant has SKU ${shopifySku}`, { shopifySku });
    throw new InventoryError('SHOPIFY_SKU_AMBIGUOUS', `Several Shopify variants have SKU ${shopifySku}: map by shopifyVariantId`, {
      shopifySku,
      variantIds: chosen.map((v) => v.variantId),
    });
  }

  async function findLocationView(code: string): Promise<LocationView | undefined> {
    const [view] = await repository.locations.listLocationViews([code]);
    return view;
  }

  async function refreshErpCatalogue(options: { signal?: AbortSignal }): Promise<{ products: number; locations: number }> {
    const at = now();
    const locations = await refreshErpLocations(at);
    const generation = await repository.refreshes.beginCatalogueRefresh('erp-products');
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      options.signal?.throwIfAborted();
      const page: Awaited<ReturnType<ErpConnector['listProducts']>> = await erp.listProducts({ cursor, limit: erp.capabilities.maxSkusPerRequest });
      await repository.erp.upsertErpProducts(page.items, at);
      for (const product of page.items) seen.push(product.sku);
      cursor = page.nextCursor;
    } while (cursor);
    const products = seen.length;
    // Only after the complete listing: a failed read must not retire the rest of the catalogue.
    const gone = await repository.erp.deactivateErpProductsNotIn(seen, generation);
    await repository.refreshes.completeCatalogueRefresh('erp-products', generation);
    log.info({ products, locations, deactivated: gone.length }, 'ERP catalogue refreshed');
    await rematch();
    return { products, locations };
  }

  async function refreshShopifyCatalogue(options: { signal?: AbortSignal }): Promise<CatalogueRefreshResult> {
    const at = now();
    const locations = await refreshShopifyLocations(at);
    const generation = await repository.refreshes.beginCatalogueRefresh('shopify-variants');
    let variants = 0;
    let batch: ShopifyVariant[] = [];
    for await (const variant of shopify.exportVariants()) {
      batch.push(variant);
      if (batch.length >= VARIANT_BATCH) {
        options.signal?.throwIfAborted();
        await repository.shopify.upsertShopifyVariants(batch, at, generation);
        variants += batch.length;
        batch = [];
      }
    }
    await repository.shopify.upsertShopifyVariants(batch, at, generation);
    variants += batch.length;
    // Only after the whole export arrived: a failed export must not empty the catalogue.
    const removed = await repository.shopify.deleteShopifyVariantsNotSeenIn(generation);
    await repository.refreshes.completeCatalogueRefresh('shopify-variants', generation);
    log.info({ variants, locations, removed }, 'Shopify catalogue refreshed');
    const matching = await rematch();
    return { variants, locations, matching };
  }

  async function mapSku(input: MapSkuInput): Promise<SkuMapping> {
    const erpSku = input.erpSku.trim();
    if (erpSku === '') throw new ValidationError('erpSku must not be empty');
    if (Boolean(input.shopifySku?.trim()) === Boolean(input.shopifyVariantId?.trim())) {
      throw new ValidationError('Give exactly one of shopifySku and shopifyVariantId');
    }
    const conversion = checkConversion(input.conversion ?? IDENTITY_CONVERSION);
    await ensureErpProduct(erpSku);
    const variant = await resolveVariant(input);
    const at = now();
    await db.transaction(async (handle) => {
      const tx = repositoriesOf(handle, shop);
      await tx.skus.lockMappings();
      const [holder] = await tx.skus.findSkuMappingsByVariantIds([variant.variantId]);
      if (holder && holder.erpSku !== erpSku && holder.source === 'MANUAL') {
        throw new InventoryError('SHOPIFY_VARIANT_ALREADY_MAPPED', `Variant ${variant.variantId} is already mapped to ERP SKU ${holder.erpSku}`, {
          variantId: variant.variantId,
          erpSku: holder.erpSku,
        });
      }
      await tx.skus.deleteRuleMappingsOfVariant(variant.variantId, erpSku);
      await tx.skus.upsertSkuMapping({ erpSku, source: 'MANUAL', variant, conversion, at });
      await tx.readModel.requestPushFor({ skus: [erpSku] }, at);
      await rematchIn(tx, at);
    });
    mappingChanged();
    log.info({ erpSku, variantId: variant.variantId, conversion }, 'SKU mapped by hand');
    const [mapping] = await repository.skus.findSkuMappingsBySkus([erpSku]);
    return mapping!;
  }

  async function unmapSku(erpSku: string): Promise<void> {
    const at = now();
    await db.transaction(async (handle) => {
      const tx = repositoriesOf(handle, shop);
      await tx.skus.lockMappings();
      await tx.skus.deleteSkuMappings([erpSku]);
      await rematchIn(tx, at);
    });
    mappingChanged();
  }

  async function mapLocation(input: MapLocationInput): Promise<LocationView> {
    const code = input.erpLocation.trim();
    let view = await findLocationView(code);
    if (!view) {
      await refreshErpLocations(now());
      view = await findLocationView(code);
    }
    if (!view || !view.active) throw new InventoryError('UNKNOWN_LOCATION', `The ERP has no location ${code}`, { location: code });

    if (input.shopifyLocationId === null || input.shopifyLocationId.trim() === '') {
      await repository.locations.deleteLocationMapping(code);
      log.info({ erpLocation: code }, 'location unmapped: no longer pushed');
      return (await findLocationView(code))!;
    }

    const shopifyLocationId = toShopifyGid('Location', input.shopifyLocationId);
    let shopifyLocation = (await repository.shopify.listShopifyLocations()).find((l) => l.locationId === shopifyLocationId);
    if (!shopifyLocation) {
      await refreshShopifyLocations(now());
      shopifyLocation = (await repository.shopify.listShopifyLocations()).find((l) => l.locationId === shopifyLocationId);
    }
    if (!shopifyLocation) throw new InventoryError('SHOPIFY_LOCATION_NOT_FOUND', `The shop has no location ${shopifyLocationId}`, { shopifyLocationId });
    if (!shopifyLocation.isActive) {
      throw new InventoryError('SHOPIFY_LOCATION_INACTIVE', `Shopify location ${shopifyLocation.name} is inactive: stock cannot be set there`, { shopifyLocationId });
    }

    // A location's figures include its sub-locations: mapping a warehouse and one of its
    // storage locations would count the same units twice.
    const all = await repository.erp.listErpLocations();
    const parentOf = new Map(all.map((l) => [l.code, l.parentCode]));
    const isAncestor = (ancestor: string, of: string) => {
      for (let parent = parentOf.get(of), depth = 0; parent && depth < 50; parent = parentOf.get(parent), depth++) if (parent === ancestor) return true;
      return false;
    };
    const overlapping = (await repository.locations.listLocationMappings())
      .map((m) => m.erpLocation)
      .filter((other) => other !== code && (isAncestor(other, code) || isAncestor(code, other)));
    if (overlapping.length > 0) {
      throw new InventoryError('LOCATION_OVERLAP', `${code} contains or is inside ${overlapping.join(', ')}, which is already mapped: its stock would count twice`, {
        location: code,
        overlapping,
      });
    }

    const at = now();
    await db.transaction(async (handle) => {
      const tx = repositoriesOf(handle, shop);
      await tx.locations.upsertLocationMapping(code, shopifyLocationId, 'MANUAL', at);
      await tx.readModel.requestPushFor({ location: code }, at);
    });
    mappingChanged();
    log.info({ erpLocation: code, shopifyLocationId }, 'location mapped');
    return (await findLocationView(code))!;
  }

  return {
    refreshErpCatalogue(options = {}) {
      return once('erp-catalogue', () => refreshErpCatalogue(options));
    },

    refreshShopifyCatalogue(options = {}) {
      return once('shopify-catalogue', () => refreshShopifyCatalogue(options));
    },

    rematch,

    async mapSku(input) {
      await requireReady();
      return mapSku(input);
    },

    async unmapSku(erpSku) {
      await requireReady();
      return unmapSku(erpSku);
    },

    async mapLocation(input) {
      await requireReady();
      return mapLocation(input);
    },

    async autoMapLocations() {
      if ((await repository.locations.listLocationMappings()).length > 0) return [];
      const warehouses = (await repository.erp.listErpLocations()).filter((l) => l.active && l.kind === 'warehouse');
      const shopLocations = (await repository.shopify.listShopifyLocations()).filter((l) => l.isActive);
      const proposals = warehouses.flatMap((warehouse) => {
        const keys = new Set([locationKey(warehouse.name), locationKey(warehouse.code)]);
        const candidates = shopLocations.filter((l) => keys.has(locationKey(l.name)));
        return candidates.length === 1 ? [{ erpLocation: warehouse.code, shopifyLocationId: candidates[0]!.locationId }] : [];
      });
      // One Shopify location claimed by two warehouses by name is a guess: leave both to the operator.
      const claims = new Map<string, number>();
      for (const p of proposals) claims.set(p.shopifyLocationId, (claims.get(p.shopifyLocationId) ?? 0) + 1);
      const mapped = proposals.filter((p) => claims.get(p.shopifyLocationId) === 1).map((p) => ({ ...p, source: 'AUTO' as const }));
      const at = now();
      for (const mapping of mapped) await repository.locations.upsertLocationMapping(mapping.erpLocation, mapping.shopifyLocationId, 'AUTO', at);
      if (mapped.length > 0) log.info({ mapped }, 'ERP warehouses mapped to Shopify locations of the same name');
      return mapped;
    },

    async getNormalizationRules() {
      return (await repository.rules.getNormalizationRules()) ?? DEFAULT_NORMALIZATION_RULES;
    },

    async setNormalizationRules(rules) {
      const checked = checkNormalizationRules(rules);
      await repository.rules.setNormalizationRules(checked, now());
      return rematch();
    },

    async changeNormalizationRules(rules, options = {}) {
      const checked = checkNormalizationRules(rules);
      const at = now();
      const run = async (tx: MappingRepositories): Promise<NormalizationRulesChange> => {
        await tx.skus.lockMappings();
        const before = await mappingStates(tx);
        await tx.rules.setNormalizationRules(checked, at);
        const summary = await rematchIn(tx, at);
        const changes = diffMappingStates(before, await mappingStates(tx));
        return { rules: (await tx.rules.getNormalizationRules()) ?? checked, summary, changes };
      };
      if (options.dryRun) {
        try {
          await db.transaction(async (tx) => {
            throw new DryRunRollback(await run(repositoriesOf(tx, shop)));
          });
        } catch (error) {
          if (error instanceof DryRunRollback) return error.result;
          throw error;
        }
        throw new Error('the dry run transaction was not rolled back');
      }
      const result = await db.transaction((tx) => run(repositoriesOf(tx, shop)));
      if (result.summary.newlyMapped.length > 0 || result.changes.length > 0) mappingChanged();
      log.info({ changes: result.changes.length }, 'SKU normalization rules changed');
      return result;
    },

    async getMappingReport(options = {}) {
      const limit = options.limit ?? Number.POSITIVE_INFINITY;
      const [mapped, unmappedErpSkus, unmappedShopifyVariants, ambiguous, locations] = [
        await repository.skus.listSkuMappings(),
        await repository.skus.listUnmappedErpSkus(),
        await repository.skus.listUnmappedShopifyVariants(),
        await repository.skus.listConflicts(),
        await repository.locations.listLocationViews(),
      ];
      const mappedCodes = locations.filter((l) => l.shopifyLocationId !== null).map((l) => l.warehouseCode);
      const unmappedLocations = locations
        .filter((l) => l.active && l.kind === 'warehouse' && l.shopifyLocationId === null && !mappedCodes.includes(l.code))
        .map((l) => l.code);
      return {
        mapped: mapped.slice(0, limit),
        unmappedErpSkus: unmappedErpSkus.slice(0, limit),
        unmappedShopifyVariants: unmappedShopifyVariants.slice(0, limit),
        ambiguous: ambiguous.slice(0, limit),
        unmappedLocations,
        counts: {
          mapped: mapped.length,
          unmappedErpSkus: unmappedErpSkus.length,
          unmappedShopifySkus: unmappedShopifyVariants.length,
          ambiguous: ambiguous.length,
        },
      };
    },

    getPushTargets: (skus) => repository.targets.getPushTargets([...new Set(skus)]),

    async listPushTargets(page = {}) {
      const first = Math.max(1, Math.min(page.first ?? 1_000, 10_000));
      const { items, lastSku, more } = await repository.targets.listPushTargets(page.after ?? null, first);
      return { items, nextCursor: more ? lastSku : null };
    },

    async getErpSources(pairs) {
      const wanted = new Set(pairs.map((p) => `${p.inventoryItemId}|${p.locationId}`));
      const targets = await repository.targets.getPushTargetsByItems([...new Set(pairs.map((p) => p.inventoryItemId))]);
      return groupPushTargets(targets)
        .filter((group) => wanted.has(`${group.inventoryItemId}|${group.shopifyLocationId}`))
        .map((group) => ({
          inventoryItemId: group.inventoryItemId,
          shopifyLocationId: group.shopifyLocationId,
          sku: group.sku,
          variantId: group.variantId,
          erpLocations: group.erpLocations,
          conversion: group.conversion,
        }));
    },

    findSkuMappingsByVariantIds: (variantIds) => repository.skus.findSkuMappingsByVariantIds(variantIds.map((id) => toShopifyGid('ProductVariant', id))),
    findSkuMappingsBySkus: (erpSkus) => repository.skus.findSkuMappingsBySkus(erpSkus),
    listLocations: () => repository.locations.listLocationViews(),
    listLocationMappings: () => repository.locations.listLocationMappings(),
  };
}

/** An ERP SKU's mapping as the operator sees it: mapped (to a variant), ambiguous or unmapped. */
export interface SkuMappingState {
  readonly status: 'MAPPED' | 'AMBIGUOUS' | 'UNMAPPED';
  readonly shopifyVariantId: string | null;
}

export interface SkuMappingChange {
  readonly erpSku: string;
  readonly before: SkuMappingState;
  readonly after: SkuMappingState;
}

export interface NormalizationRulesChange {
  readonly rules: NormalizationRules;
  readonly summary: MatchingSummary;
  /** ERP SKUs whose state or variant differs after the change, by SKU. */
  readonly changes: readonly SkuMappingChange[];
}

const UNMAPPED_STATE: SkuMappingState = { status: 'UNMAPPED', shopifyVariantId: null };

async function mappingStates(tx: MappingRepositories): Promise<Map<string, SkuMappingState>> {
  const states = new Map<string, SkuMappingState>();
  for (const conflict of await tx.skus.listConflicts()) states.set(conflict.erpSku, { status: 'AMBIGUOUS', shopifyVariantId: null });
  for (const mapping of await tx.skus.listSkuMappings()) states.set(mapping.erpSku, { status: 'MAPPED', shopifyVariantId: mapping.shopifyVariantId });
  return states;
}

function diffMappingStates(before: Map<string, SkuMappingState>, after: Map<string, SkuMappingState>): SkuMappingChange[] {
  const skus = [...new Set([...before.keys(), ...after.keys()])].sort();
  const changes: SkuMappingChange[] = [];
  for (const erpSku of skus) {
    const was = before.get(erpSku) ?? UNMAPPED_STATE;
    const is = after.get(erpSku) ?? UNMAPPED_STATE;
    if (was.status !== is.status || was.shopifyVariantId !== is.shopifyVariantId) changes.push({ erpSku, before: was, after: is });
  }
  return changes;
}

/** Thrown inside a dry run's transaction to roll it back, carrying what the run computed. */
class DryRunRollback extends Error {
  constructor(readonly result: NormalizationRulesChange) {
    super('dry run rolled back');
  }
}

function checkNormalizationRules(rules: NormalizationRules): NormalizationRules {
  const abbreviations: Record<string, string> = {};
  for (const [abbreviation, expansion] of Object.entries(rules.abbreviations)) {
    if (abbreviation.trim() === '' || expansion.trim() === '') throw new ValidationError('Abbreviations and their expansions must not be empty', { abbreviation });
    abbreviations[abbreviation.trim()] = expansion.trim();
  }
  return { ...rules, abbreviations };
}
