/**
 * A PostgreSQL database whose every SQL statement is counted, for benchmarks that report
 * statements per operation (steadier than rates on a loaded machine). The handle is a second
 * Drizzle instance on the same postgres.js pool with a query logger; a transaction adds its BEGIN
 * and COMMIT (two statements), which the logger does not see. Everything else (migrations,
 * LISTEN, close) is the original database's.
 */
import { drizzle } from 'drizzle-orm/postgres-js';
import type postgres from 'postgres';
import type { Database, Db } from '../../src/db/database.js';
import * as schema from '../../src/db/schema/index.js';

export function countStatements(database: Database): { database: Database; statements: () => number; texts: Map<string, number> } {
  if (database.kind !== 'postgres') throw new Error('countStatements: PostgreSQL only');
  let statements = 0;
  // The statements' texts (the first 100 characters) and how often each was sent: where they come from.
  const texts = new Map<string, number>();
  const pool = (database.db as unknown as { $client: postgres.Sql }).$client;
  const db = drizzle(pool, { schema, logger: { logQuery: (query: string) => {
    statements += 1;
    const text = query.slice(0, 100);
    texts.set(text, (texts.get(text) ?? 0) + 1);
  } } }) as unknown as Db;
  const transaction = db.transaction.bind(db);
  (db as { transaction: Db['transaction'] }).transaction = ((work, config) => {
    statements += 2;
    return transaction(work, config);
  }) as Db['transaction'];
  return { database: Object.assign(Object.create(database) as Database, { db }), statements: () => statements, texts };
}
