import { spawn, spawnSync } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { EmbeddedDatabaseInUseError, lockEmbeddedDatabase } from '../../src/db/embedded-database-lock.js';

const root = resolve(import.meta.dirname, '../..');
const tsx = join(root, 'node_modules/.bin/tsx');
const directories: string[] = [];

async function dataDir(): Promise<string> {
  const directory = await mkdtemp(join(tmpdir(), 'embedded-lock-'));
  directories.push(directory);
  return directory;
}

afterEach(async () => {
  await Promise.all(directories.splice(0).map((directory) => rm(directory, { recursive: true, force: true })));
});

describe('the embedded database lock', () => {
  it('refuses a second opener of the same directory, in this process too, until the first releases it', async () => {
    const directory = await dataDir();
    const first = lockEmbeddedDatabase(directory);
    expect(() => lockEmbeddedDatabase(directory)).toThrow(EmbeddedDatabaseInUseError);
    try {
      lockEmbeddedDatabase(directory);
    } catch (error) {
      expect((error as EmbeddedDatabaseInUseError).code).toBe('EMBEDDED_DATABASE_IN_USE');
      expect((error as EmbeddedDatabaseInUseError).ownerPid).toBe(process.pid);
    }
    first.release();
    const second = lockEmbeddedDatabase(directory);
    second.release();
  });

  it('takes over a lock left by a process that no longer runs', async () => {
    const directory = await dataDir();
    const gone = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' });
    await writeFile(join(directory, 'stockbridge.pid'), `${gone.stdout}\n`);
    const lock = lockEmbeddedDatabase(directory);
    expect((await readFile(join(directory, 'stockbridge.pid'), 'utf8')).trim()).toBe(String(process.pid));
    lock.release();
  });

  it('takes over a lock naming our own pid that this process does not hold (a restarted container)', async () => {
    const directory = await dataDir();
    await writeFile(join(directory, 'stockbridge.pid'), `${process.pid}\n`);
    const lock = lockEmbeddedDatabase(directory);
    lock.release();
  });

  it('a CLI command against a running gateway’s embedded database explains itself in one line, and the gateway is unharmed', async () => {
    const directory = await dataDir();
    // The demo: no DATABASE_URL (embedded database) and the simulated ERP, whatever the suite runs with.
    const { DATABASE_URL: _database, ERP_URL: _erp, ...inherited } = process.env;
    const env = { ...inherited, DATA_DIR: directory, PORT: '0', LOG_LEVEL: 'silent' };
    const gateway = spawn(tsx, ['src/main.ts'], { cwd: root, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    gateway.stdout.on('data', (chunk: Buffer) => (out += chunk.toString('utf8')));
    gateway.stderr.on('data', (chunk: Buffer) => (out += chunk.toString('utf8')));
    try {
      await expect.poll(() => out, { timeout: 150_000, interval: 200 }).toMatch(/API key:\s+\S+/);
      const graphqlUrl = /GraphQL:\s+(\S+)/.exec(out)![1]!;
      const key = /API key:\s+(\S+)/.exec(out)![1]!;

      const cli = spawnSync(tsx, ['src/cli.ts', 'api-keys', 'list'], { cwd: root, env, encoding: 'utf8', timeout: 120_000 });
      expect(cli.status).not.toBe(0);
      const lines = cli.stderr.trim().split('\n');
      expect(lines).toHaveLength(1);
      expect(lines[0]).toContain(`The embedded database in ${directory} is in use`);
      expect(lines[0]).toContain('DATABASE_URL');

      const answer = await fetch(graphqlUrl, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${key}` },
        body: JSON.stringify({ query: '{ locations { code } }' }),
      });
      expect(answer.status).toBe(200);
      const body = (await answer.json()) as { data?: { locations: unknown[] } };
      expect(body.data?.locations.length).toBeGreaterThan(0);
    } finally {
      const exited = new Promise((resolve) => gateway.once('exit', resolve));
      gateway.kill('SIGTERM');
      await exited;
    }
  }, 240_000);
});
