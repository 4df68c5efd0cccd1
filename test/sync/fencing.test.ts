import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { syncRunErrors } from '../../src/db/schema/index.js';
import type { ErpConnector } from '../../src/erp/erp-connector.js';
import { seededRandom } from '../../src/erp/simulated/demo-catalogue.js';
import { createLogger } from '../../src/logger.js';
import { createMetricsRegistry } from '../../src/metrics.js';
import { createScheduler, type Scheduler } from '../../src/scheduler/scheduler.js';
import { createSchedulerRepository } from '../../src/scheduler/scheduler.repository.js';
import { createSyncJobs } from '../../src/sync/sync.job.js';
import { createSyncModule, type SyncModule } from '../../src/sync/sync.module.js';
import { createSyncRunRepository } from '../../src/sync/sync-run.repository.js';
import { ERP_STOCK_FEED } from '../../src/sync/sync.service.js';
import { waitUntil } from '../support/waiting.js';
import { startSyncFixture, type SyncFixture } from './sync.fixture.js';

/** A pause point: the first call of `getStockChangesSince` waits until the test opens it. */
function pausedFeed(erp: ErpConnector) {
  let reached!: () => void;
  const arrived = new Promise<void>((resolve) => (reached = resolve));
  let open!: () => void;
  const opened = new Promise<void>((resolve) => (open = resolve));
  let paused = false;
  const connector = new Proxy(erp, {
    get(target, property, receiver) {
      if (property === 'getStockChangesSince') {
        return async (watermark: Parameters<ErpConnector['getStockChangesSince']>[0]) => {
          if (!paused) {
            paused = true;
            reached();
            await opened;
          }
          return target.getStockChangesSince(watermark);
        };
      }
      const value = Reflect.get(target, property, receiver) as unknown;
      return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(target) : value;
    },
  });
  return { connector, arrived, open };
}

let fixture: SyncFixture;
const made: Array<{ stop(): Promise<void> }> = [];

beforeAll(async () => {
  fixture = await startSyncFixture();
  await fixture.sync.services.runDelta();
  await fixture.sync.services.runFullReconcile();
});

afterAll(async () => {
  for (const thing of made.reverse()) await thing.stop();
  await fixture?.close();
});

function instance(erp: ErpConnector = fixture.deps.erp): SyncModule {
  const module = createSyncModule({ ...fixture.deps, erp }, { mapping: fixture.inventory.services.mapping, atp: fixture.inventory.services.atp, pushSignal: fixture.pushSignal, alerts: fixture.alerts });
  made.push(module);
  return module;
}

function scheduler(instanceId: string): Scheduler {
  const made_ = createScheduler({ database: fixture.database, log: createLogger('silent'), metrics: createMetricsRegistry({ defaultMetrics: false }), instanceId, leaseMs: 2_000, pollIntervalMs: 50, abortGraceMs: 600_000 });
  made.push(made_);
  return made_;
}

const runs = () => createSyncRunRepository(fixture.database.db, fixture.deps.shop);
const watermark = () => runs().getWatermark(ERP_STOCK_FEED);

