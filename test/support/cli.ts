import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { afterAll, beforeAll } from 'vitest';
import type { CliCommand, CliIo } from '../../src/cli/command.js';
import type { DemoEnvironment } from '../../src/demo/demo-environment.js';

/** A stream that keeps what was written to it, as text. */
export function capture(): { stream: PassThrough; text: () => string } {
  const stream = new PassThrough();
  let text = '';
  stream.on('data', (chunk: Buffer) => (text += chunk.toString('utf8')));
  return { stream, text: () => text };
}

export interface CommandRun {
  code: number;
  stdout: string;
  stderr: string;
}

/**
 * Runs a CLI command in-process with captured stdout and stderr and a stop signal that never
 * fires; `io` adds to (or replaces) the rest, e.g. `progressEveryMs`.
 */
export async function runCommand(command: CliCommand, args: string[], env: CliIo['env'], io: Partial<Omit<CliIo, 'stdout' | 'stderr' | 'env'>> = {}): Promise<CommandRun> {
  const stdout = capture();
  const stderr = capture();
  const code = await command.run(args, { stdout: stdout.stream, stderr: stderr.stream, env, stopSignal: new Promise(() => {}), ...io });
  return { code, stdout: stdout.text(), stderr: stderr.text() };
}

/** The environment of a command run on an embedded database in `dataDir`, logging nothing. */
export function dataDirEnv(dataDir: string): Record<string, string> {
  return { LOG_LEVEL: 'silent', DATA_DIR: dataDir };
}

/**
 * A temporary data directory for the whole file: made in a `beforeAll` registered by this call
 * (so before the caller's own), removed after all tests. `path()` gives it once made.
 */
export function useTempDataDir(prefix: string): { path: () => string } {
  let dir: string | undefined;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), prefix));
  });
  afterAll(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });
  return {
    path: () => {
      if (!dir) throw new Error('the temporary data directory is made in beforeAll');
      return dir;
    },
  };
}

/** The environment of a command that reaches a simulated store started by the test, with the simulated demo ERP. */
export function simulatedStoreEnv(store: DemoEnvironment, dataDir: string): Record<string, string> {
  return {
    SHOPIFY_SHOP: store.shopify.shopDomain,
    SHOPIFY_ACCESS_TOKEN: store.shopify.accessToken,
    SHOPIFY_API_SECRET: store.shopify.apiSecret,
    SHOPIFY_ADMIN_URL: store.shopify.adminUrl,
    ERP_CONNECTOR: 'simulated',
    DATA_DIR: dataDir,
    LOG_LEVEL: 'silent',
  };
}
