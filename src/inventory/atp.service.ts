// The ATP engine: one unit because every path that changes an ATP term (a refresh from the ERP,
// a safety stock or shelf-life rule, the expiry clock, kits following their components) must
// read the same terms and write through the same read-model writer in the same order; split by
// path, the orderings (lots before positions, components before kits) would have to be kept in
// step across files. Storage is the repositories and the writer; the formula is atp-formula.ts.
import type { Db } from '../db/database.js';
import type { ErpConnector, KitComponent, Page, Product } from '../erp/erp-connector.js';
import type { Logger } from '../logger.js';
import { chunk } from '../shared/collections.js';
import { ValidationError } from '../shared/errors.js';
import { InventoryError } from './inventory.errors.js';
import type {
  PositionChange,
  PositionRecord,
  RefreshPositionsResult,
  SafetyStockRule,
  SellableShelfLifeRule,
  SetSafetyStockInput,
  SetSellableShelfLifeResult,
} from './inventory.models.js';
import { createErpCatalogueRepository } from './erp-catalogue.repository.js';
import { createLocationMappingRepository } from './location-mapping.repository.js';
import { createPositionsRepository, toPositionRecord, type PositionsRepository } from './positions.repository.js';
import type { PositionKey, PushSignal } from './push-requests.js';
import { expiryHorizonAt, type ExpiryHorizon } from './read-model/expiry.js';
import { createInventoryLevelsWriter, type TermsRow } from './read-model/inventory-levels.writer.js';
import { createInventoryLotsWriter, type LotRow } from './read-model/inventory-lots.writer.js';
import { createShelfLifeRulesRepository } from './shelf-life-rules.repository.js';

export interface RefreshPositionsOptions {
  readonly signal?: AbortSignal;
  /** SKUs per page (ERP reads and one bulk upsert per page); default 1,000. */
  readonly pageSize?: number;
  /** Called after each page is durable, with that page's changed positions. */
  readonly onPage?: (changed: readonly PositionChange[]) => Promise<void> | void;
  /** Keep the changed positions in the result (default true; a 300,000-position reconcile may prefer `onPage`). */
  readonly collectChanges?: boolean;
}

/**
 * The ATP engine: the ERP's terms and the safety stock rules, written into the read model
 * (`inventory_levels`) through its one writer (./read-model/inventory-levels.writer.ts), which
 * recomputes ATP with the one formula in the same statement.
 *
 * Guarantee: after `refreshPositions(skus)` returns, every position of those SKUs (at every ERP
 * warehouse and every mapped ERP location) holds the ERP's terms as read during the call, the
 * safety stock of the most specific rule, and ATP by the one formula over its current terms,
 * including the terms other domains own (reserved, pending orders, unexplained drops), which it
 * never changes. Kits containing a refreshed SKU are recomputed too. Cost: a constant number of
 * ERP and database round trips per page of SKUs.
 */
export interface AtpService {
  /**
   * Reads the ERP for these SKUs (or every product with `'all'`), in pages, and writes their
   * positions. Returns the positions whose ATP or ERP terms changed; it does not mark them for
   * the event push (ERP-driven changes are the delta sync's to push).
   */
  refreshPositions(skus: readonly string[] | 'all', options?: RefreshPositionsOptions): Promise<RefreshPositionsResult>;

  /**
   * Recomputes kit positions from their components' stored ATP, without the ERP: for the
   * reservations and orders domains after they change a component's term. Marks changed kit
   * positions for push. Returns the changed kit positions.
   */
  recomputeKitsContaining(componentSkus: readonly string[]): Promise<PositionChange[]>;

  /**
   * Stores a rule (sku and/or location null = any; quantity null = remove), recomputes safety
   * stock and ATP of every affected position (kits using them included) in one transaction, marks
   * the positions whose ATP changed for the event push and wakes it. Returns the affected positions.
   */
  setSafetyStock(input: SetSafetyStockInput): Promise<PositionRecord[]>;

  listSafetyStockRules(): Promise<SafetyStockRule[]>;

