import type { ApolloServerPlugin } from '@apollo/server';
import { GraphQLError, type GraphQLFormattedError } from 'graphql';
import { isDatabaseUnavailable } from '../db/database-errors.js';
import { isAppError, type AppError } from '../shared/errors.js';
import type { GraphQLContext } from './graphql-context.js';

/**
 * What a GraphQL error may say to a client. Clients get a stable `extensions.code`, a message
 * written by the gateway and a few allow-listed details; never what an upstream system said (a
 * Tryton traceback, an ERP user or database name, a Shopify response body, SQL). Those go to the
 * log, once, under the request id that the answer carries in `extensions.requestId`, so an
 * operator finds them from a client's report.
 */

/** Codes of GraphQL's own request errors and of the request guard; anything else unknown is INTERNAL_SERVER_ERROR. */
const graphqlSafeCodes = new Set([
  'GRAPHQL_PARSE_FAILED',
  'GRAPHQL_VALIDATION_FAILED',
  'BAD_USER_INPUT',
  'BAD_REQUEST',
  'PERSISTED_QUERY_NOT_FOUND',
  'PERSISTED_QUERY_NOT_SUPPORTED',
  'OPERATION_RESOLUTION_FAILURE',
  'FORBIDDEN',
  'UNAUTHENTICATED',
  'MAX_DEPTH_EXCEEDED',
  'MAX_ALIASES_EXCEEDED',
  'MAX_TOKENS_EXCEEDED',
  'MAX_COST_EXCEEDED',
  'THROTTLED',
]);

/**
 * Details a client may see, by name; every other key of an error's details or extensions is
 * dropped. Values must be short strings, numbers, booleans or short lists of them.
 */
const allowedDetailKeys = new Set([
  'id',
  'what',
  'first',
  'after',
  'field',
  'fields',
  'sku',
  'skus',
  'erpSku',
  'shopifySku',
  'variantId',
  'shopifyVariantId',
  'location',
  'locations',
  'shopifyLocationId',
  'abbreviation',
  'erpUnits',
  'shopifyUnits',
  'quantity',
  'available',
  'requested',
  'status',
  'reservationId',
  'idempotencyKey',
  'reference',
  'orderId',
  'shopifyOrderId',
  'job',
  'runId',
  'requiredScopes',
  'depth',
  'maxDepth',
  'aliases',
  'maxAliases',
  'tokens',
  'maxTokens',
  'cost',
  'maxCost',
  'requestedQueryCost',
  'retryAfterSeconds',
  'documentation',
]);

/** Inventory-domain codes that happen to start with SHOPIFY_: operators' mapping mistakes, safe to explain. */
const domainShopifyCodes = new Set([
  'SHOPIFY_VARIANT_NOT_FOUND',
  'SHOPIFY_SKU_AMBIGUOUS',
  'SHOPIFY_VARIANT_ALREADY_MAPPED',
  'SHOPIFY_LOCATION_NOT_FOUND',
  'SHOPIFY_LOCATION_INACTIVE',
]);

/** Internal failures: the code says nothing useful to a client either. */
const internalCodes = new Set(['INTERNAL', 'CONFIG_INVALID', 'SCHEDULER_STOPPED', 'SCHEDULER_ALREADY_STARTED']);

/** What a client reads instead of an upstream system's own words. */
const upstreamMessages: Record<string, string> = {
  ERP_UNAVAILABLE: 'The ERP is unavailable; try again later',
  ERP_REJECTED: 'The ERP refused the request',
  ERP_INVALID_RESPONSE: 'The ERP answered something unexpected',
  ERP_BUSY: 'The ERP is busy with background work; try again shortly',
  ERP_CONFLICT: 'The ERP met concurrent work; try again',
  ERP_IN_DOUBT: 'The ERP did not confirm the request; it is looked up again before anything is resent',
  SHOPIFY_UNAVAILABLE: 'Shopify is unavailable; try again later',
  DATABASE_UNAVAILABLE: 'The database could not be reached for a moment; try again',
};

/** An adapter's failure: its message and details are the other system's, never shown. */
export function isUpstreamCode(code: string): boolean {
  return code.startsWith('ERP_') || (code.startsWith('SHOPIFY_') && !domainShopifyCodes.has(code));
}

function isSafeValue(value: unknown): boolean {
  if (value === null || typeof value === 'number' || typeof value === 'boolean') return true;
  if (typeof value === 'string') return value.length <= 200 && !/[\r\n]/.test(value);
  if (Array.isArray(value)) return value.length <= 50 && value.every((item) => item === null || ['string', 'number', 'boolean'].includes(typeof item)) && value.every(isSafeValue);
  return false;
}

