import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { seededRandom } from '../../src/erp/simulated/demo-catalogue.js';
import { syncRuns } from '../../src/db/schema/index.js';
import type { SetAvailableQuantitiesOptions, SetAvailableQuantity, ShopifyClient } from '../../src/shopify/shopify-client.js';
import { createSyncModule } from '../../src/sync/sync.module.js';
import { createSyncRunRepository } from '../../src/sync/sync-run.repository.js';
import { ERP_STOCK_FEED } from '../../src/sync/sync.service.js';
import { waitUntil } from '../support/waiting.js';
import { startSyncFixture, type SyncFixture } from './sync.fixture.js';

/**
 * The real client, recording the batch ids of its writes; `crashing` makes it "kill the process"
 * after its first write lands: the write reaches Shopify, and nothing after it ever runs.
 */
const batches: string[] = [];

function observed(client: ShopifyClient, crashing = false): ShopifyClient {
  let crashed = false;
  return new Proxy(client, {
    get(target, property, receiver) {
      if (property === 'setAvailableQuantities') {
        return async (items: readonly SetAvailableQuantity[], options: SetAvailableQuantitiesOptions) => {
          if (crashed) return new Promise<never>(() => {});
          batches.push(options.batchId);
          const outcomes = await target.setAvailableQuantities(items, options);
          if (crashing) {
            crashed = true;
            return new Promise<never>(() => {});
          }
          return outcomes;
        };
      }
      const value = Reflect.get(target, property, receiver) as unknown;
      return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(target) : value;
    },
  });
}

let fixture: SyncFixture;

beforeAll(async () => {
  fixture = await startSyncFixture({ wrapShopify: (client) => observed(client) });
  // Start the feed (a null watermark reads no changes) and bring Shopify in line once.
  await fixture.sync.services.runDelta();
  await fixture.sync.services.runFullReconcile();
});

afterAll(async () => {
  await fixture?.close();
});

const watermark = () => createSyncRunRepository(fixture.database.db, fixture.deps.shop).getWatermark(ERP_STOCK_FEED);

