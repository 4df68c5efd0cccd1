import type { Registry } from 'prom-client';
import { expect } from 'vitest';
import type { Database } from '../../src/db/database.js';
import { createLogger } from '../../src/logger.js';
import { createMetricsRegistry } from '../../src/metrics.js';
import type { JobDefinition, JobRunContext } from '../../src/scheduler/job.js';
import { createScheduler, type JobRunRecord, type Scheduler, type SchedulerOptions } from '../../src/scheduler/scheduler.js';
import { uniqueName } from '../support/fixture-names.js';
import { sleep, waitFor as waitForValue } from '../support/waiting.js';

export { sleep };

/** Schedulers made by a test, stopped (and their runs awaited) after it. */
export class SchedulerFixture {
  private readonly made: Scheduler[] = [];

  scheduler(database: Database, options: Partial<SchedulerOptions> & { metrics?: Registry } = {}): Scheduler {
    const scheduler = createScheduler({
      database,
      log: createLogger('silent'),
      metrics: options.metrics ?? createMetricsRegistry({ defaultMetrics: false }),
      pollIntervalMs: 50,
      leaseMs: 2_000,
      stopGraceMs: 2_000,
      ...options,
    });
    this.made.push(scheduler);
    return scheduler;
  }

  async stopAll(): Promise<void> {
    await Promise.all(this.made.splice(0).map((scheduler) => scheduler.stop({ graceMs: 2_000 })));
  }
}

/** A job name no other test uses, so tests sharing one database never see each other's runs. */
export function uniqueJobName(what: string): string {
  return uniqueName(`test.${what}`);
}

/** Counts calls in flight across several job objects (one per simulated instance). */
export class ConcurrencyTracker {
  running = 0;
  maxRunning = 0;
  enter(): void {
    this.running += 1;
    this.maxRunning = Math.max(this.maxRunning, this.running);
  }
  leave(): void {
    this.running -= 1;
  }
}

/** A job that counts its calls and how many of them ran at the same time. */
export function countingJob(
  overrides: Partial<JobDefinition> & {
    name: string;
    work?: (context: JobRunContext, call: number) => Promise<Record<string, unknown> | void>;
    /** Shared with the same job on other schedulers, to see overlaps between instances. */
    tracker?: ConcurrencyTracker;
  },
) {
  const calls: JobRunContext[] = [];
  const own = new ConcurrencyTracker();
  const { work, tracker, ...definition } = overrides;
  const job: JobDefinition = {
    intervalMs: 100,
    timeoutMs: 10_000,
    ...definition,
    async run(context) {
      calls.push(context);
      own.enter();
      tracker?.enter();
      try {
        return await work?.(context, calls.length);
      } finally {
        own.leave();
        tracker?.leave();
      }
    },
  };
  return {
    job,
    calls,
    get maxConcurrent() {
      return own.maxRunning;
    },
    /** Calls that have not returned yet. */
    get running() {
      return own.running;
    },
  };
}

/** The shared wait, with the scheduler tests' longer default (runs start on the poll interval). */
export function waitFor<T>(read: () => T | Promise<T>, accept: (value: T) => boolean, timeoutMs = 20_000): Promise<T> {
  return waitForValue(read, accept, timeoutMs);
}

/** Runs of a job, oldest first. */
export async function runsOf(scheduler: Scheduler, job: string): Promise<JobRunRecord[]> {
  return (await scheduler.listRuns({ job, limit: 500 })).reverse();
}

/** Finished runs of a job, oldest first, once at least `count` of them exist. */
export function waitForFinishedRuns(scheduler: Scheduler, job: string, count: number): Promise<JobRunRecord[]> {
  return waitFor(
    async () => (await runsOf(scheduler, job)).filter((run) => run.status !== 'RUNNING'),
    (runs) => runs.length >= count,
  );
}

/**
 * The schedule property itself, from the database's own timestamps: every run after the first
 * was due exactly one interval after the previous run started, and started no earlier than due
 * (so no period ever ran twice).
 */
export function expectOneRunPerPeriod(runs: readonly JobRunRecord[], intervalMs: number): void {
  for (let k = 1; k < runs.length; k += 1) {
    const previous = runs[k - 1]!;
    const run = runs[k]!;
    const dueAfterPrevious = run.scheduledAt.getTime() - previous.startedAt.getTime();
    expect(Math.abs(dueAfterPrevious - intervalMs), `run ${k} due ${dueAfterPrevious} ms after run ${k - 1} started`).toBeLessThanOrEqual(1);
    expect(run.startedAt.getTime(), `run ${k} started no earlier than due`).toBeGreaterThanOrEqual(run.scheduledAt.getTime());
  }
}

/** One sample of a metric: a counter or gauge by labels, or a histogram's `_count`/`_sum`. */
export async function metricValue(registry: Registry, name: string, labels: Record<string, string>, sample = name): Promise<number | undefined> {
  const metric = await registry.getSingleMetric(name)?.get();
  const values = (metric?.values ?? []) as Array<{ value: number; labels: Record<string, string | number | undefined>; metricName?: string }>;
  const found = values.find(
    (value) => (value.metricName ?? name) === sample && Object.entries(labels).every(([k, v]) => value.labels[k] === v),
  );
  return found?.value;
}
