import { bigint, index, jsonb, pgTable, text, timestamp, uuid } from 'drizzle-orm/pg-core';

/**
 * One lease row per job: the scheduler's shared state across every instance on one database.
 *
 * An instance runs a job only after winning an atomic conditional UPDATE of this row (lease free
 * or expired, and `next_run_at` reached, both judged by the database's clock), and renews
 * `lease_expires_at` while the run lasts. A crashed instance stops renewing, so its lease expires
 * and another instance takes the job over. `run_id` names the run holding the lease, so a renewal
 * or release by a run that lost its lease changes nothing.
 *
 * `fence` is the fencing token: raised by one at every acquisition, so each run holds a number
 * no earlier run held. Writes a job makes to shared state (watermarks, sync runs) state the
 * token and are refused once a newer holder exists or the lease lapsed.
 */
export const schedulerLeases = pgTable('scheduler_leases', {
  jobName: text('job_name').primaryKey(),
  /** Instance id of the holder; null when free. */
  leasedBy: text('leased_by'),
  leaseExpiresAt: timestamp('lease_expires_at', { withTimezone: true }),
  /** The run that holds the lease (a `job_runs.id`); null when free. */
  runId: uuid('run_id'),
  /** The fencing token of the current (or last) holder; only ever increases. */
  fence: bigint('fence', { mode: 'number' }).notNull().default(0),
  nextRunAt: timestamp('next_run_at', { withTimezone: true }).notNull().defaultNow(),
  lastStartedAt: timestamp('last_started_at', { withTimezone: true }),
  lastFinishedAt: timestamp('last_finished_at', { withTimezone: true }),
  /** Status of the last finished run (see `jobRunStatuses`). */
  lastStatus: text('last_status'),
  /** When a run last succeeded, on any instance (the "age of the last success" metric). */
  lastSucceededAt: timestamp('last_succeeded_at', { withTimezone: true }),
});

export const jobRunStatuses = ['RUNNING', 'SUCCEEDED', 'FAILED', 'TIMED_OUT', 'ABANDONED'] as const;
export type JobRunStatus = (typeof jobRunStatuses)[number];

/** Every run of every job, on any instance: what ran where, when, and how it ended. */
export const jobRuns = pgTable(
  'job_runs',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    job: text('job').notNull(),
    instance: text('instance').notNull(),
    /** The `next_run_at` the run was due at (for a manual run: when it was asked for). */
    scheduledAt: timestamp('scheduled_at', { withTimezone: true }).notNull(),
    startedAt: timestamp('started_at', { withTimezone: true }).notNull().defaultNow(),
    finishedAt: timestamp('finished_at', { withTimezone: true }),
    status: text('status', { enum: jobRunStatuses }).notNull(),
    /** The fencing token the run held (see `scheduler_leases.fence`). */
    fence: bigint('fence', { mode: 'number' }),
    /** `{ code, message }` of a run that did not succeed. */
    error: jsonb('error').$type<{ code: string; message: string }>(),
    /** What the job returned (counts and the like), for operators. */
    result: jsonb('result').$type<Record<string, unknown>>(),
  },
  (table) => [
    index('job_runs_job_started_idx').on(table.job, table.startedAt),
    index('job_runs_started_idx').on(table.startedAt),
  ],
);
