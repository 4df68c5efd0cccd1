import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { defineCommand, listOption, stringOption, UsageError, type CliIo } from '../../src/cli/command.js';

function capture(): { io: CliIo; out: () => string; err: () => string } {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  let out = '';
  let err = '';
  stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
  stderr.on('data', (chunk: Buffer) => (err += chunk.toString()));
  return { io: { stdout, stderr, env: {}, stopSignal: new Promise(() => {}) }, out: () => out, err: () => err };
}

function recordingCommand() {
  const calls: Array<{ values: Record<string, unknown>; positionals: readonly string[] }> = [];
  const command = defineCommand({
    name: 'thing',
    usage: 'thing do [--sku SKU]... [--dry-run]\nthing undo <id>',
    summary: 'does a thing',
    description: 'A longer story.',
    actions: ['do', 'undo'],
    maxPositionals: 2,
    options: {
      sku: { type: 'string', multiple: true, valueName: 'SKU', description: 'which SKUs' },
      'dry-run': { type: 'boolean', description: 'change nothing' },
      name: { type: 'string', description: 'a name' },
    },
    async run(args) {
      calls.push({ values: { ...args.values }, positionals: args.positionals });
      if (args.positionals[0] === 'undo' && !args.positionals[1]) throw new UsageError('undo needs an id');
      return 0;
    },
  });
  return { command, calls };
}

describe('CLI commands parse their arguments strictly', () => {
  it('prints the help and runs nothing when --help is anywhere before --', async () => {
    const { command, calls } = recordingCommand();
    const { io, out } = capture();
    expect(await command.run(['do', '--sku', 'A', '--help'], io)).toBe(0);
    expect(calls).toHaveLength(0);
    expect(out()).toContain('usage: thing do [--sku SKU]... [--dry-run]');
    expect(out()).toContain('--sku SKU');
    expect(out()).toContain('which SKUs (repeatable)');
    expect(out()).toContain('A longer story.');
    expect(await command.run(['-h'], io)).toBe(0);
    expect(calls).toHaveLength(0);
  });

  it('refuses an unknown option with exit 2, naming it, and runs nothing', async () => {
    const { command, calls } = recordingCommand();
    const { io, err } = capture();
    expect(await command.run(['do', '--frobnicate'], io)).toBe(2);
    expect(calls).toHaveLength(0);
    expect(err()).toContain("thing: Unknown option '--frobnicate'");
    expect(err()).toContain('usage: thing do');
  });

  it('refuses a string option without its value, an unknown action and extra arguments', async () => {
    const { command, calls } = recordingCommand();
    const { io, err } = capture();
    expect(await command.run(['do', '--name'], io)).toBe(2);
    expect(await command.run(['redo'], io)).toBe(2);
    expect(await command.run([], io)).toBe(2);
    expect(await command.run(['undo', '1', '2'], io)).toBe(2);
    expect(calls).toHaveLength(0);
    expect(err()).toContain("unknown action 'redo'");
    expect(err()).toContain("unexpected argument '2'");
  });

  it('hands the parsed options to the command, repeated and comma-separated lists joined', async () => {
    const { command, calls } = recordingCommand();
    const { io } = capture();
    expect(await command.run(['do', '--sku', 'A,B', '--sku=C', '--dry-run'], io)).toBe(0);
    expect(calls).toHaveLength(1);
    const parsed = { values: calls[0]!.values as Record<string, string | boolean | string[]>, positionals: calls[0]!.positionals };
    expect(listOption(parsed, 'sku')).toEqual(['A', 'B', 'C']);
    expect(parsed.values['dry-run']).toBe(true);
    expect(stringOption(parsed, 'name')).toBeUndefined();
  });

  it('turns a UsageError thrown by the command into exit 2 with its message', async () => {
    const { command } = recordingCommand();
    const { io, err } = capture();
    expect(await command.run(['undo'], io)).toBe(2);
    expect(err()).toContain('thing: undo needs an id');
  });
});
