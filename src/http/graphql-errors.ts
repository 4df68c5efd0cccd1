import { GraphQLError, type GraphQLFormattedError } from 'graphql';
import { isAppError } from '../shared/errors.js';
import type { Logger } from '../logger.js';

/** Codes GraphQL clients may see; anything else is reported as INTERNAL_SERVER_ERROR. */
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
]);

function isWrapped(error: unknown): error is { originalError?: unknown } {
  return typeof error === 'object' && error !== null && (error as { name?: unknown }).name === 'GraphQLError' && 'originalError' in error;
}

/**
 * Shapes every error that leaves /graphql: an AppError keeps its stable code, message and
 * details; GraphQL's own request errors pass through; anything unexpected becomes a generic
 * INTERNAL_SERVER_ERROR (logged once here, with the stack), so internals never leak.
 */
export function createErrorFormatter(log: Logger) {
  return (formatted: GraphQLFormattedError, error: unknown): GraphQLFormattedError => {
    // By shape, not `instanceof`: Apollo may hold another copy of graphql (its CommonJS build
    // while our code gets the ESM one, as under vitest), whose GraphQLError is another class.
    const original = error instanceof GraphQLError || isWrapped(error) ? (error.originalError ?? error) : error;
    if (isAppError(original)) {
      return {
        message: original.message,
        locations: formatted.locations,
        path: formatted.path,
        extensions: { code: original.code, ...original.details },
      };
    }
    const code = formatted.extensions?.code;
    if (typeof code === 'string' && graphqlSafeCodes.has(code)) {
      const { stacktrace: _stack, ...extensions } = formatted.extensions ?? {};
      return { ...formatted, extensions };
    }
    log.error({ err: original, path: formatted.path }, 'unexpected error in GraphQL request');
    return {
      message: 'Internal server error',
      locations: formatted.locations,
      path: formatted.path,
      extensions: { code: 'INTERNAL_SERVER_ERROR' },
    };
  };
}
