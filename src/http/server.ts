import { randomUUID, timingSafeEqual, createHash } from 'node:crypto';
import type { Socket } from 'node:net';
import { ApolloServer, type ApolloServerPlugin } from '@apollo/server';
import { ApolloServerPluginCacheControlDisabled } from '@apollo/server/plugin/disabled';
import fastifyApollo from '@as-integrations/fastify';
import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import { makeExecutableSchema } from '@graphql-tools/schema';
import { Histogram, type Registry } from 'prom-client';
import type { Database } from '../db/database.js';
import { isDatabaseUnavailable } from '../db/database-errors.js';
import type { Logger } from '../logger.js';
import type { Resolvers } from '../__generated__/graphql.js';
import type { Principal } from '../auth/api-key.models.js';
import type { GraphQLContext } from './graphql-context.js';
import { errorReportingPlugin, formatGraphQLError } from './graphql-errors.js';
import { loadTypeDefs } from './graphql-schema.js';
import { createGraphqlGuard, defaultGraphqlGuardOptions, type GraphqlGuardOptions } from './graphql-guard/graphql-guard.js';
import { registerConsoleRoutes } from './console.routes.js';
import { shopifyCostPlugin } from './shopify-cost-plugin.js';

export interface HttpServerDeps {
  log: Logger;
  database: Pick<Database, 'ping' | 'migrationsApplied'>;
  /** Who a bearer token on /graphql belongs to (null: unknown or revoked key). */
  authenticate: (key: string) => Promise<Principal | null>;
  /** The schema's resolver map, merged from the domain modules (`buildResolvers`). */
  resolvers: Resolvers;
  /** The part of each request's GraphQL context that is not about the caller: services, fresh loaders, serverInfo. */
  requestContext: () => Pick<GraphQLContext, 'services' | 'loaders' | 'serverInfo'>;
  metrics: Registry;
  /** Extra routes owned by domains (e.g. the Shopify webhook route), registered as plugins. */
  routes?: Array<(app: FastifyInstance) => void | Promise<void>>;
  /**
   * What `/healthz` adds to its body: `degraded` with the details when something is stuck (a
   * job run abandoned but still executing), else nothing. Liveness never fails on it: a stuck
   * run is shown, and restarting is the operator's call.
   */
  liveness?: () => { degraded: boolean; details: Record<string, unknown> };
  /** What `/readyz` adds to its body once the database is ready (catalogue fills, abandoned jobs); never fails it. */
  readinessDetails?: () => Promise<Record<string, unknown>>;
  /**
   * Largest request body accepted, in bytes: the GraphQL limit (GRAPHQL_MAX_BYTES). Routes that
   * need another set their own (the webhook route: WEBHOOK_MAX_BYTES).
   */
  bodyLimit?: number;
  /** Timeouts and GraphQL transport options; the defaults are the configuration's. */
  http?: Partial<HttpLimits>;
  /**
   * `/metrics`: `token` requires `Authorization: Bearer <token>`; `separatePort` leaves it off
   * this server (the gateway serves it with `createMetricsServer` on METRICS_PORT).
   */
  metricsAccess?: { readonly token?: string | undefined; readonly separatePort?: boolean };
  /** Depth, alias, token and cost limits, the per-key bucket and introspection (src/http/graphql-guard). */
  graphqlGuard?: GraphqlGuardOptions;
}

declare module 'fastify' {
  interface FastifyRequest {
    principal?: Principal;
  }
}

export interface HttpLimits {
  /** Time to receive a whole request, headers and body (then 408 and the socket is closed). */
  readonly requestTimeoutMs: number;
  /** A socket with no bytes moving for this long is closed. */
  readonly connectionTimeoutMs: number;
  readonly keepAliveTimeoutMs: number;
  /** Apollo's HTTP batching (an array of operations in one POST); off unless configured. */
  readonly graphqlBatching: boolean;
}

const defaultLimits: HttpLimits = { requestTimeoutMs: 30_000, connectionTimeoutMs: 120_000, keepAliveTimeoutMs: 72_000, graphqlBatching: false };

