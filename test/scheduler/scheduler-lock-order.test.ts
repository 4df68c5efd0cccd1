// The scheduler's transactions take its two tables' rows in one order: the lease first, then the
// runs. `acquire` (taking an expired lease and marking its holder's run ABANDONED) did so while
// `finish` and `cancel` took their run first, and the two deadlocked when the old holder finished
// just as another instance took its expired lease over (seen in the full Black Friday run).
// PostgreSQL only: the locks are what is tested.
import { randomUUID } from 'node:crypto';
import postgres from 'postgres';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createSchedulerRepository, type SchedulerRepository } from '../../src/scheduler/scheduler.repository.js';
import { createTestDatabase, describeWithPostgres, untilSomeoneWaitsForALock, type TestDatabase } from '../support/database.js';

describeWithPostgres('the scheduler locks the lease before the run', () => {
  let database: TestDatabase;
  let repository: SchedulerRepository;
  let other: postgres.Sql;

  beforeAll(async () => {
    database = await createTestDatabase();
    repository = createSchedulerRepository(database.db);
    other = postgres(database.url!, { max: 2, onnotice: () => {} });
  });
  afterAll(async () => {
    await other?.end();
    await database?.close();
  });

  /**
   * Holds the job's lease row from another connection (as an instance taking the lease over
   * does), starts `step`, waits until it waits for that lock, and reports whether the run's row
   * was still free to lock meanwhile.
   */
  async function runRowWhileLeaseHeld(job: string, runId: string, step: () => Promise<unknown>): Promise<{ runRow: string; step: unknown }> {
    let runRow: string = '';
    let pending: Promise<unknown> | undefined;
    await other.begin(async (t) => {
      await t`select job_name from scheduler_leases where job_name = ${job} for update`;
      pending = step();
      await untilSomeoneWaitsForALock(other);
      runRow = await t
        .savepoint(async (s) => {
          await s`set local lock_timeout = '200ms'`;
          await s`select id from job_runs where id = ${runId} for update`;
          return 'free';
        })
        .catch((error: { code?: string }) => `locked (${error.code})`);
    });
    return { runRow, step: await pending };
  }

  it('finish waits for the lease without holding its run', async () => {
    const job = `finish-${randomUUID()}`;
    await repository.ensureLease(job);
    const claim = await repository.acquire({ job, instanceId: 'a', runId: randomUUID(), leaseMs: 60_000, manual: true });
    expect(claim).toBeDefined();
    const seen = await runRowWhileLeaseHeld(job, claim!.runId, () => repository.finish({ job, runId: claim!.runId, status: 'SUCCEEDED', nextRunInMs: 60_000 }));
    expect(seen.runRow).toBe('free');
    expect(seen.step).toMatchObject({ recorded: true });
  });

  it('cancel waits for the lease without holding its run', async () => {
    const job = `cancel-${randomUUID()}`;
    await repository.ensureLease(job);
    const claim = await repository.acquire({ job, instanceId: 'a', runId: randomUUID(), leaseMs: 60_000, manual: true });
    const seen = await runRowWhileLeaseHeld(job, claim!.runId, () => repository.cancel({ job, runId: claim!.runId }));
    expect(seen.runRow).toBe('free');
    expect(await other`select id from job_runs where id = ${claim!.runId}`).toHaveLength(0);
  });
});
