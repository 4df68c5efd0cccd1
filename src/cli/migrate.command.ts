import type { CliCommand } from './command.js';
import { withDatabase } from './cli-database.js';

export const migrateCommand: CliCommand = {
  name: 'migrate',
  usage: 'migrate',
  summary: 'apply the committed database migrations (also done at start-up)',
  run: (_args, io) =>
    withDatabase(io, async (database) => {
      io.stdout.write(`migrations applied (${database.kind})\n`);
      return 0;
    }),
};
