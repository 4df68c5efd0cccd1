import { AppError } from '../shared/errors.js';

/**
 * Stable codes for Shopify adapter failures. Callers branch on `code`, never on messages.
 * - SHOPIFY_UNAVAILABLE: network errors, HTTP 429/5xx or THROTTLED persisted past the retry bound.
 * - SHOPIFY_UNAUTHORIZED: HTTP 401/403 (bad or revoked token, missing scope, unavailable shop).
 * - SHOPIFY_QUERY_REFUSED: Shopify rejected the document (validation, MAX_COST_EXCEEDED, ACCESS_DENIED).
 * - SHOPIFY_QUERY_TOO_COSTLY: refused locally before sending, because it would exceed 1,000 points.
 * - SHOPIFY_USER_ERROR: a mutation returned userErrors the port reports as an error.
 * - SHOPIFY_BAD_RESPONSE: the response did not have the shape the operation expects.
 * - SHOPIFY_BULK_OPERATION_FAILED: a bulk export was refused, failed, was cancelled or timed out.
 * - SHOPIFY_IN_DOUBT: a mutation without an idempotency key was sent and its answer lost; it may
 *   have been applied (look it up before sending it again).
 */
export const SHOPIFY_ERROR_CODES = [
  'SHOPIFY_UNAVAILABLE',
  'SHOPIFY_UNAUTHORIZED',
  'SHOPIFY_QUERY_REFUSED',
  'SHOPIFY_QUERY_TOO_COSTLY',
  'SHOPIFY_USER_ERROR',
  'SHOPIFY_BAD_RESPONSE',
  'SHOPIFY_BULK_OPERATION_FAILED',
  'SHOPIFY_IN_DOUBT',
] as const;

export type ShopifyErrorCode = (typeof SHOPIFY_ERROR_CODES)[number];

/**
 * Every code a call through the Shopify adapter may fail with: `ShopifyErrorCode` and the
 * credentials' (src/shopify/credentials: the app not installed, or to be installed again). A
 * domain that stores a failure's code spreads this into its closed list.
 */
export const SHOPIFY_FAILURE_CODES = [...SHOPIFY_ERROR_CODES, 'SHOPIFY_NOT_INSTALLED', 'SHOPIFY_REINSTALL_NEEDED'] as const;

export class ShopifyError extends AppError {
  constructor(code: ShopifyErrorCode, message: string, details: Record<string, unknown> = {}, options?: { cause?: unknown }) {
    super(code, message, details, options);
  }
}
