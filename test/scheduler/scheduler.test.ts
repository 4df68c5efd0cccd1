import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { sql } from 'drizzle-orm';
import { createMetricsRegistry } from '../../src/metrics.js';
import { assertFenceHeld, type JobFence } from '../../src/scheduler/fence.js';
import { AppError, isAppError } from '../../src/shared/errors.js';
import { createTestDatabase, testDatabaseKind, type TestDatabase } from '../support/database.js';
import {
  ConcurrencyTracker,
  countingJob,
  expectOneRunPerPeriod,
  metricValue,
  runsOf,
  SchedulerFixture,
  sleep,
  uniqueJobName,
  waitFor,
  waitForFinishedRuns,
} from './scheduler-fixture.js';

describe(`the scheduler on ${testDatabaseKind}`, () => {
  let database: TestDatabase;
  const fixture = new SchedulerFixture();
  beforeAll(async () => {
    database = await createTestDatabase();
  });
  afterEach(() => fixture.stopAll());
  afterAll(() => database?.close());

  it('runs a job about once per period: each run is due one interval after the previous one started', async () => {
    const name = uniqueJobName('periodic');
    const counted = countingJob({ name, intervalMs: 150 });
    const scheduler = fixture.scheduler(database);
    scheduler.register(counted.job);
    await scheduler.start();

    const runs = await waitForFinishedRuns(scheduler, name, 4);

    expect(runs.every((run) => run.status === 'SUCCEEDED')).toBe(true);
    expectOneRunPerPeriod(runs, 150);
    expect(counted.calls.map((call) => call.runId).slice(0, 4)).toEqual(runs.slice(0, 4).map((run) => run.id));
    expect(counted.calls[1]!.scheduledAt).toEqual(runs[1]!.scheduledAt);
  });

  it('never overlaps itself, even when a run outlasts its interval and two schedulers share the database', async () => {
    const name = uniqueJobName('slow');
    const tracker = new ConcurrencyTracker();
    const slow = (instance: string) => {
      const counted = countingJob({ name, intervalMs: 20, tracker, work: () => sleep(120) });
      const scheduler = fixture.scheduler(database, { instanceId: instance });
      scheduler.register(counted.job);
      return { counted, scheduler };
    };
    const first = slow('first');
    const second = slow('second');
    await Promise.all([first.scheduler.start(), second.scheduler.start()]);

    await waitForFinishedRuns(first.scheduler, name, 5);
    await Promise.all([first.scheduler.stop(), second.scheduler.stop()]);
    const runs = await runsOf(first.scheduler, name);

    expect(tracker.maxRunning).toBe(1);
    // No run was taken away from its holder: all but one cut short by stop() succeeded.
    expect(runs.filter((run) => run.status !== 'SUCCEEDED').length).toBeLessThanOrEqual(1);
    for (let k = 1; k < runs.length; k += 1) {
      expect(runs[k]!.startedAt.getTime()).toBeGreaterThanOrEqual(runs[k - 1]!.finishedAt!.getTime());
    }
    expect(runs.length).toBe(first.counted.calls.length + second.counted.calls.length);
  });

  it('two schedulers on one database run a job exactly once per period', async () => {
    const name = uniqueJobName('shared');
    const tracker = new ConcurrencyTracker();
    const instances = ['one', 'two'].map((instance) => {
      const counted = countingJob({ name, intervalMs: 100, tracker });
      const scheduler = fixture.scheduler(database, { instanceId: instance });
      scheduler.register(counted.job);
      return { counted, scheduler };
    });
    await Promise.all(instances.map(({ scheduler }) => scheduler.start()));

    await waitForFinishedRuns(instances[0]!.scheduler, name, 8);
    await Promise.all(instances.map(({ scheduler }) => scheduler.stop()));
    const runs = await runsOf(instances[0]!.scheduler, name);

    const calls = instances.flatMap(({ counted }) => counted.calls);
    expect(tracker.maxRunning).toBe(1);
    expect(calls.length).toBe(runs.length);
    expect(new Set(calls.map((call) => call.runId)).size).toBe(calls.length);
    // A run cut short by stop() stays due, so only completed runs form the chain.
    const completed = runs.filter((run) => run.status === 'SUCCEEDED');
    expect(completed.length).toBeGreaterThanOrEqual(7);
    expectOneRunPerPeriod(completed, 100);
    expect(new Set(completed.map((run) => run.scheduledAt.getTime())).size).toBe(completed.length);
  });

  it("takes over a crashed instance's job once its lease expires and marks the crashed run ABANDONED", async () => {
    const name = uniqueJobName('crash');
    let unblock!: () => void;
    const blocked = new Promise<void>((resolve) => (unblock = resolve));
    // A run that ignores its abort signal: stop() cannot end it, so the instance leaves its
    // lease behind, as a crash would.
    const hanging = countingJob({ name, intervalMs: 100, work: () => blocked });
    const crashed = fixture.scheduler(database, { instanceId: 'crashed', leaseMs: 500 });
    crashed.register(hanging.job);
    await crashed.start();
    await waitFor(() => hanging.calls.length, (calls) => calls === 1);
    await crashed.stop({ graceMs: 0 });

    const metrics = createMetricsRegistry({ defaultMetrics: false });
    const healthy = countingJob({ name, intervalMs: 100 });
    const survivor = fixture.scheduler(database, { instanceId: 'survivor', leaseMs: 500, metrics });
    survivor.register(healthy.job);
    await survivor.start();
    const runs = await waitFor(
      () => runsOf(survivor, name),
      (all) => all.some((run) => run.instance === 'survivor' && run.status === 'SUCCEEDED'),
    );

    expect(runs[0]).toMatchObject({ instance: 'crashed', status: 'ABANDONED', error: { code: 'JOB_LEASE_EXPIRED' } });
    expect(runs[1]).toMatchObject({ instance: 'survivor', status: 'SUCCEEDED' });
    expect(runs[1]!.startedAt.getTime() - runs[0]!.startedAt.getTime()).toBeGreaterThanOrEqual(500);
    expect(await metricValue(metrics, 'stockbridge_job_runs_total', { job: name, status: 'ABANDONED' })).toBe(1);

    // When the stray run finally returns, it records nothing over the takeover.
    unblock();
    await waitFor(() => hanging.running, (running) => running === 0);
    await sleep(200);
    expect((await runsOf(survivor, name))[0]).toMatchObject({ instance: 'crashed', status: 'ABANDONED' });
  });

  it('aborts a run that outlives its timeout through its signal and records it TIMED_OUT', async () => {
    const name = uniqueJobName('timeout');
    const metrics = createMetricsRegistry({ defaultMetrics: false });
    const scheduler = fixture.scheduler(database, { metrics });
    let abortReason: unknown;
    scheduler.register({
      name,
      intervalMs: 60_000,
      timeoutMs: 100,
      run: ({ signal }) =>
        new Promise((_resolve, reject) => {
          signal.addEventListener('abort', () => {
            abortReason = signal.reason;
            reject(signal.reason as Error);
          });
        }),
    });

    const outcome = await scheduler.runNow(name);

    expect(outcome).toMatchObject({ status: 'TIMED_OUT', recorded: true, error: { code: 'JOB_TIMED_OUT' } });
    expect(isAppError(abortReason) && abortReason.code).toBe('JOB_TIMED_OUT');
    const [run] = await runsOf(scheduler, name);
    expect(run).toMatchObject({ id: outcome.runId, status: 'TIMED_OUT', error: { code: 'JOB_TIMED_OUT' } });
    expect(run!.finishedAt).toBeInstanceOf(Date);
    expect(await metricValue(metrics, 'stockbridge_job_runs_total', { job: name, status: 'TIMED_OUT' })).toBe(1);
  });

  it('abandons a timed-out run that ignores its signal after the grace: recorded ABANDONED, counted, listed as stuck, the job free to run elsewhere, and its late writes refused', async () => {
    const name = uniqueJobName('stubborn');
    const metrics = createMetricsRegistry({ defaultMetrics: false });
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    let lateWrite: unknown;
    const stubborn = countingJob({
      name,
      intervalMs: 60_000,
      timeoutMs: 50,
      // Ignores its signal, then writes under its token as a stale holder would.
      work: async ({ fence }) => {
        await gate;
        lateWrite = await database.db.transaction((tx) => assertFenceHeld(tx, fence, 'a late write')).catch((error: unknown) => error);
      },
    });
    const holder = fixture.scheduler(database, { instanceId: 'holder', metrics, abortGraceMs: 100 });
    const other = fixture.scheduler(database, { instanceId: 'other' });
    holder.register(stubborn.job);
    other.register(countingJob({ name, intervalMs: 60_000 }).job);

    // Answers at the abandonment, not when the stray code returns.
    const outcome = await holder.runNow(name);

    expect(outcome).toMatchObject({ status: 'ABANDONED', recorded: true, error: { code: 'JOB_ABANDONED' } });
    expect(stubborn.running).toBe(1);
    expect(holder.stuckRuns()).toEqual([expect.objectContaining({ job: name, runId: outcome.runId })]);
    expect((await holder.status()).jobs[0]).toMatchObject({ runningHere: undefined, lease: { leasedBy: null, lastStatus: 'ABANDONED' } });
    expect(await metricValue(metrics, 'stockbridge_scheduler_jobs_abandoned_total', { job: name })).toBe(1);
    expect(await metricValue(metrics, 'stockbridge_scheduler_jobs_stuck', { job: name })).toBe(1);
    expect((await holder.listAbandonedRuns()).map((run) => run.id)).toContain(outcome.runId);
    expect(await other.runNow(name)).toMatchObject({ status: 'SUCCEEDED' });

    release();
    await waitFor(() => holder.stuckRuns().length, (stuckRuns) => stuckRuns === 0);
    expect(lateWrite).toMatchObject({ code: 'JOB_LEASE_LOST' });
    expect(await metricValue(metrics, 'stockbridge_scheduler_jobs_stuck', { job: name })).toBe(0);
    const runs = await runsOf(holder, name);
    expect(runs[0]).toMatchObject({ id: outcome.runId, status: 'ABANDONED', error: { code: 'JOB_ABANDONED' } });
    expect(runs[1]).toMatchObject({ instance: 'other', status: 'SUCCEEDED' });
    expect(runs[1]!.fence).toBeGreaterThan(runs[0]!.fence!);
  });

  it('a holder frozen past its lease cannot revive it: its run is aborted with JOB_LEASE_LOST, the next holder draws a larger token, and writes under the old token are refused', async () => {
    const name = uniqueJobName('frozen');
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const writes: Array<{ token: number; outcome: unknown }> = [];
    const fencedWrite = async (fence: JobFence) => {
      const outcome = await database.db.transaction((tx) => assertFenceHeld(tx, fence, 'a watermark')).then(
        () => 'written',
        (error: unknown) => error,
      );
      writes.push({ token: fence.token, outcome });
    };
    const frozen = countingJob({
      name,
      intervalMs: 60_000,
      work: async ({ fence }) => {
        await gate;
        await fencedWrite(fence);
      },
    });
    const successor = countingJob({ name, intervalMs: 60_000, work: ({ fence }) => fencedWrite(fence) });
    const holder = fixture.scheduler(database, { instanceId: 'holder' });
    const other = fixture.scheduler(database, { instanceId: 'other' });
    holder.register(frozen.job);
    other.register(successor.job);

    const outcome = holder.runNow(name);
    await waitFor(() => frozen.calls.length, (calls) => calls === 1);
    // The holder's process froze longer than its lease: the lease lapses in the database.
    await database.db.execute(sql`update scheduler_leases set lease_expires_at = now() - interval '1 second' where job_name = ${name}`);

    expect(await other.runNow(name)).toMatchObject({ status: 'SUCCEEDED' });
    await waitFor(() => frozen.calls[0]!.signal.aborted, Boolean);
    release();

    expect(await outcome).toMatchObject({ status: 'ABANDONED', recorded: false, error: { code: 'JOB_LEASE_LOST' } });
    expect(writes).toEqual([
      { token: frozen.calls[0]!.fence.token + 1, outcome: 'written' },
      { token: frozen.calls[0]!.fence.token, outcome: expect.objectContaining({ code: 'JOB_LEASE_LOST' }) },
    ]);
  });

  it('records a failing run FAILED with its error, runs the job again next period, and counts both', async () => {
    const name = uniqueJobName('flaky');
    const metrics = createMetricsRegistry({ defaultMetrics: false });
    const counted = countingJob({
      name,
      intervalMs: 150,
      work: async (_context, call) => {
        if (call === 1) throw new AppError('ERP_UNAVAILABLE', 'the ERP did not answer');
        if (call === 2) throw new Error('something unexpected');
        return { pushed: 3 };
      },
    });
    const scheduler = fixture.scheduler(database, { metrics });
    scheduler.register(counted.job);
    await scheduler.start();

    const runs = await waitForFinishedRuns(scheduler, name, 3);

    expect(runs[0]).toMatchObject({ status: 'FAILED', error: { code: 'ERP_UNAVAILABLE', message: 'the ERP did not answer' } });
    expect(runs[1]).toMatchObject({ status: 'FAILED', error: { code: 'JOB_FAILED', message: 'something unexpected' } });
    expect(runs[2]).toMatchObject({ status: 'SUCCEEDED', error: null, result: { pushed: 3 } });
    expectOneRunPerPeriod(runs.slice(0, 3), 150);
    expect(await metricValue(metrics, 'stockbridge_job_runs_total', { job: name, status: 'FAILED' })).toBe(2);
    expect(await metricValue(metrics, 'stockbridge_job_runs_total', { job: name, status: 'SUCCEEDED' })).toBeGreaterThanOrEqual(1);
    expect(
      await metricValue(metrics, 'stockbridge_job_run_duration_seconds', { job: name, status: 'FAILED' }, 'stockbridge_job_run_duration_seconds_count'),
    ).toBe(2);
    const lastSuccess = await metricValue(metrics, 'stockbridge_job_last_success_timestamp_seconds', { job: name });
    expect(lastSuccess).toBeGreaterThanOrEqual(runs[2]!.finishedAt!.getTime() / 1000 - 0.001);
    const status = await scheduler.status();
    expect(status.jobs.find((job) => job.name === name)?.lease).toMatchObject({ lastSucceededAt: expect.any(Date) });
  });

  it('runs a new job soon after start by default and after one interval with runOnStart false; a restart keeps the schedule but applies a shortened interval', async () => {
    const soon = countingJob({ name: uniqueJobName('soon'), intervalMs: 3_600_000 });
    const later = countingJob({ name: uniqueJobName('later'), intervalMs: 3_600_000, runOnStart: false });
    const first = fixture.scheduler(database);
    first.register(soon.job);
    first.register(later.job);
    await first.start();
    const [soonRun] = await waitForFinishedRuns(first, soon.job.name, 1);
    await first.stop();

    const nextRun = async (scheduler: typeof first, name: string) =>
      (await scheduler.status()).jobs.find((job) => job.name === name)!.lease!.nextRunAt.getTime();
    expect(later.calls).toHaveLength(0);
    expect(await nextRun(first, later.job.name)).toBeGreaterThan(Date.now() + 3_500_000);

    // Another instance starts (or this one restarts), with `later` shortened to one minute.
    const againSoon = countingJob({ name: soon.job.name, intervalMs: 3_600_000 });
    const restarted = fixture.scheduler(database);
    restarted.register(againSoon.job);
    restarted.register({ ...later.job, intervalMs: 60_000 });
    await restarted.start();

    expect(await nextRun(restarted, soon.job.name)).toBe(soonRun!.startedAt.getTime() + 3_600_000);
    expect(againSoon.calls).toHaveLength(0);
    const next = await nextRun(restarted, later.job.name);
    expect(next).toBeLessThanOrEqual(Date.now() + 60_000);
    expect(next).toBeGreaterThan(Date.now() + 50_000);
  });

  it('stop() aborts a running job, records it ABANDONED and leaves the job due for the next instance', async () => {
    const name = uniqueJobName('stopped');
    const waiting = countingJob({
      name,
      intervalMs: 60_000,
      work: ({ signal }) => new Promise((_resolve, reject) => signal.addEventListener('abort', () => reject(signal.reason as Error))),
    });
    const scheduler = fixture.scheduler(database, { instanceId: 'stopping' });
    scheduler.register(waiting.job);
    await scheduler.start();
    await waitFor(() => waiting.calls.length, (calls) => calls === 1);

    await scheduler.stop();

    expect(waiting.calls[0]!.signal.aborted).toBe(true);
    const [abandoned] = await runsOf(scheduler, name);
    expect(abandoned).toMatchObject({ status: 'ABANDONED', error: { code: 'SCHEDULER_STOPPING' } });
    const { jobs } = await scheduler.status();
    expect(jobs[0]!.lease).toMatchObject({ leasedBy: null, lastStatus: 'ABANDONED' });
    expect(jobs[0]!.lease!.nextRunAt.getTime()).toBeLessThanOrEqual(abandoned!.startedAt.getTime());
    await expect(scheduler.runNow(name)).rejects.toMatchObject({ code: 'SCHEDULER_STOPPED' });

    const next = countingJob({ name, intervalMs: 60_000, runOnStart: false });
    const successor = fixture.scheduler(database, { instanceId: 'successor' });
    successor.register(next.job);
    await successor.start();
    await waitFor(() => next.calls.length, (calls) => calls === 1);
    expect(next.calls[0]!.scheduledAt).toEqual(abandoned!.scheduledAt);
  });

  it('runNow runs a job under its lease with its result, and refuses while any instance runs it', async () => {
    const name = uniqueJobName('manual');
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const gated = countingJob({
      name,
      intervalMs: 60_000,
      work: async () => {
        await gate;
        return { itemsPushed: 7 };
      },
    });
    const here = fixture.scheduler(database, { instanceId: 'here' });
    const elsewhere = fixture.scheduler(database, { instanceId: 'elsewhere' });
    here.register(gated.job);
    elsewhere.register(countingJob({ name, intervalMs: 60_000 }).job);

    const outcome = here.runNow(name);
    await waitFor(() => gated.calls.length, (calls) => calls === 1);
    await expect(here.runNow(name)).rejects.toMatchObject({ code: 'JOB_ALREADY_RUNNING' });
    await expect(elsewhere.runNow(name)).rejects.toMatchObject({ code: 'JOB_ALREADY_RUNNING', details: { leasedBy: 'here' } });
    expect((await here.status()).jobs[0]).toMatchObject({ runningHere: gated.calls[0]!.runId, lease: { leasedBy: 'here' } });
    release();

    expect(await outcome).toMatchObject({ status: 'SUCCEEDED', recorded: true, result: { itemsPushed: 7 } });
    const [run] = await runsOf(here, name);
    expect(run).toMatchObject({ instance: 'here', status: 'SUCCEEDED', result: { itemsPushed: 7 } });
    await expect(here.runNow('no.such-job')).rejects.toMatchObject({ code: 'NOT_FOUND' });
  });

  it('refuses duplicate and invalid job definitions, and registration after start', async () => {
    const scheduler = fixture.scheduler(database);
    const name = uniqueJobName('valid');
    scheduler.register(countingJob({ name, intervalMs: 60_000, runOnStart: false }).job);
    expect(() => scheduler.register(countingJob({ name }).job)).toThrow(expect.objectContaining({ code: 'BAD_USER_INPUT' }));
    expect(() => scheduler.register(countingJob({ name: uniqueJobName('zero'), intervalMs: 0 }).job)).toThrow(
      expect.objectContaining({ code: 'BAD_USER_INPUT' }),
    );
    expect(() => scheduler.register(countingJob({ name: 'has spaces' }).job)).toThrow(expect.objectContaining({ code: 'BAD_USER_INPUT' }));
    expect(() => scheduler.register(countingJob({ name: uniqueJobName('forever'), timeoutMs: 30 * 86_400_000 }).job)).toThrow(
      expect.objectContaining({ code: 'BAD_USER_INPUT' }),
    );
    await scheduler.start();
    expect(() => scheduler.register(countingJob({ name: uniqueJobName('late') }).job)).toThrow(
      expect.objectContaining({ code: 'SCHEDULER_ALREADY_STARTED' }),
    );
  });
});
