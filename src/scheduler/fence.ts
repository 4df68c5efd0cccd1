import { sql } from 'drizzle-orm';
import type { Db } from '../db/database.js';
import { schedulerLeases } from '../db/schema/index.js';
import { AppError } from '../shared/errors.js';

/**
 * A scheduler run's fencing token: the job and the number its lease acquisition drew. Tokens of
 * one job only ever increase, so a newer holder always holds a larger number.
 */
export interface JobFence {
  readonly job: string;
  readonly token: number;
}

/** The code of every write refused because its run no longer holds the job's lease. */
export const JOB_LEASE_LOST = 'JOB_LEASE_LOST';

export function leaseLostError(fence: JobFence, what: string): AppError {
  return new AppError(JOB_LEASE_LOST, `job ${fence.job} no longer holds its lease (token ${fence.token}): ${what} refused`, {
    job: fence.job,
    fence: fence.token,
  });
}

/**
 * Checks, inside the caller's transaction, that the run holding `fence` still holds the job's
 * lease (same token, not expired), and locks the lease row in share mode until the transaction
 * ends. A takeover (an UPDATE of that row) therefore waits for the caller's commit and then sees
 * the write; a holder frozen past its lease finds the row changed and writes nothing.
 * Throws `JOB_LEASE_LOST` otherwise.
 */
export async function assertFenceHeld(tx: Db, fence: JobFence, what: string): Promise<void> {
  const rows = await tx
    .select({ fence: schedulerLeases.fence })
    .from(schedulerLeases)
    .where(sql`${schedulerLeases.jobName} = ${fence.job} and ${schedulerLeases.fence} = ${fence.token} and ${schedulerLeases.leaseExpiresAt} > now()`)
    .for('share');
  if (rows.length === 0) throw leaseLostError(fence, what);
}