/** Most operations in one batched POST when batching is on: each is checked and costed on its own. */
export const MAX_BATCHED_OPERATIONS = 10;

/**
 * The one shape of every error answer that is not a GraphQL result: `{ error: { code, message,
 * requestId } }`. On /graphql the same error is also given the GraphQL way (`errors[]` with
 * `extensions.code`), so GraphQL clients read it where they look.
 */
function errorBody(request: FastifyRequest, code: string, message: string) {
  const requestId = String(request.id);
  const body: Record<string, unknown> = { error: { code, message, requestId } };
  if (request.url.startsWith('/graphql')) body.errors = [{ message, extensions: { code, requestId } }];
  return body;
}

/** Our words for the statuses the framework raises itself (its own messages never go out). */
const statusAnswers: Record<number, { code: string; message: string }> = {
  400: { code: 'BAD_REQUEST', message: 'The request could not be read' },
  404: { code: 'NOT_FOUND', message: 'No such route' },
  405: { code: 'METHOD_NOT_ALLOWED', message: 'Method not allowed' },
  406: { code: 'NOT_ACCEPTABLE', message: 'Not acceptable' },
  408: { code: 'REQUEST_TIMEOUT', message: 'The request took too long to arrive' },
  413: { code: 'PAYLOAD_TOO_LARGE', message: 'The request body is too large' },
  415: { code: 'UNSUPPORTED_MEDIA_TYPE', message: 'Unsupported content type (send application/json)' },
  431: { code: 'HEADERS_TOO_LARGE', message: 'The request headers are too large' },
  503: { code: 'SERVICE_UNAVAILABLE', message: 'The service is unavailable' },
};

function unauthorized(request: FastifyRequest, reply: FastifyReply, message: string) {
  return reply.code(401).header('www-authenticate', 'Bearer').send(errorBody(request, 'UNAUTHENTICATED', message));
}

/** Constant-time comparison of a presented bearer token with the expected one. */
function sameToken(presented: string, expected: string): boolean {
  const digest = (value: string) => createHash('sha256').update(value).digest();
  return timingSafeEqual(digest(presented), digest(expected));
}

/** `/metrics` on its own, for METRICS_PORT: an internal port scraped by Prometheus only. */
export async function createMetricsServer(deps: { log: Logger; metrics: Registry; token?: string | undefined }): Promise<FastifyInstance> {
  const app = Fastify({
    loggerInstance: deps.log as FastifyBaseLogger,
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: 1024,
    requestTimeout: 10_000,
    connectionTimeout: 60_000,
    clientErrorHandler: clientErrorHandler(deps.log),
  });
  installErrorHandling(app);
  registerMetricsRoute(app, deps.metrics, deps.token);
  return app;
}

function registerMetricsRoute(app: FastifyInstance, metrics: Registry, token: string | undefined): void {
  app.get('/metrics', async (request, reply) => {
    if (token) {
      const match = /^Bearer\s+(\S+)\s*$/i.exec(request.headers.authorization ?? '');
      if (!match || !sameToken(match[1]!, token)) return unauthorized(request, reply, 'Authorization: Bearer <METRICS_TOKEN> is required');
    }
    reply.header('content-type', metrics.contentType);
    return metrics.metrics();
  });
}

/**
 * One error handler and one not-found handler for the whole server (plugins inherit them), so no
 * framework default answer leaves: 4xx in our words, 5xx logged with the request id and answered
 * without internals.
 */
function installErrorHandling(app: FastifyInstance): void {
  app.setErrorHandler((error: { statusCode?: number; code?: string; message?: string }, request, reply) => {
    const status = typeof error.statusCode === 'number' && error.statusCode >= 400 && error.statusCode < 600 ? error.statusCode : 500;
    if (status === 500 && isDatabaseUnavailable(error)) {
      // A cut or refused database connection (e.g. while an API key is looked up): the client retries.
      request.log.warn({ err: error, requestId: String(request.id) }, 'request failed: the database could not be reached');
      return reply.code(503).header('retry-after', '1').send(errorBody(request, 'DATABASE_UNAVAILABLE', 'The database could not be reached for a moment; try again'));
    }
    if (status >= 500) {
      request.log.error({ err: error, requestId: String(request.id) }, 'request failed');
      const known = statusAnswers[status];
      return reply.code(status).send(errorBody(request, known?.code ?? 'INTERNAL_SERVER_ERROR', known?.message ?? 'Internal server error'));
    }
    const known = statusAnswers[status] ?? { code: 'BAD_REQUEST', message: 'The request could not be handled' };
    request.log.info({ code: error.code, status }, 'request refused');
    return reply.code(status).send(errorBody(request, known.code, known.message));
  });
  app.setNotFoundHandler((request, reply) => reply.code(404).send(errorBody(request, 'NOT_FOUND', 'No such route')));
}

