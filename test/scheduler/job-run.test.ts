import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../src/logger.js';
import { createMetricsRegistry } from '../../src/metrics.js';
import type { JobDefinition } from '../../src/scheduler/job.js';
import { startJobRun, type JobRun, type JobRunDeps } from '../../src/scheduler/job-run.js';
import { createSchedulerMetrics } from '../../src/scheduler/scheduler.metrics.js';
import { createSchedulerRepository, type LeaseClaim } from '../../src/scheduler/scheduler.repository.js';
import { AppError } from '../../src/shared/errors.js';
import { createTestDatabase, testDatabaseKind, type TestDatabase } from '../support/database.js';
import { metricValue, sleep, uniqueJobName } from './scheduler-fixture.js';

/** A gate a job waits on: the pause point a test opens when it chooses. */
function gate() {
  let open!: () => void;
  const opened = new Promise<void>((resolve) => (open = resolve));
  return { opened, open };
}

describe(`one job run (heartbeat, timeout, abandonment, record) on ${testDatabaseKind}`, () => {
  let database: TestDatabase;
  beforeAll(async () => {
    database = await createTestDatabase();
  });
  afterAll(() => database?.close());

  async function claim(name: string, leaseMs = 2_000): Promise<LeaseClaim> {
    const repository = createSchedulerRepository(database.db);
    await repository.ensureLease(name);
    const won = await repository.acquire({ job: name, instanceId: 'here', runId: crypto.randomUUID(), leaseMs, manual: true });
    if (!won) throw new Error('lease not won');
    return won;
  }

  function deps(overrides: Partial<JobRunDeps> = {}) {
    const metrics = createMetricsRegistry({ defaultMetrics: false });
    return {
      registry: metrics,
      deps: {
        repository: createSchedulerRepository(database.db),
        metrics: createSchedulerMetrics(metrics),
        log: createLogger('silent'),
        now: () => new Date(),
        leaseMs: 2_000,
        abortGraceMs: 100,
        ...overrides,
      } satisfies JobRunDeps,
    };
  }

  const job = (name: string, run: JobDefinition['run'], timeoutMs = 10_000): JobDefinition => ({ name, intervalMs: 60_000, timeoutMs, run });

  it('a job that returns is recorded SUCCEEDED with its result, under the token its claim drew, and frees the lease', async () => {
    const name = uniqueJobName('returns');
    const won = await claim(name);
    const { deps: runDeps } = deps();

    const run = startJobRun(job(name, async ({ fence }) => ({ token: fence.token })), won, Date.now(), runDeps);

    expect(await run.outcome).toMatchObject({ status: 'SUCCEEDED', recorded: true, result: { token: won.fence } });
    const [lease] = await createSchedulerRepository(database.db).listLeases([name]);
    expect(lease).toMatchObject({ leasedBy: null, runId: null, fence: won.fence, lastStatus: 'SUCCEEDED' });
  });

  it('a run that ignores its abort past the grace is given up: outcome ABANDONED before its code returns, onAbandoned told, the late return records nothing', async () => {
    const name = uniqueJobName('ignores');
    const won = await claim(name);
    const pause = gate();
    const abandoned: JobRun[] = [];
    const { deps: runDeps, registry } = deps({ onAbandoned: (run) => abandoned.push(run) });

    const run = startJobRun(job(name, () => pause.opened.then(() => ({ late: true })), 30), won, Date.now(), runDeps);
    const outcome = await run.outcome;

    expect(outcome).toMatchObject({ status: 'ABANDONED', recorded: true, error: { code: 'JOB_ABANDONED' } });
    expect(outcome.error!.message).toContain('JOB_TIMED_OUT');
    expect(abandoned).toEqual([run]);
    expect(run.abandonedAt()).toBeInstanceOf(Date);
    expect(await metricValue(registry, 'stockbridge_scheduler_jobs_stuck', { job: name })).toBe(1);

    pause.open();
    await run.returned;
    const [record] = await createSchedulerRepository(database.db).listRuns({ job: name, limit: 1 });
    expect(record).toMatchObject({ status: 'ABANDONED', result: null, error: { code: 'JOB_ABANDONED' } });
    expect(await metricValue(registry, 'stockbridge_scheduler_jobs_stuck', { job: name })).toBe(0);
    expect(await metricValue(registry, 'stockbridge_scheduler_jobs_abandoned_total', { job: name })).toBe(1);
  });

  it('a renewal refused because the lease lapsed aborts the run with JOB_LEASE_LOST and renews no more', async () => {
    const name = uniqueJobName('lapsed');
    const won = await claim(name, 500);
    const { deps: runDeps } = deps({ leaseMs: 500, abortGraceMs: 5_000 });
    let renewals = 0;
    const repository = createSchedulerRepository(database.db);
    const counting = { ...runDeps, repository: { ...repository, renew: (input: Parameters<typeof repository.renew>[0]) => ((renewals += 1), repository.renew(input)) } };

    const run = startJobRun(
      job(name, ({ signal }) => new Promise((_resolve, reject) => signal.addEventListener('abort', () => reject(signal.reason as Error)))),
      won,
      Date.now(),
      counting,
    );
    await database.db.execute(sql`update scheduler_leases set lease_expires_at = now() - interval '1 second' where job_name = ${name}`);

    expect(await run.outcome).toMatchObject({ status: 'ABANDONED', error: { code: 'JOB_LEASE_LOST' } });
    const after = renewals;
    // Three heartbeat periods (100 ms each) later, no renewal was attempted.
    await sleep(300);
    expect(renewals).toBe(after);
  });

  it('abort() with the first reason wins, and a run stopped for shutdown is left to stop() (no abandonment of its own)', async () => {
    const name = uniqueJobName('stopping');
    const won = await claim(name);
    const pause = gate();
    const abandoned: JobRun[] = [];
    const { deps: runDeps } = deps({ abortGraceMs: 20, onAbandoned: (run) => abandoned.push(run) });
    let reason: unknown;
    const run = startJobRun(
      job(name, async ({ signal }) => {
        await pause.opened;
        reason = signal.reason;
      }),
      won,
      Date.now(),
      runDeps,
    );

    run.abort(new AppError('SCHEDULER_STOPPING', 'stopping'));
    run.abort(new AppError('JOB_TIMED_OUT', 'too late'));
    await sleep(100);
    expect(abandoned).toEqual([]);
    pause.open();

    expect(await run.outcome).toMatchObject({ status: 'ABANDONED', recorded: true, error: { code: 'SCHEDULER_STOPPING' } });
    expect(reason).toMatchObject({ code: 'SCHEDULER_STOPPING' });
  });

  it('a run longer than its lease keeps it: the heartbeat renews it every fifth of the lease, and the run succeeds', async () => {
    const name = uniqueJobName('heartbeat');
    const won = await claim(name, 500);
    const { deps: runDeps } = deps({ leaseMs: 500 });
    const repository = createSchedulerRepository(database.db);
    let renewals = 0;
    const counting = { ...runDeps, repository: { ...repository, renew: (input: Parameters<typeof repository.renew>[0]) => ((renewals += 1), repository.renew(input)) } };
    const expiries: Date[] = [];

    const run = startJobRun(
      job(name, async () => {
        for (let i = 0; i < 3; i += 1) {
          await sleep(500);
          const [lease] = await repository.listLeases([name]);
          expiries.push(lease!.leaseExpiresAt!);
        }
        return { slept: 1_500 };
      }),
      won,
      Date.now(),
      counting,
    );

    expect(await run.outcome).toMatchObject({ status: 'SUCCEEDED', recorded: true, result: { slept: 1_500 } });
    // 1.5 s at one renewal per 100 ms: well over the three leases the run outlived.
    expect(renewals).toBeGreaterThanOrEqual(6);
    expect(expiries[2]!.getTime()).toBeGreaterThan(expiries[0]!.getTime());
  });

  it('a run past its timeout is aborted with JOB_TIMED_OUT and recorded TIMED_OUT even when it returns partial work', async () => {
    const name = uniqueJobName('timeout');
    const won = await claim(name);
    const { deps: runDeps } = deps({ abortGraceMs: 5_000 });
    let reason: unknown;

    const run = startJobRun(
      job(
        name,
        ({ signal }) =>
          new Promise((resolve) =>
            signal.addEventListener('abort', () => {
              reason = signal.reason;
              resolve({ done: 3 });
            }),
          ),
        50,
      ),
      won,
      Date.now(),
      runDeps,
    );

    expect(await run.outcome).toMatchObject({ status: 'TIMED_OUT', recorded: true, result: { done: 3 }, error: { code: 'JOB_TIMED_OUT' } });
    expect(reason).toMatchObject({ code: 'JOB_TIMED_OUT' });
    const [record] = await createSchedulerRepository(database.db).listRuns({ job: name, limit: 1 });
    expect(record).toMatchObject({ status: 'TIMED_OUT', result: { done: 3 }, error: { code: 'JOB_TIMED_OUT' } });
  });

  it('a job that throws is FAILED with the error’s own code, or JOB_FAILED for an error without one', async () => {
    const coded = uniqueJobName('throws-coded');
    const plain = uniqueJobName('throws-plain');
    const [wonCoded, wonPlain] = [await claim(coded), await claim(plain)];
    const { deps: runDeps } = deps();

    const codedRun = startJobRun(job(coded, () => Promise.reject(new AppError('ERP_UNAVAILABLE', 'the ERP is down'))), wonCoded, Date.now(), runDeps);
    const plainRun = startJobRun(job(plain, () => Promise.reject(new Error('boom'))), wonPlain, Date.now(), runDeps);

    expect(await codedRun.outcome).toMatchObject({ status: 'FAILED', recorded: true, error: { code: 'ERP_UNAVAILABLE', message: 'the ERP is down' } });
    expect(await plainRun.outcome).toMatchObject({ status: 'FAILED', recorded: true, error: { code: 'JOB_FAILED', message: 'boom' } });
  });

  it('a finished run sets the next run one interval after its start; a run stopped for shutdown leaves the job due at once', async () => {
    const finished = uniqueJobName('next-run');
    const stopped = uniqueJobName('stopped-due');
    const [wonFinished, wonStopped] = [await claim(finished), await claim(stopped)];
    const { deps: runDeps } = deps();
    const repository = createSchedulerRepository(database.db);
    const [before] = await repository.listLeases([stopped]);

    await startJobRun(job(finished, async () => undefined), wonFinished, Date.now(), runDeps).outcome;
    const stopping = startJobRun(job(stopped, ({ signal }) => new Promise((resolve) => signal.addEventListener('abort', () => resolve(undefined)))), wonStopped, Date.now(), runDeps);
    stopping.abort(new AppError('SCHEDULER_STOPPING', 'stopping'));
    expect(await stopping.outcome).toMatchObject({ status: 'ABANDONED', recorded: true });

    const [afterFinished] = await repository.listLeases([finished]);
    expect(afterFinished!.nextRunAt.getTime() - afterFinished!.lastStartedAt!.getTime()).toBe(60_000);
    const [afterStopped] = await repository.listLeases([stopped]);
    expect(afterStopped!.nextRunAt.getTime()).toBe(before!.nextRunAt.getTime());
    expect(afterStopped!.leasedBy).toBeNull();
  });

  it('a run whose lease was taken over meanwhile records nothing: its outcome says recorded false', async () => {
    const name = uniqueJobName('taken-over');
    const won = await claim(name);
    const pause = gate();
    const { deps: runDeps } = deps();

    const run = startJobRun(job(name, () => pause.opened.then(() => ({ late: true }))), won, Date.now(), runDeps);
    await database.db.execute(sql`update scheduler_leases set run_id = ${crypto.randomUUID()}, leased_by = 'elsewhere' where job_name = ${name}`);
    pause.open();

    expect(await run.outcome).toMatchObject({ status: 'SUCCEEDED', recorded: false });
    const [lease] = await createSchedulerRepository(database.db).listLeases([name]);
    expect(lease).toMatchObject({ leasedBy: 'elsewhere' });
  });
});
