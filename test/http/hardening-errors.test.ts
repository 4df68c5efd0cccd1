import { GraphQLError } from 'graphql';
import { describe, expect, it } from 'vitest';
import { ErpRejectedError, ErpUnavailableError } from '../../src/erp/erp-errors.js';
import { formatGraphQLError } from '../../src/http/graphql-errors.js';
import { AppError } from '../../src/shared/errors.js';

/** As Apollo calls formatError: the formatted error and the GraphQLError wrapping what a resolver threw. */
function format(thrown: Error, extensions: Record<string, unknown> = {}) {
  const wrapped = new GraphQLError(thrown.message, { path: ['field'], originalError: thrown, extensions });
  return formatGraphQLError({ message: thrown.message, path: ['field'], extensions: { code: 'INTERNAL_SERVER_ERROR', ...extensions } }, wrapped);
}

describe('GraphQL error answers', () => {
  it('keep a domain error’s code, message and allow-listed details, and drop every other detail', () => {
    const answer = format(new AppError('UNKNOWN_SKU', 'The ERP does not know SKU X-1', { skus: ['X-1'], body: '<html>upstream</html>', database: 'prod', nested: { sku: 'X' }, sku: 'line\nbreak' }));
    expect(answer).toEqual({ message: 'The ERP does not know SKU X-1', path: ['field'], locations: undefined, extensions: { code: 'UNKNOWN_SKU', skus: ['X-1'] } });
  });

  it('keep an upstream failure’s code with the gateway’s own message and no details', () => {
    const rejected = format(new ErpRejectedError('Tryton failed on model.sale.sale.create: Traceback (most recent call last) … database "prod"', { method: 'model.sale.sale.create', kind: 'SERVER_EXCEPTION', database: 'prod' }));
    expect(rejected).toEqual({ message: 'The ERP refused the request', path: ['field'], locations: undefined, extensions: { code: 'ERP_REJECTED' } });
    const down = format(new ErpUnavailableError('Tryton answered HTTP 502', { status: 502, body: 'nginx' }));
    expect(down.extensions).toEqual({ code: 'ERP_UNAVAILABLE' });
    expect(down.message).not.toContain('502');
  });

  it('turn anything unexpected into INTERNAL_SERVER_ERROR, saying nothing of it', () => {
    const answer = format(new TypeError("Cannot read properties of undefined (reading 'rows') at select * from shopify_orders"));
    expect(answer).toEqual({ message: 'Internal server error', path: ['field'], locations: undefined, extensions: { code: 'INTERNAL_SERVER_ERROR' } });
  });

  it('pass the request guard’s refusals with their limits, and nothing unknown', () => {
    const refusal = new GraphQLError('Query cost is 3000, which exceeds the single query max cost limit (1000)', { extensions: { code: 'MAX_COST_EXCEEDED', cost: 3000, maxCost: 1000, secretHint: 'x' } });
    const answer = formatGraphQLError({ message: refusal.message, extensions: { code: 'MAX_COST_EXCEEDED', cost: 3000, maxCost: 1000, secretHint: 'x' } }, refusal);
    expect(answer.extensions).toEqual({ code: 'MAX_COST_EXCEEDED', cost: 3000, maxCost: 1000 });
    const unknown = new GraphQLError('something a plugin said', { extensions: { code: 'SOME_NEW_CODE' } });
    expect(formatGraphQLError({ message: unknown.message, extensions: { code: 'SOME_NEW_CODE' } }, unknown).extensions).toEqual({ code: 'INTERNAL_SERVER_ERROR' });
  });
});
