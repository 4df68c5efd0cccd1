import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import postgres from 'postgres';
import { createDatabaseCutter, type DatabaseCutter } from '../chaos/database-cutter.js';

/**
 * The run's own database: a fresh PostgreSQL database on the DATABASE_URL server, whose
 * connections the server can cut (`cutter`; dropped afterwards unless kept), or an embedded
 * PGlite data directory in a temporary folder (one instance, no cut).
 */
export interface RunDatabase {
  /** What the gateways get as DATABASE_URL, or DATA_DIR for PGlite. */
  readonly gatewayEnv: Record<string, string>;
  /** What the CLI gets (the same database). */
  readonly cliEnv: Record<string, string>;
  readonly name: string;
  readonly cutter: DatabaseCutter | undefined;
  close(keep: boolean): Promise<void>;
}

export async function createRunDatabase(databaseUrl: string | undefined): Promise<RunDatabase> {
  if (!databaseUrl) {
    const dataDir = await mkdtemp(join(tmpdir(), 'stockbridge-black-friday-'));
    return {
      gatewayEnv: { DATA_DIR: dataDir },
      cliEnv: { DATA_DIR: dataDir },
      name: dataDir,
      cutter: undefined,
      close: async (keep) => {
        if (!keep) await rm(dataDir, { recursive: true, force: true });
      },
    };
  }
  const name = `sb_black_friday_${randomBytes(5).toString('hex')}`;
  const admin = postgres(databaseUrl, { max: 1, onnotice: () => {} });
  try {
    await admin.unsafe(`create database ${name}`);
  } finally {
    await admin.end();
  }
  const direct = new URL(databaseUrl);
  direct.pathname = `/${name}`;
  const cutter = createDatabaseCutter({ adminUrl: databaseUrl, database: name });
  return {
    gatewayEnv: { DATABASE_URL: direct.toString() },
    cliEnv: { DATABASE_URL: direct.toString() },
    name,
    cutter,
    close: async (keep) => {
      await cutter.close();
      if (keep) return;
      const dropper = postgres(databaseUrl, { max: 1, onnotice: () => {} });
      try {
        await dropper.unsafe(`drop database if exists ${name} with (force)`);
      } finally {
        await dropper.end();
      }
    },
  };
}

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');

/** Runs a Stockbridge CLI command as its own process (node with tsx); resolves with its stdout, rejects on a non-zero exit. */
export function runCli(args: readonly string[], env: Record<string, string>): Promise<string> {
  return new Promise((resolveRun, reject) => {
    const { DATABASE_URL: _ignored, ...inherited } = process.env;
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli.ts', ...args], { cwd: root, env: { ...inherited, LOG_LEVEL: 'warn', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString('utf8')));
    child.stderr.on('data', (chunk: Buffer) => (err += chunk.toString('utf8')));
    child.once('error', reject);
    child.once('exit', (code) => (code === 0 ? resolveRun(out) : reject(new Error(`stockbridge ${args[0]} exited ${code}: ${err.slice(-2_000)}`))));
  });
}
