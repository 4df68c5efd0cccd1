import { and, eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Database } from '../../src/db/database.js';
import { syncRuns } from '../../src/db/schema/index.js';
import type { ShopifyClient } from '../../src/shopify/shopify-client.js';
import { createSyncModule } from '../../src/sync/sync.module.js';
import { describeWithPostgres, openSecondInstance, testDatabaseKind } from '../support/database.js';
import { createMemoryLogger } from '../support/gateway.js';
import { waitUntil } from '../support/waiting.js';
import { startSyncFixture, type SyncFixture } from './sync.fixture.js';

/** Counts Shopify's bulk exports of levels; the first one waits at a pause point until the test opens it. */
const exports = { count: 0, reached: () => {}, opened: Promise.resolve() as Promise<void> };
let arrived: Promise<void> = Promise.resolve();
let open: () => void = () => {};

function pauseNextExport(): void {
  arrived = new Promise<void>((resolve) => (exports.reached = resolve));
  exports.opened = new Promise<void>((resolve) => (open = resolve));
}

function countedExports(client: ShopifyClient): ShopifyClient {
  return new Proxy(client, {
    get(target, property, receiver) {
      if (property === 'exportInventoryLevels') {
        return async function* () {
          exports.count += 1;
          exports.reached();
          await exports.opened;
          yield* target.exportInventoryLevels();
        };
      }
      const value = Reflect.get(target, property, receiver) as unknown;
      return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(target) : value;
    },
  });
}

let fixture: SyncFixture;

beforeAll(async () => {
  fixture = await startSyncFixture({ wrapShopify: countedExports });
});

afterAll(async () => {
  await fixture?.close();
});

const fullRuns = () => fixture.database.db.select().from(syncRuns).where(and(eq(syncRuns.shop, fixture.deps.shop), eq(syncRuns.full, true)));

/** Another sync module on this database (another instance's, or a CLI's), whose log shows when it joins. */
function joiner(database: Database = fixture.database) {
  const { log, lines } = createMemoryLogger('info');
  const module = createSyncModule(
    { ...fixture.deps, database, log },
    { mapping: fixture.inventory.services.mapping, atp: fixture.inventory.services.atp, pushSignal: fixture.pushSignal, alerts: fixture.alerts },
  );
  const joined = () => waitUntil(async () => lines().some((line) => line.msg === 'a full reconcile is already running: joining it'));
  return { sync: module.services, joined, stop: () => module.stop() };
}

describe(`full reconciles run once at a time (${testDatabaseKind})`, () => {
  it('two pushInventory(full) calls and the scheduled reconcile at once make one reconcile: one export, one run, every caller answered with it', async () => {
    const cli = joiner();
    const scheduler = joiner();
    try {
      pauseNextExport();
      const before = (await fullRuns()).length;
      exports.count = 0;

      const first = fixture.sync.services.pushInventory({ full: true });
      await arrived;
      const second = cli.sync.pushInventory({ full: true });
      const scheduled = scheduler.sync.runFullReconcile();
      await Promise.all([cli.joined(), scheduler.joined()]);
      open();
      const [a, b, c] = await Promise.all([first, second, scheduled]);

      expect(new Set([a.id, b.id, c.id]).size).toBe(1);
      expect(c).toMatchObject({ status: 'SUCCEEDED', kind: 'MANUAL', full: true });
      expect(b).toMatchObject({ status: 'SUCCEEDED' });
      expect(c.itemsConsidered).toBeGreaterThan(0);
      expect(exports.count).toBe(1);
      expect((await fullRuns()).length).toBe(before + 1);
    } finally {
      await cli.stop();
      await scheduler.stop();
    }
  });

  it('a dry run does not join a real one, and a request for locations a running reconcile does not cover is told FULL_RECONCILE_RUNNING', async () => {
    pauseNextExport();
    const [location] = await fixture.inventory.services.mapping.listLocationMappings();
    const limited = fixture.sync.services.pushInventory({ full: true, locations: [location!.erpLocation] });
    await arrived;

    await expect(fixture.sync.services.pushInventory({ full: true })).rejects.toMatchObject({ code: 'FULL_RECONCILE_RUNNING' });
    const sameLocation = fixture.sync.services.pushInventory({ full: true, locations: [location!.erpLocation] });
    const dryMeanwhile = fixture.sync.services.pushInventory({ full: true, dryRun: true });
    // The dry run started its own run beside the real one.
    await waitUntil(async () => (await fixture.database.db.select().from(syncRuns).where(eq(syncRuns.status, 'RUNNING'))).length === 2);
    open();
    const [run, joined, dry] = await Promise.all([limited, sameLocation, dryMeanwhile]);
    expect(joined.id).toBe(run.id);
    expect(dry).toMatchObject({ dryRun: true, status: 'SUCCEEDED' });
    expect(dry.id).not.toBe(run.id);
    // Once it ended, the key is free again.
    expect((await fixture.sync.services.pushInventory({ full: true, locations: [location!.erpLocation] })).id).not.toBe(run.id);
  });
});

describeWithPostgres('full reconciles across two gateway instances on one PostgreSQL', () => {
  it('a reconcile asked for on a second instance while the first runs one joins it and answers with its outcome', async () => {
    const secondDatabase = await openSecondInstance(fixture.database);
    const other = joiner(secondDatabase);
    try {
      pauseNextExport();
      exports.count = 0;
      const here = fixture.sync.services.runFullReconcile();
      await arrived;
      const there = other.sync.runFullReconcile();
      await other.joined();
      open();
      const [a, b] = await Promise.all([here, there]);
      expect(b.id).toBe(a.id);
      expect(b.status).toBe('SUCCEEDED');
      expect(exports.count).toBe(1);
    } finally {
      await other.stop();
      await secondDatabase.close();
    }
  });
});
