import type { Logger } from '../logger.js';
import type { JobFence } from './fence.js';

export type { JobFence } from './fence.js';

/** What a job run receives. */
export interface JobRunContext {
  /** Child logger carrying `{ job, runId }`. */
  readonly log: Logger;
  readonly runId: string;
  /** Aborted when the run exceeds its timeout or the process shuts down; jobs must honour it. */
  readonly signal: AbortSignal;
  /** When this run was scheduled to start. */
  readonly scheduledAt: Date;
  /**
   * This run's fencing token. Writes to state other runs of the job also write (watermarks,
   * adopted sync runs) must state it, so they are refused once the run lost its lease
   * (`assertFenceHeld` in src/scheduler/fence.ts).
   */
  readonly fence: JobFence;
}

/**
 * A periodic job, declared in its domain (`<domain>.job.ts`) and run by the scheduler.
 *
 * The scheduler's guarantee: across every Stockbridge instance on one PostgreSQL, a job runs at
 * most once at a time and about once per `intervalMs`; a run that outlives `timeoutMs` is
 * aborted, and an instance that dies mid-run loses its lease when the lease expires, so another
 * instance takes over. A run that ignores its abort signal for the scheduler's grace is
 * abandoned: recorded ABANDONED, its lease released, the job free to run again while the stray
 * code lingers; only fenced writes (stating `fence`) are then refused, so a job whose runs
 * share state must fence its writes. Jobs must be safe to re-run after a partial run (move
 * watermarks only after the work they cover is durable).
 */
export interface JobDefinition {
  /** Stable, unique name, e.g. `inventory.delta-sync`. */
  readonly name: string;
  readonly intervalMs: number;
  readonly timeoutMs: number;
  /**
   * Run once soon after start-up instead of waiting a whole interval (default true). The
   * schedule lives in the database, so this decides the first run of a job no instance has run
   * yet; after that a restart keeps the schedule (an overdue job runs at once, and no instance
   * start adds a run: three pods rolling out do not trigger three reconciles).
   */
  readonly runOnStart?: boolean;
  run(context: JobRunContext): Promise<Record<string, unknown> | void>;
}
