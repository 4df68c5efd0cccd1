import type { Logger } from '../logger.js';
import { AppError, isAppError } from '../shared/errors.js';
import { JOB_LEASE_LOST, type JobFence } from './fence.js';
import type { JobDefinition } from './job.js';
import type { SchedulerMetrics } from './scheduler.metrics.js';
import type { LeaseClaim, SchedulerRepository } from './scheduler.repository.js';
import type { JobRunStatus } from '../db/schema/index.js';

/**
 * One run of a job under a won lease: heartbeat, timeout, abandonment, how it ended, and its
 * record. The scheduler decides when to start runs; this decides how one lives and ends.
 *
 * Guarantee: the lease is renewed only while the run may still write. A run aborted (timeout,
 * lease lost) that keeps running for the grace after its signal fired is abandoned: its lease
 * is released and it is recorded ABANDONED at once, so the job is free to run again here or
 * elsewhere, and whatever it writes later under its fencing token is refused. A job that
 * ignores its signal therefore never holds a job hostage, and never writes over its successor.
 */

export const STOPPING = 'SCHEDULER_STOPPING';
export const TIMED_OUT = 'JOB_TIMED_OUT';
export const JOB_ABANDONED = 'JOB_ABANDONED';

/** How one run ended, as recorded in `job_runs`. */
export interface JobRunOutcome {
  readonly runId: string;
  readonly job: string;
  readonly status: Exclude<JobRunStatus, 'RUNNING'>;
  readonly scheduledAt: Date;
  readonly startedAt: Date;
  /** The database's time of the record; absent when nothing could be recorded. */
  readonly finishedAt: Date | undefined;
  /** Measured on this instance's clock. */
  readonly durationMs: number;
  readonly result: Record<string, unknown> | undefined;
  readonly error: { code: string; message: string } | undefined;
  /**
   * False when the outcome could not be written: the run lost its lease first (another
   * instance took the job over and marked this run ABANDONED) or the database failed.
   */
  readonly recorded: boolean;
}

export interface JobRunDeps {
  readonly repository: Pick<SchedulerRepository, 'renew' | 'finish'>;
  readonly metrics: SchedulerMetrics;
  /** Carries `{ job, runId }`. */
  readonly log: Logger;
  /** This instance's clock: durations only (leases use the database's). */
  readonly now: () => Date;
  readonly leaseMs: number;
  /** How long an aborted run may take to return before it is abandoned. */
  readonly abortGraceMs: number;
  /** Called once the run is abandoned while its code still runs (the job may run again). */
  readonly onAbandoned?: (run: JobRun) => void;
}

export interface JobRun {
  readonly runId: string;
  readonly fence: JobFence;
  /** How the run ended: when its code returned, or when it was abandoned. */
  readonly outcome: Promise<JobRunOutcome>;
  /** Settles when the job's code has returned (for an abandoned run, maybe much later, or never). */
  readonly returned: Promise<void>;
  /** When the run was abandoned while its code still ran, if it was. */
  abandonedAt(): Date | undefined;
  /** Aborts the run through its signal (the first reason wins). */
  abort(reason: AppError): void;
  /** Stops renewing the lease, leaving it to expire as a crash would (shutdown past its grace). */
  letLeaseExpire(): void;
}

