import type { IncomingMessage, ServerResponse } from 'node:http';
import { randomUUID } from 'node:crypto';
import {
  execute,
  getNamedType,
  GraphQLError,
  isCompositeType,
  Kind,
  type DocumentNode,
  type ExecutionResult,
  type GraphQLResolveInfo,
  type OperationDefinitionNode,
} from 'graphql';
import type { Logger } from 'pino';
import { pickAdminFault, type AdminApiFaults } from './admin-faults.js';
import { notImplemented, type AdminContext, type ResolverMap, type ShopInfo } from './admin-api.resolver-kit.js';
import { AdminDocuments } from './admin-api.documents.js';
import { createAdminResolvers } from './admin-api.resolvers.js';
import { headerValue, readBody } from './http-body.js';
import type { AdminSchema } from './admin-schema.js';
import type { BulkOperations } from './bulk-operations.js';
import type { SimulatorClock } from './clock.js';
import type { CostBucket } from './cost-bucket.js';
import type { IdempotencyStore } from './idempotency.js';
import { isConnectionType, requestedQueryCost, SINGLE_QUERY_MAX_COST } from './query-cost.js';
import type { Random } from './random.js';
import type { AdminRequestLogEntry, RequestLog } from './request-log.js';
import type { ShopState } from './shop-state.js';

/**
 * The GraphQL Admin API endpoint, `POST /admin/api/{version}/graphql.json`, answering as Shopify
 * does: 404 for an unknown version, 401 for a missing or unknown token, validation errors at
 * HTTP 200, the requested cost checked against the 1,000-point limit and the token's leaky
 * bucket (`THROTTLED` at HTTP 200 with `actualQueryCost: null`), execution over the shop's
 * state, and `extensions.cost` on every answer that was costed.
 */

export interface AdminApiOptions {
  adminSchema: AdminSchema;
  state: ShopState;
  clock: SimulatorClock;
  random: Random;
  logger: Logger;
  shop: ShopInfo;
  idempotency: IdempotencyStore;
  bulk: () => BulkOperations;
  apiVersions: ReadonlySet<string>;
  /** The bucket and granted scopes (null: every scope) of an access token; undefined when the token is unknown. */
  tokenFor: (token: string) => { bucket: CostBucket; scopes: ReadonlySet<string> | null } | undefined;
  faults: () => AdminApiFaults;
  requestLog: RequestLog;
}


const THROTTLED_DOCUMENTATION = 'https://shopify.dev/api/usage/rate-limits';

export class AdminApi {
  private readonly documents: AdminDocuments;
  private readonly resolvers: ResolverMap = createAdminResolvers();
  private readonly connectionTypes = new Map<string, boolean>();

  constructor(private readonly options: AdminApiOptions) {
    this.documents = new AdminDocuments(options.adminSchema.schema);
  }

