import { randomBytes } from 'node:crypto';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import type { CliCommand } from '../../src/cli/command.js';
import { rotateEncryptionKeyCommand } from '../../src/cli/rotate-encryption-key.command.js';
import { switchesCommand } from '../../src/cli/switches.command.js';
import { openDatabase } from '../../src/db/database.js';
import { createSecretBox } from '../../src/secrets/secret-box.js';
import { createInstallationRepository } from '../../src/shopify/credentials/installation.repository.js';

function capture() {
  const stream = new PassThrough();
  let text = '';
  stream.on('data', (chunk: Buffer) => (text += chunk.toString('utf8')));
  return { stream, text: () => text };
}

async function run(command: CliCommand, args: string[], env: Record<string, string>) {
  const stdout = capture();
  const stderr = capture();
  const code = await command.run(args, { stdout: stdout.stream, stderr: stderr.stream, env, stopSignal: new Promise(() => {}) });
  return { code, stdout: stdout.text(), stderr: stderr.text() };
}

describe('switches and rotate-encryption-key commands', () => {
  it('switches set changes what switches show prints; a bad value is a usage error', async () => {
    const env = { DATA_DIR: await mkdtemp(join(tmpdir(), 'switches-command-')), LOG_LEVEL: 'silent' };
    expect((await run(switchesCommand, ['show'], env)).stdout).toMatch(/^inventory push {2}on {2}\(default\)\norders to ERP {3}on {2}\(default\)\n$/);
    const set = await run(switchesCommand, ['set', '--inventory-push', 'shadow', '--orders-to-erp', 'off'], env);
    expect(set.code).toBe(0);
    expect((await run(switchesCommand, [], env)).stdout).toBe('inventory push  shadow  (set by cli)\norders to ERP   off  (set by cli)\n');
    expect((await run(switchesCommand, ['set', '--inventory-push', 'maybe'], env)).code).toBe(2);
  }, 180_000);

  it('rotate-encryption-key seals every stored token under the new key, after which the old key is not needed', async () => {
    const dataDir = await mkdtemp(join(tmpdir(), 'rotate-command-'));
    const oldKey = randomBytes(32);
    const newKey = randomBytes(32);
    const database = await openDatabase({ dataDir });
    try {
      await database.migrate();
      await createInstallationRepository(database.db, createSecretBox(oldKey)).saveInstall(
        'acme.myshopify.com',
        'authorization_code',
        { accessToken: 'shpat_acme', scopes: [], expiresAt: null, refreshToken: 'shprt_acme', refreshTokenExpiresAt: null },
        new Date(),
      );
    } finally {
      await database.close();
    }
    const env = { DATA_DIR: dataDir, LOG_LEVEL: 'silent', ENCRYPTION_KEY: newKey.toString('base64'), ENCRYPTION_KEY_PREVIOUS: oldKey.toString('base64') };
    const rotated = await run(rotateEncryptionKeyCommand, [], env);
    expect(rotated.code).toBe(0);
    expect(rotated.stdout).toContain('1 of 1 stored Shopify installations re-encrypted');
    const after = await openDatabase({ dataDir });
    try {
      expect(await createInstallationRepository(after.db, createSecretBox(newKey)).find('acme.myshopify.com')).toMatchObject({ accessToken: 'shpat_acme', refreshToken: 'shprt_acme' });
    } finally {
      await after.close();
    }
  }, 180_000);
});
