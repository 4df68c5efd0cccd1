import { createServer } from 'node:net';
import { sql } from 'drizzle-orm';
import { GraphQLError } from 'graphql';
import { afterAll, describe, expect, it } from 'vitest';
import { openDatabase } from '../../src/db/database.js';
import { isDatabaseUnavailable } from '../../src/db/database-errors.js';
import { formatGraphQLError } from '../../src/http/graphql-errors.js';
import { createTestDatabase, describeWithPostgres, type TestDatabase } from '../support/database.js';

/** A port nothing listens on: taken, then given back. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return typeof address === 'object' && address ? address.port : 1;
}

/** What a client of /graphql reads when a resolver met `thrown`. */
function answered(thrown: unknown) {
  const wrapped = new GraphQLError('failed', { path: ['products'], originalError: thrown as Error });
  return formatGraphQLError({ message: 'failed', path: ['products'], extensions: { code: 'INTERNAL_SERVER_ERROR' } }, wrapped);
}

async function failure(work: () => Promise<unknown>): Promise<unknown> {
  try {
    await work();
  } catch (error) {
    return error;
  }
  throw new Error('expected the work to fail');
}

describe('a database that cannot be reached', () => {
  it('is told apart from a failed statement, through drizzle’s wrapping, and answered as retryable DATABASE_UNAVAILABLE', async () => {
    const unreachable = await openDatabase({ databaseUrl: `postgres://postgres@127.0.0.1:${await closedPort()}/test`, maxConnections: 1 });
    try {
      const refused = await failure(() => unreachable.db.execute(sql`select 1`));
      expect(isDatabaseUnavailable(refused)).toBe(true);
      const answer = answered(refused);
      expect(answer.extensions).toEqual({ code: 'DATABASE_UNAVAILABLE' });
      expect(answer.message).not.toMatch(/127\.0\.0\.1|select/);
    } finally {
      await unreachable.close().catch(() => undefined);
    }
  });

  describe('on a reachable database', () => {
    let database: TestDatabase;
    afterAll(async () => database?.close());

    it('a statement that fails is still an internal error', async () => {
      database = await createTestDatabase({ migrate: false });
      const broken = await failure(() => database.db.execute(sql`select * from no_such_table`));
      expect(isDatabaseUnavailable(broken)).toBe(false);
      expect(answered(broken).extensions).toEqual({ code: 'INTERNAL_SERVER_ERROR' });
    });
  });

  describeWithPostgres('PostgreSQL ending the connection (admin shutdown, 57P01)', () => {
    let database: TestDatabase;
    afterAll(async () => database?.close());

    it('is DATABASE_UNAVAILABLE, and the next statement runs on a new connection', async () => {
      database = await createTestDatabase({ migrate: false });
      const cut = await failure(() => database.db.execute(sql`select pg_terminate_backend(pg_backend_pid())`));
      expect(isDatabaseUnavailable(cut)).toBe(true);
      expect(answered(cut).extensions).toEqual({ code: 'DATABASE_UNAVAILABLE' });
      const rows = (await database.db.execute(sql`select 1 as one`)) as unknown as { one: number }[];
      expect(rows[0]?.one).toBe(1);
    });
  });
});
