import { Counter, Gauge, Histogram, type Registry } from 'prom-client';

/**
 * What the scheduler counts in `/metrics`. Created once per registry: a second scheduler on the
 * same registry (a test with two instances in one process) reuses the same series.
 */
export interface SchedulerMetrics {
  runs: Counter<'job' | 'status'>;
  duration: Histogram<'job' | 'status'>;
  lastSuccess: Gauge<'job'>;
  /** Runs given up on this instance because they ignored their abort signal past the grace. */
  abandoned: Counter<'job'>;
  /** Runs given up on this instance whose job has still not returned. */
  stuck: Gauge<'job'>;
}

function reuse<T>(registry: Registry, name: string, create: () => T): T {
  return (registry.getSingleMetric(name) as T | undefined) ?? create();
}

export function createSchedulerMetrics(registry: Registry): SchedulerMetrics {
  const registers = [registry];
  return {
    runs: reuse(
      registry,
      'stockbridge_job_runs_total',
      () =>
        new Counter({
          name: 'stockbridge_job_runs_total',
          help: 'Job runs finished on this instance, by job and status (SUCCEEDED, FAILED, TIMED_OUT, ABANDONED)',
          labelNames: ['job', 'status'] as const,
          registers,
        }),
    ),
    duration: reuse(
      registry,
      'stockbridge_job_run_duration_seconds',
      () =>
        new Histogram({
          name: 'stockbridge_job_run_duration_seconds',
          help: 'Duration of job runs on this instance, by job and status',
          labelNames: ['job', 'status'] as const,
          buckets: [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 900, 3600],
          registers,
        }),
    ),
    lastSuccess: reuse(
      registry,
      'stockbridge_job_last_success_timestamp_seconds',
      () =>
        new Gauge({
          // Read from the lease row, so every instance with the scheduler on reports the last
          // success of any instance: alert on `time() - max by (job) (...)`.
          name: 'stockbridge_job_last_success_timestamp_seconds',
          help: 'Unix time of the last successful run of each job, on any instance (from the database)',
          labelNames: ['job'] as const,
          registers,
        }),
    ),
    abandoned: reuse(
      registry,
      'stockbridge_scheduler_jobs_abandoned_total',
      () =>
        new Counter({
          name: 'stockbridge_scheduler_jobs_abandoned_total',
          help: 'Job runs abandoned on this instance because they kept running past their timeout (or lost lease) plus the grace, ignoring their abort signal',
          labelNames: ['job'] as const,
          registers,
        }),
    ),
    stuck: reuse(
      registry,
      'stockbridge_scheduler_jobs_stuck',
      () =>
        new Gauge({
          name: 'stockbridge_scheduler_jobs_stuck',
          help: 'Abandoned job runs on this instance whose code has still not returned (a restart frees them)',
          labelNames: ['job'] as const,
          registers,
        }),
    ),
  };
}
