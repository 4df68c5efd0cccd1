import type { ApolloServerPlugin } from '@apollo/server';
import { defaultFieldResolver, GraphQLError, type GraphQLFieldResolver, type GraphQLObjectType, type GraphQLSchema } from 'graphql';
import type { ApiScope } from '../../auth/api-key.models.js';
import { AppError } from '../../shared/errors.js';
import type { GraphQLContext } from '../graphql-context.js';
import { createCostBuckets, type CostBuckets, type ThrottleStatus } from './cost-buckets.js';
import { readSchemaRules, type SchemaRules } from './field-rules.js';
import { actualCost, analyzeOperation, fragmentsOf, type OperationAnalysis } from './operation-analysis.js';

/**
 * The GraphQL guard: who may resolve what, and how much one request and one key may ask for.
 *
 * Two layers, so a gap in one is caught by the other:
 * - before execution (Apollo's didResolveOperation), the operation is walked with its fragments
 *   expanded: depth, aliases, scopes of every field reached, cost against the per-request
 *   maximum and against the key's bucket. Anything refused is refused whole, before any
 *   resolver runs (a mutation never half-runs);
 * - at execution, every field that declares `@requiresScope` checks the key's scopes itself, so
 *   no document shape (fragments, aliases, directives, batches) can reach its resolver.
 *
 * Every answer carries `extensions.cost` as Shopify's do.
 */
export interface GraphqlGuardOptions {
  maxDepth: number;
  maxAliases: number;
  maxTokens: number;
  maxCost: number;
  bucketSize: number;
  restoreRate: number;
  introspection: boolean;
  /** Milliseconds clock for the buckets (tests move it). */
  now?: () => number;
}

/** The defaults of src/config.ts (Shopify's classic standard plan: 1,000 points, 50 per second). */
export const defaultGraphqlGuardOptions: GraphqlGuardOptions = {
  maxDepth: 12,
  maxAliases: 30,
  maxTokens: 5_000,
  maxCost: 1_000,
  bucketSize: 1_000,
  restoreRate: 50,
  introspection: true,
};

export interface GraphqlGuard {
  /** The same schema, its scoped fields' resolvers wrapped with the scope check. */
  readonly schema: GraphQLSchema;
  readonly rules: SchemaRules;
  readonly buckets: CostBuckets;
  readonly plugin: ApolloServerPlugin<GraphQLContext>;
  readonly parseOptions: { maxTokens: number };
  readonly introspection: boolean;
}

export interface CostExtension {
  requestedQueryCost: number;
  /** Null when nothing ran (the request was refused). */
  actualQueryCost: number | null;
  throttleStatus: ThrottleStatus;
}

function refusal(code: string, message: string, details: Record<string, unknown> = {}): GraphQLError {
  // HTTP 200 like Shopify's THROTTLED and MAX_COST_EXCEEDED: the request was valid GraphQL.
  return new GraphQLError(message, { extensions: { code, ...details, http: { status: 200 } } });
}

function forbidden(message: string, requiredScopes: string[]): AppError {
  return new AppError('FORBIDDEN', message, { requiredScopes });
}

/**
 * Wraps, in place, the resolver of every field that declares `@requiresScope` (and of every root
 * field that declares none: those always refuse). Runs once per schema.
 */
export function enforceScopes(schema: GraphQLSchema, rules: SchemaRules): GraphQLSchema {
  const roots = new Set(Object.values(rules.rootTypes).filter((name): name is string => Boolean(name)));
  for (const type of Object.values(schema.getTypeMap())) {
    if (type.name.startsWith('__') || !('getFields' in type) || !('getInterfaces' in type)) continue;
    for (const field of Object.values((type as GraphQLObjectType).getFields())) {
      const scope = rules.fields.get(`${type.name}.${field.name}`)?.scope;
      if (!scope && !roots.has(type.name)) continue;
      const resolve: GraphQLFieldResolver<unknown, GraphQLContext> = field.resolve ?? defaultFieldResolver;
      const coordinate = `${type.name}.${field.name}`;
      field.resolve = scope
        ? (source, args, context: GraphQLContext, info) => {
            if (!context.principal.scopes.has(scope)) throw forbidden(`${coordinate} needs the ${scope} scope`, [scope]);
            return resolve(source, args, context, info);
          }
        : () => {
            throw forbidden(`${coordinate} declares no scope and is refused`, []);
          };
    }
  }
  return schema;
}

