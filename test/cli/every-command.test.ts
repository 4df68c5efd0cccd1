import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { afterAll, describe, expect, it } from 'vitest';
import { commands } from '../../src/cli.js';
import type { CliCommand, CliIo } from '../../src/cli/command.js';

/**
 * Every command the CLI registers (src/cli.ts), and each of its actions, answers `--help` with
 * its usage and examples and does nothing else, and refuses an unknown flag with exit 2 and a
 * one-line message, in this process through the command layer (test/cli/cli-process.test.ts
 * checks a few as real processes). A new command or action is covered by being registered.
 */
const root = new URL('../..', import.meta.url).pathname;
const scratch = mkdtempSync(join(tmpdir(), 'every-command-'));
const dataDir = join(scratch, 'data');
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

/** The environment a command would act in: an embedded database in a directory that does not exist yet. */
function capture(): { io: CliIo; out: () => string; err: () => string } {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  let out = '';
  let err = '';
  stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
  stderr.on('data', (chunk: Buffer) => (err += chunk.toString()));
  return { io: { stdout, stderr, env: { DATA_DIR: dataDir, LOG_LEVEL: 'silent' }, stopSignal: new Promise(() => {}) }, out: () => out, err: () => err };
}

/** Listening servers and open sockets of this process: a command that started one leaves one more. */
function openHandles(): number {
  return process.getActiveResourcesInfo().filter((kind) => kind === 'TCPServerWrap' || kind === 'TCPSocketWrap' || kind === 'PipeWrap').length;
}

/** `alerts` and `alerts ack`, … : the command alone and with each of its actions. */
const forms: Array<{ command: CliCommand; action: string | null }> = commands.flatMap((command) => [{ command, action: null }, ...command.actions.map((action) => ({ command, action }))]);
const label = ({ command, action }: (typeof forms)[number]) => (action ? `${command.name} ${action}` : command.name);

/** The lines of the help's `examples:` section. */
function examples(help: string): string[] {
  const at = help.indexOf('\nexamples:\n');
  if (at < 0) return [];
  const lines = help.slice(at + '\nexamples:\n'.length).split('\n');
  const end = lines.findIndex((line) => !line.startsWith('  '));
  return lines.slice(0, end === -1 ? lines.length : end).map((line) => line.trim());
}

describe('every registered CLI command', () => {
  it('registers each name once, and the registry holds the known commands', () => {
    const names = commands.map((command) => command.name);
    expect(new Set(names).size).toBe(names.length);
    for (const name of ['migrate', 'api-keys', 'sync', 'webhooks', 'doctor', 'switches', 'alerts', 'mapping', 'drift', 'jobs', 'orders', 'rotate-encryption-key']) expect(names).toContain(name);
  });

  it.each(forms.map((form) => [label(form), form] as const))('%s --help prints its usage and examples, exit 0, and does nothing else', async (_label, { command, action }) => {
    const handles = openHandles();
    const { io, out, err } = capture();
    const code = await command.run([...(action ? [action] : []), '--help'], io);
    expect(code).toBe(0);
    expect(out()).toBe(command.help());
    expect(err()).toBe('');
    expect(out()).toMatch(new RegExp(`^usage: ${command.name}\\b`));
    expect(out()).toContain('-h, --help');
    const shown = examples(out());
    expect(shown.length, `${command.name} --help shows no examples`).toBeGreaterThan(0);
    for (const example of shown) expect(example).toMatch(new RegExp(`(^|\\s)(npm run cli -- |stockbridge )${command.name}( |$)`));
    if (action) {
      // Each action is in the usage and has an example of its own.
      expect(out()).toMatch(new RegExp(`(^usage: |\\n {7})${command.name} (\\[)?${action}\\b`));
      expect(shown.some((example) => new RegExp(` ${command.name} ${action}( |$)`).test(example)), `no example of ${command.name} ${action}`).toBe(true);
    }
    // Nothing else: no database created or migrated, no server or connection left open.
    expect(existsSync(dataDir)).toBe(false);
    expect(openHandles()).toBe(handles);
  });

  it.each(forms.map((form) => [label(form), form] as const))('%s --no-such-flag exits 2 with a one-line message and does nothing', async (_label, { command, action }) => {
    const { io, out, err } = capture();
    const code = await command.run([...(action ? [action] : []), '--no-such-flag'], io);
    expect(code).toBe(2);
    expect(out()).toBe('');
    const [message, ...rest] = err().split('\n');
    expect(message).toBe(`${command.name}: Unknown option '--no-such-flag'`);
    // The rest is the usage, no stack trace.
    expect(rest.join('\n')).toMatch(new RegExp(`^usage: ${command.name}\\b`));
    expect(err()).not.toMatch(/\n\s+at /);
    expect(existsSync(dataDir)).toBe(false);
  });

  it.each(commands.filter((command) => command.actions.length > 0).map((command) => [command.name, command] as const))('%s with an unknown action exits 2 naming the actions', async (_name, command) => {
    const { io, out, err } = capture();
    expect(await command.run(['no-such-action'], io)).toBe(2);
    expect(out()).toBe('');
    expect(err().split('\n')[0]).toBe(`${command.name}: unknown action 'no-such-action' (one of ${command.actions.join(', ')})`);
    expect(existsSync(dataDir)).toBe(false);
  });

  it("each command is in the README's CLI table", () => {
    const readme = readFileSync(join(root, 'README.md'), 'utf8');
    const section = readme.slice(readme.indexOf('## Operator CLI'), readme.indexOf('\n## ', readme.indexOf('## Operator CLI') + 1));
    for (const command of commands) expect(section, command.name).toMatch(new RegExp(`\\n\\| \`${command.name}( |\`)`));
  });
});
