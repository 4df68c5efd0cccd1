import { setTimeout as sleep } from 'node:timers/promises';
import postgres from 'postgres';
import { afterAll, expect, it } from 'vitest';
import { describeWithPostgres } from '../support/database.js';

/**
 * The database driver's behaviour when PostgreSQL ends a connection under it (a failover, a
 * restart, `pg_terminate_backend`): the query fails with CONNECTION_CLOSED and the process lives.
 * postgres.js 3.4.9 wrote the next query of such a connection to its null socket from a
 * `setImmediate`, an exception no caller can catch, and the gateway exited; the fix is a patch of
 * the driver (scripts/patches, applied by `patch-package` on `npm ci`). PostgreSQL only.
 */
const { DATABASE_URL } = process.env;

describeWithPostgres('postgres.js when the server ends a connection', () => {
  const clients: postgres.Sql[] = [];
  const client = (max: number) => {
    const sql = postgres(DATABASE_URL!, { max, onnotice: () => {} });
    clients.push(sql);
    return sql;
  };
  afterAll(async () => {
    for (const sql of clients) await sql.end({ timeout: 1 });
  });

  it('fails the statements a transaction issues after its connection died (its rollback too) instead of killing the process', async () => {
    const sql = client(1);
    const killer = client(1);
    let pidOf: (pid: number) => void = () => {};
    const pid = new Promise<number>((resolve) => (pidOf = resolve));
    let resume: () => void = () => {};
    const dead = new Promise<void>((resolve) => (resume = resolve));
    const after: unknown[] = [];
    const transaction = sql
      .begin(async (tx) => {
        const [row] = await tx<{ pid: number }[]>`select pg_backend_pid() as pid`;
        pidOf(row!.pid);
        await dead;
        // The body goes on after the connection is gone, as an application's code does until
        // it sees the failure: its statement and then the driver's rollback reach the dead connection.
        after.push(await tx`select 1`.then(() => 'answered', (error: { code?: string }) => error.code));
        throw new Error('the body gives up');
      })
      .then(() => 'committed', (error: { code?: string }) => error.code);
    await killer`select pg_terminate_backend(${await pid})`;
    // The driver fails the transaction as soon as it sees the close.
    expect(await transaction).toBe('CONNECTION_CLOSED');
    resume();
    await expect.poll(() => after).toEqual(['CONNECTION_CLOSED']);
    // The writes that used to throw run from an immediate after this turn: give them a few.
    await sleep(100);
    // The pool's one connection comes back for the next caller.
    expect((await sql<{ x: number }[]>`select 2 as x`)[0]!.x).toBe(2);
  });
});
