import { AppError, ValidationError } from './errors.js';

/**
 * The one rule for lists that are not paginated (`locations`, `lots`, `inventoryDrift`,
 * `safetyStockRules`, `apiKeys`): the caller may ask for at most `first` items (default
 * DEFAULT_LIST_BOUND, at most MAX_LIST_BOUND). A list is never cut silently: when more items
 * match than the bound, the answer is a RESULT_TOO_LARGE error that says what to use instead:
 * the list's connection-typed sibling when it has one (e.g. `lotsConnection`), which pages
 * through any number of items (src/shared/pagination.ts), and how to narrow the list.
 */
export const DEFAULT_LIST_BOUND = 100;
export const MAX_LIST_BOUND = 1_000;

export class ResultTooLargeError extends AppError {
  constructor(field: string, first: number, instead: string, connection?: string) {
    const paging = connection ? `page through ${connection}(first:, after:), or ` : '';
    super('RESULT_TOO_LARGE', `${field} matches more than ${first} items; ${paging}${instead}`, { field, first, ...(connection ? { connection } : {}) });
  }
}

/** The bound a list answer may reach: `first`, checked, or the default. */
export function listBound(first: number | null | undefined): number {
  if (first === null || first === undefined) return DEFAULT_LIST_BOUND;
  if (!Number.isInteger(first) || first < 1 || first > MAX_LIST_BOUND) {
    throw new ValidationError(`first must be a whole number from 1 to ${MAX_LIST_BOUND}`, { first });
  }
  return first;
}

/**
 * The items, when there are at most `bound` of them (read `bound + 1` to know); otherwise
 * RESULT_TOO_LARGE saying `instead` (how to narrow) and naming `connection`, the list's paged
 * sibling, when it has one.
 */
export function withinBound<T>(items: readonly T[], bound: number, field: string, instead: string, connection?: string): T[] {
  if (items.length > bound) throw new ResultTooLargeError(field, bound, instead, connection);
  return [...items];
}
