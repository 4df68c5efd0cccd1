import postgres from 'postgres';
import { afterAll, expect, it } from 'vitest';
import { isDatabaseUnavailable } from '../../src/db/database-errors.js';
import { replacingRunner, StatementTimedOut } from '../../src/db/database.js';
import { describeWithPostgres } from '../support/database.js';

/**
 * The webhook acknowledgements' reserve of connections (src/db/database.ts): a statement that
 * does not answer in time fails its caller as "database unreachable" (the webhook is answered
 * 503 and sent again), and the reserve's connections are replaced, so the hung one holds no
 * later statement. A full run showed what happens otherwise: after a database cut, an instance
 * answered every webhook 503 for two minutes. PostgreSQL only.
 */
const { DATABASE_URL } = process.env;

describeWithPostgres('the acknowledgements\u2019 reserve of connections', () => {
  const opened: postgres.Sql[] = [];
  // One connection: a statement hung on it would hold every later one behind it.
  const runner = replacingRunner(
    () => {
      const sql = postgres(DATABASE_URL!, { max: 1, onnotice: () => {} });
      opened.push(sql);
      return sql;
    },
    1,
    300,
  );
  afterAll(async () => {
    for (const sql of opened) await sql.end({ timeout: 1 });
  });

  it('fails a statement that does not answer in time as the database being unreachable, and runs the next one on fresh connections', async () => {
    expect(await runner.run<{ n: number }>('select $1::int as n', [1])).toEqual([{ n: 1 }]);
    expect(opened).toHaveLength(1);

    const hung = runner.run('select pg_sleep(60)', []);
    const error = await hung.then(
      () => null,
      (reason: unknown) => reason,
    );
    expect(error).toBeInstanceOf(StatementTimedOut);
    expect(isDatabaseUnavailable(error)).toBe(true);
    expect(opened).toHaveLength(2);

    // Not queued behind the sleeping statement (60 s, past this test's time limit): it answers on the new connection.
    expect(await runner.run<{ n: number }>('select $1::int as n', [2])).toEqual([{ n: 2 }]);
    expect(opened).toHaveLength(2);
  }, 30_000);
});
