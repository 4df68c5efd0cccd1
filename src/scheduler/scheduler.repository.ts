import { and, desc, eq, inArray, isNull, lt, lte, ne, or, sql, type SQL } from 'drizzle-orm';
import type { Db } from '../db/database.js';
import { jobRuns, schedulerLeases, type JobRunStatus } from '../db/schema/index.js';

/**
 * The scheduler's state in PostgreSQL. Every comparison of times happens in SQL against the
 * database's clock (`now()`), so instances whose own clocks disagree still agree on who holds a
 * lease and when a job is due.
 */

/** A won lease: the run may start. */
export interface LeaseClaim {
  readonly runId: string;
  /** The `next_run_at` the job was due at (a manual run: when it was asked for). */
  readonly scheduledAt: Date;
  readonly startedAt: Date;
  /** The fencing token this run drew: larger than any earlier run's of the job. */
  readonly fence: number;
  /** Runs of this job left RUNNING by an instance whose lease expired, now marked ABANDONED. */
  readonly abandoned: ReadonlyArray<{ id: string; instance: string }>;
}

export interface JobRunRecord {
  readonly id: string;
  readonly job: string;
  readonly instance: string;
  readonly scheduledAt: Date;
  readonly startedAt: Date;
  readonly finishedAt: Date | null;
  readonly status: JobRunStatus;
  readonly error: { code: string; message: string } | null;
  readonly result: Record<string, unknown> | null;
  readonly fence: number | null;
}

export interface JobLeaseRecord {
  readonly jobName: string;
  readonly leasedBy: string | null;
  readonly leaseExpiresAt: Date | null;
  readonly runId: string | null;
  readonly fence: number;
  readonly nextRunAt: Date;
  readonly lastStartedAt: Date | null;
  readonly lastFinishedAt: Date | null;
  readonly lastStatus: string | null;
  readonly lastSucceededAt: Date | null;
}

export type SchedulerRepository = ReturnType<typeof createSchedulerRepository>;

function millis(ms: number): SQL {
  return sql`(${ms}::float8 * interval '1 millisecond')`;
}

