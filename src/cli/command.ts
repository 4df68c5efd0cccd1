import type { Writable } from 'node:stream';
import { parseArgs } from 'node:util';

/** What a CLI command may touch: its output streams and the environment it was started with. */
export interface CliIo {
  readonly stdout: Writable;
  readonly stderr: Writable;
  readonly env: Record<string, string | undefined>;
  /** Resolves when the user asks to stop (the first Ctrl-C, or SIGTERM); long-running commands await it. */
  readonly stopSignal: Promise<void>;
  /** Aborted at the same moment as `stopSignal` resolves; work that takes a signal gets this one. */
  readonly signal?: AbortSignal;
  /** How often long commands print a progress line on stderr (default 2 s); tests shorten it. */
  readonly progressEveryMs?: number;
}

/** One option of a command, as Node's `parseArgs` takes it, plus what `--help` says of it. */
export interface CliOption {
  readonly type: 'string' | 'boolean';
  readonly multiple?: boolean;
  readonly short?: string;
  /** The value's placeholder in the help (`--sku SKU`); string options only. */
  readonly valueName?: string;
  readonly description: string;
}

/** The command line as parsed against a command's declared options. */
export interface ParsedArgs {
  readonly values: Readonly<Record<string, string | boolean | Array<string | boolean> | undefined>>;
  readonly positionals: readonly string[];
}

/**
 * One operator command (`npm run cli -- <name> ...`). `run` takes the raw arguments and returns
 * the process exit code: 0 done, 1 the work failed (or found a problem the command reports), 2
 * a usage problem (an unknown option, a missing value: nothing was done). It prints results on
 * stdout (the last line alone when a script should capture it) and problems on stderr.
 * `--help` (or `-h`) anywhere prints the command's help and does nothing else.
 */
export interface CliCommand {
  readonly name: string;
  readonly usage: string;
  readonly summary: string;
  /** The actions (first positional) the command takes, e.g. `list`, `ack`; empty when none. */
  readonly actions: readonly string[];
  run(args: string[], io: CliIo): Promise<number>;
  /** The full `--help` text. */
  help(): string;
}

export interface CommandDefinition {
  readonly name: string;
  /** One line per form, e.g. `api-keys create --name NAME --scopes LIST`. */
  readonly usage: string;
  readonly summary: string;
  /** Paragraphs for `--help` after the usage: behaviour, exit codes, examples. */
  readonly description?: string;
  readonly options?: Readonly<Record<string, CliOption>>;
  /** Actions (first positional) the command accepts; any other first word is a usage error. */
  readonly actions?: readonly string[];
  /** The action taken when none is given (e.g. `list`); without one, an action is required. */
  readonly defaultAction?: string;
  /**
   * Command lines `--help` shows as examples, without the `npm run cli --` in front, e.g.
   * `alerts ack 12`; one at least for each action.
   */
  readonly examples?: readonly string[];
  /** The most positionals (the action included) the command takes (default: none beyond the action). */
  readonly maxPositionals?: number;
  run(args: ParsedArgs, io: CliIo): Promise<number>;
}

/** A usage problem found by a command after parsing (exit 2, the message and the usage printed). */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

const HELP_FLAGS = new Set(['--help', '-h']);

/** Formats a definition's options for `--help`. */
function optionLines(options: Readonly<Record<string, CliOption>>): string[] {
  const rows = Object.entries(options).map(([name, option]) => {
    const flag = `${option.short ? `-${option.short}, ` : ''}--${name}${option.type === 'string' ? ` ${option.valueName ?? 'VALUE'}` : ''}`;
    return [flag, `${option.description}${option.multiple ? ' (repeatable)' : ''}`] as const;
  });
  rows.push(['-h, --help', 'print this help and do nothing else']);
  const width = Math.max(...rows.map(([flag]) => flag.length));
  return rows.map(([flag, text]) => `  ${flag.padEnd(width)}  ${text}`);
}

/**
 * A command whose arguments are parsed strictly by Node's `parseArgs`: an unknown option, a
 * string option without its value or a value given to a boolean is a usage error (exit 2)
 * before anything runs, and `--help` anywhere prints the help and runs nothing.
 */
