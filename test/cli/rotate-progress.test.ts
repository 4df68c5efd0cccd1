import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rotateEncryptionKeyCommand } from '../../src/cli/rotate-encryption-key.command.js';
import { openDatabase, type Database } from '../../src/db/database.js';
import { createSecretBox } from '../../src/secrets/secret-box.js';
import { createInstallationRepository } from '../../src/shopify/credentials/installation.repository.js';
import { createTestDatabase } from '../support/database.js';

/**
 * `rotate-encryption-key` over many stored installations: progress lines on stderr while its one
 * transaction runs (none with --json), and Ctrl-C rolling the whole rotation back. On the
 * embedded database in a data directory, or on a private PostgreSQL database with DATABASE_URL.
 */
const INSTALLATIONS = 600;
const oldKey = randomBytes(32);
const newKey = randomBytes(32);
let scratch: string;
let where: Record<string, string>;
let dropDatabase: () => Promise<void> = async () => {};

async function open(): Promise<Database> {
  return openDatabase(where.DATABASE_URL ? { databaseUrl: where.DATABASE_URL } : { dataDir: where.DATA_DIR! });
}

beforeAll(async () => {
  scratch = await mkdtemp(join(tmpdir(), 'rotate-progress-'));
  if (process.env.DATABASE_URL) {
    const database = await createTestDatabase();
    where = { DATABASE_URL: database.url! };
    dropDatabase = () => database.close();
  } else {
    where = { DATA_DIR: join(scratch, 'data') };
  }
  const database = await open();
  try {
    await database.migrate();
    const installations = createInstallationRepository(database.db, createSecretBox(oldKey));
    for (let index = 0; index < INSTALLATIONS; index++) {
      const shop = `shop-${index}.myshopify.com`;
      await installations.saveInstall(shop, 'authorization_code', { accessToken: `shpat_${index}`, scopes: [], expiresAt: null, refreshToken: `shprt_${index}`, refreshTokenExpiresAt: null }, new Date());
    }
  } finally {
    await database.close();
  }
}, 300_000);

afterAll(async () => {
  await dropDatabase();
  if (scratch) await rm(scratch, { recursive: true, force: true });
});

async function rotate(args: string[], options: { onStderr?: (text: string) => void; signal?: AbortSignal } = {}) {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  let out = '';
  let err = '';
  stdout.on('data', (chunk: Buffer) => (out += chunk.toString('utf8')));
  stderr.on('data', (chunk: Buffer) => {
    err += chunk.toString('utf8');
    options.onStderr?.(err);
  });
  const env = { ...where, LOG_LEVEL: 'silent', ENCRYPTION_KEY: newKey.toString('base64'), ENCRYPTION_KEY_PREVIOUS: oldKey.toString('base64') };
  const code = await rotateEncryptionKeyCommand.run(args, { stdout, stderr, env, stopSignal: new Promise(() => {}), signal: options.signal, progressEveryMs: 5 });
  return { code, stdout: out, stderr: err };
}

/** How many installations open under the new key alone. */
async function underNewKey(): Promise<number> {
  const database = await open();
  try {
    const installations = createInstallationRepository(database.db, createSecretBox(newKey));
    let count = 0;
    for (let index = 0; index < INSTALLATIONS; index += 37) {
      const found = await installations.find(`shop-${index}.myshopify.com`).catch(() => null);
      if (found?.accessToken === `shpat_${index}`) count += 1;
    }
    return count;
  } finally {
    await database.close();
  }
}

const sampled = Math.ceil(INSTALLATIONS / 37);

describe('rotate-encryption-key on many installations', () => {
  it('Ctrl-C while it runs rolls the whole rotation back', async () => {
    const controller = new AbortController();
    const stopped = await rotate([], {
      signal: controller.signal,
      onStderr: (text) => {
        if (text.includes('installations checked') && !controller.signal.aborted) controller.abort(new Error('SIGINT received'));
      },
    });
    expect(stopped.code, stopped.stderr).toBe(1);
    expect(stopped.stderr).toContain('stopped; the transaction was rolled back, nothing changed');
    expect(stopped.stdout).toBe('');
    expect(await underNewKey()).toBe(0);
  }, 300_000);

  it('prints periodic progress with counts and rate on stderr, then the result', async () => {
    const done = await rotate([]);
    expect(done.code, done.stderr).toBe(0);
    expect(done.stdout).toContain(`${INSTALLATIONS} of ${INSTALLATIONS} stored Shopify installations re-encrypted`);
    const lines = done.stderr.split('\n').filter(Boolean);
    expect(lines.length).toBeGreaterThanOrEqual(1);
    // A line printed while the rows are still being read has no total yet ("… 0 installations checked").
    for (const line of lines) expect(line).toMatch(/^ {2}… \d+ (of 600 )?installations checked( \(\d+%\))?, [\d.,]+\/s; \d+ re-encrypted$/);
    expect(lines.some((line) => / of 600 installations checked \(\d+%\)/.test(line)) || lines.length === 1).toBe(true);
    const checked = lines.map((line) => Number(/… (\d+)/.exec(line)![1]));
    expect(checked).toEqual([...checked].sort((a, b) => a - b));
    expect(await underNewKey()).toBe(sampled);
  }, 300_000);

  it('with --json prints no progress, only the counts as JSON (nothing left to re-encrypt)', async () => {
    const again = await rotate(['--json']);
    expect(again.code).toBe(0);
    expect(again.stderr).toBe('');
    expect(JSON.parse(again.stdout)).toMatchObject({ rows: INSTALLATIONS, resealed: 0, removePreviousKey: true });
  }, 300_000);
});
