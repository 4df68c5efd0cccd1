import { ConfigError } from './config.js';
import { isAppError } from './shared/errors.js';
import { apiKeysCommand } from './cli/api-keys.command.js';
import type { CliCommand, CliIo } from './cli/command.js';
import { migrateCommand } from './cli/migrate.command.js';
import { simulateShopifyCommand } from './cli/simulate-shopify.command.js';
import { syncCommand } from './cli/sync.command.js';
import { webhooksCommand } from './cli/webhooks.command.js';
import { doctorCommand } from './cli/doctor.command.js';
import { rotateEncryptionKeyCommand } from './cli/rotate-encryption-key.command.js';
import { switchesCommand } from './cli/switches.command.js';

/** `npm run cli -- <command>`: the operator CLI. Reads process.env only here. */
const commands: CliCommand[] = [migrateCommand, apiKeysCommand, syncCommand, webhooksCommand, simulateShopifyCommand, doctorCommand, switchesCommand, rotateEncryptionKeyCommand];

function help(): string {
  return `usage: npm run cli -- <command> [options]\n\n${commands
    .map((command) => `  ${command.usage.split('\n').join('\n  ')}\n      ${command.summary}`)
    .join('\n')}\n`;
}

async function main(argv: string[]): Promise<number> {
  const [name, ...args] = argv;
  const command = commands.find((candidate) => candidate.name === name);
  if (!command || name === 'help' || name === '--help') {
    (command || name === 'help' || name === '--help' ? process.stdout : process.stderr).write(help());
    return name === 'help' || name === '--help' ? 0 : 2;
  }
  let resolveStop: () => void = () => {};
  const stopSignal = new Promise<void>((resolve) => (resolveStop = resolve));
  process.once('SIGINT', () => resolveStop());
  process.once('SIGTERM', () => resolveStop());
  const io: CliIo = { stdout: process.stdout, stderr: process.stderr, env: process.env, stopSignal };
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

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (error: unknown) => {
    process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    process.exit(1);
  },
);