export function defineCommand(definition: CommandDefinition): CliCommand {
  const options = definition.options ?? {};
  const help = (): string => {
    const usage = definition.usage.split('\n').map((line, index) => `${index === 0 ? 'usage: ' : '       '}${line}`);
    const parts = [usage.join('\n'), '', definition.summary];
    if (definition.description) parts.push('', definition.description.trim());
    parts.push('', 'options:', ...optionLines(options));
    if (definition.examples?.length) parts.push('', 'examples:', ...definition.examples.map((example) => `  npm run cli -- ${example}`));
    return `${parts.join('\n')}\n`;
  };
  const usageError = (io: CliIo, message: string): number => {
    io.stderr.write(`${definition.name}: ${message}\n${definition.usage
      .split('\n')
      .map((line, index) => `${index === 0 ? 'usage: ' : '       '}${line}`)
      .join('\n')}\n(--help for more)\n`);
    return 2;
  };
  return {
    name: definition.name,
    usage: definition.usage,
    summary: definition.summary,
    actions: definition.actions ?? [],
    help,
    async run(args, io) {
      // `--` ends the options: a `--help` after it is a value, not a request for help.
      const end = args.indexOf('--');
      if ((end === -1 ? args : args.slice(0, end)).some((arg) => HELP_FLAGS.has(arg))) {
        io.stdout.write(help());
        return 0;
      }
      let parsed: ParsedArgs;
      try {
        const result = parseArgs({
          args,
          options: Object.fromEntries(
            Object.entries(options).map(([name, option]) => [name, { type: option.type, multiple: option.multiple ?? false, ...(option.short ? { short: option.short } : {}) }]),
          ),
          allowPositionals: true,
          strict: true,
        });
        parsed = { values: result.values, positionals: result.positionals };
      } catch (error) {
        return usageError(io, error instanceof Error ? error.message.replace(/\. To specify a positional argument.*$/s, '') : String(error));
      }
      if (definition.actions) {
        const action = parsed.positionals[0] ?? definition.defaultAction;
        if (action === undefined || !definition.actions.includes(action)) {
          return usageError(io, action === undefined ? `say which: ${definition.actions.join(', ')}` : `unknown action '${action}' (one of ${definition.actions.join(', ')})`);
        }
      }
      const maxPositionals = definition.maxPositionals ?? (definition.actions ? 1 : 0);
      if (parsed.positionals.length > maxPositionals) {
        return usageError(io, `unexpected argument '${parsed.positionals[maxPositionals]}'`);
      }
      try {
        return await definition.run(parsed, io);
      } catch (error) {
        if (error instanceof UsageError) return usageError(io, error.message);
        throw error;
      }
    },
  };
}

/** A string option's value (the last one when given several times). */
export function stringOption(args: ParsedArgs, name: string): string | undefined {
  const value = args.values[name];
  if (Array.isArray(value)) return value.at(-1) as string | undefined;
  return typeof value === 'string' ? value : undefined;
}

/** A repeatable string option's values, each also split on commas (`--sku A,B --sku C`). */
export function listOption(args: ParsedArgs, name: string): string[] {
  const value = args.values[name];
  const given = Array.isArray(value) ? (value as string[]) : typeof value === 'string' ? [value] : [];
  return given.flatMap((item) => item.split(',')).map((item) => item.trim()).filter(Boolean);
}

export function booleanOption(args: ParsedArgs, name: string): boolean {
  return args.values[name] === true;
}

/** What a long command has done so far, for its progress lines. */
export interface ProgressCounts {
  /** Units of work done (the rate is computed from this). */
  readonly done: number;
  /** All the units there are, when known (adds "of N" and a percentage). */
  readonly total?: number | null;
  /** More counts for the line, e.g. `1,200 pushed, 3 failed`. */
  readonly detail?: string;
}

export interface ProgressOptions {
  /** What is counted, e.g. `items`, `orders`, `installations`. */
  readonly unit: string;
  /** Reads the counts now; called once per line (an error skips that line). */
  readonly read: () => ProgressCounts | null | Promise<ProgressCounts | null>;
  /** No lines at all (`--json`: stderr stays for problems only). */
  readonly silent?: boolean;
  /** Between lines (default `io.progressEveryMs`, else 2 s). */
  readonly everyMs?: number;
}

export interface Progress {
  /** Stops the lines; idempotent. */
  stop(): void;
}

/** How often a long command prints its progress when neither it nor the io says otherwise. */
export const PROGRESS_EVERY_MS = 2_000;

const counted = new Intl.NumberFormat('en-US');

/** One progress line: `  … 12,000 of 100,000 items (12%), 3,400/s; 11,990 pushed, 10 failed`. */
export function formatProgress(counts: ProgressCounts, unit: string, elapsedMs: number): string {
  const of = counts.total !== undefined && counts.total !== null && counts.total > 0 ? ` of ${counted.format(counts.total)}` : '';
  const share = of ? ` (${Math.min(100, Math.floor((counts.done / counts.total!) * 100))}%)` : '';
  const rate = elapsedMs > 0 ? counts.done / (elapsedMs / 1000) : 0;
  const rateText = rate >= 10 ? counted.format(Math.round(rate)) : rate.toFixed(1);
  return `  … ${counted.format(counts.done)}${of} ${unit}${share}, ${rateText}/s${counts.detail ? `; ${counts.detail}` : ''}\n`;
}

/**
 * Periodic progress lines on stderr for a command that can run more than a few seconds: counts,
 * and the rate since the start. Stdout keeps the result; `silent` (for `--json`) prints nothing.
 * The timer does not hold the process open.
 */
export function startProgress(io: CliIo, options: ProgressOptions): Progress {
  if (options.silent) return { stop: () => undefined };
  const started = Date.now();
  let stopped = false;
  let reading = false;
  const timer = setInterval(() => {
    if (reading) return;
    reading = true;
    Promise.resolve()
      .then(options.read)
      .then(
        (counts) => {
          if (counts && !stopped) io.stderr.write(formatProgress(counts, options.unit, Date.now() - started));
        },
        () => undefined,
      )
      .finally(() => (reading = false));
  }, options.everyMs ?? io.progressEveryMs ?? PROGRESS_EVERY_MS);
  timer.unref();
  return {
    stop() {
      stopped = true;
      clearInterval(timer);
    },
  };
}
