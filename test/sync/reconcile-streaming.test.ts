// The full reconcile reads Shopify's export as a stream: pages of levels are compared and pushed
// while the rest of the export is still unread, the reader never runs more than a page ahead, and
// the guarantees of the whole-export reconcile (every target considered, drift as RECONCILE,
// absent levels read as 0, location filter) still hold.
import { and, eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { syncDriftEvents, syncRuns } from '../../src/db/schema/index.js';
import type { AtpService } from '../../src/inventory/inventory.port.js';
import type { ErpSource } from '../../src/inventory/inventory.models.js';
import { groupPushTargets } from '../../src/inventory/push-targets.js';
import type { InventoryItemLocation, InventoryLevelQuantities, ShopifyClient } from '../../src/shopify/shopify-client.js';
import { createSyncModule, type SyncModule } from '../../src/sync/sync.module.js';
import { simpleGroup, startSyncFixture, type SyncFixture } from './sync.fixture.js';

const PAGE = 20;

/** What the export and the comparison did, in order. */
const trace = {
  /** Levels the export has handed out so far. */
  pulled: 0,
  /** Levels in the export once it ended (null while it runs). */
  total: null as number | null,
  /** Per comparison page: its size, and how many levels the export had handed out when it was asked. */
  pages: [] as Array<{ size: number; pulledBefore: number }>,
  /** The run's items considered as recorded in the database when the export's last level was handed out. */
  consideredAtLastLevel: null as number | null,
  /** Drops levels of this item from the export (a level Shopify does not have). */
  hide: null as InventoryItemLocation | null,
};

let fixture: SyncFixture;
let module: SyncModule;

/** The export as Shopify streams it, one level held back so the last one is known before it is handed out. */
function tracedExports(client: ShopifyClient): ShopifyClient {
  return new Proxy(client, {
    get(target, property, receiver) {
      if (property === 'exportInventoryLevels') {
        return async function* (options?: Parameters<ShopifyClient['exportInventoryLevels']>[0]) {
          trace.pulled = 0;
          trace.total = null;
          let held: InventoryLevelQuantities | null = null;
          for await (const level of target.exportInventoryLevels(options)) {
            if (trace.hide && level.inventoryItemId === trace.hide.inventoryItemId && level.locationId === trace.hide.locationId) continue;
            if (held) {
              trace.pulled += 1;
              yield held;
            }
            held = level;
          }
          if (held) {
            const [run] = await fixture.database.db.select().from(syncRuns).where(and(eq(syncRuns.shop, fixture.deps.shop), eq(syncRuns.status, 'RUNNING'), eq(syncRuns.full, true)));
            trace.consideredAtLastLevel = run?.itemsConsidered ?? null;
            trace.pulled += 1;
            yield held;
          }
          trace.total = trace.pulled;
        };
      }
      const value = Reflect.get(target, property, receiver) as unknown;
      return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(target) : value;
    },
  });
}

beforeAll(async () => {
  fixture = await startSyncFixture({ wrapShopify: tracedExports });
  const mapping = fixture.inventory.services.mapping;
  // The comparison's reverse lookup, watched: each call is one page of the export.
  const watched = {
    getPushTargets: mapping.getPushTargets.bind(mapping),
    listPushTargets: mapping.listPushTargets.bind(mapping),
    getErpSources: async (pairs: readonly InventoryItemLocation[]): Promise<ErpSource[]> => {
      trace.pages.push({ size: pairs.length, pulledBefore: trace.pulled });
      return mapping.getErpSources(pairs);
    },
  };
  module = createSyncModule(fixture.deps, { mapping: watched, atp: fixture.inventory.services.atp, pushSignal: fixture.pushSignal, alerts: fixture.alerts, reconcileLevelsPerPage: PAGE });
});

afterAll(async () => {
  await module?.stop();
  await fixture?.close();
});

describe('full reconcile, streamed', () => {
  it('compares and records the first pages before the export is read to its end, the reader never more than one page ahead', async () => {
    trace.pages = [];
    const raised = await simpleGroup(fixture);
    fixture.demo.shopify.state.setQuantity({ inventoryItemId: raised.group.inventoryItemId, location: raised.group.shopifyLocationId, quantity: raised.row.availableToPromise + 9 });

    const run = await module.services.runFullReconcile();

    expect(run).toMatchObject({ kind: 'FULL', status: 'SUCCEEDED', itemsFailed: 0 });
    const total = trace.total!;
    expect(total).toBeGreaterThan(5 * PAGE);
    expect(trace.pages.length).toBe(Math.ceil(total / PAGE));
    expect(trace.pages.every((page) => page.size <= PAGE)).toBe(true);
    // Page n is compared once it is read, while page n + 1 is being read: never later.
    trace.pages.forEach((page, n) => expect(page.pulledBefore).toBeLessThanOrEqual(Math.min(total, (n + 2) * PAGE)));
    // The first page went to the comparison when at most two pages of the export had been read.
    expect(trace.pages[0]!.pulledBefore).toBeLessThan(total);
    // When the last level was handed out, most of the export was already compared and recorded.
    expect(trace.consideredAtLastLevel).toBeGreaterThan(0);
    expect(trace.consideredAtLastLevel!).toBeLessThan(run.itemsConsidered);

    expect(run.itemsConsidered).toBe(groupPushTargets(await fixture.allTargets()).length);
    expect(await fixture.mismatches()).toEqual([]);
    expect(fixture.demo.shopify.state.level({ inventoryItemId: raised.group.inventoryItemId, location: raised.group.shopifyLocationId })!.quantities.available).toBe(raised.row.availableToPromise);
    const drift = await fixture.database.db
      .select()
      .from(syncDriftEvents)
      .where(and(eq(syncDriftEvents.inventoryItemId, raised.group.inventoryItemId), eq(syncDriftEvents.shopifyLocationId, raised.group.shopifyLocationId)));
    expect(drift.map((event) => [event.source, event.after])).toContainEqual(['RECONCILE', raised.row.availableToPromise + 9]);
  });

  it('a target whose level the export does not list is compared with 0, and a reconcile limited to a location considers only it', async () => {
    const { group } = await simpleGroup(fixture);
    trace.hide = { inventoryItemId: group.inventoryItemId, locationId: group.shopifyLocationId };
    try {
      // Every level agrees with the ATP since the last test, but this one is missing from the
      // export: read as 0, it is the only drift (a dry run: nothing is written).
      const dry = await module.services.pushInventory({ full: true, dryRun: true });
      expect(dry).toMatchObject({ status: 'SUCCEEDED', dryRun: true, driftFound: 1 });
    } finally {
      trace.hide = null;
    }
    expect(await module.services.pushInventory({ full: true, dryRun: true })).toMatchObject({ status: 'SUCCEEDED', driftFound: 0 });

    const location = group.erpLocations[0]!;
    const all = groupPushTargets(await fixture.allTargets());
    const limited = await module.services.pushInventory({ full: true, locations: [location] });
    expect(limited).toMatchObject({ status: 'SUCCEEDED', itemsFailed: 0 });
    expect(limited.itemsConsidered).toBe(all.filter((g) => g.erpLocations.includes(location)).length);
    expect(limited.itemsConsidered).toBeLessThan(all.length);
  });

  it('compares the SKUs the ERP refresh has written while it runs, and holds back the others until they are refreshed', async () => {
    await module.services.runFullReconcile();
    expect(await fixture.mismatches()).toEqual([]);
    // The ERP changes one SKU's stock: its position is out of date until the refresh reads it.
    const late = await simpleGroup(fixture);
    fixture.demo.erp.receiveStock({ sku: late.group.sku, location: late.location, quantity: 7 });
    const real = fixture.inventory.services.atp;
    const during = { consideredBeforeRefreshEnded: 0 };
    // The refresh writes every SKU but that one (and the kits) first, then waits for the
    // comparison to have recorded items, then refreshes everything: the late SKU last.
    const gated: Pick<AtpService, 'refreshPositions'> = {
      async refreshPositions(skus, options) {
        if (skus !== 'all') return real.refreshPositions(skus, options);
        const early = [...new Set((await fixture.allTargets()).map((t) => t.sku))].filter((sku) => sku !== late.group.sku && !sku.startsWith('KIT-'));
        await real.refreshPositions(early, { collectChanges: false });
        for (let waited = 0; waited < 20_000 && during.consideredBeforeRefreshEnded === 0; waited += 100) {
          await new Promise((resolve) => setTimeout(resolve, 100));
          const [run] = await fixture.database.db.select().from(syncRuns).where(and(eq(syncRuns.shop, fixture.deps.shop), eq(syncRuns.status, 'RUNNING'), eq(syncRuns.full, true)));
          during.consideredBeforeRefreshEnded = run?.itemsConsidered ?? 0;
        }
        return real.refreshPositions('all', options);
      },
    };
    const overlapping = createSyncModule(fixture.deps, { mapping: fixture.inventory.services.mapping, atp: gated, pushSignal: fixture.pushSignal, alerts: fixture.alerts, reconcileLevelsPerPage: PAGE });
    try {
      const run = await overlapping.services.runFullReconcile();
      expect(run).toMatchObject({ status: 'SUCCEEDED', itemsFailed: 0 });
      expect(run.itemsConsidered).toBe(groupPushTargets(await fixture.allTargets()).length);
      // Pages were compared before the refresh ended…
      expect(during.consideredBeforeRefreshEnded).toBeGreaterThan(0);
      expect(during.consideredBeforeRefreshEnded).toBeLessThan(run.itemsConsidered);
      // …but the late SKU only against its refreshed position: Shopify now shows the received units.
      expect(await fixture.mismatches()).toEqual([]);
      expect(fixture.demo.shopify.state.level({ inventoryItemId: late.group.inventoryItemId, location: late.group.shopifyLocationId })!.quantities.available).toBe(late.row.availableToPromise + 7);
    } finally {
      await overlapping.stop();
    }
  });
});