  async handle(request: IncomingMessage, response: ServerResponse, version: string): Promise<void> {
    const started = performance.now();
    const arrivedAt = this.options.clock.now();
    const token = headerValue(request, 'x-shopify-access-token');
    const entry: Omit<AdminRequestLogEntry, 'sequence'> = {
      timestamp: new Date(arrivedAt).toISOString(),
      at: arrivedAt,
      token: token ? token.slice(-4) : null,
      operationName: null,
      operationType: null,
      rootFields: [],
      requestedCost: null,
      actualCost: null,
      throttled: false,
      status: null,
      outcome: 'ok',
      errorCodes: [],
      currentlyAvailableBefore: null,
      currentlyAvailableAfter: null,
      maximumAvailable: null,
      restoreRate: null,
      durationMs: 0,
    };
    const finish = (status: number | null, body: unknown, headers: Record<string, string> = {}) => {
      entry.status = status;
      entry.durationMs = Math.round((performance.now() - started) * 100) / 100;
      this.options.requestLog.add(entry);
      if (status === null) {
        request.socket.destroy();
        return;
      }
      const text = typeof body === 'string' ? body : JSON.stringify(body);
      response.writeHead(status, {
        'Content-Type': 'application/json; charset=utf-8',
        'X-Request-Id': randomUUID(),
        'X-Shopify-API-Version': version,
        ...headers,
      });
      response.end(text);
    };

    if (!this.options.apiVersions.has(version)) {
      entry.outcome = 'unknown-version';
      finish(404, { errors: 'Not Found' });
      return;
    }
    if (request.method !== 'POST') {
      entry.outcome = 'bad-request';
      finish(405, { errors: 'Method Not Allowed' }, { Allow: 'POST' });
      return;
    }
    const grant = token ? this.options.tokenFor(token) : undefined;
    const bucket = grant?.bucket;
    if (!grant || !bucket) {
      entry.outcome = 'unauthorized';
      finish(401, { errors: '[API] Invalid API key or access token (unrecognized login or wrong password)' });
      return;
    }

    const faults = this.options.faults();
    const fault = pickAdminFault(faults, this.options.random);
    if (faults.latencyMs && faults.latencyMs > 0) await new Promise((resolve) => setTimeout(resolve, faults.latencyMs));
    const retryAfter = (faults.retryAfterSeconds ?? 2).toFixed(1);
    switch (fault) {
      case 'drop':
        entry.outcome = 'fault-drop';
        finish(null, null);
        return;
      case 'http429':
        entry.outcome = 'fault-429';
        finish(429, { errors: 'Exceeded 2 calls per second for api client. Reduce request rates to resume uninterrupted service.' }, { 'Retry-After': retryAfter });
        return;
      case 'http503':
        entry.outcome = 'fault-503';
        finish(503, { errors: 'Service Unavailable' }, { 'Retry-After': retryAfter });
        return;
      case 'http500':
        entry.outcome = 'fault-500';
        finish(500, { errors: 'Internal Server Error' });
        return;
      default:
        break;
    }

    let body: { query?: unknown; variables?: unknown; operationName?: unknown };
    try {
      const raw = await readBody(request);
      const contentType = headerValue(request, 'content-type') ?? '';
      body = contentType.includes('application/graphql') ? { query: raw.toString('utf8') } : (JSON.parse(raw.toString('utf8')) as typeof body);
    } catch {
      entry.outcome = 'bad-request';
      finish(400, { errors: { query: 'Required parameter missing or invalid' } });
      return;
    }
    if (typeof body !== 'object' || body === null || typeof body.query !== 'string' || !body.query.trim()) {
      entry.outcome = 'bad-request';
      finish(400, { errors: { query: 'Required parameter missing or invalid' } });
      return;
    }
    const variables = body.variables === undefined || body.variables === null ? {} : body.variables;
    if (typeof variables !== 'object' || Array.isArray(variables)) {
      entry.outcome = 'bad-request';
      finish(400, { errors: { variables: 'Variables must be a JSON object' } });
      return;
    }

    const cached = this.documents.documentFor(body.query);
    if (cached.errors.length > 0) {
      entry.outcome = 'invalid-document';
      entry.errorCodes = cached.errors.map((error) => String((error.extensions as { code?: string } | undefined)?.code ?? 'parseError'));
      finish(200, { errors: cached.errors });
      return;
    }
    const operationName = typeof body.operationName === 'string' ? body.operationName : null;
    const operation = operationName ? cached.operations.find((candidate) => candidate.name?.value === operationName) : cached.operations.length === 1 ? cached.operations[0] : undefined;
    if (!operation) {
      entry.outcome = 'invalid-document';
      const message = operationName ? `No operation named "${operationName}"` : 'An operation name is required';
      entry.errorCodes = ['operationNotFound'];
      finish(200, { errors: [{ message, extensions: { code: 'operationNotFound' } }] });
      return;
    }
    entry.operationName = operation.name?.value ?? null;
    entry.operationType = operation.operation;
    entry.rootFields = operation.selectionSet.selections.map((selection) => (selection.kind === Kind.FIELD ? selection.name.value : selection.kind === Kind.FRAGMENT_SPREAD ? `...${selection.name.value}` : '...'));
    if (operation.operation === 'subscription') {
      entry.outcome = 'invalid-document';
      finish(200, { errors: [{ message: 'Subscriptions are not supported by the Admin API', extensions: { code: 'NOT_SUPPORTED' } }] });
      return;
    }

    const { schema } = this.options.adminSchema;
    const requested = requestedQueryCost({ schema, operation, fragments: cached.fragments, variables: variables as Record<string, unknown> });
    entry.requestedCost = requested;
    if (requested > SINGLE_QUERY_MAX_COST) {
      entry.outcome = 'max-cost-exceeded';
      entry.errorCodes = ['MAX_COST_EXCEEDED'];
      finish(200, {
        errors: [
          {
            message: `Query cost is ${requested}, which exceeds the single query max cost limit (${SINGLE_QUERY_MAX_COST}).\n\nSee https://shopify.dev/concepts/about-apis/rate-limits for more information on how the\ncost of a query is calculated.\n\nTo query larger amounts of data with fewer limits, bulk operations should be used instead.\nSee https://shopify.dev/tutorials/perform-bulk-operations-with-admin-api for usage details.\n`,
            extensions: { code: 'MAX_COST_EXCEEDED', cost: requested, maxCost: SINGLE_QUERY_MAX_COST, documentation: 'https://shopify.dev/api/usage/limits#rate-limits' },
          },
        ],
      });
      return;
    }

    const before = bucket.status();
    entry.currentlyAvailableBefore = bucket.currentlyAvailable();
    entry.maximumAvailable = before.maximumAvailable;
    entry.restoreRate = before.restoreRate;
    if (!bucket.tryTake(requested)) {
      const status = bucket.status();
      entry.outcome = 'throttled';
      entry.throttled = true;
      entry.errorCodes = ['THROTTLED'];
      entry.currentlyAvailableAfter = status.currentlyAvailable;
      finish(200, {
        errors: [{ message: 'Throttled', extensions: { code: 'THROTTLED', documentation: THROTTLED_DOCUMENTATION } }],
        extensions: { cost: { requestedQueryCost: requested, actualQueryCost: null, throttleStatus: status } },
      });
      return;
    }

    const context = { ...this.contextFor(version), grantedScopes: grant.scopes };
    const meter = { points: 0 };
    const result = await this.run(cached.document!, operation, variables as Record<string, unknown>, context, meter);
    // Nothing ran when the variables did not coerce (no data at all): nothing is charged.
    const actual = result.data === undefined ? 0 : operation.operation === 'mutation' ? requested : Math.min(requested, meter.points);
    bucket.refund(requested - actual);
    const status = bucket.status();
    entry.actualCost = actual;
    entry.currentlyAvailableAfter = status.currentlyAvailable;

    const errors = result.errors?.map((error) => this.formatError(error, result.data === undefined));
    entry.errorCodes = [...(errors ?? []).map((error) => String((error.extensions as { code?: string } | undefined)?.code ?? 'UNKNOWN')), ...userErrorCodes(result.data)];
    entry.outcome = errors && errors.length > 0 ? 'graphql-errors' : 'ok';
    const extensions: Record<string, unknown> = { cost: { requestedQueryCost: requested, actualQueryCost: actual, throttleStatus: status } };
    if (context.searchWarnings.length > 0) extensions.search = context.searchWarnings.map((warning) => ({ path: warning.path, query: warning.query, warnings: warning.warnings }));
    const payload: Record<string, unknown> = {};
    if (errors && errors.length > 0) payload.errors = errors;
    if (result.data !== undefined) payload.data = result.data;
    payload.extensions = extensions;

    if (fault === 'dropAfterExecute') {
      entry.outcome = 'fault-drop-after-execute';
      finish(null, null);
      return;
    }
    finish(200, payload);
  }

