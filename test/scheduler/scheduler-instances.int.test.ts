import { afterAll, afterEach, beforeAll, expect, it } from 'vitest';
import type { Database } from '../../src/db/database.js';
import { isAppError } from '../../src/shared/errors.js';
import { createTestDatabase, describeWithPostgres, openSecondInstance, type TestDatabase } from '../support/database.js';
import {
  ConcurrencyTracker,
  countingJob,
  expectOneRunPerPeriod,
  runsOf,
  SchedulerFixture,
  uniqueJobName,
  waitFor,
  waitForFinishedRuns,
} from './scheduler-fixture.js';

// Separate pools on one PostgreSQL database stand for separate gateway processes: each has its
// own connections, and only the database is shared.
describeWithPostgres('the scheduler across instances on one PostgreSQL', () => {
  let database: TestDatabase;
  const others: Database[] = [];
  const fixture = new SchedulerFixture();
  beforeAll(async () => {
    database = await createTestDatabase();
  });
  afterEach(async () => {
    await fixture.stopAll();
    await Promise.all(others.splice(0).map((other) => other.close()));
  });
  afterAll(() => database?.close());

  async function instance(): Promise<Database> {
    const other = await openSecondInstance(database);
    others.push(other);
    return other;
  }

  it('three instances, each with its own pool, run a job exactly once per period and never at the same time', async () => {
    const name = uniqueJobName('cluster');
    const tracker = new ConcurrencyTracker();
    const pools = [database, await instance(), await instance()];
    const instances = pools.map((pool, index) => {
      const counted = countingJob({ name, intervalMs: 100, tracker });
      const scheduler = fixture.scheduler(pool, { instanceId: `instance-${index}` });
      scheduler.register(counted.job);
      return { counted, scheduler };
    });
    await Promise.all(instances.map(({ scheduler }) => scheduler.start()));

    await waitForFinishedRuns(instances[0]!.scheduler, name, 10);
    await Promise.all(instances.map(({ scheduler }) => scheduler.stop()));
    const runs = await runsOf(instances[0]!.scheduler, name);

    expect(tracker.maxRunning).toBe(1);
    expect(instances.reduce((sum, { counted }) => sum + counted.calls.length, 0)).toBe(runs.length);
    const completed = runs.filter((run) => run.status === 'SUCCEEDED');
    expect(completed.length).toBeGreaterThanOrEqual(9);
    expectOneRunPerPeriod(completed, 100);
  });

  it('an instance cut off from the database aborts its run once its lease may have expired, and another instance takes the job over', async () => {
    const name = uniqueJobName('partition');
    const cutOffPool = await instance();
    const waiting = countingJob({
      name,
      intervalMs: 100,
      work: ({ signal }) => new Promise((_resolve, reject) => signal.addEventListener('abort', () => reject(signal.reason as Error))),
    });
    const cutOff = fixture.scheduler(cutOffPool, { instanceId: 'cut-off', leaseMs: 500 });
    cutOff.register(waiting.job);
    await cutOff.start();
    await waitFor(() => waiting.calls.length, (calls) => calls === 1);

    await cutOffPool.close();

    const survivor = fixture.scheduler(database, { instanceId: 'survivor', leaseMs: 500 });
    survivor.register(countingJob({ name, intervalMs: 100 }).job);
    await survivor.start();
    const runs = await waitFor(
      () => runsOf(survivor, name),
      (all) => all.some((run) => run.instance === 'survivor' && run.status === 'SUCCEEDED'),
    );

    const reason: unknown = waiting.calls[0]!.signal.reason;
    expect(isAppError(reason) && reason.code).toBe('JOB_LEASE_LOST');
    expect(runs[0]).toMatchObject({ instance: 'cut-off', status: 'ABANDONED', error: { code: 'JOB_LEASE_EXPIRED' } });
    expect(runs[1]).toMatchObject({ instance: 'survivor', status: 'SUCCEEDED' });
  });
});
