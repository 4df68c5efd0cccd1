import { GraphQLError } from 'graphql';

/**
 * Relay cursor pagination the way Shopify does it: cursors are opaque base64 of
 * `{"last_id":…,"last_value":…}`, `first`/`last` at most 250, one of them required. Pages are
 * found by binary search over an already sorted array, so paging 300,000 inventory levels costs
 * O(page + log n) per request, never a scan.
 */

export const MAX_PAGE_SIZE = 250;

export type SortValue = string | number | null;

export interface PageArgs {
  first?: number | null;
  last?: number | null;
  after?: string | null;
  before?: string | null;
  reverse?: boolean | null;
  /** Bulk operations read whole connections: no `first`/`last` needed and no 250 cap. */
  unbounded?: boolean;
}

export interface Page<T> {
  nodes: T[];
  edges: { cursor: string; node: T }[];
  pageInfo: { hasNextPage: boolean; hasPreviousPage: boolean; startCursor: string | null; endCursor: string | null };
}

interface CursorKey {
  id: number;
  value: SortValue;
}

function compareKeys(a: CursorKey, b: CursorKey): number {
  if (a.value !== b.value) {
    if (a.value === null) return -1;
    if (b.value === null) return 1;
    if (a.value < b.value) return -1;
    if (a.value > b.value) return 1;
  }
  return a.id - b.id;
}

export function encodeCursor(id: number, value: SortValue): string {
  return Buffer.from(JSON.stringify({ last_id: id, last_value: value })).toString('base64');
}

function decodeCursor(cursor: string): CursorKey {
  try {
    const parsed = JSON.parse(Buffer.from(cursor, 'base64').toString('utf8')) as { last_id?: unknown; last_value?: unknown };
    if (typeof parsed.last_id === 'number' && (parsed.last_value === null || ['string', 'number'].includes(typeof parsed.last_value))) {
      return { id: parsed.last_id, value: parsed.last_value as SortValue };
    }
  } catch {
    // fall through to the error below
  }
  throw new GraphQLError('Invalid cursor for current pagination sort.', { extensions: { code: 'BAD_REQUEST' } });
}

/** Checks `first`/`last` as Shopify does before any data is read. */
export function checkPageArgs(args: PageArgs): number {
  if (args.unbounded) return args.first ?? args.last ?? Number.MAX_SAFE_INTEGER;
  const size = args.first ?? args.last;
  if (size === null || size === undefined) {
    throw new GraphQLError('you must provide one of first or last', { extensions: { code: 'BAD_REQUEST' } });
  }
  if (size < 0) throw new GraphQLError(`${args.first !== null && args.first !== undefined ? 'first' : 'last'} must be a positive integer`, { extensions: { code: 'BAD_REQUEST' } });
  if (size > MAX_PAGE_SIZE) {
    throw new GraphQLError(`The ${args.first !== null && args.first !== undefined ? 'first' : 'last'} argument can't be greater than ${MAX_PAGE_SIZE} (got ${size}).`, {
      extensions: { code: 'BAD_REQUEST', maxPageSize: MAX_PAGE_SIZE },
    });
  }
  return size;
}

/**
 * One page of `items`, which must be sorted ascending by (`sortValue`, `idOf`). `reverse` walks
 * them descending, as Shopify's `reverse: true` does.
 */
export function paginate<T>(items: readonly T[], idOf: (item: T) => number, sortValue: (item: T) => SortValue, args: PageArgs): Page<T> {
  checkPageArgs(args);
  const reverse = args.reverse === true;
  const length = items.length;
  const at = (index: number): T => items[reverse ? length - 1 - index : index]!;
  const keyAt = (index: number): CursorKey => {
    const item = at(index);
    return { id: idOf(item), value: sortValue(item) };
  };
  const logicalCompare = (a: CursorKey, b: CursorKey) => (reverse ? -compareKeys(a, b) : compareKeys(a, b));
  /** First logical index whose key is greater than `key` (strict) or not less than it. */
  const bound = (key: CursorKey, strict: boolean): number => {
    let low = 0;
    let high = length;
    while (low < high) {
      const middle = (low + high) >>> 1;
      const order = logicalCompare(keyAt(middle), key);
      if (order < 0 || (strict && order === 0)) low = middle + 1;
      else high = middle;
    }
    return low;
  };

  let start = args.after ? bound(decodeCursor(args.after), true) : 0;
  let end = args.before ? bound(decodeCursor(args.before), false) : length;
  if (end < start) end = start;
  if (args.first !== null && args.first !== undefined) end = Math.min(end, start + args.first);
  if (args.last !== null && args.last !== undefined) start = Math.max(start, end - args.last);

  const nodes: T[] = [];
  for (let index = start; index < end; index++) nodes.push(at(index));
  const cursorOf = (node: T) => encodeCursor(idOf(node), sortValue(node));
  let edges: { cursor: string; node: T }[] | undefined;
  return {
    nodes,
    // Built only when selected: most clients read `nodes` and `pageInfo.endCursor`.
    get edges() {
      edges ??= nodes.map((node) => ({ cursor: cursorOf(node), node }));
      return edges;
    },
    pageInfo: {
      hasNextPage: end < length,
      hasPreviousPage: start > 0,
      startCursor: nodes.length > 0 ? cursorOf(nodes[0]!) : null,
      endCursor: nodes.length > 0 ? cursorOf(nodes.at(-1)!) : null,
    },
  };
}