/**
 * Errors before a request exists (bad HTTP, header overflow, a request that did not arrive in
 * time): Node raises them on the socket, and fastify's default writes its own body. Ours has the
 * same shape as every other error answer, then the socket is closed.
 */
function clientErrorHandler(log: Logger) {
  return (error: Error & { code?: string }, socket: Socket) => {
    if (error.code === 'ECONNRESET' || socket.destroyed) return;
    const status = error.code === 'ERR_HTTP_REQUEST_TIMEOUT' ? 408 : error.code === 'HPE_HEADER_OVERFLOW' ? 431 : 400;
    const known = statusAnswers[status]!;
    const requestId = randomUUID();
    log.info({ code: error.code, status, requestId }, 'malformed or incomplete request refused');
    const body = JSON.stringify({ error: { code: known.code, message: known.message, requestId } });
    if (socket.writable) {
      socket.write(`HTTP/1.1 ${status} ${known.code}\r\nContent-Length: ${Buffer.byteLength(body)}\r\nContent-Type: application/json\r\nConnection: close\r\n\r\n${body}`);
    }
    socket.destroy();
  };
}

/**
 * The gateway's HTTP surface: POST /graphql (Apollo), /healthz, /readyz, /metrics and the
 * domains' routes. `close()` stops accepting connections and waits for in-flight requests.
 */
/** Every GraphQL answer is per key and current: never stored by a browser or proxy. */
const noStorePlugin: ApolloServerPlugin<GraphQLContext> = {
  async requestDidStart() {
    return {
      async willSendResponse({ response }) {
        response.http.headers.set('cache-control', 'no-store');
      },
    };
  },
};

