import { Writable } from 'node:stream';
import { loadConfig } from '../../src/config.js';
import { startGateway, type Gateway, type GatewayOverrides } from '../../src/gateway.js';
import { createLogger, type Logger } from '../../src/logger.js';
import { createTestDatabase } from './database.js';

/** A logger that keeps its lines in memory, so tests can assert on them (and stay quiet). */
export function createMemoryLogger(level = 'info'): { log: Logger; lines: () => Array<Record<string, unknown>> } {
  const chunks: string[] = [];
  const sink = new Writable({
    write(chunk, _encoding, done) {
      chunks.push(String(chunk));
      done();
    },
  });
  const log = createLogger(level, sink);
  return {
    log,
    lines: () =>
      chunks
        .join('')
        .split('\n')
        .filter(Boolean)
        .map((line) => JSON.parse(line) as Record<string, unknown>),
  };
}

export interface TestGateway extends Gateway {
  logLines: () => Array<Record<string, unknown>>;
  graphql<T = unknown>(key: string | undefined, query: string, variables?: Record<string, unknown>): Promise<{ status: number; body: T }>;
  createKey(scopes: string[]): Promise<string>;
}

/**
 * The GraphQL cost limits lifted: tests of the domains send many large queries with one key and
 * are not about the API's throttling. Tests of the guard set the limits they exercise in `env`.
 */
export const liftedGraphqlCostLimits: Record<string, string> = { GRAPHQL_MAX_COST: '1000000', GRAPHQL_BUCKET_SIZE: '10000000', GRAPHQL_RESTORE_RATE: '1000000' };

/** Starts the whole gateway on an ephemeral port with a private test database. */
export async function startTestGateway(env: Record<string, string> = {}, overrides: Omit<GatewayOverrides, 'database'> = {}): Promise<TestGateway> {
  const config = loadConfig({ PORT: '0', SCHEDULER: 'off', LOG_LEVEL: 'info', ...liftedGraphqlCostLimits, ...env });
  const { log, lines } = createMemoryLogger();
  const database = await createTestDatabase();
  const gateway = await startGateway(config, log, { ...overrides, database });
  return Object.assign(gateway, {
    logLines: lines,
    async graphql<T>(key: string | undefined, query: string, variables?: Record<string, unknown>) {
      const response = await fetch(gateway.graphqlUrl, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...(key ? { authorization: `Bearer ${key}` } : {}) },
        body: JSON.stringify({ query, variables }),
      });
      return { status: response.status, body: (await response.json()) as T };
    },
    async createKey(scopes: string[]) {
      const { key } = await gateway.services.auth.apiKeys.create({ name: `test ${scopes.join(',')}`, scopes });
      return key;
    },
  });
}
