#!/usr/bin/env node
import { realpathSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { ConfigError } from './config.js';
import { isAppError } from './shared/errors.js';
import { apiKeysCommand } from './cli/api-keys.command.js';
import type { CliCommand, CliIo } from './cli/command.js';
import { migrateCommand } from './cli/migrate.command.js';
import { simulateShopifyCommand } from './cli/simulate-shopify.command.js';
import { simulateErpCommand } from './cli/simulate-erp.command.js';
import { simulateCommand } from './cli/simulate.command.js';
import { syncCommand } from './cli/sync.command.js';
import { webhooksCommand } from './cli/webhooks.command.js';
import { doctorCommand } from './cli/doctor.command.js';
import { rotateEncryptionKeyCommand } from './cli/rotate-encryption-key.command.js';
import { switchesCommand } from './cli/switches.command.js';
import { alertsCommand } from './cli/alerts.command.js';
import { mappingCommand } from './cli/mapping.command.js';
import { jobsCommand } from './cli/jobs.command.js';
import { ordersCommand } from './cli/orders.command.js';
import { driftCommand } from './cli/drift.command.js';

/**
 * `npm run cli -- <command>` (or `stockbridge <command>` once built): the operator CLI. Reads
 * process.env only here. `commands` is the registry (every command is listed here; the tests
 * walk it); importing this module runs nothing.
 */
export const commands: CliCommand[] = [migrateCommand, apiKeysCommand, syncCommand, webhooksCommand, simulateShopifyCommand, simulateErpCommand, simulateCommand, doctorCommand, switchesCommand, alertsCommand, mappingCommand, driftCommand, jobsCommand, ordersCommand, rotateEncryptionKeyCommand];

/** After the first Ctrl-C, how long a command may take to stop by itself before the process exits anyway. */
const STOP_GRACE_MS = 10_000;

function overview(): string {
  const width = Math.max(...commands.map((command) => command.name.length));
  return `usage: npm run cli -- <command> [options]      (or: stockbridge <command> [options])\n\ncommands:\n${commands
    .map((command) => `  ${command.name.padEnd(width)}  ${command.summary}`)
    .join('\n')}\n\n'<command> --help' (or 'help <command>') tells more of one command.\n`;
}

async function main(argv: string[]): Promise<number> {
  const [name, ...args] = argv;
  if (name === undefined || name === 'help' || name === '--help' || name === '-h') {
    const about = name === 'help' && args[0] !== undefined ? commands.find((candidate) => candidate.name === args[0]) : undefined;
    if (name === 'help' && args[0] !== undefined && !about) {
      process.stderr.write(`unknown command '${args[0]}'\n\n${overview()}`);
      return 2;
    }
    (name === undefined ? process.stderr : process.stdout).write(about ? about.help() : overview());
    return name === undefined ? 2 : 0;
  }
  const command = commands.find((candidate) => candidate.name === name);
  if (!command) {
    process.stderr.write(`unknown command '${name}'\n\n${overview()}`);
    return 2;
  }

  // The first Ctrl-C (or SIGTERM) asks the command to stop: long-running ones finish what they
  // are writing and exit; anything still running after the grace period is ended. A second
  // Ctrl-C ends the process at once (exit 130).
  const controller = new AbortController();
  let resolveStop: () => void = () => {};
  const stopSignal = new Promise<void>((resolve) => (resolveStop = resolve));
  const onSignal = (signal: NodeJS.Signals) => {
    if (controller.signal.aborted) {
      process.stderr.write('stopped\n');
      process.exit(signal === 'SIGINT' ? 130 : 143);
    }
    process.stderr.write(`stopping (${signal === 'SIGINT' ? 'Ctrl-C again to quit at once' : 'SIGTERM'})…\n`);
    controller.abort(new Error(`${signal} received`));
    resolveStop();
    setTimeout(() => {
      process.stderr.write(`still running ${STOP_GRACE_MS / 1000} s after ${signal}: quitting\n`);
      process.exit(signal === 'SIGINT' ? 130 : 143);
    }, STOP_GRACE_MS).unref();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  const io: CliIo = { stdout: process.stdout, stderr: process.stderr, env: process.env, stopSignal, signal: controller.signal };
  try {
    return await command.run(args, io);
  } catch (error) {
    if (error instanceof ConfigError || isAppError(error)) {
      process.stderr.write(`${error.message}\n`);
      return 1;
    }
    throw error;
  }
}

/** Run as the program (`tsx src/cli.ts`, `node dist/cli.js`, the `stockbridge` bin's link), not imported. */
function isEntryPoint(): boolean {
  const script = process.argv[1];
  if (!script) return false;
  try {
    return realpathSync(script) === realpathSync(fileURLToPath(import.meta.url));
  } catch {
    return false;
  }
}

if (isEntryPoint()) {
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (error: unknown) => {
      process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
      process.exit(1);
    },
  );
}