function allowedDetails(details: Readonly<Record<string, unknown>> | undefined): Record<string, unknown> {
  const kept: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(details ?? {})) if (allowedDetailKeys.has(key) && isSafeValue(value)) kept[key] = value;
  return kept;
}

function isWrapped(error: unknown): error is { originalError?: unknown } {
  return typeof error === 'object' && error !== null && (error as { name?: unknown }).name === 'GraphQLError' && 'originalError' in error;
}

function originalOf(error: unknown): unknown {
  // By shape, not `instanceof` only: Apollo may hold another copy of graphql (its CommonJS build
  // while our code gets the ESM one, as under vitest), whose GraphQLError is another class.
  return error instanceof GraphQLError || isWrapped(error) ? (error.originalError ?? error) : error;
}

type ErrorClass = { kind: 'domain'; error: AppError } | { kind: 'upstream' | 'internal'; error: unknown; code: string } | { kind: 'graphql'; code: string };

function classify(formatted: GraphQLFormattedError, error: unknown): ErrorClass {
  const original = originalOf(error);
  if (isAppError(original)) {
    if (isUpstreamCode(original.code)) return { kind: 'upstream', error: original, code: original.code };
    if (internalCodes.has(original.code)) return { kind: 'internal', error: original, code: 'INTERNAL_SERVER_ERROR' };
    return { kind: 'domain', error: original };
  }
  const code = formatted.extensions?.code;
  if (typeof code === 'string' && graphqlSafeCodes.has(code)) return { kind: 'graphql', code };
  // A cut or refused database connection (a failover, a restart): retryable, not a fault of ours.
  if (isDatabaseUnavailable(original)) return { kind: 'upstream', error: original, code: 'DATABASE_UNAVAILABLE' };
  return { kind: 'internal', error: original, code: 'INTERNAL_SERVER_ERROR' };
}

/**
 * Shapes every error that leaves /graphql (Apollo's `formatError`). A domain error keeps its
 * code, message and allow-listed details; GraphQL's own request errors and the guard's refusals
 * keep their message and allow-listed extensions; an upstream failure keeps its code with the
 * gateway's message; anything else is INTERNAL_SERVER_ERROR. Logging is the plugin's job, where
 * the request id is known.
 */
export function formatGraphQLError(formatted: GraphQLFormattedError, error: unknown): GraphQLFormattedError {
  const shape = classify(formatted, error);
  const where = { locations: formatted.locations, path: formatted.path };
  switch (shape.kind) {
    case 'domain':
      return { message: shape.error.message, ...where, extensions: { ...allowedDetails(shape.error.details), code: shape.error.code } };
    case 'graphql':
      return { message: formatted.message, ...where, extensions: { ...allowedDetails(formatted.extensions), code: shape.code } };
    case 'upstream':
      return { message: upstreamMessages[shape.code] ?? 'An upstream system failed', ...where, extensions: { code: shape.code } };
    case 'internal':
      return { message: 'Internal server error', ...where, extensions: { code: 'INTERNAL_SERVER_ERROR' } };
  }
}

/**
 * Logs what clients are not told (upstream and unexpected failures, with the error and its
 * stack) once per error, with the request id; and stamps that id on every error of the answer
 * (`extensions.requestId`), the thread from a client's report to the log line.
 */
export function errorReportingPlugin(): ApolloServerPlugin<GraphQLContext> {
  return {
    async requestDidStart({ contextValue }) {
      return {
        async didEncounterErrors({ errors }) {
          for (const error of errors) {
            const shape = classify({ message: error.message, extensions: error.extensions }, error);
            if (shape.kind !== 'upstream' && shape.kind !== 'internal') continue;
            const level = shape.kind === 'upstream' ? 'warn' : 'error';
            contextValue.log[level]({ err: shape.error, requestId: contextValue.requestId, path: error.path, code: shape.code }, shape.kind === 'upstream' ? 'GraphQL request failed upstream' : 'unexpected error in GraphQL request');
          }
        },
        async willSendResponse({ response }) {
          if (response.body.kind !== 'single' || !response.body.singleResult.errors) return;
          response.body.singleResult.errors = response.body.singleResult.errors.map((error) => ({
            ...error,
            extensions: { ...error.extensions, requestId: contextValue.requestId },
          }));
        },
      };
    },
  };
}
