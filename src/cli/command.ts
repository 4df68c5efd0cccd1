import type { Writable } from 'node:stream';

/** What a CLI command may touch: its output streams and the environment it was started with. */
export interface CliIo {
  readonly stdout: Writable;
  readonly stderr: Writable;
  readonly env: Record<string, string | undefined>;
  /** Resolves when the user asks to stop (SIGINT/SIGTERM); long-running commands await it. */
  readonly stopSignal: Promise<void>;
}

/**
 * One operator command (`npm run cli -- <name> ...`). `run` returns the process exit code; it
 * prints results on stdout (the last line alone when a script should capture it) and problems
 * on stderr.
 */
export interface CliCommand {
  readonly name: string;
  readonly usage: string;
  readonly summary: string;
  run(args: string[], io: CliIo): Promise<number>;
}

/** Parses `--flag value`, `--flag=value` and repeated flags into a map of string arrays. */
export function parseFlags(args: string[]): { flags: Map<string, string[]>; positional: string[] } {
  const flags = new Map<string, string[]>();
  const positional: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    if (!arg.startsWith('--')) {
      positional.push(arg);
      continue;
    }
    const eq = arg.indexOf('=');
    let name: string;
    let value: string;
    if (eq > 0) {
      name = arg.slice(2, eq);
      value = arg.slice(eq + 1);
    } else {
      name = arg.slice(2);
      const next = args[i + 1];
      if (next !== undefined && !next.startsWith('--')) {
        value = next;
        i++;
      } else {
        value = 'true';
      }
    }
    flags.set(name, [...(flags.get(name) ?? []), value]);
  }
  return { flags, positional };
}
