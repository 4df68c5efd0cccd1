import { and, desc, eq, inArray, sql, type SQL } from 'drizzle-orm';
import type { Db } from '../db/database.js';
import { jobRuns, schedulerLeases, type JobRunStatus } from '../db/schema/scheduler.js';

/** A run as the jobs API shows it, with its sort key as the cursor needs it. */
export interface JobRunView {
  readonly id: string;
  readonly job: string;
  readonly instance: string;
  readonly status: JobRunStatus;
  readonly scheduledAt: Date;
  readonly startedAt: Date;
  readonly finishedAt: Date | null;
  readonly error: { code: string; message: string } | null;
  readonly result: Record<string, unknown> | null;
  /** `started_at` in UTC to the microsecond (a Date would lose the microseconds). */
  readonly startedAtKey: string;
}

const startedAtKey = sql<string>`to_char(${jobRuns.startedAt} at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')`;

const columns = {
  id: jobRuns.id,
  job: jobRuns.job,
  instance: jobRuns.instance,
  status: jobRuns.status,
  scheduledAt: jobRuns.scheduledAt,
  startedAt: jobRuns.startedAt,
  finishedAt: jobRuns.finishedAt,
  error: jobRuns.error,
  result: jobRuns.result,
  startedAtKey,
};

/**
 * Reads of `job_runs` for the jobs API (the scheduler is the table's one writer): keyset pages,
 * newest first, and the last run of each job.
 */
export interface JobsRepository {
  listRuns(input: { job?: string | undefined; after?: { startedAt: string; id: string } | undefined; limit: number }): Promise<JobRunView[]>;
  findRun(id: string): Promise<JobRunView | null>;
  lastRuns(jobs: readonly string[]): Promise<Map<string, JobRunView>>;
  /** Every job any instance ever took up (its lease row), by name: what the CLI can list without the job code. */
  listLeases(): Promise<Array<typeof schedulerLeases.$inferSelect>>;
}

export function createJobsRepository(db: Db): JobsRepository {
  return {
    async listRuns(input) {
      const conditions: SQL[] = [];
      if (input.job !== undefined) conditions.push(eq(jobRuns.job, input.job));
      if (input.after) {
        conditions.push(sql`(${jobRuns.startedAt}, ${jobRuns.id}) < (${input.after.startedAt}::timestamptz, ${input.after.id}::uuid)`);
      }
      return db
        .select(columns)
        .from(jobRuns)
        .where(conditions.length > 0 ? and(...conditions) : undefined)
        .orderBy(desc(jobRuns.startedAt), desc(jobRuns.id))
        .limit(input.limit);
    },
    async findRun(id) {
      const [row] = await db.select(columns).from(jobRuns).where(eq(jobRuns.id, id));
      return row ?? null;
    },
    async lastRuns(jobs) {
      if (jobs.length === 0) return new Map();
      const rows = await db
        .selectDistinctOn([jobRuns.job], columns)
        .from(jobRuns)
        .where(inArray(jobRuns.job, [...jobs]))
        .orderBy(jobRuns.job, desc(jobRuns.startedAt), desc(jobRuns.id));
      return new Map(rows.map((row) => [row.job, row]));
    },
    async listLeases() {
      return db.select().from(schedulerLeases).orderBy(schedulerLeases.jobName);
    },
  };
}