  /** Runs a bulk operation's query: connections return every node and nothing is costed. */
  executeUnbounded(document: DocumentNode): Record<string, unknown> {
    const context = { ...this.contextFor(this.options.adminSchema.version), unboundedConnections: true };
    const result = execute({
      schema: this.options.adminSchema.schema,
      document,
      contextValue: context,
      rootValue: {},
      fieldResolver: this.fieldResolver(null),
      typeResolver: typeResolver,
    }) as ExecutionResult;
    if (result.errors && result.errors.length > 0) throw new Error(result.errors.map((error) => error.message).join('; '));
    return (result.data ?? {}) as Record<string, unknown>;
  }

  private contextFor(apiVersion: string): AdminContext {
    return {
      state: this.options.state,
      adminSchema: this.options.adminSchema,
      shop: this.options.shop,
      idempotency: this.options.idempotency,
      bulk: this.options.bulk(),
      apiVersion,
      searchWarnings: [],
      unboundedConnections: false,
      grantedScopes: null,
    };
  }

  private async run(document: DocumentNode, operation: OperationDefinitionNode, variables: Record<string, unknown>, context: AdminContext, meter: { points: number }): Promise<ExecutionResult> {
    return execute({
      schema: this.options.adminSchema.schema,
      document,
      operationName: operation.name?.value,
      variableValues: variables,
      contextValue: context,
      rootValue: {},
      fieldResolver: this.fieldResolver(meter),
      typeResolver: typeResolver,
    });
  }

