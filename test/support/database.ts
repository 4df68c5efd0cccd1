import { createHash, randomBytes } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import postgres from 'postgres';
import { describe, expect } from 'vitest';
import { migrationsFolder, openDatabase, type Database } from '../../src/db/database.js';

/**
 * The database a test runs against: PostgreSQL when DATABASE_URL is set (CI runs the suite
 * once that way), embedded in-memory PGlite otherwise. Each call makes a fresh, migrated,
 * private database, so tests own their data and never collide.
 */
export const testDatabaseKind = process.env.DATABASE_URL ? 'postgres' : 'pglite';

export interface TestDatabase extends Database {
  /** The URL of this private database (PostgreSQL only), for a second "instance". */
  readonly url: string | undefined;
}

export async function createTestDatabase(options: { migrate?: boolean } = {}): Promise<TestDatabase> {
  const adminUrl = process.env.DATABASE_URL;
  if (!adminUrl) {
    // A migrated template, dumped once per machine and migration set, saves PGlite's initdb and
    // the migrations on every test database (seconds each on two cores).
    const database = await openDatabase({ pgliteDataDump: await pgliteTemplate(options.migrate === false ? 'empty' : 'migrated') });
    if (options.migrate !== false) await database.migrate();
    return Object.assign(database, { url: undefined });
  }
  const name = `sb_test_${randomBytes(6).toString('hex')}`;
  const admin = postgres(adminUrl, { max: 1, onnotice: () => {} });
  await admin.unsafe(`create database ${name}`);
  await admin.end();
  const url = withDatabaseName(adminUrl, name);
  const database = await openDatabase({ databaseUrl: url, maxConnections: 20 });
  if (options.migrate !== false) await database.migrate();
  const close = database.close.bind(database);
  return Object.assign(database, {
    url,
    async close() {
      await close();
      const dropper = postgres(adminUrl, { max: 1, onnotice: () => {} });
      await dropper.unsafe(`drop database if exists ${name} with (force)`);
      await dropper.end();
    },
  });
}

const templatePromises = new Map<'empty' | 'migrated', Promise<Blob>>();

/**
 * A dumped PGlite data directory, cached in the temp folder per migration set: an empty one
 * (after initdb only) and a migrated one. Loading a dump takes a fraction of initdb's time.
 */
function pgliteTemplate(kind: 'empty' | 'migrated'): Promise<Blob> {
  const existing = templatePromises.get(kind);
  if (existing) return existing;
  const promise = (async () => {
    const hash = createHash('sha256').update(kind);
    for (const file of readdirSync(migrationsFolder, { recursive: true }).map(String).sort()) {
      const path = join(migrationsFolder, file);
      if (kind === 'migrated' && statSync(path).isFile()) hash.update(file).update(readFileSync(path));
    }
    const cached = join(tmpdir(), `stockbridge-pglite-template-${hash.digest('hex').slice(0, 16)}.tar`);
    if (existsSync(cached)) return new Blob([readFileSync(cached)]);
    const database = await openDatabase({});
    if (kind === 'migrated') await database.migrate();
    const dump = await database.dumpPgliteDataDir!();
    await database.close();
    const partial = `${cached}.${process.pid}.tmp`;
    writeFileSync(partial, Buffer.from(await dump.arrayBuffer()));
    renameSync(partial, cached);
    return dump;
  })();
  templatePromises.set(kind, promise);
  return promise;
}

/** Opens another pool on the same PostgreSQL database: a second gateway instance. */
export async function openSecondInstance(database: TestDatabase): Promise<Database> {
  if (!database.url) throw new Error('a second instance needs PostgreSQL (DATABASE_URL)');
  return openDatabase({ databaseUrl: database.url, maxConnections: 20 });
}

export function withDatabaseName(url: string, name: string): string {
  const parsed = new URL(url);
  parsed.pathname = `/${name}`;
  return parsed.toString();
}

/** `describe` for suites that need a real PostgreSQL; reported as skipped without DATABASE_URL. */
export const describeWithPostgres = process.env.DATABASE_URL ? describe : describe.skip;

/**
 * Resolves once some session of `sql`'s database waits for a row lock (PostgreSQL): for lock
 * tests that start a statement meant to block and then look at what it holds meanwhile.
 */
export async function untilSomeoneWaitsForALock(sql: postgres.Sql): Promise<void> {
  await expect
    .poll(async () => (await sql<{ n: number }[]>`select count(*)::int as n from pg_stat_activity where datname = current_database() and wait_event_type = 'Lock'`)[0]!.n)
    .toBeGreaterThan(0);
}
