import { defineCommand } from './command.js';
import { withDatabase } from './cli-database.js';

export const migrateCommand = defineCommand({
  name: 'migrate',
  usage: 'migrate',
  summary: 'apply the committed database migrations (also done at start-up)',
  description: `Applies the migrations in drizzle/ that the configured database (DATABASE_URL, or the embedded
one in DATA_DIR) has not seen, each in its own transaction; safe to run while other instances
run, and again (nothing to do). Exit 0 when the database is up to date.`,
  examples: ['migrate', 'DATABASE_URL=postgres://stockbridge@db.internal:5432/stockbridge npm run cli -- migrate'],
  run: (_args, io) =>
    withDatabase(io, async (database) => {
      io.stdout.write(`migrations applied (${database.kind})\n`);
      return 0;
    }),
});
