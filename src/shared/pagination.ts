import type { FragmentDefinitionNode, SelectionSetNode } from 'graphql';
import { ValidationError } from './errors.js';

/**
 * The one pagination of the API: every paged list is a Relay connection built here, with one
 * opaque cursor codec and one rule for page sizes.
 *
 * - `first` defaults to DEFAULT_PAGE_SIZE and may be at most MAX_PAGE_SIZE; above it (or below
 *   0) the answer is a BAD_USER_INPUT error naming the maximum, never a silently shorter page.
 *   `first: 0` is an empty page whose `hasNextPage` says whether the list has anything.
 * - Pages are keyset pages: a cursor holds the full sort key of its row (the row's id last, so
 *   it is unique), never an offset, so rows written between two pages are neither skipped nor
 *   repeated. Sort keys keep the database's full precision: a PostgreSQL timestamp has
 *   microseconds, which a JavaScript Date cannot hold, so timestamps travel as the database's
 *   text (`to_char(... 'YYYY-MM-DD"T"HH24:MI:SS.US')` or an epoch in microseconds), not as Dates.
 * - Cursors are opaque to clients (base64url of a JSON array, tagged with the list it belongs
 *   to); a cursor that does not decode, or belongs to another list, is a BAD_USER_INPUT error.
 * - `totalCount` is counted only when a request selects it (`selectsTotalCount`), and only on
 *   lists where counting is one indexed query; elsewhere it is null.
 */
export const DEFAULT_PAGE_SIZE = 50;
export const MAX_PAGE_SIZE = 250;

export interface PageInfo {
  readonly hasNextPage: boolean;
  readonly hasPreviousPage: boolean;
  readonly startCursor: string | null;
  readonly endCursor: string | null;
}

export interface Edge<T> {
  readonly cursor: string;
  readonly node: T;
}

export interface Connection<T> {
  readonly edges: Array<Edge<T>>;
  readonly pageInfo: PageInfo;
  /** Present where counting is cheap (an indexed count); the schema field is nullable. */
  readonly totalCount?: number | null;
}

/** A cursor's content: the row's sort key, scalar values only, the unique id last. */
export type CursorKey = ReadonlyArray<string | number | boolean | null>;

/** The page size a request asks for: `first` checked against the one rule, or the default. */
export function pageSize(first: number | null | undefined, field = 'first'): number {
  if (first === null || first === undefined) return DEFAULT_PAGE_SIZE;
  if (!Number.isInteger(first) || first < 0 || first > MAX_PAGE_SIZE) {
    throw new ValidationError(`${field} must be a whole number from 0 to ${MAX_PAGE_SIZE} (the maximum page size); page on with after`, {
      field,
      first,
      max: MAX_PAGE_SIZE,
    });
  }
  return first;
}

/** The opaque cursor of a row of list `list` (e.g. `orders`) whose sort key is `key`. */
export function encodeCursor(list: string, key: CursorKey): string {
  return Buffer.from(JSON.stringify([list, ...key]), 'utf8').toString('base64url');
}

/** The sort key inside a cursor of list `list`; BAD_USER_INPUT when it is not one. */
export function decodeCursor(list: string, cursor: string, arity?: number): CursorKey {
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    parsed = undefined;
  }
  const valid =
    Array.isArray(parsed) &&
    parsed[0] === list &&
    parsed.slice(1).every((part) => part === null || ['string', 'number', 'boolean'].includes(typeof part)) &&
    (arity === undefined || parsed.length === arity + 1);
  if (!valid) invalidCursor(list, cursor);
  return (parsed as unknown[]).slice(1) as CursorKey;
}

/** The error for an `after` that is not a cursor of `list` (also when its key has the wrong types). */
export function invalidCursor(list: string, cursor: string): never {
  throw new ValidationError(`after is not a cursor of ${list}`, { field: 'after', after: cursor });
}

/**
 * The connection of one page from `rows`, read with `limit = first + 1` so that the extra row
 * tells whether there is a next page (it is not returned). `hasPreviousPage` is true when the
 * page was asked for `after` a cursor (forward-only paging, as Relay allows).
 */
export function toConnection<Row, Node = Row>(
  list: string,
  rows: readonly Row[],
  options: {
    readonly first: number;
    readonly after?: string | null | undefined;
    readonly keyOf: (row: Row) => CursorKey;
    readonly nodeOf?: (row: Row) => Node;
    readonly totalCount?: number | null;
  },
): Connection<Node> {
  const page = rows.slice(0, options.first);
  const edges = page.map((row) => ({
    cursor: encodeCursor(list, options.keyOf(row)),
    node: options.nodeOf ? options.nodeOf(row) : (row as unknown as Node),
  }));
  return {
    edges,
    pageInfo: {
      hasNextPage: rows.length > options.first,
      hasPreviousPage: options.after !== undefined && options.after !== null,
      startCursor: edges[0]?.cursor ?? null,
      endCursor: edges.at(-1)?.cursor ?? null,
    },
    ...(options.totalCount !== undefined ? { totalCount: options.totalCount } : {}),
  };
}

/**
 * Whether the GraphQL selection of a connection field asks for `totalCount` (fragments
 * included): the count is a query of its own, run only for requests that read it.
 */
export function selectsTotalCount(info: {
  readonly fieldNodes: ReadonlyArray<{ readonly selectionSet?: SelectionSetNode | undefined }>;
  readonly fragments: Readonly<Record<string, FragmentDefinitionNode>>;
}): boolean {
  const seen = new Set<string>();
  const asks = (selectionSet: SelectionSetNode | undefined): boolean =>
    (selectionSet?.selections ?? []).some((selection) => {
      if (selection.kind === 'Field') return selection.name.value === 'totalCount';
      if (selection.kind === 'InlineFragment') return asks(selection.selectionSet);
      const name = selection.name.value;
      if (seen.has(name)) return false;
      seen.add(name);
      return asks(info.fragments[name]?.selectionSet);
    });
  return info.fieldNodes.some((node) => asks(node.selectionSet));
}
