import { randomUUID } from 'node:crypto';
import { ApolloServer } from '@apollo/server';
import fastifyApollo from '@as-integrations/fastify';
import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import { makeExecutableSchema } from '@graphql-tools/schema';
import { Histogram, type Registry } from 'prom-client';
import type { Database } from '../db/database.js';
import type { Logger } from '../logger.js';
import type { Principal } from '../auth/api-key.models.js';
import { createRequestLoaders, type AppServices, type GraphQLContext } from './graphql-context.js';
import { createErrorFormatter } from './graphql-errors.js';
import { buildResolvers, loadTypeDefs } from './graphql-schema.js';
import { createGraphqlGuard, defaultGraphqlGuardOptions, type GraphqlGuardOptions } from './graphql-guard/graphql-guard.js';

export interface HttpServerDeps {
  log: Logger;
  database: Pick<Database, 'ping' | 'migrationsApplied'>;
  services: AppServices;
  metrics: Registry;
  /** Extra routes owned by domains (e.g. the Shopify webhook route), registered as plugins. */
  routes?: Array<(app: FastifyInstance) => void | Promise<void>>;
  /** Largest request body accepted, in bytes. */
  bodyLimit?: number;
  /** Depth, alias, token and cost limits, the per-key bucket and introspection (src/http/graphql-guard). */
  graphqlGuard?: GraphqlGuardOptions;
}

declare module 'fastify' {
  interface FastifyRequest {
    principal?: Principal;
  }
}

function unauthorized(reply: FastifyReply, message: string) {
  return reply
    .code(401)
    .header('www-authenticate', 'Bearer')
    .send({ errors: [{ message, extensions: { code: 'UNAUTHENTICATED' } }] });
}

/**
 * The gateway's HTTP surface: POST /graphql (Apollo), /healthz, /readyz, /metrics and the
 * domains' routes. `close()` stops accepting connections and waits for in-flight requests.
 */
export async function createHttpServer(deps: HttpServerDeps): Promise<FastifyInstance> {
  const app = Fastify({
    loggerInstance: deps.log as FastifyBaseLogger,
    // We log one line per request ourselves (onResponse), with the fields we want.
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: deps.bodyLimit ?? 1024 * 1024,
    genReqId: (request) => {
      const incoming = request.headers['x-request-id'];
      return typeof incoming === 'string' && /^[\w.-]{1,100}$/.test(incoming) ? incoming : randomUUID();
    },
    forceCloseConnections: 'idle',
    return503OnClosing: true,
  });

  const httpDuration = new Histogram({
    name: 'stockbridge_http_request_duration_seconds',
    help: 'HTTP request duration by route and status',
    labelNames: ['method', 'route', 'status'] as const,
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
    registers: [deps.metrics],
  });

  // During shutdown, answers to requests still in flight close their connection, so the
  // server's close() is not held up by keep-alive sockets that would otherwise stay open.
  let closing = false;
  app.addHook('preClose', async () => {
    closing = true;
  });
  app.addHook('onSend', async (_request, reply, payload) => {
    if (closing) reply.header('connection', 'close');
    return payload;
  });

  // One log line per request, with its id, after the answer.
  app.addHook('onResponse', async (request, reply) => {
    const route = request.routeOptions.url ?? 'unmatched';
    const seconds = reply.elapsedTime / 1000;
    httpDuration.observe({ method: request.method, route, status: String(reply.statusCode) }, seconds);
    request.log.info(
      { method: request.method, url: request.url, status: reply.statusCode, ms: Math.round(reply.elapsedTime * 10) / 10 },
      'request',
    );
  });

  app.get('/healthz', async () => ({ status: 'ok' }));

  app.get('/readyz', async (_request, reply) => {
    try {
      await deps.database.ping();
      if (!(await deps.database.migrationsApplied())) {
        return reply.code(503).send({ status: 'not ready', reason: 'migrations not applied' });
      }
      return { status: 'ready' };
    } catch (error) {
      deps.log.warn({ err: error }, 'readiness check failed');
      return reply.code(503).send({ status: 'not ready', reason: 'database unreachable' });
    }
  });

  app.get('/metrics', async (_request, reply) => {
    reply.header('content-type', deps.metrics.contentType);
    return deps.metrics.metrics();
  });

  const guard = createGraphqlGuard(makeExecutableSchema({ typeDefs: loadTypeDefs(), resolvers: buildResolvers() as never }), deps.graphqlGuard ?? defaultGraphqlGuardOptions);
  const schema = guard.schema;
  const apollo = new ApolloServer<GraphQLContext>({
    schema,
    formatError: createErrorFormatter(deps.log),
    includeStacktraceInErrorResponses: false,
    introspection: guard.introspection,
    parseOptions: guard.parseOptions,
    // No drain plugin: fastify's own close() already waits for in-flight requests, and the plugin
    // would call app.close() from inside our onClose hook (a deadlock).
    plugins: [guard.plugin],
  });
  await apollo.start();

  const authenticate = async (request: FastifyRequest, reply: FastifyReply) => {
    const header = request.headers.authorization;
    if (!header) return unauthorized(reply, 'Missing Authorization: Bearer <api key>');
    const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
    if (!match) return unauthorized(reply, 'Authorization must be Bearer <api key>');
    const principal = await deps.services.apiKeys.authenticate(match[1]!);
    if (!principal) return unauthorized(reply, 'Unknown or revoked API key');
    request.principal = principal;
  };

  await app.register(async (scope) => {
    scope.addHook('preHandler', authenticate);
    await scope.register(fastifyApollo(apollo), {
      path: '/graphql',
      method: ['POST'],
      context: async (request) => {
        const principal = request.principal!;
        return {
          requestId: String(request.id),
          log: (request.log as Logger).child({ keyId: principal.keyId }),
          principal,
          services: deps.services,
          loaders: createRequestLoaders(deps.services),
        };
      },
    });
  });

  for (const route of deps.routes ?? []) await app.register(async (scope) => route(scope));

  app.addHook('onClose', async () => {
    await apollo.stop();
  });

  return app;
}