describe('fenced delta runs', () => {
  it('a holder frozen past its lease, ignoring its signal, neither records its run nor moves the watermark over the newer holder that took its run over', async () => {
    fixture.demo.erp.simulateActivity(20, seededRandom(21));
    const feed = pausedFeed(fixture.deps.erp);
    const stale = instance(feed.connector);
    const fresh = instance();
    const holder = scheduler('frozen');
    const successor = scheduler('successor');
    // The frozen holder's job ignores its abort signal; only its fence can stop its writes.
    let signal: AbortSignal | undefined;
    holder.register({
      name: 'sync.delta',
      intervalMs: 60_000,
      timeoutMs: 600_000,
      run: async (context) => {
        signal = context.signal;
        return { syncRunId: (await stale.services.runDelta({ fence: context.fence })).id };
      },
    });
    successor.register(createSyncJobs(fresh.services, { syncIntervalSeconds: 60, reconcileIntervalSeconds: 86_400 }).find((job) => job.name === 'sync.delta')!);

    const frozen = holder.runNow('sync.delta');
    await feed.arrived;
    const [takenOver] = await runs().findRunning('DELTA');
    // Its process froze for longer than the lease.
    await fixture.database.db.execute(sql`update scheduler_leases set lease_expires_at = now() - interval '1 second' where job_name = 'sync.delta'`);

    const next = await successor.runNow('sync.delta');
    expect(next).toMatchObject({ status: 'SUCCEEDED', result: { syncRunId: takenOver!.id } });
    expect(await runs().findRun(takenOver!.id)).toMatchObject({ status: 'SUCCEEDED', attempts: 2 });
    const movedBySuccessor = await watermark();

    // More changes, so the frozen holder would move the watermark further if it could. It wakes
    // up once its heartbeat has found the lease gone (its signal fired; it ignores it).
    fixture.demo.erp.simulateActivity(5, seededRandom(22));
    await waitUntil(() => signal?.aborted === true);
    feed.open();

    expect(await frozen).toMatchObject({ status: 'ABANDONED', recorded: false, error: { code: 'JOB_LEASE_LOST' } });
    expect(await watermark()).toBe(movedBySuccessor);
    expect(await runs().findRun(takenOver!.id)).toMatchObject({ status: 'SUCCEEDED', attempts: 2, failure: null });
  });

  it('a stale token takes over nothing: a newer holder’s RUNNING run keeps its items and gets none of the stale holder’s, and the watermark stays', async () => {
    const scheduling = createSchedulerRepository(fixture.database.db);
    const job = 'test.fenced-delta';
    await scheduling.ensureLease(job);
    const first = await scheduling.acquire({ job, instanceId: 'old', runId: crypto.randomUUID(), leaseMs: 60_000, manual: true });
    await fixture.database.db.execute(sql`update scheduler_leases set lease_expires_at = now() - interval '1 second' where job_name = ${job}`);
    const second = await scheduling.acquire({ job, instanceId: 'new', runId: crypto.randomUUID(), leaseMs: 60_000, manual: true });
    const staleFence = { job, token: first!.fence };
    const liveFence = { job, token: second!.fence };
    expect(liveFence.token).toBeGreaterThan(staleFence.token);

    const live = await runs().createRun({ kind: 'DELTA', dryRun: false, full: false, request: { watermarkFrom: await watermark() }, at: new Date(), fence: liveFence });
    await runs().addErrors(live.id, [{ sku: 'X', location: 'WH', inventoryItemId: null, shopifyLocationId: null, code: 'TEST', message: 'kept' }], 0);
    const before = await watermark();

    await expect(runs().takeOverRun(live.id, 'resume', new Date(), staleFence)).rejects.toMatchObject({ code: 'JOB_LEASE_LOST' });
    await expect(runs().setWatermark(ERP_STOCK_FEED, 'stale', new Date(), staleFence)).rejects.toMatchObject({ code: 'JOB_LEASE_LOST' });
    await expect(fixture.sync.services.runDelta({ fence: staleFence })).rejects.toMatchObject({ code: 'JOB_LEASE_LOST' });
    expect(await runs().addErrors(live.id, [{ sku: 'Y', location: 'WH', inventoryItemId: null, shopifyLocationId: null, code: 'TEST', message: 'stale' }], 0, staleFence)).toBe(0);

    expect(await runs().findRun(live.id)).toMatchObject({ status: 'RUNNING', attempts: 1 });
    expect(await fixture.database.db.select().from(syncRunErrors).where(sql`${syncRunErrors.runId} = ${live.id}`)).toHaveLength(1);
    expect(await watermark()).toBe(before);
    await runs().finishRun(live.id, { status: 'SUCCEEDED', tally: { considered: 0, pushed: 0, unchanged: 0, failed: 0, drift: 0 }, full: false, at: new Date() }, liveFence);
  });
});
