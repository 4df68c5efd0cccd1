import type { Config } from '../config.js';
import { openDatabase, type Database } from '../db/database.js';
import { composeModuleDeps } from '../gateway.js';
import { createLogger, type Logger } from '../logger.js';
import { loadCliConfig } from './cli-database.js';
import type { CliIo } from './command.js';

/** What a command that runs domain work gets: the module adapters, the open database, the configuration and a logger. */
export interface CliModuleContext {
  readonly composed: Awaited<ReturnType<typeof composeModuleDeps>>;
  readonly database: Database;
  readonly config: Config;
  readonly log: Logger;
}

/** A logger on stderr (stdout holds the answer), one step quieter than `info`. */
export function createCliLogger(config: Config, io: CliIo): Logger {
  return createLogger(config.logLevel === 'info' ? 'warn' : config.logLevel, io.stderr);
}

/**
 * Opens (and migrates) the configured database and composes the module adapters (`ModuleDeps`)
 * for the length of one command, then closes both (adapters first). `config` defaults to the
 * one loaded from the command's environment.
 */
export async function withModuleDeps(io: CliIo, work: (context: CliModuleContext) => Promise<number>, config: Config = loadCliConfig(io)): Promise<number> {
  const log = createCliLogger(config, io);
  const database = await openDatabase({ databaseUrl: config.databaseUrl, dataDir: config.dataDir });
  try {
    await database.migrate();
    const composed = await composeModuleDeps(config, log, database);
    try {
      return await work({ composed, database, config, log });
    } finally {
      await composed.close();
    }
  } finally {
    await database.close();
  }
}
