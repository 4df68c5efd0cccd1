import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

/**
 * The CLI as an operator runs it: a real process (`node --import tsx src/cli.ts`), its exit code,
 * its output and its answer to Ctrl-C.
 */
const root = new URL('../..', import.meta.url).pathname;
const dataDir = mkdtempSync(join(tmpdir(), 'stockbridge-cli-'));
afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

interface Finished {
  code: number | null;
  stdout: string;
  stderr: string;
}

function cli(args: string[], options: { onStdout?: (text: string, child: ReturnType<typeof spawn>) => void } = {}): Promise<Finished> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli.ts', ...args], {
      cwd: root,
      env: { ...process.env, DATA_DIR: join(dataDir, 'data'), DATABASE_URL: '', LOG_LEVEL: 'silent' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
      options.onStdout?.(stdout, child);
    });
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

describe('the operator CLI as a process', () => {
  it('answers --help for every command with its help, exit 0, and runs nothing (no database opened)', async () => {
    const commands = ['migrate', 'api-keys', 'sync', 'webhooks', 'simulate-shopify', 'doctor', 'switches', 'rotate-encryption-key'];
    const results = await Promise.all(commands.map((command) => cli([command, '--help'])));
    commands.forEach((command, index) => {
      const result = results[index]!;
      expect(result.code, `${command} --help: ${result.stderr}`).toBe(0);
      expect(result.stdout).toContain(`usage: ${command}`);
      expect(result.stdout).toContain('--help');
    });
    expect(existsSync(join(dataDir, 'data'))).toBe(false);
  }, 240_000);

  it('lists the commands for help, and refuses an unknown command or option with exit 2', async () => {
    const [overview, about, unknownCommand, unknownOption] = await Promise.all([cli(['help']), cli(['help', 'sync']), cli(['frobnicate']), cli(['migrate', '--force'])]);
    expect(overview.code).toBe(0);
    expect(overview.stdout).toContain('switches');
    expect(about.stdout).toContain('usage: sync');
    expect(unknownCommand.code).toBe(2);
    expect(unknownCommand.stderr).toContain("unknown command 'frobnicate'");
    expect(unknownOption.code).toBe(2);
    expect(unknownOption.stderr).toContain("Unknown option '--force'");
    expect(existsSync(join(dataDir, 'data'))).toBe(false);
  }, 240_000);

  it('stops a long-running command on the first Ctrl-C', async () => {
    let interrupted = false;
    const result = await cli(['simulate-shopify', '--port', '0'], {
      onStdout: (text, child) => {
        if (!interrupted && text.includes('SHOPIFY_API_SECRET=')) {
          interrupted = true;
          child.kill('SIGINT');
        }
      },
    });
    expect(interrupted).toBe(true);
    expect(result.code).toBe(0);
    expect(result.stderr).toContain('stopping');
    expect(result.stdout).toContain('Shopify simulator stopped');
  }, 120_000);
});