  /**
   * Sets (days) or removes (null) a SKU's sellable shelf life, re-evaluates the expiring units of
   * its positions and the kits using it in one transaction, marks the positions whose ATP changed
   * for the event push and wakes it. Refusals (unknown SKU, days out of range) are `userErrors`.
   */
  setSellableShelfLife(input: { sku: string; days: number | null }): Promise<SetSellableShelfLifeResult>;

  /** The per-SKU sellable shelf life rules, in SKU order (optionally one SKU), at most `limit`. */
  listSellableShelfLifeRules(args?: { sku?: string | null; limit?: number }): Promise<SellableShelfLifeRule[]>;

  /**
   * Time passing: re-evaluates, under today's horizon, every position with dated lots, and
   * where lots crossed the horizon stores the new expiring units and ATP, marks the positions
   * whose ATP changed for the event push (kits using them too) and wakes it, in one transaction.
   * Returns the positions whose expiring units changed. No ERP call.
   */
  reevaluateExpiry(): Promise<PositionChange[]>;

  /** Stored positions (no ERP call); missing keys are absent. */
  getPositions(keys: readonly PositionKey[]): Promise<PositionRecord[]>;

  /** Stored positions of these SKUs at every location, by SKU (no ERP call). */
  getPositionsBySkus(skus: readonly string[]): Promise<Map<string, PositionRecord[]>>;
}

// ---------------------------------------------------------------------------- implementation

export interface AtpServiceDeps {
  readonly db: Db;
  readonly shop: string;
  readonly erp: ErpConnector;
  readonly log: Logger;
  readonly now: () => Date;
  readonly pushSignal: PushSignal;
  /** The default sellable shelf life in days (`SELLABLE_SHELF_LIFE_DAYS`; default 0: only expired lots excluded). */
  readonly sellableShelfLifeDays?: number;
}

/** The longest sellable shelf life a rule may set: ten years. */
export const MAX_SHELF_LIFE_DAYS = 3650;

/** Kits of kits are followed this deep; deeper (or circular) definitions count as not buildable. */
const MAX_KIT_DEPTH = 5;

type KitDefinition = { readonly stockTracked: boolean; readonly components: readonly KitComponent[] };

/** One page of ERP terms, read and not yet written. */
interface PlainPage {
  readonly rows: TermsRow[];
  readonly unknownSkus: string[];
  /** Every SKU of the page: their stored lots are replaced by `lots`. */
  readonly skus: string[];
  readonly lots: LotRow[];
}

type PageReport = (written: number, changes: readonly PositionChange[]) => Promise<void>;

/**
 * How many kits the components' ATP can build at a location: the minimum over components of
 * floor(component ATP / quantity per kit). A component without a position there counts as 0.
 */
export function buildableKits(components: readonly KitComponent[], atpAt: (sku: string) => number): number {
  let buildable = Number.POSITIVE_INFINITY;
  for (const component of components) {
    if (!(component.quantity > 0)) continue;
    buildable = Math.min(buildable, Math.floor(atpAt(component.sku) / component.quantity + 1e-9));
  }
  return Number.isFinite(buildable) ? Math.max(0, buildable) : 0;
}

/** Orders kits so each comes after the kits it is built from; depth 1 = made of plain products. */
function kitDepths(definitions: ReadonlyMap<string, KitDefinition>): Map<string, number> {
  const depths = new Map<string, number>();
  const visit = (sku: string, trail: Set<string>): number => {
    const known = depths.get(sku);
    if (known !== undefined) return known;
    const definition = definitions.get(sku);
    if (!definition) return 0;
    if (trail.has(sku) || trail.size >= MAX_KIT_DEPTH) return MAX_KIT_DEPTH + 1;
    trail.add(sku);
    const depth = 1 + Math.max(0, ...definition.components.map((c) => visit(c.sku, trail)));
    trail.delete(sku);
    depths.set(sku, depth);
    return depth;
  };
  for (const sku of definitions.keys()) visit(sku, new Set());
  return depths;
}