export function createSchedulerRepository(db: Db) {
  return {
    /**
     * Makes sure the job's lease row exists at start-up. A job no instance has seen yet is first
     * due after `firstRunInMs`; an existing schedule is kept (a restart adds no run, an overdue
     * job runs at once), except that its next run comes at most one interval from now, so a
     * shortened interval takes effect at once.
     */
    async prepareLease(job: string, firstRunInMs: number, intervalMs: number): Promise<void> {
      await db
        .insert(schedulerLeases)
        .values({ jobName: job, nextRunAt: sql`now() + ${millis(firstRunInMs)}` })
        .onConflictDoUpdate({
          target: schedulerLeases.jobName,
          set: { nextRunAt: sql`least(${schedulerLeases.nextRunAt}, now() + ${millis(intervalMs)})` },
        });
    },

    /** Creates the job's lease row if missing (due now), leaving an existing one as it is. */
    async ensureLease(job: string): Promise<void> {
      await db.insert(schedulerLeases).values({ jobName: job, nextRunAt: sql`now()` }).onConflictDoNothing();
    },

    /**
     * Takes the job's lease if it is free or expired and (unless `manual`) the job is due, and
     * records the run, in one transaction. The conditional UPDATE is the whole lock: under
     * concurrent attempts PostgreSQL re-checks the condition on the row the winner just wrote,
     * so exactly one instance gets a row back, with the next fencing token. Runs an expired
     * holder left RUNNING are marked ABANDONED in the same transaction.
     */
    async acquire(input: { job: string; instanceId: string; runId: string; leaseMs: number; manual: boolean }): Promise<LeaseClaim | undefined> {
      return db.transaction(async (tx) => {
        const free = or(isNull(schedulerLeases.leaseExpiresAt), lt(schedulerLeases.leaseExpiresAt, sql`now()`));
        const due = input.manual ? undefined : lte(schedulerLeases.nextRunAt, sql`now()`);
        const [won] = await tx
          .update(schedulerLeases)
          .set({
            leasedBy: input.instanceId,
            leaseExpiresAt: sql`now() + ${millis(input.leaseMs)}`,
            runId: input.runId,
            fence: sql`${schedulerLeases.fence} + 1`,
            lastStartedAt: sql`now()`,
          })
          .where(and(eq(schedulerLeases.jobName, input.job), free, due))
          .returning({ nextRunAt: schedulerLeases.nextRunAt, startedAt: schedulerLeases.lastStartedAt, fence: schedulerLeases.fence });
        if (!won?.startedAt) return undefined;
        const scheduledAt = input.manual ? won.startedAt : won.nextRunAt;
        const abandoned = await tx
          .update(jobRuns)
          .set({
            status: 'ABANDONED',
            finishedAt: sql`now()`,
            error: { code: 'JOB_LEASE_EXPIRED', message: `taken over by ${input.instanceId} after the lease expired` },
          })
          .where(and(eq(jobRuns.job, input.job), eq(jobRuns.status, 'RUNNING')))
          .returning({ id: jobRuns.id, instance: jobRuns.instance });
        await tx.insert(jobRuns).values({
          id: input.runId,
          job: input.job,
          instance: input.instanceId,
          scheduledAt,
          startedAt: won.startedAt,
          status: 'RUNNING',
          fence: won.fence,
        });
        return { runId: input.runId, scheduledAt, startedAt: won.startedAt, fence: won.fence, abandoned };
      });
    },

    /**
     * Extends the lease of a running run; false when the run no longer holds it. A lease that
     * already expired is not revived, even if no one took it: its holder may have been frozen
     * while another instance could have started, so it must stop rather than carry on.
     */
    async renew(input: { job: string; runId: string; leaseMs: number }): Promise<boolean> {
      const rows = await db
        .update(schedulerLeases)
        .set({ leaseExpiresAt: sql`now() + ${millis(input.leaseMs)}` })
        .where(and(eq(schedulerLeases.jobName, input.job), eq(schedulerLeases.runId, input.runId), sql`${schedulerLeases.leaseExpiresAt} > now()`))
        .returning({ jobName: schedulerLeases.jobName });
      return rows.length > 0;
    },

    /**
     * Records how a run ended and frees the lease. `nextRunInMs` sets the next run relative to
     * this run's start; absent, the next run stays due (a run cut short by shutdown is redone
     * at once elsewhere). A run that lost its lease meanwhile changes nothing: `recorded` is false.
     */
    async finish(input: {
      job: string;
      runId: string;
      status: Exclude<JobRunStatus, 'RUNNING'>;
      error?: { code: string; message: string } | undefined;
      result?: Record<string, unknown> | undefined;
      nextRunInMs: number | undefined;
    }): Promise<{ recorded: boolean; finishedAt: Date | undefined }> {
      return db.transaction(async (tx) => {
        // The lease before the run, as `acquire` takes them: the other order deadlocked with an
        // instance taking this expired lease over (it marks this run ABANDONED).
        const released = await tx
          .update(schedulerLeases)
          .set({
            leasedBy: null,
            leaseExpiresAt: null,
            runId: null,
            lastFinishedAt: sql`now()`,
            lastStatus: input.status,
            ...(input.nextRunInMs === undefined
              ? {}
              : { nextRunAt: sql`${schedulerLeases.lastStartedAt} + ${millis(input.nextRunInMs)}` }),
            ...(input.status === 'SUCCEEDED' ? { lastSucceededAt: sql`now()` } : {}),
          })
          .where(and(eq(schedulerLeases.jobName, input.job), eq(schedulerLeases.runId, input.runId)))
          .returning({ jobName: schedulerLeases.jobName });
        const [run] = await tx
          .update(jobRuns)
          .set({ status: input.status, finishedAt: sql`now()`, error: input.error ?? null, result: input.result ?? null })
          .where(and(eq(jobRuns.id, input.runId), eq(jobRuns.status, 'RUNNING')))
          .returning({ finishedAt: jobRuns.finishedAt });
        return { recorded: Boolean(run) && released.length > 0, finishedAt: run?.finishedAt ?? undefined };
      });
    },

    /** Gives back a lease won just as the scheduler stopped, as if it had never been taken. */
    async cancel(input: { job: string; runId: string }): Promise<void> {
      await db.transaction(async (tx) => {
        // The lease before the run, as everywhere (see `finish`).
        await tx
          .update(schedulerLeases)
          .set({ leasedBy: null, leaseExpiresAt: null, runId: null })
          .where(and(eq(schedulerLeases.jobName, input.job), eq(schedulerLeases.runId, input.runId)));
        await tx.delete(jobRuns).where(and(eq(jobRuns.id, input.runId), eq(jobRuns.status, 'RUNNING')));
      });
    },

    /**
     * How long until the job could next be taken (by the database's clock: the later of its
     * next run and the current lease's expiry; negative = now), and when it last succeeded.
     */
    async timing(job: string): Promise<{ dueInMs: number; lastSucceededAt: Date | null } | undefined> {
      const [row] = await db
        .select({
          dueInMs: sql<number>`(extract(epoch from (greatest(${schedulerLeases.nextRunAt}, coalesce(${schedulerLeases.leaseExpiresAt}, ${schedulerLeases.nextRunAt})) - now())) * 1000)::float8`,
          lastSucceededAt: schedulerLeases.lastSucceededAt,
        })
        .from(schedulerLeases)
        .where(eq(schedulerLeases.jobName, job));
      return row ? { dueInMs: Number(row.dueInMs), lastSucceededAt: row.lastSucceededAt } : undefined;
    },

    async listLeases(jobs: readonly string[]): Promise<JobLeaseRecord[]> {
      if (jobs.length === 0) return [];
      return db.select().from(schedulerLeases).where(inArray(schedulerLeases.jobName, [...jobs]));
    },

    /** Most recent runs first, of one job or of all. */
    async listRuns(input: { job?: string | undefined; limit: number }): Promise<JobRunRecord[]> {
      const rows = await db
        .select()
        .from(jobRuns)
        .where(input.job === undefined ? undefined : eq(jobRuns.job, input.job))
        .orderBy(desc(jobRuns.startedAt), desc(jobRuns.id))
        .limit(input.limit);
      return rows;
    },

    /** Runs recorded ABANDONED (any instance) that started within the last `withinMs`, newest first. */
    async listAbandonedRuns(withinMs: number, limit: number): Promise<JobRunRecord[]> {
      return db
        .select()
        .from(jobRuns)
        .where(and(eq(jobRuns.status, 'ABANDONED'), sql`${jobRuns.startedAt} > now() - ${millis(withinMs)}`))
        .orderBy(desc(jobRuns.startedAt), desc(jobRuns.id))
        .limit(limit);
    },

    /** Deletes finished runs older than the retention, so job_runs stays small. */
    async pruneRuns(olderThanMs: number): Promise<number> {
      const deleted = await db
        .delete(jobRuns)
        .where(and(lt(jobRuns.startedAt, sql`now() - ${millis(olderThanMs)}`), ne(jobRuns.status, 'RUNNING')))
        .returning({ id: jobRuns.id });
      return deleted.length;
    },
  };
}