export async function createHttpServer(deps: HttpServerDeps): Promise<FastifyInstance> {
  const limits: HttpLimits = { ...defaultLimits, ...deps.http };
  const app = Fastify({
    loggerInstance: deps.log as FastifyBaseLogger,
    // We log one line per request ourselves (onResponse), with the fields we want.
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: deps.bodyLimit ?? 256 * 1024,
    // Slow clients: a request must arrive whole within requestTimeout (Node checks pending
    // requests every connectionsCheckingInterval, so that is kept well under the timeout), and a
    // socket where nothing moves is closed after connectionTimeout.
    requestTimeout: limits.requestTimeoutMs,
    connectionTimeout: limits.connectionTimeoutMs,
    keepAliveTimeout: limits.keepAliveTimeoutMs,
    http: {
      requestTimeout: limits.requestTimeoutMs,
      headersTimeout: limits.requestTimeoutMs,
      connectionsCheckingInterval: Math.max(100, Math.min(5_000, Math.floor(limits.requestTimeoutMs / 4))),
    },
    genReqId: (request) => {
      const incoming = request.headers['x-request-id'];
      return typeof incoming === 'string' && /^[\w.-]{1,100}$/.test(incoming) ? incoming : randomUUID();
    },
    forceCloseConnections: 'idle',
    // Shed load while closing ourselves (below), in our error shape, not fastify's built-in body.
    return503OnClosing: false,
    clientErrorHandler: clientErrorHandler(deps.log),
  });

  installErrorHandling(app);

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
  // A request that arrives on a kept-alive connection while the server closes: the load balancer
  // should send it elsewhere.
  app.addHook('onRequest', async (request, reply) => {
    if (closing) return reply.code(503).send(errorBody(request, 'SERVICE_UNAVAILABLE', 'The service is shutting down; retry'));
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

  // The operations console's static files (its data comes from /graphql with the operator's key).
  await registerConsoleRoutes(app);

  app.get('/healthz', async () => {
    const live = deps.liveness?.();
    return live?.degraded ? { status: 'degraded', ...live.details } : { status: 'ok', ...live?.details };
  });

  app.get('/readyz', async (_request, reply) => {
    try {
      await deps.database.ping();
      if (!(await deps.database.migrationsApplied())) {
        return reply.code(503).send({ status: 'not ready', reason: 'migrations not applied' });
      }
      return { status: 'ready', ...(await deps.readinessDetails?.().catch((error: unknown) => ({ detailsError: error instanceof Error ? error.message : String(error) }))) };
    } catch (error) {
      deps.log.warn({ err: error }, 'readiness check failed');
      return reply.code(503).send({ status: 'not ready', reason: 'database unreachable' });
    }
  });

  if (!deps.metricsAccess?.separatePort) registerMetricsRoute(app, deps.metrics, deps.metricsAccess?.token);

  const guard = createGraphqlGuard(makeExecutableSchema({ typeDefs: loadTypeDefs(), resolvers: deps.resolvers as never }), deps.graphqlGuard ?? defaultGraphqlGuardOptions);
  const schema = guard.schema;
  const apollo = new ApolloServer<GraphQLContext>({
    schema,
    formatError: formatGraphQLError,
    includeStacktraceInErrorResponses: false,
    // Set explicitly: Apollo's CSRF prevention (a request must be one a browser cannot send
    // cross-site without a preflight), and batching only when configured (each operation of a
    // batch is checked and costed like a request of its own; at most MAX_BATCHED_OPERATIONS).
    csrfPrevention: true,
    allowBatchedHttpRequests: limits.graphqlBatching,
    introspection: guard.introspection,
    parseOptions: guard.parseOptions,
    // No drain plugin: fastify's own close() already waits for in-flight requests, and the plugin
    // would call app.close() from inside our onClose hook (a deadlock).
    // Apollo's cache-control plugin is off: it is the only one that watches every field
    // (willResolveField), which makes Apollo wrap every resolver, a cost paid per field of a
    // products page (thousands). Nothing here is cacheable (answers depend on the key), so
    // every answer says `cache-control: no-store` itself, as that plugin did.
    // Compact JSON: Apollo's default indents every answer (JSON.stringify(value, null, 2)), which
    // on a products page of ~6,500 fields costs serialisation time and half again the bytes.
    stringifyResult: (value) => JSON.stringify(value),
    plugins: [ApolloServerPluginCacheControlDisabled(), noStorePlugin, errorReportingPlugin(), guard.plugin, shopifyCostPlugin()],
  });
  await apollo.start();

  // On `onRequest`: the key is checked from the headers alone, before a byte of the body is read
  // or parsed, so an unauthenticated client cannot make the gateway buffer or parse anything.
  const authenticate = async (request: FastifyRequest, reply: FastifyReply) => {
    const header = request.headers.authorization;
    if (!header) return unauthorized(request, reply, 'Missing Authorization: Bearer <api key>');
    const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
    if (!match) return unauthorized(request, reply, 'Authorization must be Bearer <api key>');
    const principal = await deps.authenticate(match[1]!);
    if (!principal) return unauthorized(request, reply, 'Unknown or revoked API key');
    request.principal = principal;
  };

  await app.register(async (scope) => {
    scope.addHook('onRequest', authenticate);
    scope.addHook('preHandler', async (request, reply) => {
      if (Array.isArray(request.body) && request.body.length > MAX_BATCHED_OPERATIONS) {
        return reply.code(400).send(errorBody(request, 'BATCH_TOO_LARGE', `At most ${MAX_BATCHED_OPERATIONS} operations in one batched request`));
      }
    });
    await scope.register(fastifyApollo(apollo), {
      path: '/graphql',
      method: ['POST'],
      context: async (request) => {
        const principal = request.principal!;
        return {
          requestId: String(request.id),
          log: (request.log as Logger).child({ keyId: principal.keyId }),
          principal,
          ...deps.requestContext(),
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