export function createAtpService(deps: AtpServiceDeps): AtpService {
  const { db, shop, erp, log, now, pushSignal } = deps;
  const positions = createPositionsRepository(db, shop);
  const catalogue = createErpCatalogueRepository(db, shop);
  const locationViews = createLocationMappingRepository(db, shop);
  const shelfLife = createShelfLifeRulesRepository(db, shop);
  const horizon = (): ExpiryHorizon => expiryHorizonAt(now(), deps.sellableShelfLifeDays ?? 0);

  async function locationsForPositions(): Promise<string[]> {
    let codes = await positions.positionLocations();
    if (codes.length === 0) {
      // First run before any catalogue refresh: learn the warehouses now.
      const at = now();
      await catalogue.upsertErpLocations(await erp.listLocations(), at);
      codes = await positions.positionLocations();
    }
    return codes;
  }

  /** ERP terms and lots of one page of plain (non-kit) products: one stock read and one lot read, side by side. */
  async function readPlainPage(page: readonly Product[], locations: readonly string[]): Promise<PlainPage> {
    const tracked = page.filter((p) => p.stockTracked).map((p) => p.sku);
    const untracked = page.filter((p) => !p.stockTracked).map((p) => p.sku);
    const [snapshot, lots] = await Promise.all([
      tracked.length > 0 ? erp.getStockBySkus(tracked, locations) : { levels: [], unknownSkus: [] },
      tracked.length > 0 && erp.capabilities.lots ? erp.getLotsBySkus(tracked, locations) : [],
    ]);
    const unknownSkus = new Set(snapshot.unknownSkus);
    const seen = new Set(snapshot.levels.map((l) => `${l.sku}|${l.location}`));
    const rows: TermsRow[] = snapshot.levels.map((l) => ({ sku: l.sku, location: l.location, onHand: l.onHand, allocated: l.allocated, wholesaleCommitted: l.wholesaleCommitted }));
    // The port promises a level per known SKU per location; whatever is missing holds nothing.
    for (const sku of tracked) {
      if (unknownSkus.has(sku)) continue;
      for (const location of locations) if (!seen.has(`${sku}|${location}`)) rows.push({ sku, location, onHand: 0, allocated: 0, wholesaleCommitted: 0 });
    }
    // No stock of their own (services) or gone from the ERP: existing positions fall to 0.
    for (const sku of [...untracked, ...unknownSkus]) {
      for (const location of locations) rows.push({ sku, location, onHand: 0, allocated: 0, wholesaleCommitted: 0, onlyExisting: true });
    }
    return {
      rows,
      unknownSkus: [...unknownSkus],
      skus: page.map((p) => p.sku),
      lots: lots.map((lot) => ({ sku: lot.sku, location: lot.location, number: lot.number, quantity: lot.quantity, expiresOn: lot.expiresOn })),
    };
  }

  /**
   * Writes one page read by `readPlainPage`: one transaction, the lots first (three statements,
   * when the ERP reports lots) so the terms' statement computes the expiring units from them.
   */
  async function writePlainPage(read: PlainPage, report: PageReport): Promise<void> {
    const at = now();
    const { written, changes } = await db.transaction(async (tx) => {
      if (read.unknownSkus.length > 0) await createErpCatalogueRepository(tx, shop).deactivateErpProducts(read.unknownSkus);
      if (erp.capabilities.lots) await createInventoryLotsWriter(tx, shop).replaceLots(read.skus, read.lots, at);
      return createInventoryLevelsWriter(tx, shop).writeErpTerms(read.rows, at, horizon());
    });
    await report(written, changes);
  }

  /**
   * Pages of plain products, each read from the ERP while the previous one is written, so the
   * ERP's latency and the database's overlap.
   */
  async function refreshPlain(products: readonly Product[], locations: readonly string[], report: PageReport, options: RefreshPositionsOptions): Promise<void> {
    const pages = chunk(products, options.pageSize ?? 1_000);
    let next: Promise<PlainPage> | null = pages.length > 0 ? readPlainPage(pages[0]!, locations) : null;
    for (let i = 0; next; i++) {
      options.signal?.throwIfAborted();
      const read: PlainPage = await next;
      next = i + 1 < pages.length ? readPlainPage(pages[i + 1]!, locations) : null;
      // Awaited at the next turn, where a failure surfaces; this only keeps it from going unhandled
      // if the write below throws first.
      next?.catch(() => {});
      await writePlainPage(read, report);
    }
  }

  /** Kit positions: own ERP stock (stock-tracked kits) plus what the components' ATP builds. */
  async function refreshKits(
    kits: ReadonlyMap<string, KitDefinition>,
    locations: readonly string[],
    report: PageReport,
    options: RefreshPositionsOptions,
  ): Promise<void> {
    if (kits.size === 0) return;
    const definitions = await positions.listKitDefinitions();
    for (const [sku, definition] of kits) definitions.set(sku, definition);
    const depths = kitDepths(definitions);
    const levels = [...new Set([...kits.keys()].map((sku) => depths.get(sku) ?? 1))].sort((a, b) => a - b);
    for (const level of levels) {
      const atLevel = [...kits.keys()].filter((sku) => (depths.get(sku) ?? 1) === level).sort();
      for (const page of chunk(atLevel, options.pageSize ?? 1_000)) {
        options.signal?.throwIfAborted();
        const tracked = page.filter((sku) => kits.get(sku)!.stockTracked);
        const own = tracked.length > 0 ? await erp.getStockBySkus(tracked, locations) : { levels: [], unknownSkus: [] };
        const ownBy = new Map(own.levels.map((l) => [`${l.sku}|${l.location}`, l]));
        const componentAtp = level > MAX_KIT_DEPTH ? new Map() : await positions.readAtp([...new Set(page.flatMap((sku) => kits.get(sku)!.components.map((c) => c.sku)))]);
        const rows: TermsRow[] = [];
        const kitStock: Array<{ sku: string; location: string; onHand: number }> = [];
        for (const sku of page) {
          const definition = kits.get(sku)!;
          for (const location of locations) {
            const mine = ownBy.get(`${sku}|${location}`);
            if (mine) kitStock.push({ sku, location, onHand: mine.onHand });
            const buildable = level > MAX_KIT_DEPTH ? 0 : buildableKits(definition.components, (component) => componentAtp.get(component)?.get(location) ?? 0);
            rows.push({ sku, location, onHand: (mine?.onHand ?? 0) + buildable, allocated: mine?.allocated ?? 0, wholesaleCommitted: mine?.wholesaleCommitted ?? 0 });
          }
        }
        const at = now();
        const { written, changes } = await db.transaction(async (tx) => {
          await createPositionsRepository(tx, shop).replaceKitStock(page, kitStock, at);
          return createInventoryLevelsWriter(tx, shop).writeErpTerms(rows, at, horizon());
        });
        await report(written, changes);
      }
    }
  }

  /** Kits using these SKUs, and the kits using those, up to the depth limit. */
  async function kitsAbove(skus: readonly string[], repository: PositionsRepository = positions): Promise<string[]> {
    const found = new Set<string>();
    let frontier = [...skus];
    for (let depth = 0; depth < MAX_KIT_DEPTH && frontier.length > 0; depth++) {
      frontier = (await repository.findKitsUsing(frontier)).filter((sku) => !found.has(sku));
      for (const sku of frontier) found.add(sku);
    }
    return [...found];
  }

  async function recomputeKits(kitSkus: readonly string[], tx: Db): Promise<PositionChange[]> {
    if (kitSkus.length === 0) return [];
    const repository = createPositionsRepository(tx, shop);
    const definitions = await repository.listKitDefinitions();
    const depths = kitDepths(definitions);
    const kits = kitSkus.filter((sku) => definitions.has(sku));
    const own = await repository.readKitStock(kits);
    const changes: PositionChange[] = [];
    const at = now();
    for (const level of [...new Set(kits.map((sku) => depths.get(sku) ?? 1))].sort((a, b) => a - b)) {
      const atLevel = kits.filter((sku) => (depths.get(sku) ?? 1) === level);
      const componentAtp = await repository.readAtp([...new Set(atLevel.flatMap((sku) => definitions.get(sku)!.components.map((c) => c.sku)))]);
      const kitAtp = await repository.readAtp(atLevel);
      const rows = atLevel.flatMap((sku) =>
        [...(kitAtp.get(sku)?.keys() ?? [])].map((location) => ({
          sku,
          location,
          onHand:
            (own.get(`${sku}|${location}`) ?? 0) +
            (level > MAX_KIT_DEPTH ? 0 : buildableKits(definitions.get(sku)!.components, (component) => componentAtp.get(component)?.get(location) ?? 0)),
        })),
      );
      changes.push(...(await createInventoryLevelsWriter(tx, shop).writeKitOnHand(rows, at)));
    }
    return changes;
  }

  return {
    async refreshPositions(skus, options = {}) {
      const locations = await locationsForPositions();
      const collect = options.collectChanges ?? true;
      const changed: PositionChange[] = [];
      const unknown: string[] = [];
      let positionsRead = 0;
      const report = async (written: number, changes: readonly PositionChange[]) => {
        positionsRead += written;
        if (collect) changed.push(...changes);
        await options.onPage?.(changes);
      };
      const kits = new Map<string, KitDefinition>();
      const takeKits = (products: readonly Product[]) => {
        const plain: Product[] = [];
        for (const product of products) {
          if (product.components.length > 0) kits.set(product.sku, { stockTracked: product.stockTracked, components: product.components });
          else plain.push(product);
        }
        return plain;
      };

      if (skus === 'all') {
        const startedAt = now();
        const limit = options.pageSize ?? erp.capabilities.maxSkusPerRequest;
        const seen: string[] = [];
        // Each page of the catalogue with its stock, read while the previous page is written.
        const readAhead = async (cursor: string | null) => {
          const page: Page<Product> = await erp.listProducts({ cursor, limit });
          const plain = page.items.filter((p) => p.components.length === 0);
          return { page, read: await readPlainPage(plain, locations) };
        };
        let next: ReturnType<typeof readAhead> | null = readAhead(null);
        while (next) {
          options.signal?.throwIfAborted();
          const { page, read }: Awaited<ReturnType<typeof readAhead>> = await next;
          next = page.nextCursor ? readAhead(page.nextCursor) : null;
          next?.catch(() => {});
          takeKits(page.items);
          for (const product of page.items) seen.push(product.sku);
          await catalogue.upsertErpProducts(page.items, startedAt);
          await writePlainPage(read, report);
        }
        const gone = await catalogue.deactivateErpProductsNotIn(seen);
        unknown.push(...gone);
        await refreshPlain(
          gone.map((sku) => ({ sku, name: sku, stockTracked: false, components: [], unit: null })),
          locations,
          report,
          options,
        );
      } else {
        // The SKUs asked for, the kits they are part of, and the components of kits among them
        // (so a kit is computed from fresh component figures).
        const wanted = new Set(skus);
        for (const sku of await kitsAbove([...wanted])) wanted.add(sku);
        const products: Product[] = [];
        let toRead = [...wanted];
        for (let depth = 0; depth <= MAX_KIT_DEPTH && toRead.length > 0; depth++) {
          const read = await erp.getProductsBySkus(toRead);
          products.push(...read.products);
          unknown.push(...read.unknownSkus);
          toRead = [...new Set(read.products.flatMap((p) => p.components.map((c) => c.sku)))].filter((sku) => !wanted.has(sku));
          for (const sku of toRead) wanted.add(sku);
        }
        await catalogue.upsertErpProducts(products, now());
        const gone = unknown.map((sku) => ({ sku, name: sku, stockTracked: false, components: [] as KitComponent[], unit: null }));
        if (unknown.length > 0) await catalogue.deactivateErpProducts(unknown);
        await refreshPlain([...takeKits(products), ...gone], locations, report, options);
      }

      await refreshKits(kits, locations, report, options);
      log.debug({ positionsRead, changed: changed.length, unknown: unknown.length }, 'positions refreshed from the ERP');
      return { positionsRead, changed, unknownSkus: unknown };
    },

    async recomputeKitsContaining(componentSkus) {
      const kits = await kitsAbove(componentSkus);
      if (kits.length === 0) return [];
      const changes = await db.transaction((tx) => recomputeKits(kits, tx));
      if (changes.length > 0) pushSignal.wake();
      return changes;
    },

    async setSafetyStock(input) {
      const sku = input.sku?.trim() || null;
      const location = input.location?.trim() || null;
      if (input.quantity !== null && (!Number.isFinite(input.quantity) || input.quantity < 0 || input.quantity > 1e9)) {
        throw new ValidationError('Safety stock must be a number from 0 to 1,000,000,000', { quantity: input.quantity });
      }
      if (sku !== null && (await catalogue.findErpProducts([sku])).length === 0) {
        throw new InventoryError('UNKNOWN_SKU', `No product with SKU ${sku} in the ERP catalogue`, { sku });
      }
      if (location !== null && (await locationViews.listLocationViews([location])).length === 0) {
        throw new InventoryError('UNKNOWN_LOCATION', `No ERP location ${location}`, { location });
      }
      const at = now();
      const affected = await db.transaction(async (tx) => {
        const repository = createPositionsRepository(tx, shop);
        if (input.quantity === null) await repository.deleteSafetyStockRule({ sku, location });
        else await repository.upsertSafetyStockRule({ sku, location, quantity: input.quantity }, at);
        const rows = await createInventoryLevelsWriter(tx, shop).applySafetyStock({ sku, location }, at);
        // Components' ATP moved: so may the kits built from them (all kits, for a rule on every SKU).
        const kits = sku === null ? [...(await repository.listKitDefinitions()).keys()] : await kitsAbove([sku], repository);
        await recomputeKits(kits.filter((kit) => kit !== sku), tx);
        return rows;
      });
      pushSignal.wake();
      log.info({ sku, location, quantity: input.quantity, positions: affected.length }, 'safety stock set');
      return affected.map(toPositionRecord);
    },

    listSafetyStockRules: () => positions.listSafetyStockRules(),

    async setSellableShelfLife(input) {
      const sku = input.sku.trim();
      const refused = (code: 'UNKNOWN_SKU' | 'INVALID_DAYS', field: string, message: string): SetSellableShelfLifeResult => ({
        rule: null,
        positions: [],
        userErrors: [{ field: ['input', field], message, code }],
      });
      if (input.days !== null && (!Number.isInteger(input.days) || input.days < 0 || input.days > MAX_SHELF_LIFE_DAYS)) {
        return refused('INVALID_DAYS', 'days', `days must be a whole number from 0 to ${MAX_SHELF_LIFE_DAYS}, or null to remove the rule`);
      }
      if (sku === '' || (await catalogue.findErpProducts([sku])).length === 0) {
        return refused('UNKNOWN_SKU', 'sku', `No product with SKU ${sku} in the ERP catalogue`);
      }
      const at = now();
      const { rule, changes } = await db.transaction(async (tx) => {
        const rules = createShelfLifeRulesRepository(tx, shop);
        const stored = input.days === null ? null : await rules.upsertRule({ sku, days: input.days }, at);
        if (input.days === null) await rules.deleteRule(sku);
        const changed = await createInventoryLevelsWriter(tx, shop).applyExpiry({ skus: [sku] }, horizon(), at);
        if (changed.length > 0) await recomputeKits(await kitsAbove([sku], createPositionsRepository(tx, shop)), tx);
        return { rule: stored, changes: changed };
      });
      if (changes.length > 0) pushSignal.wake();
      log.info({ sku, days: input.days, positionsChanged: changes.length }, 'sellable shelf life set');
      const stored = await positions.getPositionsBySkus([sku]);
      return { rule, positions: stored.get(sku) ?? [], userErrors: [] };
    },

    listSellableShelfLifeRules: (args) => shelfLife.listRules(args),

    async reevaluateExpiry() {
      const at = now();
      const changes = await db.transaction(async (tx) => {
        const changed = await createInventoryLevelsWriter(tx, shop).applyExpiry('all', horizon(), at);
        const moved = [...new Set(changed.filter((c) => c.previousAvailableToPromise !== c.availableToPromise).map((c) => c.sku))];
        if (moved.length > 0) changed.push(...(await recomputeKits(await kitsAbove(moved, createPositionsRepository(tx, shop)), tx)));
        return changed;
      });
      if (changes.length > 0) pushSignal.wake();
      return changes;
    },
    getPositions: (keys) => positions.getPositions(keys),
    getPositionsBySkus: (skus) => positions.getPositionsBySkus([...new Set(skus)]),
  };
}
