import { sql } from 'drizzle-orm';
import { afterEach, describe, expect, it } from 'vitest';
import { rowsOf } from '../../src/db/database.js';
import { createTestDatabase, testDatabaseKind, type TestDatabase } from '../support/database.js';

describe(`migrations on ${testDatabaseKind}`, () => {
  let database: TestDatabase | undefined;
  afterEach(async () => {
    await database?.close();
    database = undefined;
  });

  it('reports unapplied migrations before migrate and applied after', async () => {
    database = await createTestDatabase({ migrate: false });
    expect(await database.migrationsApplied()).toBe(false);
    await database.migrate();
    expect(await database.migrationsApplied()).toBe(true);
  });

  it('is idempotent: migrating twice changes nothing and keeps data', async () => {
    database = await createTestDatabase();
    await database.db.execute(sql`insert into api_keys (name, prefix, hash, scopes) values ('k', 'abcd1234', 'h', '{read}')`);
    await database.migrate();
    const count = rowsOf<{ n: number }>(await database.db.execute(sql`select count(*)::int as n from api_keys`))[0]?.n;
    expect(count).toBe(1);
    expect(await database.migrationsApplied()).toBe(true);
  });

  it('applies each migration once when two instances migrate at the same time', async () => {
    database = await createTestDatabase({ migrate: false });
    await Promise.all([database.migrate(), database.migrate()]);
    const applied = rowsOf<{ n: number }>(
      await database.db.execute(sql`select count(*)::int as n from drizzle.__drizzle_migrations`),
    )[0]?.n;
    const again = await database.migrationsApplied();
    expect(again).toBe(true);
    expect(applied).toBeGreaterThan(0);
  });
});