  /**
   * Dispatches every field to its resolver (or the same-named property of its source) and
   * meters the actual cost of a query as it runs: 1 per object returned, 2 per connection.
   */
  private fieldResolver(meter: { points: number } | null) {
    const resolvers = this.resolvers;
    const idempotentMutations = this.options.adminSchema.idempotentMutations;
    return (source: unknown, args: Record<string, unknown>, context: AdminContext, info: GraphQLResolveInfo): unknown => {
      const directives = info.fieldNodes[0]?.directives;
      if (directives && directives.length > 0 && directives.some((directive) => directive.name.value === 'idempotent')) {
        const onMutationRoot = info.operation.operation === 'mutation' && info.parentType.name === info.schema.getMutationType()?.name;
        if (!onMutationRoot || !idempotentMutations.has(info.fieldName)) {
          throw new GraphQLError(`The @idempotent directive is not supported on ${info.parentType.name}.${info.fieldName}: only mutations that document idempotency accept it.`, {
            extensions: { code: 'BAD_REQUEST' },
          });
        }
      }
      if (context.grantedScopes) this.checkAccess(context.grantedScopes, info);
      const resolver = resolvers[info.parentType.name]?.[info.fieldName];
      let value: unknown;
      if (resolver) value = resolver(source as Record<string, unknown>, args, context, info);
      else if (source !== null && typeof source === 'object' && Object.prototype.hasOwnProperty.call(source, info.fieldName)) value = (source as Record<string, unknown>)[info.fieldName];
      else throw notImplemented(info.parentType.name, info.fieldName);
      if (meter && info.operation.operation === 'query' && value !== null && value !== undefined) meter.points += this.actualCostOf(value, info);
      return value;
    };
  }

  /** Shopify's ACCESS_DENIED: the field, or the type it returns, needs a scope the token lacks. */
  private checkAccess(granted: ReadonlySet<string>, info: GraphQLResolveInfo): void {
    const { fieldScopes, typeScopes } = this.options.adminSchema;
    const requirements = [fieldScopes.get(`${info.parentType.name}.${info.fieldName}`), typeScopes.get(getNamedType(info.returnType).name)];
    for (const requirement of requirements) {
      if (!requirement || requirement.scopes.some((scope) => granted.has(scope))) continue;
      throw new GraphQLError(`Access denied for ${info.fieldName} field. Required access: ${requirement.requiredAccess}`, {
        extensions: { code: 'ACCESS_DENIED', documentation: 'https://shopify.dev/api/usage/access-scopes', requiredAccess: requirement.requiredAccess },
      });
    }
  }

  private actualCostOf(value: unknown, info: GraphQLResolveInfo): number {
    const named = getNamedType(info.returnType);
    if (!isCompositeType(named)) return 0;
    if (this.isConnection(named.name, named)) return 2;
    const parent = info.parentType;
    if (this.isConnection(parent.name, parent)) return info.fieldName === 'nodes' && Array.isArray(value) ? value.length : 0;
    if (parent.name.endsWith('Edge') && info.fieldName === 'node') return 1;
    if (Array.isArray(value)) {
      if (info.fieldName === 'nodes' && parent.name === 'QueryRoot') return value.filter((entry) => entry !== null).length;
      return value.length > 0 ? 1 : 0;
    }
    return 1;
  }

  private isConnection(name: string, type: Parameters<typeof isConnectionType>[0]): boolean {
    let known = this.connectionTypes.get(name);
    if (known === undefined) {
      known = isConnectionType(type);
      this.connectionTypes.set(name, known);
    }
    return known;
  }

  private formatError(error: GraphQLError, beforeExecution: boolean): Record<string, unknown> {
    const original = error.originalError;
    if (original && !(original instanceof GraphQLError)) {
      const requestId = randomUUID();
      this.options.logger.error({ err: original, path: error.path, requestId }, 'simulator resolver failed');
      return {
        message: `Internal error. Looks like something went wrong on our end.\nRequest ID: ${requestId} (include this in support requests).`,
        locations: error.locations,
        path: error.path,
        extensions: { code: 'INTERNAL_SERVER_ERROR', requestId },
      };
    }
    const extensions = { ...(error.extensions ?? {}) };
    if (!extensions.code) extensions.code = beforeExecution ? 'INVALID_VARIABLE' : 'BAD_REQUEST';
    const formatted: Record<string, unknown> = { message: error.message };
    if (error.locations) formatted.locations = error.locations;
    if (error.path) formatted.path = error.path;
    formatted.extensions = extensions;
    return formatted;
  }
}

function typeResolver(value: unknown): string | undefined {
  return value !== null && typeof value === 'object' ? ((value as { __typename?: string }).__typename ?? undefined) : undefined;
}

/** Every `userErrors[].code` (and `orderCancelUserErrors`) in a mutation's data, for the log. */
function userErrorCodes(data: unknown): string[] {
  const codes: string[] = [];
  if (!data || typeof data !== 'object') return codes;
  for (const payload of Object.values(data as Record<string, unknown>)) {
    if (!payload || typeof payload !== 'object') continue;
    for (const key of ['userErrors', 'orderCancelUserErrors']) {
      const list = (payload as Record<string, unknown>)[key];
      if (Array.isArray(list)) for (const item of list) if (item && typeof item === 'object' && typeof (item as { code?: unknown }).code === 'string') codes.push((item as { code: string }).code);
    }
  }
  return codes;
}