/** Starts a run of `job` under `claim`; `askedAt` is this instance's time just before the lease was asked for. */
export function startJobRun(job: JobDefinition, claim: LeaseClaim, askedAt: number, deps: JobRunDeps): JobRun {
  const { repository, metrics, log, now, leaseMs, abortGraceMs } = deps;
  const controller = new AbortController();
  const fence: JobFence = { job: job.name, token: claim.fence };
  const startedLocally = now().getTime();
  let heartbeat: NodeJS.Timeout | undefined;
  let timeout: NodeJS.Timeout | undefined;
  let grace: NodeJS.Timeout | undefined;
  let abandonedAt: Date | undefined;
  let returned = false;

  let resolveOutcome!: (outcome: JobRunOutcome) => void;
  const outcome = new Promise<JobRunOutcome>((resolve) => (resolveOutcome = resolve));
  let outcomeGiven = false;
  const give = (value: JobRunOutcome) => {
    if (outcomeGiven) return;
    outcomeGiven = true;
    resolveOutcome(value);
  };
  const base = { runId: claim.runId, job: job.name, scheduledAt: claim.scheduledAt, startedAt: claim.startedAt };

  const stopHeartbeat = () => {
    clearInterval(heartbeat);
    heartbeat = undefined;
  };

  const abort = (reason: AppError) => {
    if (controller.signal.aborted) return;
    controller.abort(reason);
    // Shutdown has its own grace (stop()); any other abort gives the code this long to return.
    if (reason.code !== STOPPING) {
      grace = setTimeout(() => void abandon(), abortGraceMs);
      grace.unref();
    }
  };

  const loseLease = (why: string) => {
    // Once the heartbeat stopped (lease lost, abandoned, returned), a late answer changes nothing.
    if (heartbeat === undefined) return;
    log.error({ why }, 'the run lost its lease; aborting it');
    // Nothing left to renew: a newer holder may exist, and a lapsed lease is never revived.
    stopHeartbeat();
    abort(new AppError(JOB_LEASE_LOST, `job ${job.name} lost its lease: ${why}`));
  };

  let renewing = false;
  // Local time the lease was last asked for or renewed: it lasts at least leaseMs from then.
  let heldSince = askedAt;
  const renew = async () => {
    if (renewing || heartbeat === undefined) return;
    renewing = true;
    const sentAt = now().getTime();
    try {
      const held = await repository.renew({ job: job.name, runId: claim.runId, leaseMs });
      if (held) heldSince = sentAt;
      else loseLease('another instance took the job over, or the lease lapsed before it was renewed');
    } catch (error) {
      log.warn({ err: error }, 'could not renew the lease; retrying');
    } finally {
      renewing = false;
    }
  };
  const heartbeatMs = Math.max(10, Math.floor(leaseMs / 5));
  heartbeat = setInterval(() => {
    // Cut off from the database (errors or hanging queries), the run cannot know whether its
    // lease will hold; it stops one heartbeat before the lease could expire, so it is over
    // before another instance can take the job (a few renewals may fail before that).
    if (now().getTime() - heldSince >= leaseMs - heartbeatMs) loseLease(`the lease could not be renewed for ${leaseMs - heartbeatMs} ms`);
    else void renew();
  }, heartbeatMs);
  heartbeat.unref();

  /** The code kept running past the grace: release the lease and record the run now. */
  async function abandon(): Promise<void> {
    if (returned || abandonedAt) return;
    abandonedAt = now();
    stopHeartbeat();
    const cause = codeOf(controller.signal.reason) ?? 'ABORTED';
    const error = {
      code: JOB_ABANDONED,
      message: `job ${job.name} was still running ${abortGraceMs} ms after it was aborted (${cause}); its lease is released and its later writes are refused`,
    };
    metrics.abandoned.inc({ job: job.name });
    metrics.stuck.inc({ job: job.name });
    log.error({ cause, abortGraceMs }, 'job run ignores its abort signal; abandoned: lease released, recorded ABANDONED');
    let recorded = false;
    let finishedAt: Date | undefined;
    try {
      // Released with the next run at its normal time; a run already taken over records nothing.
      ({ recorded, finishedAt } = await repository.finish({ job: job.name, runId: claim.runId, status: 'ABANDONED', error, nextRunInMs: job.intervalMs }));
    } catch (recordError) {
      log.error({ err: recordError }, 'could not record the abandoned run; its lease will expire');
    }
    if (recorded) metrics.runs.inc({ job: job.name, status: 'ABANDONED' });
    // Only ever called from a timer, after `self` below is assigned.
    deps.onAbandoned?.(self);
    give({ ...base, status: 'ABANDONED', finishedAt, durationMs: now().getTime() - startedLocally, result: undefined, error, recorded });
  }

  const running = (async (): Promise<void> => {
    timeout = setTimeout(() => {
      log.error({ timeoutMs: job.timeoutMs }, 'job run timed out; aborting it');
      abort(new AppError(TIMED_OUT, `job ${job.name} exceeded its timeout of ${job.timeoutMs} ms`));
    }, job.timeoutMs);
    timeout.unref();
    log.info({ scheduledAt: claim.scheduledAt, fence: fence.token }, 'job run started');
    let value: Record<string, unknown> | void = undefined;
    let thrown: { error: unknown } | undefined;
    try {
      value = await job.run({ log, runId: claim.runId, signal: controller.signal, scheduledAt: claim.scheduledAt, fence });
    } catch (error) {
      thrown = { error };
    } finally {
      returned = true;
      clearTimeout(timeout);
      clearTimeout(grace);
    }
    if (abandonedAt) {
      metrics.stuck.dec({ job: job.name });
      log.warn({ abandonedAt, err: thrown?.error }, 'an abandoned job run returned at last; its outcome is not recorded');
      return;
    }
    stopHeartbeat();
    const durationMs = now().getTime() - startedLocally;
    const { status, error } = classify(controller.signal, thrown);
    const result = toJson(value);
    let recorded = false;
    let finishedAt: Date | undefined;
    try {
      ({ recorded, finishedAt } = await repository.finish({
        job: job.name,
        runId: claim.runId,
        status,
        error,
        result,
        // A run cut short by shutdown stays due, so another instance redoes it at once.
        nextRunInMs: codeOf(controller.signal.reason) === STOPPING ? undefined : job.intervalMs,
      }));
    } catch (recordError) {
      log.error({ err: recordError }, 'could not record the end of the job run; its lease will expire');
    }
    if (recorded) {
      metrics.runs.inc({ job: job.name, status });
      metrics.duration.observe({ job: job.name, status }, durationMs / 1000);
      if (status === 'SUCCEEDED' && finishedAt) metrics.lastSuccess.set({ job: job.name }, finishedAt.getTime() / 1000);
    }
    const fields = { status, durationMs, ...(result ? { result } : {}), ...(error ? { error } : {}), recorded };
    if (status === 'SUCCEEDED') log.info(fields, 'job run finished');
    else if (status === 'FAILED') log.error({ ...fields, err: thrown?.error }, 'job run failed');
    else log.warn(fields, 'job run ended early');
    give({ ...base, status, finishedAt, durationMs, result, error, recorded });
  })();

  const self: JobRun = {
    runId: claim.runId,
    fence,
    outcome,
    returned: running.then(
      () => undefined,
      () => undefined,
    ),
    abandonedAt: () => abandonedAt,
    abort,
    letLeaseExpire: stopHeartbeat,
  };
  return self;
}

