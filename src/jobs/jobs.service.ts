import type { Scheduler } from '../scheduler/scheduler.js';
import { AppError } from '../shared/errors.js';
import { decodeCursor, invalidCursor, toConnection, type Connection } from '../shared/pagination.js';
import type { JobRunView, JobsRepository } from './jobs.repository.js';

/** Where a run asked for by hand is recorded as a manual intervention (the operator actions record). */
export interface RunNowRecorder {
  record(action: { action: 'runJobNow'; actor: string | null; target: string; details: Record<string, unknown> }): Promise<void>;
}

/** The scheduler as the jobs API uses it: its status and its run-now, nothing else. */
export type JobsSchedulerPort = Pick<Scheduler, 'status' | 'runNow'>;

export interface ScheduledJobView {
  readonly name: string;
  readonly intervalMs: number;
  readonly timeoutMs: number;
  /** The instance holding the lease while a run goes on; null when nobody runs it. */
  readonly runningOn: string | null;
  readonly nextRunAt: Date | null;
  readonly lastRun: JobRunView | null;
  readonly lastSucceededAt: Date | null;
}

export type RunJobNowResult =
  | { readonly run: JobRunView; readonly refused?: undefined }
  | { readonly run?: undefined; readonly refused: { code: 'UNKNOWN_JOB' | 'JOB_ALREADY_RUNNING' | 'SCHEDULER_STOPPED'; message: string } };

export interface JobsService {
  /** Every registered job, in registration order, with its shared state. */
  listJobs(): Promise<ScheduledJobView[]>;
  listRuns(input: { job?: string | null | undefined; first: number; after?: string | null | undefined }): Promise<Connection<JobRunView>>;
  /** Runs a job now through the scheduler (its lease: one run at a time), recorded as an operator action. */
  runJobNow(job: string, actor: string | null): Promise<RunJobNowResult>;
}

const LIST = 'jobRuns';

export function createJobsService(deps: {
  scheduler: () => JobsSchedulerPort;
  repository: JobsRepository;
  operatorActions: RunNowRecorder;
  now: () => Date;
}): JobsService {
  const { repository } = deps;
  return {
    async listJobs() {
      const status = await deps.scheduler().status();
      const lastRuns = await repository.lastRuns(status.jobs.map((job) => job.name));
      const at = deps.now().getTime();
      return status.jobs.map((job) => {
        const lease = job.lease;
        const held = lease?.leasedBy != null && lease.leaseExpiresAt !== null && lease.leaseExpiresAt.getTime() > at;
        return {
          name: job.name,
          intervalMs: job.intervalMs,
          timeoutMs: job.timeoutMs,
          runningOn: held ? lease.leasedBy : job.runningHere ? status.instanceId : null,
          nextRunAt: lease?.nextRunAt ?? null,
          lastRun: lastRuns.get(job.name) ?? null,
          lastSucceededAt: lease?.lastSucceededAt ?? null,
        };
      });
    },
    async listRuns(input) {
      let after: { startedAt: string; id: string } | undefined;
      if (input.after) {
        const [startedAt, id] = decodeCursor(LIST, input.after, 2);
        if (typeof startedAt !== 'string' || typeof id !== 'string') invalidCursor(LIST, input.after);
        after = { startedAt, id };
      }
      const rows = await repository.listRuns({ job: input.job ?? undefined, after, limit: input.first + 1 });
      return toConnection(LIST, rows, { first: input.first, after: input.after, keyOf: (row) => [row.startedAtKey, row.id] });
    },
    async runJobNow(job, actor) {
      const scheduler = deps.scheduler();
      const known = (await scheduler.status()).jobs.some((registered) => registered.name === job);
      if (!known) return { refused: { code: 'UNKNOWN_JOB', message: `no job named ${job} is registered` } };
      try {
        const outcome = await scheduler.runNow(job);
        await deps.operatorActions.record({ action: 'runJobNow', actor, target: job, details: { runId: outcome.runId, status: outcome.status } });
        // A run whose end could not be written (the database was away) is shown as it ended here.
        const run = (await repository.findRun(outcome.runId)) ?? {
          id: outcome.runId,
          job,
          instance: (await scheduler.status()).instanceId,
          status: outcome.status,
          scheduledAt: outcome.scheduledAt,
          startedAt: outcome.startedAt,
          finishedAt: outcome.finishedAt ?? null,
          error: outcome.error ?? null,
          result: outcome.result ?? null,
          startedAtKey: outcome.startedAt.toISOString(),
        };
        return { run };
      } catch (error) {
        if (error instanceof AppError && (error.code === 'JOB_ALREADY_RUNNING' || error.code === 'SCHEDULER_STOPPED')) {
          return { refused: { code: error.code, message: error.message } };
        }
        if (error instanceof AppError && error.code === 'NOT_FOUND') return { refused: { code: 'UNKNOWN_JOB', message: error.message } };
        throw error;
      }
    },
  };
}
