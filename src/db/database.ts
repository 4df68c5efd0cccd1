import { mkdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { PGlite } from '@electric-sql/pglite';
import { sql } from 'drizzle-orm';
import type { PgDatabase, PgQueryResultHKT } from 'drizzle-orm/pg-core';
import { drizzle as drizzlePglite } from 'drizzle-orm/pglite';
import { migrate as migratePglite } from 'drizzle-orm/pglite/migrator';
import { drizzle as drizzlePostgres } from 'drizzle-orm/postgres-js';
import { migrate as migratePostgres } from 'drizzle-orm/postgres-js/migrator';
import postgres from 'postgres';
import { lockEmbeddedDatabase, type EmbeddedDatabaseLock } from './embedded-database-lock.js';
import * as schema from './schema/index.js';

/** The Drizzle handle every repository takes; a transaction handle has the same type. */
export type Db = PgDatabase<PgQueryResultHKT, typeof schema>;

export type DatabaseKind = 'pglite' | 'postgres';

/**
 * One open database: embedded PGlite or a PostgreSQL pool, behind the same Drizzle API, so
 * repositories and migrations are the same code on both.
 */
export interface Database {
  readonly db: Db;
  readonly kind: DatabaseKind;
  /** Applies the committed migrations in drizzle/; safe to call from several instances at once. */
  migrate(): Promise<void>;
  /** Resolves when the database answers a query. */
  ping(): Promise<void>;
  /** True when every migration in drizzle/ has been applied. */
  migrationsApplied(): Promise<boolean>;
  close(): Promise<void>;
  /** PGlite only: a dump of the data directory (to make test templates). */
  dumpPgliteDataDir?: () => Promise<Blob>;
  /**
   * LISTEN on `channel`: `onNotify` gets each NOTIFY's payload (sent by any instance, this one
   * included, at the sender's commit). Resolves with a function that stops listening.
   */
  listen?(channel: string, onNotify: (payload: string) => void): Promise<() => Promise<void>>;
}

export const migrationsFolder = resolve(fileURLToPath(new URL('../../drizzle', import.meta.url)));

/** Any constant: the advisory lock that serialises migrations across instances. */
const MIGRATION_LOCK_KEY = 7_300_421;

function expectedMigrationCount(): number {
  const journal = JSON.parse(readFileSync(join(migrationsFolder, 'meta', '_journal.json'), 'utf8')) as {
    entries: unknown[];
  };
  return journal.entries.length;
}

async function appliedMigrationCount(db: Db): Promise<number> {
  const exists = await db.execute<{ present: boolean }>(
    sql`select to_regclass('drizzle.__drizzle_migrations') is not null as present`,
  );
  if (!rowsOf<{ present: boolean }>(exists)[0]?.present) return 0;
  const result = await db.execute<{ count: number }>(sql`select count(*)::int as count from drizzle.__drizzle_migrations`);
  return rowsOf<{ count: number }>(result)[0]?.count ?? 0;
}

/** postgres.js returns an array of rows; PGlite returns `{ rows }`. */
export function rowsOf<T>(result: unknown): T[] {
  if (Array.isArray(result)) return result as T[];
  return ((result as { rows?: T[] }).rows ?? []) as T[];
}

export interface OpenDatabaseOptions {
  /** PostgreSQL URL; absent = embedded PGlite. */
  databaseUrl?: string | undefined;
  /** Directory for PGlite's files; absent (with no URL) = in memory, for tests. */
  dataDir?: string | undefined;
  /** Pool size for PostgreSQL. */
  maxConnections?: number;
  /** PGlite only: start from this dump of a data directory (tests use a migrated template). */
  pgliteDataDump?: Blob;
}

export async function openDatabase(options: OpenDatabaseOptions): Promise<Database> {
  return options.databaseUrl
    ? openPostgres(options.databaseUrl, options.maxConnections ?? 10)
    : openPglite(options.dataDir, options.pgliteDataDump);
}

/**
 * Runs one migration at a time per process: two callers in one process (PGlite has no second
 * process) would otherwise both see an empty migrations table and both create the tables.
 */
function serialised(run: () => Promise<void>): () => Promise<void> {
  let last: Promise<void> = Promise.resolve();
  return () => {
    const next = last.then(run, run);
    last = next.catch(() => {});
    return next;
  };
}

async function openPglite(dataDir: string | undefined, dump: Blob | undefined): Promise<Database> {
  let client: PGlite;
  let lock: EmbeddedDatabaseLock | undefined;
  if (dataDir) {
    const dir = join(dataDir, 'pglite');
    mkdirSync(dir, { recursive: true });
    lock = lockEmbeddedDatabase(dataDir);
    try {
      client = await PGlite.create(dir);
    } catch (error) {
      lock.release();
      throw error;
    }
  } else {
    client = await PGlite.create(dump ? { loadDataDir: dump } : {});
  }
  const db = drizzlePglite(client, { schema }) as unknown as Db;
  return {
    db,
    kind: 'pglite',
    migrate: serialised(async () => {
      await migratePglite(drizzlePglite(client, { schema }), { migrationsFolder });
    }),
    async ping() {
      await client.query('select 1');
    },
    async migrationsApplied() {
      return (await appliedMigrationCount(db)) >= expectedMigrationCount();
    },
    async close() {
      try {
        if (!client.closed) await client.close();
      } finally {
        lock?.release();
      }
    },
    dumpPgliteDataDir: () => client.dumpDataDir('none'),
    async listen(channel, onNotify) {
      const stop = await client.listen(channel, onNotify);
      return async () => {
        if (!client.closed) await stop();
      };
    },
  };
}

/**
 * Connections set aside for webhook acknowledgements (PostgreSQL only): their inserts are what
 * Shopify waits for, and they must not queue behind the pipeline's transactions for one of the
 * main pool's connections. Two, so one slow commit does not hold the next batch of deliveries.
 * Opened on first use, like the main pool's.
 */
export const ACKNOWLEDGEMENT_CONNECTIONS = 2;

/** One statement's text and parameters run outside Drizzle, on a known connection set. */
export interface StatementRunner {
  /** Whether the statements run on connections of their own (the acknowledgements' reserve). */
  readonly reserved: boolean;
  /** At most this many statements are worth having in flight at once. */
  readonly concurrency: number;
  /**
   * Runs `text` ($1, $2, … placeholders) and resolves with its rows. On PostgreSQL the statement
   * is prepared once per connection: later runs are one round trip (bind and execute) with no
   * parsing or planning, where Drizzle's unnamed statements take two (describe, then execute).
   */
  run<T>(text: string, params: readonly unknown[]): Promise<T[]>;
}

const acknowledgementHandle = Symbol('stockbridge.acknowledgementHandle');

/**
 * How long an acknowledgement's insert may take before its connections are presumed hung. After
 * a database cut, a statement on a postgres.js connection was seen never to come back while the
 * server showed nothing waiting (Issue 17's full runs); with both reserved connections so held,
 * every webhook of the instance queued, then was answered 503, for minutes.
 */
export const ACKNOWLEDGEMENT_TIMEOUT_MS = 10_000;

/** A statement of the acknowledgements' reserve that did not answer in time: read as the database being unreachable (database-errors.ts). */
export class StatementTimedOut extends Error {
  readonly code = 'STATEMENT_TIMEOUT';
  constructor(timeoutMs: number) {
    super(`the database did not answer within ${timeoutMs} ms; its connections are replaced`);
    this.name = 'StatementTimedOut';
  }
}

/**
 * The acknowledgements' reserve as a runner whose statements answer within `timeoutMs`: past it
 * the caller gets StatementTimedOut (the webhook is answered 503, Shopify sends it again; an
 * insert that lands later makes that delivery a duplicate, stored once), and the reserve's
 * connections are replaced by fresh ones, the old set ended in the background, so a hung
 * connection holds no later statement.
 */
export function replacingRunner(open: () => postgres.Sql, concurrency: number, timeoutMs: number): StatementRunner & { end(): Promise<void> } {
  let client = open();
  return {
    reserved: true,
    concurrency,
    async run<T>(text: string, params: readonly unknown[]) {
      const used = client;
      const statement = used.unsafe(text, params as postgres.ParameterOrJSON<never>[], { prepare: true });
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<never>((_, reject) => {
        timer = setTimeout(() => {
          if (client === used) {
            client = open();
            void used.end({ timeout: 1 }).catch(() => undefined);
          }
          reject(new StatementTimedOut(timeoutMs));
        }, timeoutMs);
      });
      statement.catch(() => undefined);
      try {
        return [...(await Promise.race([statement, timeout]))] as T[];
      } finally {
        clearTimeout(timer);
      }
    },
    async end() {
      await client.end({ timeout: 5 });
    },
  };
}

function postgresRunner(client: postgres.Sql): StatementRunner {
  return {
    reserved: false,
    concurrency: 1,
    async run<T>(text: string, params: readonly unknown[]) {
      return [...(await client.unsafe(text, params as postgres.ParameterOrJSON<never>[], { prepare: true }))] as T[];
    },
  };
}

/**
 * Where the webhook inbox stores acknowledged deliveries: on a database opened here on
 * PostgreSQL, the small pool reserved for them (`ACKNOWLEDGEMENT_CONNECTIONS`), which its `db`
 * carries so every module built on it finds it without more wiring; for another handle (a test's
 * or a benchmark's), that handle's own client; on PGlite (one connection) the database itself.
 */
export function acknowledgementStatements(db: Db): StatementRunner {
  const reserve = (db as unknown as { [acknowledgementHandle]?: StatementRunner })[acknowledgementHandle];
  if (reserve) return reserve;
  const client = (db as unknown as { $client: postgres.Sql | PGlite }).$client;
  if (client instanceof PGlite) {
    return {
      reserved: false,
      concurrency: 1,
      async run<T>(text: string, params: readonly unknown[]) {
        return (await client.query<T>(text, [...params])).rows;
      },
    };
  }
  return postgresRunner(client);
}

/** Statements with at most this many parameters are prepared (bounds the cache: see preparingClient). */
const MOST_PARAMETERS_PREPARED = 64;

/**
 * The pool as Drizzle sees it, with its parameterised statements prepared. Drizzle runs every
 * statement unnamed (`prepare: false`), and postgres.js then describes each one before running it
 * to learn its parameters' types: two round trips per statement, each a wait for the server on a
 * busy machine. Named, a statement is described once per connection and then runs in one round
 * trip, with no parsing. Only statements of up to MOST_PARAMETERS_PREPARED parameters are named:
 * a list of n values is a new statement text for each n, and a connection keeps what it prepared
 * until it closes (idle ones close after 30 s). Transactions (`begin`) and savepoints get the
 * same treatment. A pooler in front of PostgreSQL must keep prepared statements (PgBouncer in
 * session mode, or `max_prepared_statements` in transaction mode).
 */
function preparingClient<T extends postgres.Sql | postgres.TransactionSql>(client: T): T {
  return new Proxy(client, {
    get(target, property, receiver) {
      const value: unknown = Reflect.get(target, property, receiver);
      if (typeof value !== 'function') return value;
      if (property === 'unsafe') {
        return (text: string, params?: unknown[], options?: { prepare?: boolean }) => {
          const named = options?.prepare === false && params !== undefined && params.length > 0 && params.length <= MOST_PARAMETERS_PREPARED;
          return (value as postgres.Sql['unsafe']).call(target, text, params as postgres.ParameterOrJSON<never>[], named ? { ...options, prepare: true } : options);
        };
      }
      if (property === 'begin' || property === 'savepoint') {
        return (...args: unknown[]) => {
          const at = args.findIndex((arg) => typeof arg === 'function');
          if (at >= 0) {
            const work = args[at] as (sql: postgres.TransactionSql) => unknown;
            args[at] = (sql: postgres.TransactionSql) => work(preparingClient(sql));
          }
          return (value as (...a: unknown[]) => unknown).apply(target, args);
        };
      }
      return value;
    },
  });
}

async function openPostgres(url: string, max: number): Promise<Database> {
  const client = postgres(url, { max, onnotice: () => {}, connect_timeout: 10, idle_timeout: 30 });
  const db = drizzlePostgres(preparingClient(client), { schema }) as unknown as Db;
  const acknowledgements = replacingRunner(
    () => postgres(url, { max: ACKNOWLEDGEMENT_CONNECTIONS, onnotice: () => {}, connect_timeout: 10, idle_timeout: 30 }),
    ACKNOWLEDGEMENT_CONNECTIONS,
    ACKNOWLEDGEMENT_TIMEOUT_MS,
  );
  Object.defineProperty(db, acknowledgementHandle, { value: acknowledgements });
  return {
    db,
    kind: 'postgres',
    migrate: serialised(async () => {
      // A dedicated single connection holds a session advisory lock for the whole run, so two
      // instances starting together apply each migration once.
      const lockClient = postgres(url, { max: 1, onnotice: () => {}, connect_timeout: 10 });
      try {
        await lockClient`select pg_advisory_lock(${MIGRATION_LOCK_KEY})`;
        await migratePostgres(drizzlePostgres(lockClient), { migrationsFolder });
        await lockClient`select pg_advisory_unlock(${MIGRATION_LOCK_KEY})`;
      } finally {
        await lockClient.end({ timeout: 5 });
      }
    }),
    async ping() {
      await client`select 1`;
    },
    async migrationsApplied() {
      return (await appliedMigrationCount(db)) >= expectedMigrationCount();
    },
    async listen(channel, onNotify) {
      // postgres.js holds one dedicated connection for every LISTEN of the pool, reconnecting it.
      const request = await client.listen(channel, onNotify);
      return () => request.unlisten();
    },
    async close() {
      await Promise.all([client.end({ timeout: 5 }), acknowledgements.end()]);
    },
  };
}
