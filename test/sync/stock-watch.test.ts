import { and, eq, gt, sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { syncRuns } from '../../src/db/schema/index.js';
import { createMetricsRegistry } from '../../src/metrics.js';
import { createScheduler, type Scheduler } from '../../src/scheduler/scheduler.js';
import { createSchedulerRepository } from '../../src/scheduler/scheduler.repository.js';
import { createSyncJobs } from '../../src/sync/sync.job.js';
import { createSyncRunRepository } from '../../src/sync/sync-run.repository.js';
import { ERP_STOCK_WATCH_FEED } from '../../src/sync/sync.service.js';
import { waitFor } from '../support/waiting.js';
import { startSyncFixture, type SyncFixture } from './sync.fixture.js';

/**
 * The stock watch: an ERP stock change reaches Shopify within seconds through the scheduled
 * `sync.stock-watch` job, with the delta's interval set to hours (only its start-up run happens),
 * and a quiet ERP costs one change-feed call per look and records no run.
 */
let fixture: SyncFixture;
let scheduler: Scheduler | undefined;

beforeAll(async () => {
  fixture = await startSyncFixture();
  await fixture.sync.services.runDelta();
  await fixture.sync.services.runFullReconcile();
});

afterAll(async () => {
  await scheduler?.stop();
  await fixture?.close();
});

const eventRuns = async (since: Date) =>
  fixture.database.db
    .select({ id: syncRuns.id, kind: syncRuns.kind, request: syncRuns.request, itemsPushed: syncRuns.itemsPushed, status: syncRuns.status })
    .from(syncRuns)
    .where(and(eq(syncRuns.shop, fixture.deps.shop), gt(syncRuns.startedAt, since)));

const watchWatermark = () => createSyncRunRepository(fixture.database.db, fixture.deps.shop).getWatermark(ERP_STOCK_WATCH_FEED);

/** A mapped item at one ERP warehouse, one-to-one units, with stock in Shopify. */
async function oneLevel() {
  const targets = await fixture.allTargets();
  const perItem = new Map<string, number>();
  for (const t of targets) perItem.set(`${t.inventoryItemId}|${t.shopifyLocationId}`, (perItem.get(`${t.inventoryItemId}|${t.shopifyLocationId}`) ?? 0) + 1);
  const target = targets.find(
    (t) =>
      !t.sku.startsWith('KIT-') &&
      perItem.get(`${t.inventoryItemId}|${t.shopifyLocationId}`) === 1 &&
      t.conversion.erpUnits === t.conversion.shopifyUnits &&
      (fixture.demo.shopify.state.level({ inventoryItemId: t.inventoryItemId, location: t.shopifyLocationId })?.quantities.available ?? 0) > 0,
  );
  if (!target) throw new Error('the demo catalogue has no one-to-one mapped level with stock');
  const available = () => fixture.demo.shopify.state.level({ inventoryItemId: target.inventoryItemId, location: target.shopifyLocationId })?.quantities.available ?? 0;
  return { target, available };
}

describe('stock watch', () => {
  it('a quiet ERP: one change-feed look, no run recorded; the watch keeps its own watermark', async () => {
    const since = new Date(Date.now() - 1);
    const before = await watchWatermark();
    fixture.demo.erp.resetRoundTrips();
    const quiet = await fixture.sync.services.watchStock();
    expect(quiet).toEqual({ changedSkus: 0, run: null });
    expect(fixture.demo.erp.roundTrips()).toBe(1);
    expect(await eventRuns(since)).toEqual([]);
    // Nothing read, nothing to remember: the watch's position is where it was.
    expect(await watchWatermark()).toBe(before);
  });

  it("a watcher whose lease was taken over still cannot move the watch's watermark (JOB_LEASE_LOST), while the newer holder does", async () => {
    const scheduling = createSchedulerRepository(fixture.database.db);
    const job = 'test.stock-watch-fence';
    await scheduling.ensureLease(job);
    const first = await scheduling.acquire({ job, instanceId: 'old', runId: crypto.randomUUID(), leaseMs: 60_000, manual: true });
    await fixture.database.db.execute(sql`update scheduler_leases set lease_expires_at = now() - interval '1 second' where job_name = ${job}`);
    const second = await scheduling.acquire({ job, instanceId: 'new', runId: crypto.randomUUID(), leaseMs: 60_000, manual: true });
    const staleFence = { job, token: first!.fence };
    const liveFence = { job, token: second!.fence };

    const { target } = await oneLevel();
    fixture.demo.erp.receiveStock({ sku: target.sku, location: target.location, quantity: 2 });
    const before = await watchWatermark();
    // The stale holder's push is safe (compare-and-set), but its watermark is refused.
    await expect(fixture.sync.services.watchStock({ fence: staleFence })).rejects.toMatchObject({ code: 'JOB_LEASE_LOST' });
    expect(await watchWatermark()).toBe(before);
    const live = await fixture.sync.services.watchStock({ fence: liveFence });
    expect(live.changedSkus).toBeGreaterThanOrEqual(1);
    expect(await watchWatermark()).not.toBe(before);
    expect(await fixture.mismatches()).toEqual([]);
  });

  it('an ERP stock change reaches Shopify through the scheduled watch, with no delta run after start-up', async () => {
    const config = { syncIntervalSeconds: 6 * 3600, reconcileIntervalSeconds: 30 * 86_400, stockWatchIntervalSeconds: 1 };
    const jobs = createSyncJobs(fixture.sync.services, config).filter((job) => job.name !== 'sync.reconcile');
    expect(jobs.map((job) => job.name).sort()).toEqual(['sync.delta', 'sync.stock-watch']);
    scheduler = createScheduler({ database: fixture.database, log: fixture.deps.log, metrics: createMetricsRegistry({ defaultMetrics: false }), pollIntervalMs: 200 });
    for (const job of jobs) scheduler.register(job);
    const startedAt = new Date();
    await scheduler.start();
    // The delta's start-up run (its interval is hours: none after it).
    await waitFor(
      async () => (await eventRuns(startedAt)).filter((run) => run.kind === 'DELTA' && run.status !== 'RUNNING').length,
      (count) => count === 1,
      { timeoutMs: 60_000, what: 'the delta start-up run' },
    );

    const { target, available } = await oneLevel();
    const before = available();
    const changedAt = new Date();
    fixture.demo.erp.receiveStock({ sku: target.sku, location: target.location, quantity: 7 });

    await waitFor(available, (value) => value === before + 7, { timeoutMs: 60_000, what: `${target.sku} at ${target.shopifyLocationId} in Shopify to be ${before + 7}` });

    const watchedRun = (run: Awaited<ReturnType<typeof eventRuns>>[number]) =>
      run.kind === 'EVENT' && (run.request as { source?: string }).source === 'stock-watch' && (run.request as { skus?: string[] }).skus?.includes(target.sku) === true;
    // The run ends (and the watch's watermark moves) just after Shopify confirmed the write.
    const runs = await waitFor(
      () => eventRuns(changedAt),
      (found) => found.some((run) => watchedRun(run) && run.status !== 'RUNNING'),
      { timeoutMs: 30_000, what: 'the stock-watch run to finish' },
    );
    expect(runs.filter((run) => run.kind === 'DELTA')).toEqual([]);
    expect(runs.find((run) => watchedRun(run) && run.status !== 'RUNNING')).toMatchObject({ status: 'SUCCEEDED', itemsPushed: 1 });
    // Then the watch's watermark moves past the change.
    await waitFor(watchWatermark, (watermark) => watermark !== null, { timeoutMs: 10_000, what: "the watch's watermark" });
    expect(await fixture.mismatches()).toEqual([]);
  });
});
