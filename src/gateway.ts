import type { FastifyInstance } from 'fastify';
import { createApiKeyRepository } from './auth/api-key.repository.js';
import { createApiKeyService } from './auth/api-key.service.js';
import type { Config } from './config.js';
import { openDatabase, type Database } from './db/database.js';
import type { AppServices } from './http/graphql-context.js';
import { createHttpServer } from './http/server.js';
import type { Logger } from './logger.js';
import { createMetricsRegistry } from './metrics.js';

export const VERSION = '0.1.0';

export interface Gateway {
  readonly url: string;
  readonly graphqlUrl: string;
  readonly database: Database;
  readonly services: AppServices;
  readonly http: FastifyInstance;
  /** Stops accepting requests, waits for in-flight ones and running jobs, closes the database. */
  close(): Promise<void>;
}

/**
 * The composition root: config -> database -> adapters -> services -> HTTP (+ scheduler).
 * The only place that picks implementations; everything below receives its dependencies.
 */
export interface GatewayOverrides {
  /** An already-open database (tests); the gateway takes ownership and closes it. */
  database?: Database;
  /** Extra HTTP routes (tests use them to hold a request in flight). */
  routes?: Array<(app: FastifyInstance) => void | Promise<void>>;
}

export async function startGateway(config: Config, log: Logger, overrides: GatewayOverrides = {}): Promise<Gateway> {
  const database = overrides.database ?? (await openDatabase({ databaseUrl: config.databaseUrl, dataDir: config.dataDir }));
  const closers: Array<() => Promise<void>> = [() => database.close()];
  const closeAll = async () => {
    for (const close of closers.reverse()) {
      try {
        await close();
      } catch (error) {
        log.error({ err: error }, 'error during shutdown');
      }
    }
  };

  try {
    await database.migrate();
    log.info({ database: database.kind }, 'database migrated');

    const metrics = createMetricsRegistry();
    const apiKeys = createApiKeyService({ repository: createApiKeyRepository(database.db) });

    const services: AppServices = {
      apiKeys,
      serverInfo: () => ({
        name: 'stockbridge',
        version: VERSION,
        database: database.kind,
        erpConnector: config.erp.connector,
        shop: config.shopify.shop ?? 'simulated',
      }),
    };

    const http = await createHttpServer({
      log,
      database,
      services,
      metrics,
      bodyLimit: config.webhookMaxBytes,
      routes: [...(overrides.routes ?? [])],
    });
    closers.push(() => http.close());
    const address = await http.listen({ port: config.port, host: config.host });
    const url = address.replace('[::1]', 'localhost');
    log.info({ url }, 'gateway listening');

    return {
      url,
      graphqlUrl: `${url}/graphql`,
      database,
      services,
      http,
      close: closeAll,
    };
  } catch (error) {
    await closeAll();
    throw error;
  }
}
