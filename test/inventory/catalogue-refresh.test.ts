import { and, eq, sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { shopifyLocations, shopifyVariants } from '../../src/db/schema/index.js';
import { DEMO_FINISH_WORDS, startDemoEnvironment, type DemoEnvironment } from '../../src/demo/demo-environment.js';
import { createInventoryModule, type InventoryModule } from '../../src/inventory/inventory.module.js';
import { createShopifyCatalogueRepository } from '../../src/inventory/shopify-catalogue.repository.js';
import { createMappingService, type MappingServiceDeps } from '../../src/inventory/mapping.service.js';
import { groupPushTargets } from '../../src/inventory/push-targets.js';
import { createPushSignal } from '../../src/inventory/push-signal.js';
import { createMetricsRegistry } from '../../src/metrics.js';
import type { ModuleDeps } from '../../src/domain-module.js';
import { AdminApiShopifyClient } from '../../src/shopify/admin-api-shopify-client.js';
import type { ShopifyVariant } from '../../src/shopify/shopify-client.js';
import { createSyncModule } from '../../src/sync/sync.module.js';
import { createTestDatabase, testDatabaseKind, type TestDatabase } from '../support/database.js';
import { createMemoryLogger } from '../support/gateway.js';

/** Named pause points: a refresh waits at `step` until the test opens it; `reached` tells the test it is there. */
class PausePoints {
  private readonly gates = new Map<string, { reached: () => void; arrived: Promise<void>; open: () => void; opened: Promise<void> }>();

  /** Makes the next arrival at `step` (for a refresh of this generation, if given) wait. */
  hold(step: string) {
    let reached!: () => void;
    let open!: () => void;
    const gate = {
      arrived: new Promise<void>((resolve) => (reached = resolve)),
      opened: new Promise<void>((resolve) => (open = resolve)),
      reached: () => reached(),
      open: () => open(),
    };
    this.gates.set(step, gate);
    return { arrived: gate.arrived, open: gate.open };
  }

  readonly pause: NonNullable<MappingServiceDeps['pause']> = async (step) => {
    const gate = this.gates.get(step);
    if (!gate) return;
    this.gates.delete(step);
    gate.reached();
    await gate.opened;
  };
}

let database: TestDatabase;
let demo: DemoEnvironment;
let shopify: AdminApiShopifyClient;
const memory = createMemoryLogger('warn');

beforeAll(async () => {
  [database, demo] = await Promise.all([createTestDatabase(), startDemoEnvironment({ log: memory.log, skus: 60, activityPerMinute: 0 })]);
  shopify = new AdminApiShopifyClient({ shopDomain: demo.shopify.shopDomain, accessToken: demo.shopify.accessToken, adminUrl: demo.shopify.adminUrl, logger: memory.log, metrics: createMetricsRegistry({ defaultMetrics: false }) });
}, 60_000);

afterAll(async () => {
  await shopify?.close();
  await demo?.close();
  await database?.close();
});

function moduleDeps(): ModuleDeps {
  return {
    config: loadConfig({ SCHEDULER: 'off' }),
    log: memory.log,
    database,
    metrics: createMetricsRegistry({ defaultMetrics: false }),
    erp: demo.erpConnector,
    shopify,
    shop: demo.shopify.shopDomain,
    webhookSecret: demo.shopify.apiSecret,
    now: () => new Date(),
  };
}

/** A mapping service as one instance has it (its own single flight), with pause points. */
function instanceMapping(points: PausePoints) {
  return createMappingService({ db: database.db, shop: demo.shopify.shopDomain, erp: demo.erpConnector, shopify, log: memory.log, now: () => new Date(), pushSignal: createPushSignal(), pause: points.pause });
}

async function allVariants(): Promise<ShopifyVariant[]> {
  const variants: ShopifyVariant[] = [];
  for await (const variant of shopify.exportVariants()) variants.push(variant);
  return variants;
}

const storedVariants = async () => (await database.db.select({ n: sql<number>`count(*)::int` }).from(shopifyVariants).where(eq(shopifyVariants.shop, demo.shopify.shopDomain)))[0]!.n;

describe(`catalogue fills and refreshes (${testDatabaseKind})`, { timeout: 120_000 }, () => {
  let inventory: InventoryModule;

  it('a mapSku made while the first start fills the catalogue waits for the fill: every variant is read, and a full push right after considers every position', async () => {
    const points = new PausePoints();
    inventory = createInventoryModule(moduleDeps(), { defaultAbbreviations: DEMO_FINISH_WORDS, pause: points.pause, readyWaitMs: 60_000 });
    const sync = createSyncModule(moduleDeps(), { mapping: inventory.services.mapping, atp: inventory.services.atp, pushSignal: createPushSignal(), catalogue: inventory.services });
    const erpSkus = new Set((await demo.erpConnector.listProducts({ cursor: null, limit: 500 })).items.map((p) => p.sku));
    const pairs = (await allVariants()).filter((v) => v.sku && erpSkus.has(v.sku)).slice(0, 3);
    expect(pairs).toHaveLength(3);
    try {
      // The first start stops just before it writes the shop's locations (the Shopify step).
      const held = points.hold('shopify-locations:listed');
      await inventory.start();
      await held.arrived;
      expect(await inventory.services.catalogueStatus()).toMatchObject({ ready: false, shopifyFilledAt: null });

      const mapped = Promise.all(pairs.map((v) => inventory.services.mapping.mapSku({ erpSku: v.sku!, shopifySku: v.sku! })));
      const pushed = sync.services.pushInventory({ full: true });
      held.open();
      await inventory.services.whenReady();

      expect((await mapped).map((m) => m.erpSku)).toEqual(pairs.map((v) => v.sku));
      expect(await storedVariants()).toBe((await allVariants()).length);
      const status = await inventory.services.catalogueStatus();
      expect(status).toMatchObject({ ready: true, erpFilledAt: expect.any(Date), shopifyFilledAt: expect.any(Date) });
      const targets = [];
      for (let after: string | null = null; ; ) {
        const page = await inventory.services.mapping.listPushTargets({ after, first: 1_000 });
        targets.push(...page.items);
        if (!page.nextCursor) break;
        after = page.nextCursor;
      }
      const run = await pushed;
      expect(run.itemsConsidered).toBe(groupPushTargets(targets).length);
      expect(run.itemsConsidered).toBeGreaterThan(100);
    } finally {
      await sync.stop();
      await inventory.stop();
    }
  });

  it('operator calls during a first start told to retry answer CATALOGUE_NOT_READY once their wait is over', async () => {
    const fresh = await createTestDatabase();
    const points = new PausePoints();
    const deps = { ...moduleDeps(), database: fresh };
    const starting = createInventoryModule(deps, { pause: points.pause, readyWaitMs: 50 });
    const sync = createSyncModule(deps, { mapping: starting.services.mapping, atp: starting.services.atp, pushSignal: createPushSignal(), catalogue: starting.services, catalogueWaitMs: 50 });
    try {
      const held = points.hold('shopify-locations:listed');
      await starting.start();
      await held.arrived;
      await expect(starting.services.mapping.mapSku({ erpSku: 'ANY', shopifySku: 'ANY' })).rejects.toMatchObject({ code: 'CATALOGUE_NOT_READY' });
      await expect(starting.services.mapping.mapLocation({ erpLocation: 'ANY', shopifyLocationId: '1' })).rejects.toMatchObject({ code: 'CATALOGUE_NOT_READY' });
      await expect(sync.services.pushInventory({ full: true })).rejects.toMatchObject({ code: 'CATALOGUE_NOT_READY' });
      held.open();
      await starting.services.whenReady();
    } finally {
      await sync.stop();
      await starting.stop();
      await fresh.close();
    }
  });

  it('rows written before the first fill (a mapped variant) do not stand for it: a restart fills the Shopify catalogue until a fill is recorded', async () => {
    const fresh = await createTestDatabase();
    const [one] = await allVariants();
    await createShopifyCatalogueRepository(fresh.db, demo.shopify.shopDomain).upsertShopifyVariants([one!], new Date());
    const starting = createInventoryModule({ ...moduleDeps(), database: fresh });
    try {
      await starting.start();
      await starting.services.whenReady();
      const [row] = await fresh.db.select({ n: sql<number>`count(*)::int` }).from(shopifyVariants);
      expect(row!.n).toBe((await allVariants()).length);
      expect((await starting.services.catalogueFills()).shopifyFilledAt).toBeInstanceOf(Date);
    } finally {
      await starting.stop();
      await fresh.close();
    }
  });

  it('two Shopify location refreshes that overlap, the older writing last, leave every listed location active and mappable', async () => {
    const older = new PausePoints();
    const newer = new PausePoints();
    const instanceA = instanceMapping(older);
    const instanceB = instanceMapping(newer);
    const [location] = await shopify.listLocations({ includeInactive: true });
    const [erpLocation] = (await demo.erpConnector.listLocations()).filter((l) => l.kind === 'warehouse');

    // A lists first and stalls before writing; B lists, writes, and stalls before retiring.
    const aListed = older.hold('shopify-locations:listed');
    const bWritten = newer.hold('shopify-locations:written');
    const a = instanceA.mapLocation({ erpLocation: erpLocation!.code, shopifyLocationId: 'gid://shopify/Location/999999' }).catch((error: unknown) => error);
    await aListed.arrived;
    const b = instanceB.mapLocation({ erpLocation: erpLocation!.code, shopifyLocationId: 'gid://shopify/Location/999998' }).catch((error: unknown) => error);
    await bWritten.arrived;
    // A's older listing lands after B's, then B retires what it did not see.
    aListed.open();
    expect(await a).toMatchObject({ code: 'SHOPIFY_LOCATION_NOT_FOUND' });
    bWritten.open();
    expect(await b).toMatchObject({ code: 'SHOPIFY_LOCATION_NOT_FOUND' });

    const rows = await database.db.select().from(shopifyLocations).where(and(eq(shopifyLocations.shop, demo.shopify.shopDomain), eq(shopifyLocations.locationId, location!.id)));
    expect(rows[0]).toMatchObject({ isActive: true });
    const inactive = await database.db.select().from(shopifyLocations).where(and(eq(shopifyLocations.shop, demo.shopify.shopDomain), eq(shopifyLocations.isActive, false)));
    expect(inactive).toEqual([]);
    expect(await instanceA.mapLocation({ erpLocation: erpLocation!.code, shopifyLocationId: location!.id })).toMatchObject({ shopifyLocationId: location!.id });
  });
});