/**
 * Why the signal fired decides the status: a job that honours its signal may return early with
 * partial work, which must not read as a success.
 */
function classify(signal: AbortSignal, thrown: { error: unknown } | undefined): { status: JobRunOutcome['status']; error: { code: string; message: string } | undefined } {
  const abortCode = signal.aborted ? codeOf(signal.reason) : undefined;
  if (abortCode === TIMED_OUT) return { status: 'TIMED_OUT', error: describe(signal.reason) };
  if (abortCode === STOPPING || abortCode === JOB_LEASE_LOST) return { status: 'ABANDONED', error: describe(signal.reason) };
  if (thrown) return { status: 'FAILED', error: describe(thrown.error) };
  return { status: 'SUCCEEDED', error: undefined };
}

function codeOf(reason: unknown): string | undefined {
  return isAppError(reason) ? reason.code : undefined;
}

function describe(error: unknown): { code: string; message: string } {
  const code = isAppError(error) ? error.code : 'JOB_FAILED';
  const message = error instanceof Error ? error.message : String(error);
  return { code, message: message.length > 2_000 ? `${message.slice(0, 2_000)}…` : message };
}

/** What a job returned, as JSON the run record can hold (anything else is noted, not stored). */
function toJson(value: Record<string, unknown> | void): Record<string, unknown> | undefined {
  if (value === undefined || value === null) return undefined;
  try {
    return JSON.parse(JSON.stringify(value)) as Record<string, unknown>;
  } catch {
    return { unserializable: true };
  }
}