describe('delta sync', () => {
  it('pushes only what the ERP changed, and moves the watermark after the push', async () => {
    const before = await watermark();
    const changed = fixture.demo.erp.simulateActivity(30, seededRandom(11));
    expect(changed.length).toBeGreaterThan(0);
    fixture.demo.shopify.state.clearRequestLog();

    const run = await fixture.sync.services.runDelta();

    expect(run).toMatchObject({ kind: 'DELTA', status: 'SUCCEEDED', itemsFailed: 0 });
    expect(run.itemsConsidered).toBeLessThanOrEqual(changed.length * 3 + 30);
    expect(await watermark()).not.toBe(before);
    expect(await fixture.mismatches()).toEqual([]);
    // Reads the read model answers cost nothing: a delta sends writes only (quantities, and the
    // lots metafields of the SKUs whose lots moved).
    const operations = new Set(fixture.demo.shopify.state.requestLog().map((entry) => entry.rootFields.join(',')));
    expect([...operations].filter((operation) => !['metafieldsSet', 'metafieldDefinitionCreate'].includes(operation))).toEqual(run.itemsPushed > 0 ? ['inventorySetQuantities'] : []);

    const quiet = await fixture.sync.services.runDelta();
    expect(quiet).toMatchObject({ status: 'SUCCEEDED', itemsConsidered: 0, itemsPushed: 0 });
  });

  it('delta and reconcile together converge Shopify to the ATP after random ERP changes, deleted moves included', async () => {
    const random = seededRandom(23);
    for (let round = 0; round < 5; round++) {
      fixture.demo.erp.simulateActivity(40, random);
      await fixture.sync.services.runDelta();
      expect(await fixture.mismatches()).toEqual([]);
    }
    // A clerk deletes a draft wholesale move: no change record, so the delta cannot see it.
    const { moveIds } = fixture.demo.erp.createWholesaleOrder({ reference: 'WS-DELETED', lines: [{ sku: (await fixture.allTargets())[0]!.sku, location: (await fixture.allTargets())[0]!.location, quantity: 3 }] });
    await fixture.sync.services.runDelta();
    fixture.demo.erp.deleteDraftMove(moveIds[0]!);
    await fixture.sync.services.runDelta();
    await fixture.sync.services.runFullReconcile();
    expect(await fixture.mismatches()).toEqual([]);
  });

  it('a crash between the push and the watermark redoes the work: watermark unchanged, the writes replayed under the same keys', async () => {
    const before = await watermark();
    fixture.demo.erp.simulateActivity(25, seededRandom(5));
    batches.length = 0;
    // This instance's process "dies" after its first write reached Shopify.
    const doomed = createSyncModule({ ...fixture.deps, shopify: observed(fixture.shopify, true) }, { mapping: fixture.inventory.services.mapping, atp: fixture.inventory.services.atp, pushSignal: fixture.pushSignal, alerts: fixture.alerts });
    void doomed.services.runDelta();
    await waitUntil(() => batches.length > 0, { intervalMs: 10 });
    const crashedBatches = [...batches];
    expect(await watermark()).toBe(before);
    const [abandoned] = await fixture.database.db.select().from(syncRuns).where(eq(syncRuns.status, 'RUNNING'));
    expect(abandoned).toMatchObject({ kind: 'DELTA' });

    // Another instance (a fresh module on the same database) takes the next delta.
    const restarted = createSyncModule({ ...fixture.deps, shopify: observed(fixture.shopify) }, { mapping: fixture.inventory.services.mapping, atp: fixture.inventory.services.atp, pushSignal: fixture.pushSignal, alerts: fixture.alerts });
    batches.length = 0;
    fixture.demo.shopify.state.clearRequestLog();
    const run = await restarted.services.runDelta();

    expect(run).toMatchObject({ id: abandoned!.id, attempts: 2, status: 'SUCCEEDED', itemsFailed: 0 });
    expect(batches.slice(0, crashedBatches.length)).toEqual(crashedBatches);
    // Had the replay not been recognised, compare-and-set would have refused it as stale.
    expect(fixture.demo.shopify.state.requestLog().filter((entry) => entry.rootFields.includes('inventorySetQuantities')).flatMap((entry) => entry.errorCodes)).toEqual([]);
    expect(await watermark()).not.toBe(before);
    expect(await fixture.mismatches()).toEqual([]);
    await restarted.stop();
  });

  it('event and manual runs a dead process left RUNNING are recorded as abandoned by the next delta', async () => {
    const runs = createSyncRunRepository(fixture.database.db, fixture.deps.shop);
    const stuck = await runs.createRun({ kind: 'EVENT', dryRun: false, full: false, request: {}, at: new Date(Date.now() - 11 * 60_000) });
    const alive = await runs.createRun({ kind: 'MANUAL', dryRun: false, full: false, request: {}, at: new Date() });
    await fixture.sync.services.runDelta();
    expect(await runs.findRun(stuck.id)).toMatchObject({ status: 'FAILED', failure: { code: 'SYNC_RUN_ABANDONED' } });
    expect(await runs.findRun(alive.id)).toMatchObject({ status: 'RUNNING' });
    await runs.finishRun(alive.id, { status: 'SUCCEEDED', tally: { considered: 0, pushed: 0, unchanged: 0, failed: 0, drift: 0 }, full: false, at: new Date() });
  });

  it('an ERP that is down fails the run, alerts, and leaves the watermark where it was', async () => {
    const before = await watermark();
    fixture.demo.erp.simulateActivity(10, seededRandom(99));
    fixture.demo.erp.fail({ mode: 'down' });
    try {
      const run = await fixture.sync.services.runDelta();
      expect(run).toMatchObject({ status: 'FAILED', failure: { code: 'ERP_UNAVAILABLE' } });
    } finally {
      fixture.demo.erp.recover();
    }
    await fixture.alerts.flush();
    expect(fixture.logLines().some((line) => line.level === 50 && String(line.msg).startsWith('ALERT SYNC_RUN_FAILED'))).toBe(true);
    expect(await watermark()).toBe(before);

    const next = await fixture.sync.services.runDelta();
    expect(next.status).toBe('SUCCEEDED');
    expect(await fixture.mismatches()).toEqual([]);
  });
});
