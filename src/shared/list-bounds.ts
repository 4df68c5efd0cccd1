import { AppError, ValidationError } from './errors.js';

/**
 * The one rule for lists that are not paginated (`locations`, `lots`, `inventoryDrift`,
 * `safetyStockRules`, `apiKeys`): the caller may ask for at most `first` items (default
 * DEFAULT_LIST_BOUND, at most MAX_LIST_BOUND). A list is never cut silently: when more items
 * match than the bound, the answer is a RESULT_TOO_LARGE error that says what to use instead.
 */
export const DEFAULT_LIST_BOUND = 100;
export const MAX_LIST_BOUND = 1_000;

export class ResultTooLargeError extends AppError {
  constructor(field: string, first: number, instead: string) {
    super('RESULT_TOO_LARGE', `${field} matches more than ${first} items; ${instead}`, { field, first });
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

/** The items, when there are at most `bound` of them (read `bound + 1` to know). */
export function withinBound<T>(items: readonly T[], bound: number, field: string, instead: string): T[] {
  if (items.length > bound) throw new ResultTooLargeError(field, bound, instead);
  return [...items];
}
