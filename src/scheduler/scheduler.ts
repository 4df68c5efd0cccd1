import { randomBytes, randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import type { Registry } from 'prom-client';
import { z } from 'zod';
import type { Database } from '../db/database.js';
import type { JobRunStatus } from '../db/schema/index.js';
import type { Logger } from '../logger.js';
import { AppError, isAppError, NotFoundError, ValidationError } from '../shared/errors.js';
import type { JobDefinition } from './job.js';
import { createSchedulerMetrics, type SchedulerMetrics } from './scheduler.metrics.js';
import {
  createSchedulerRepository,
  type JobLeaseRecord,
  type JobRunRecord,
  type LeaseClaim,
  type SchedulerRepository,
} from './scheduler.repository.js';

export type { JobLeaseRecord, JobRunRecord } from './scheduler.repository.js';
export type { JobRunStatus } from '../db/schema/index.js';

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

export interface JobStatus {
  readonly name: string;
  readonly intervalMs: number;
  readonly timeoutMs: number;
  /** The run this instance is executing now, if any. */
  readonly runningHere: string | undefined;
  /** The shared state (holder, next run, last outcome); absent until the job was first started. */
  readonly lease: JobLeaseRecord | undefined;
}

export interface SchedulerStatus {
  readonly instanceId: string;
  readonly state: 'idle' | 'running' | 'stopping' | 'stopped';
  readonly jobs: JobStatus[];
}

/**
 * Runs the registered jobs with the guarantee stated on `JobDefinition` (src/scheduler/job.ts):
 * across every instance on one database, a job runs at most once at a time and about once per
 * interval, with a timeout, and every run is recorded in `job_runs`.
 */
export interface Scheduler {
  readonly instanceId: string;
  /** Adds a job; only before `start()`. Names are unique. */
  register(job: JobDefinition): void;
  /** Starts taking due jobs (SCHEDULER=on). Without it, `runNow` still works. */
  start(): Promise<void>;
  /**
   * Stops taking work, aborts running jobs (their signal) and waits for them up to the grace
   * period; a job still running then keeps nothing: its lease is left to expire, as a crash would.
   */
  stop(options?: { graceMs?: number }): Promise<void>;
  /**
   * Runs a job now, under its lease, whether or not it is due, and returns how the run ended.
   * Throws `JOB_ALREADY_RUNNING` when any instance is running it, `NOT_FOUND` for an unknown job.
   */
  runNow(name: string): Promise<JobRunOutcome>;
  status(): Promise<SchedulerStatus>;
  /** Recent runs, newest first, of one job or of all (any instance). */
  listRuns(options?: { job?: string; limit?: number }): Promise<JobRunRecord[]>;
}

export interface SchedulerOptions {
  database: Database;
  log: Logger;
  metrics: Registry;
  /** Names this instance in leases and runs; default host, pid and a random suffix. */
  instanceId?: string;
  /**
   * This instance's clock, used only to measure run durations. Leases and schedules use the
   * database's clock, so instances with skewed clocks agree.
   */
  now?: () => Date;
  /** Longest wait between two looks at a job's lease (default 5 s); due times are met exactly. */
  pollIntervalMs?: number;
  /** Lease length (default 30 s), renewed every fifth of it while a run lasts. */
  leaseMs?: number;
  /** How long `stop()` waits for aborted runs (default 10 s). */
  stopGraceMs?: number;
  /** Finished runs older than this are deleted (default 30 days). */
  runRetentionMs?: number;
}

const optionsSchema = z.object({
  instanceId: z.string().min(1).max(200).optional(),
  pollIntervalMs: z.number().int().min(10).max(3_600_000).default(5_000),
  leaseMs: z.number().int().min(100).max(3_600_000).default(30_000),
  stopGraceMs: z.number().int().min(0).max(600_000).default(10_000),
  runRetentionMs: z.number().int().min(60_000).default(30 * 24 * 3_600_000),
});

const jobSchema = z.object({
  name: z
    .string()
    .min(1)
    .max(100)
    .regex(/^[a-z0-9][a-z0-9._-]*$/i, 'letters, digits, ".", "_" and "-"'),
  intervalMs: z.number().int().min(1),
  // setTimeout's limit (about 24.8 days); a longer delay would fire at once.
  timeoutMs: z.number().int().min(1).max(2_147_483_647),
  runOnStart: z.boolean().optional(),
  run: z.custom<JobDefinition['run']>((value) => typeof value === 'function', 'must be a function'),
});

/** Shortest wait between two looks at one job, so a lost race never spins. */
const MIN_DELAY_MS = 10;
/** Pruning of old runs happens at most this often per instance. */
const PRUNE_EVERY_MS = 3_600_000;

const STOPPING = 'SCHEDULER_STOPPING';
const TIMED_OUT = 'JOB_TIMED_OUT';
const LEASE_LOST = 'JOB_LEASE_LOST';

interface ActiveRun {
  readonly runId: string;
  readonly controller: AbortController;
  settled: Promise<JobRunOutcome>;
  heartbeat: NodeJS.Timeout | undefined;
}

interface JobSlot {
  readonly job: JobDefinition;
  timer: NodeJS.Timeout | undefined;
  ticking: Promise<void> | undefined;
  wakeAgain: boolean;
  active: ActiveRun | undefined;
}

export function createScheduler(options: SchedulerOptions): Scheduler {
  const parsed = optionsSchema.safeParse(options);
  if (!parsed.success) throw new ValidationError(`invalid scheduler options: ${parsed.error.message}`);
  const { pollIntervalMs, leaseMs, stopGraceMs, runRetentionMs } = parsed.data;
  const instanceId = parsed.data.instanceId ?? `${hostname()}-${process.pid}-${randomBytes(3).toString('hex')}`;
  const now = options.now ?? (() => new Date());
  const log = options.log.child({ component: 'scheduler', instance: instanceId });
  const repository: SchedulerRepository = createSchedulerRepository(options.database.db);
  const metrics: SchedulerMetrics = createSchedulerMetrics(options.metrics);
  const slots = new Map<string, JobSlot>();
  let state: SchedulerStatus['state'] = 'idle';
  let stopping: Promise<void> | undefined;
  let lastPrunedAt = 0;

  function slotOf(name: string): JobSlot {
    const slot = slots.get(name);
    if (!slot) throw new NotFoundError('job', name);
    return slot;
  }

  function wake(slot: JobSlot, delayMs: number): void {
    if (state !== 'running') return;
    clearTimeout(slot.timer);
    slot.timer = setTimeout(() => {
      slot.timer = undefined;
      void tick(slot);
    }, delayMs);
    slot.timer.unref();
  }

  /** One look at a job: take it if due and free, run it, then sleep until it could next be due. */
  async function tick(slot: JobSlot): Promise<void> {
    if (state !== 'running') return;
    if (slot.ticking) {
      slot.wakeAgain = true;
      return;
    }
    let delay = pollIntervalMs;
    const look = (async () => {
      const name = slot.job.name;
      try {
        if (!slot.active) {
          const askedAt = now().getTime();
          const claim = await repository.acquire({ job: name, instanceId, runId: randomUUID(), leaseMs, manual: false });
          if (claim && state !== 'running') {
            await repository.cancel({ job: name, runId: claim.runId });
            return;
          }
          if (claim) await execute(slot, claim, askedAt);
        }
        const timing = await repository.timing(name);
        if (timing) {
          delay = timing.dueInMs;
          if (timing.lastSucceededAt) metrics.lastSuccess.set({ job: name }, timing.lastSucceededAt.getTime() / 1000);
        }
      } catch (error) {
        log.warn({ err: error, job: name }, 'scheduler could not reach the database; retrying');
      }
    })();
    slot.ticking = look;
    try {
      await look;
    } finally {
      slot.ticking = undefined;
    }
    if (slot.wakeAgain) {
      slot.wakeAgain = false;
      delay = 0;
    }
    wake(slot, Math.min(pollIntervalMs, Math.max(MIN_DELAY_MS, Math.ceil(delay))));
  }

  /** Runs a won lease; `askedAt` is this instance's time just before the lease was asked for. */
  function execute(slot: JobSlot, claim: LeaseClaim, askedAt: number): Promise<JobRunOutcome> {
    const job = slot.job;
    const controller = new AbortController();
    const runLog = log.child({ job: job.name, runId: claim.runId });
    for (const run of claim.abandoned) {
      metrics.runs.inc({ job: job.name, status: 'ABANDONED' });
      runLog.warn({ abandonedRunId: run.id, abandonedBy: run.instance }, 'took over a job whose holder stopped renewing its lease; its run is marked ABANDONED');
    }
    let renewing = false;
    // Local time the lease was last asked for or renewed: it lasts at least leaseMs from then.
    let heldSince = askedAt;
    const renew = async () => {
      if (renewing) return;
      renewing = true;
      const sentAt = now().getTime();
      try {
        const held = await repository.renew({ job: job.name, runId: claim.runId, leaseMs });
        if (held) heldSince = sentAt;
        else loseLease('another instance took the job over');
      } catch (error) {
        runLog.warn({ err: error }, 'could not renew the lease; retrying');
      } finally {
        renewing = false;
      }
    };
    const loseLease = (why: string) => {
      if (controller.signal.aborted) return;
      runLog.error({ why }, 'the run lost its lease; aborting it');
      controller.abort(new AppError(LEASE_LOST, `job ${job.name} lost its lease: ${why}`));
    };
    const heartbeatMs = Math.max(10, Math.floor(leaseMs / 5));
    const heartbeat = setInterval(() => {
      // Cut off from the database (errors or hanging queries), the run cannot know whether its
      // lease will hold; it stops one heartbeat before the lease could expire, so it is over
      // before another instance can take the job (a few renewals may fail before that).
      if (now().getTime() - heldSince >= leaseMs - heartbeatMs) loseLease(`the lease could not be renewed for ${leaseMs - heartbeatMs} ms`);
      void renew();
    }, heartbeatMs);
    heartbeat.unref();
    // Registered before the job is called, so a job that fails synchronously still finds it.
    const active: ActiveRun = { runId: claim.runId, controller, settled: Promise.resolve(undefined as never), heartbeat };
    slot.active = active;
    active.settled = (async (): Promise<JobRunOutcome> => {
      const startedLocally = now().getTime();
      let lingering: NodeJS.Timeout | undefined;
      const timeout = setTimeout(() => {
        runLog.error({ timeoutMs: job.timeoutMs }, 'job run timed out; aborting it');
        controller.abort(new AppError(TIMED_OUT, `job ${job.name} exceeded its timeout of ${job.timeoutMs} ms`));
        lingering = setTimeout(
          () => runLog.error('job run ignores its abort signal; it keeps its lease until it returns'),
          Math.max(1_000, stopGraceMs),
        );
        lingering.unref();
      }, job.timeoutMs);
      timeout.unref();
      runLog.info({ scheduledAt: claim.scheduledAt }, 'job run started');
      let returned: Record<string, unknown> | void = undefined;
      let thrown: { error: unknown } | undefined;
      try {
        returned = await job.run({ log: runLog, runId: claim.runId, signal: controller.signal, scheduledAt: claim.scheduledAt });
      } catch (error) {
        thrown = { error };
      } finally {
        clearTimeout(timeout);
        clearTimeout(lingering);
        clearInterval(active.heartbeat);
      }
      const durationMs = now().getTime() - startedLocally;
      // Why the signal fired decides the status: a job that honours its signal may return
      // early with partial work, which must not read as a success.
      const abortCode = controller.signal.aborted ? codeOf(controller.signal.reason) : undefined;
      let status: JobRunOutcome['status'];
      let error: { code: string; message: string } | undefined;
      if (abortCode === TIMED_OUT) {
        status = 'TIMED_OUT';
        error = describe(controller.signal.reason);
      } else if (abortCode === STOPPING || abortCode === LEASE_LOST) {
        status = 'ABANDONED';
        error = describe(controller.signal.reason);
      } else if (thrown) {
        status = 'FAILED';
        error = describe(thrown.error);
      } else {
        status = 'SUCCEEDED';
      }
      const result = toJson(returned);
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
          nextRunInMs: abortCode === STOPPING ? undefined : job.intervalMs,
        }));
      } catch (recordError) {
        runLog.error({ err: recordError }, 'could not record the end of the job run; its lease will expire');
      }
      if (recorded) {
        metrics.runs.inc({ job: job.name, status });
        metrics.duration.observe({ job: job.name, status }, durationMs / 1000);
        if (status === 'SUCCEEDED' && finishedAt) metrics.lastSuccess.set({ job: job.name }, finishedAt.getTime() / 1000);
      }
      const fields = { status, durationMs, ...(result ? { result } : {}), ...(error ? { error } : {}), recorded };
      if (status === 'SUCCEEDED') runLog.info(fields, 'job run finished');
      else if (status === 'FAILED') runLog.error({ ...fields, err: thrown?.error }, 'job run failed');
      else runLog.warn(fields, 'job run ended early');
      return {
        runId: claim.runId,
        job: job.name,
        status,
        scheduledAt: claim.scheduledAt,
        startedAt: claim.startedAt,
        finishedAt,
        durationMs,
        result,
        error,
        recorded,
      };
    })();
    void active.settled.finally(() => {
      if (slot.active === active) slot.active = undefined;
      pruneOccasionally();
    });
    return active.settled;
  }

  function pruneOccasionally(): void {
    const at = now().getTime();
    if (state !== 'running' || at - lastPrunedAt < PRUNE_EVERY_MS) return;
    lastPrunedAt = at;
    repository.pruneRuns(runRetentionMs).then(
      (deleted) => {
        if (deleted > 0) log.info({ deleted }, 'deleted old job runs');
      },
      (error: unknown) => log.warn({ err: error }, 'could not delete old job runs'),
    );
  }

  return {
    instanceId,

    register(job) {
      if (state !== 'idle') throw new AppError('SCHEDULER_ALREADY_STARTED', `job ${job.name} registered after the scheduler started`);
      const checked = jobSchema.safeParse(job);
      if (!checked.success) throw new ValidationError(`invalid job ${String(job.name)}: ${checked.error.message}`, { job: job.name });
      if (slots.has(job.name)) throw new ValidationError(`job ${job.name} is registered twice`, { job: job.name });
      slots.set(job.name, { job, timer: undefined, ticking: undefined, wakeAgain: false, active: undefined });
    },

    async start() {
      if (state !== 'idle') throw new AppError('SCHEDULER_ALREADY_STARTED', `the scheduler is ${state}`);
      state = 'running';
      for (const slot of slots.values()) {
        await repository.prepareLease(slot.job.name, slot.job.runOnStart === false ? slot.job.intervalMs : 0, slot.job.intervalMs);
      }
      for (const slot of slots.values()) wake(slot, 0);
      log.info({ jobs: [...slots.keys()], leaseMs, pollIntervalMs }, 'scheduler started');
    },

    stop(stopOptions = {}) {
      stopping ??= (async () => {
        const graceMs = stopOptions.graceMs ?? stopGraceMs;
        state = 'stopping';
        const pending: Array<Promise<unknown>> = [];
        for (const slot of slots.values()) {
          clearTimeout(slot.timer);
          slot.timer = undefined;
          if (slot.ticking) pending.push(slot.ticking);
          if (slot.active) {
            slot.active.controller.abort(new AppError(STOPPING, 'the scheduler is stopping'));
            pending.push(slot.active.settled);
          }
        }
        let graceTimer: NodeJS.Timeout | undefined;
        const inTime = await Promise.race([
          Promise.allSettled(pending).then(() => true),
          new Promise<boolean>((resolve) => {
            graceTimer = setTimeout(() => resolve(false), graceMs);
          }),
        ]);
        clearTimeout(graceTimer);
        if (!inTime) {
          for (const slot of slots.values()) {
            if (!slot.active) continue;
            // Like a crash: stop renewing, so the lease expires and another instance takes over.
            clearInterval(slot.active.heartbeat);
            slot.active.heartbeat = undefined;
            log.error({ job: slot.job.name, runId: slot.active.runId, graceMs }, 'job did not stop within the grace period; its lease is left to expire');
          }
        }
        state = 'stopped';
        log.info('scheduler stopped');
      })();
      return stopping;
    },

    async runNow(name) {
      if (state === 'stopping' || state === 'stopped') throw new AppError('SCHEDULER_STOPPED', 'the scheduler is stopped');
      const slot = slotOf(name);
      if (slot.active) {
        throw new AppError('JOB_ALREADY_RUNNING', `job ${name} is already running on this instance`, { job: name, runId: slot.active.runId });
      }
      await repository.ensureLease(name);
      const askedAt = now().getTime();
      const claim = await repository.acquire({ job: name, instanceId, runId: randomUUID(), leaseMs, manual: true });
      if (!claim) {
        const [lease] = await repository.listLeases([name]);
        throw new AppError('JOB_ALREADY_RUNNING', `job ${name} is already running on ${lease?.leasedBy ?? 'another instance'}`, {
          job: name,
          leasedBy: lease?.leasedBy ?? null,
        });
      }
      const outcome = await execute(slot, claim, askedAt);
      wake(slot, 0);
      return outcome;
    },

    async status() {
      const leases = new Map((await repository.listLeases([...slots.keys()])).map((lease) => [lease.jobName, lease]));
      return {
        instanceId,
        state,
        jobs: [...slots.values()].map((slot) => ({
          name: slot.job.name,
          intervalMs: slot.job.intervalMs,
          timeoutMs: slot.job.timeoutMs,
          runningHere: slot.active?.runId,
          lease: leases.get(slot.job.name),
        })),
      };
    },

    async listRuns(listOptions = {}) {
      const limit = Math.min(Math.max(1, Math.trunc(listOptions.limit ?? 20)), 500);
      return repository.listRuns({ job: listOptions.job, limit });
    },
  };
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
