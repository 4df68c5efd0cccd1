import { randomBytes, randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import type { Registry } from 'prom-client';
import { z } from 'zod';
import type { Database } from '../db/database.js';
import type { Logger } from '../logger.js';
import { AppError, NotFoundError, ValidationError } from '../shared/errors.js';
import type { JobDefinition } from './job.js';
import { STOPPING, startJobRun, type JobRun, type JobRunOutcome } from './job-run.js';
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

export type { JobRunOutcome } from './job-run.js';

/** A run this instance abandoned (it ignored its abort signal) whose code has not returned yet. */
export interface StuckRun {
  readonly job: string;
  readonly runId: string;
  readonly fence: number;
  readonly abandonedAt: Date;
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
  /** Abandoned runs on this instance still executing (a restart frees them). */
  readonly stuck: StuckRun[];
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
  /** Abandoned runs on this instance still executing; no database call (for `/healthz`). */
  stuckRuns(): StuckRun[];
  /** Runs recorded ABANDONED on any instance within `withinMs` (default one day), newest first. */
  listAbandonedRuns(options?: { withinMs?: number; limit?: number }): Promise<JobRunRecord[]>;
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
  /**
   * How long a run aborted by its timeout or a lost lease may take to return before it is
   * abandoned: lease released, recorded ABANDONED, counted (default: `stopGraceMs`).
   */
  abortGraceMs?: number;
  /** Finished runs older than this are deleted (default 30 days). */
  runRetentionMs?: number;
}

const optionsSchema = z.object({
  instanceId: z.string().min(1).max(200).optional(),
  pollIntervalMs: z.number().int().min(10).max(3_600_000).default(5_000),
  leaseMs: z.number().int().min(100).max(3_600_000).default(30_000),
  stopGraceMs: z.number().int().min(0).max(600_000).default(10_000),
  abortGraceMs: z.number().int().min(0).max(600_000).optional(),
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

interface JobSlot {
  readonly job: JobDefinition;
  timer: NodeJS.Timeout | undefined;
  ticking: Promise<void> | undefined;
  wakeAgain: boolean;
  active: JobRun | undefined;
}

export function createScheduler(options: SchedulerOptions): Scheduler {
  const parsed = optionsSchema.safeParse(options);
  if (!parsed.success) throw new ValidationError(`invalid scheduler options: ${parsed.error.message}`);
  const { pollIntervalMs, leaseMs, stopGraceMs, runRetentionMs } = parsed.data;
  const abortGraceMs = parsed.data.abortGraceMs ?? stopGraceMs;
  const instanceId = parsed.data.instanceId ?? `${hostname()}-${process.pid}-${randomBytes(3).toString('hex')}`;
  const now = options.now ?? (() => new Date());
  const log = options.log.child({ component: 'scheduler', instance: instanceId });
  const repository: SchedulerRepository = createSchedulerRepository(options.database.db);
  const metrics: SchedulerMetrics = createSchedulerMetrics(options.metrics);
  const slots = new Map<string, JobSlot>();
  const stuck = new Map<string, { run: JobRun; abandonedAt: Date }>();
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
    const runLog = log.child({ job: job.name, runId: claim.runId });
    for (const run of claim.abandoned) {
      metrics.runs.inc({ job: job.name, status: 'ABANDONED' });
      runLog.warn({ abandonedRunId: run.id, abandonedBy: run.instance }, 'took over a job whose holder stopped renewing its lease; its run is marked ABANDONED');
    }
    const run = startJobRun(job, claim, askedAt, {
      repository,
      metrics,
      log: runLog,
      now,
      leaseMs,
      abortGraceMs,
      onAbandoned: (abandoned) => {
        // The slot is free again: the job runs at its next due time, here or elsewhere, while
        // the stray code is kept in view until it returns.
        if (slot.active === abandoned) slot.active = undefined;
        stuck.set(abandoned.runId, { run: abandoned, abandonedAt: abandoned.abandonedAt() ?? now() });
        void abandoned.returned.then(() => stuck.delete(abandoned.runId));
        wake(slot, 0);
      },
    });
    slot.active = run;
    void run.outcome.finally(() => {
      if (slot.active === run) slot.active = undefined;
      pruneOccasionally();
    });
    return run.outcome;
  }

  function stuckRuns(): StuckRun[] {
    return [...stuck.values()].map(({ run, abandonedAt }) => ({ job: run.fence.job, runId: run.runId, fence: run.fence.token, abandonedAt }));
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
            slot.active.abort(new AppError(STOPPING, 'the scheduler is stopping'));
            pending.push(slot.active.outcome);
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
            slot.active.letLeaseExpire();
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
        stuck: stuckRuns(),
      };
    },

    stuckRuns,

    async listAbandonedRuns(listOptions = {}) {
      const limit = Math.min(Math.max(1, Math.trunc(listOptions.limit ?? 20)), 500);
      return repository.listAbandonedRuns(listOptions.withinMs ?? 24 * 3_600_000, limit);
    },

    async listRuns(listOptions = {}) {
      const limit = Math.min(Math.max(1, Math.trunc(listOptions.limit ?? 20)), 500);
      return repository.listRuns({ job: listOptions.job, limit });
    },
  };
}
