import { sql } from 'drizzle-orm';
import { afterAll, expect, it } from 'vitest';
import { isDatabaseUnavailable } from '../../../src/db/database-errors.js';
import { openDatabase, type Database } from '../../../src/db/database.js';
import { createDatabaseCutter, type DatabaseCutter } from '../../../src/simulators/chaos/database-cutter.js';
import { createTestDatabase, describeWithPostgres, type TestDatabase } from '../../support/database.js';

/**
 * The db-cut fault: PostgreSQL itself ends every connection to the run's database and refuses new
 * ones for a while. A gateway's pool sees DATABASE_UNAVAILABLE (retryable) and reconnects after.
 */
describeWithPostgres('database cutter', () => {
  let database: TestDatabase;
  let gateway: Database;
  let cutter: DatabaseCutter;
  afterAll(async () => {
    await cutter?.close();
    await gateway?.close();
    await database?.close();
  });

  const failure = (run: () => Promise<unknown>) => run().then(
    () => null,
    (error: unknown) => error,
  );

  it('ends every connection, refuses new ones for the window (DATABASE_UNAVAILABLE), then lets the pool reconnect', async () => {
    database = await createTestDatabase({ migrate: false });
    const name = new URL(database.url!).pathname.slice(1);
    gateway = await openDatabase({ databaseUrl: database.url!, maxConnections: 4 });
    await gateway.db.execute(sql`select 1`);
    cutter = createDatabaseCutter({ adminUrl: process.env.DATABASE_URL!, database: name });

    const cut = await cutter.cut(1_500);
    expect(cut).toBeGreaterThanOrEqual(1);
    // The open connection was ended and a new one is refused: either way, unavailable.
    const during = await failure(() => gateway.db.execute(sql`select 1`));
    expect(during).not.toBeNull();
    expect(isDatabaseUnavailable(during)).toBe(true);
    const refused = await failure(() => gateway.db.execute(sql`select 1`));
    expect(String((refused as { message?: string; cause?: { message?: string } }).cause?.message ?? (refused as Error).message)).toMatch(/not currently accepting connections/);
    expect(isDatabaseUnavailable(refused)).toBe(true);

    await new Promise((wait) => setTimeout(wait, 1_700));
    // A pooled connection that died with the cut may fail once more; the pool then reconnects.
    let rows: { one: number }[] = [];
    for (let attempt = 0; attempt < 4 && rows.length === 0; attempt++) {
      rows = await gateway.db.execute(sql`select 1 as one`).then(
        (result) => result as unknown as { one: number }[],
        () => [],
      );
    }
    expect(rows[0]?.one).toBe(1);
    expect(cutter.counts.cuts).toBe(1);
  });
});
