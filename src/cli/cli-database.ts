import { loadConfig, type Config } from '../config.js';
import { openDatabase, type Database } from '../db/database.js';
import type { CliIo } from './command.js';

/** Loads the configuration from the command's environment (all problems at once). */
export function loadCliConfig(io: CliIo): Config {
  return loadConfig(io.env);
}

/** Opens (and migrates) the configured database for the length of one command. */
export async function withDatabase(io: CliIo, work: (database: Database, config: Config) => Promise<number>): Promise<number> {
  const config = loadCliConfig(io);
  const database = await openDatabase({ databaseUrl: config.databaseUrl, dataDir: config.dataDir });
  try {
    await database.migrate();
    return await work(database, config);
  } finally {
    await database.close();
  }
}