export function createGraphqlGuard(schema: GraphQLSchema, options: GraphqlGuardOptions): GraphqlGuard {
  const rules = readSchemaRules(schema);
  enforceScopes(schema, rules);
  const buckets = createCostBuckets({ size: options.bucketSize, restoreRate: options.restoreRate, now: options.now });

  /** Throws the refusal for an operation that may not run; returns nothing when it may. */
  function check(analysis: OperationAnalysis, scopes: ReadonlySet<ApiScope>): void {
    if (analysis.depth > options.maxDepth) {
      throw refusal('MAX_DEPTH_EXCEEDED', `Query depth is ${analysis.depth}, which exceeds the maximum depth (${options.maxDepth})`, {
        depth: analysis.depth,
        maxDepth: options.maxDepth,
      });
    }
    if (analysis.aliases > options.maxAliases) {
      throw refusal('MAX_ALIASES_EXCEEDED', `Query has ${analysis.aliases} aliases, more than the maximum (${options.maxAliases})`, {
        aliases: analysis.aliases,
        maxAliases: options.maxAliases,
      });
    }
    if (analysis.undeclared.size > 0) {
      throw refusal('FORBIDDEN', `These fields declare no scope and are refused: ${[...analysis.undeclared].join(', ')}`, { requiredScopes: [] });
    }
    const missing = [...analysis.scopes].filter((scope) => !scopes.has(scope));
    if (missing.length > 0) {
      throw refusal('FORBIDDEN', `This API key lacks the scope(s): ${missing.join(', ')}`, { requiredScopes: missing });
    }
    if (analysis.cost > options.maxCost) {
      throw refusal('MAX_COST_EXCEEDED', `Query cost is ${analysis.cost}, which exceeds the single query max cost limit (${options.maxCost})`, {
        cost: analysis.cost,
        maxCost: options.maxCost,
      });
    }
  }

  const plugin: ApolloServerPlugin<GraphQLContext> = {
    async requestDidStart({ contextValue }) {
      const keyId = contextValue.principal.keyId;
      let analysis: OperationAnalysis | undefined;
      let charged = false;
      let executed = false;
      return {
        async didResolveOperation({ operation, document, request }) {
          // No operation: Apollo answers the error itself, and nothing runs.
          if (!operation) return;
          const fragments = fragmentsOf(document);
          analysis = analyzeOperation(rules, operation, fragments, request.variables ?? {});
          check(analysis, contextValue.principal.scopes);
          const { granted, status } = buckets.take(keyId, analysis.cost);
          if (!granted) {
            throw refusal('THROTTLED', 'Throttled', {
              requestedQueryCost: analysis.cost,
              // When the bucket will hold the cost again, as Shopify's clients compute it.
              retryAfterSeconds: Math.ceil((analysis.cost - status.currentlyAvailable) / status.restoreRate),
            });
          }
          charged = true;
        },
        async executionDidStart() {
          executed = true;
        },
        async willSendResponse({ response, operation, document, request }) {
          if (response.body.kind !== 'single') return;
          const requested = analysis?.cost ?? 0;
          let actual: number | null = null;
          let throttleStatus: ThrottleStatus;
          if (charged && executed) {
            const data = response.body.singleResult.data;
            actual = requested;
            if (data && operation && document) {
              actual = Math.min(requested, actualCost(rules, operation, fragmentsOf(document), request.variables ?? {}, data));
            }
            throttleStatus = buckets.refund(keyId, requested - actual);
          } else if (charged) {
            // Refused after the charge (nothing ran): the whole charge comes back.
            throttleStatus = buckets.refund(keyId, requested);
          } else {
            throttleStatus = buckets.status(keyId);
          }
          const cost: CostExtension = { requestedQueryCost: requested, actualQueryCost: actual, throttleStatus };
          response.body.singleResult.extensions = { ...response.body.singleResult.extensions, cost };
        },
      };
    },
  };

  return { schema, rules, buckets, plugin, parseOptions: { maxTokens: options.maxTokens }, introspection: options.introspection };
}
