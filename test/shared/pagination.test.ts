import { parse } from 'graphql';
import { describe, expect, it } from 'vitest';
import {
  decodeCursor,
  DEFAULT_PAGE_SIZE,
  encodeCursor,
  MAX_PAGE_SIZE,
  pageSize,
  selectsTotalCount,
  toConnection,
} from '../../src/shared/pagination.js';

/** The GraphQL resolve info `selectsTotalCount` reads, from a query document. */
function infoOf(document: string) {
  const parsed = parse(document);
  const operation = parsed.definitions.find((definition) => definition.kind === 'OperationDefinition')!;
  const fragments = Object.fromEntries(parsed.definitions.flatMap((definition) => (definition.kind === 'FragmentDefinition' ? [[definition.name.value, definition]] : [])));
  const field = operation.selectionSet.selections[0]!;
  if (field.kind !== 'Field') throw new Error('the document must start with a field');
  return { fieldNodes: [field], fragments };
}

describe('the cursor codec', () => {
  it('gives back the sort key it was given, for the list it was made for', () => {
    const key = ['2026-12-06T11:34:47.123456Z', '0b7c5c1e-8f51-4f5e-9d51-5ad0f0c1a001'];
    const cursor = encodeCursor('orders', key);
    expect(cursor).toMatch(/^[A-Za-z0-9_-]+$/);
    expect(decodeCursor('orders', cursor)).toEqual(key);
    expect(decodeCursor('orders', cursor, 2)).toEqual(key);
  });

  it('refuses a cursor of another list, of another shape, or that is not one, with BAD_USER_INPUT', () => {
    const cursor = encodeCursor('reservations', [42]);
    expect(() => decodeCursor('syncRuns', cursor)).toThrow(expect.objectContaining({ code: 'BAD_USER_INPUT', message: 'after is not a cursor of syncRuns' }));
    expect(() => decodeCursor('reservations', cursor, 2)).toThrow(expect.objectContaining({ code: 'BAD_USER_INPUT' }));
    expect(() => decodeCursor('reservations', 'not a cursor')).toThrow(expect.objectContaining({ code: 'BAD_USER_INPUT' }));
    const nested = Buffer.from(JSON.stringify(['reservations', { seq: 1 }])).toString('base64url');
    expect(() => decodeCursor('reservations', nested)).toThrow(expect.objectContaining({ code: 'BAD_USER_INPUT' }));
  });
});

describe('the page-size rule', () => {
  it('takes the default when first is absent, and any whole number up to the maximum', () => {
    expect(pageSize(undefined)).toBe(DEFAULT_PAGE_SIZE);
    expect(pageSize(null)).toBe(50);
    expect(pageSize(0)).toBe(0);
    expect(pageSize(MAX_PAGE_SIZE)).toBe(250);
  });

  it('answers BAD_USER_INPUT naming the maximum above it, never a shorter page', () => {
    expect(() => pageSize(251)).toThrow(expect.objectContaining({ code: 'BAD_USER_INPUT', message: expect.stringContaining('250') as string }));
    expect(() => pageSize(-1)).toThrow(expect.objectContaining({ code: 'BAD_USER_INPUT' }));
    expect(() => pageSize(2.5)).toThrow(expect.objectContaining({ code: 'BAD_USER_INPUT' }));
  });
});

describe('toConnection', () => {
  const rows = [{ id: 5 }, { id: 4 }, { id: 3 }];

  it('returns first rows as edges and tells from the extra row that another page follows', () => {
    const page = toConnection('things', rows, { first: 2, keyOf: (row) => [row.id], nodeOf: (row) => `thing ${row.id}` });
    expect(page.edges.map((edge) => edge.node)).toEqual(['thing 5', 'thing 4']);
    expect(page.edges.map((edge) => decodeCursor('things', edge.cursor))).toEqual([[5], [4]]);
    expect(page.pageInfo).toEqual({ hasNextPage: true, hasPreviousPage: false, startCursor: page.edges[0]!.cursor, endCursor: page.edges[1]!.cursor });
    expect(page).not.toHaveProperty('totalCount');
  });

  it('ends the list when no extra row was read, and has a previous page when asked after a cursor', () => {
    const after = encodeCursor('things', [6]);
    const page = toConnection('things', rows, { first: 3, after, keyOf: (row) => [row.id], totalCount: 4 });
    expect(page.edges.map((edge) => edge.node)).toEqual(rows);
    expect(page.pageInfo.hasNextPage).toBe(false);
    expect(page.pageInfo.hasPreviousPage).toBe(true);
    expect(page.totalCount).toBe(4);
  });

  it('gives an empty page null cursors', () => {
    const page = toConnection('things', [], { first: 10, keyOf: (row: { id: number }) => [row.id] });
    expect(page.edges).toEqual([]);
    expect(page.pageInfo).toEqual({ hasNextPage: false, hasPreviousPage: false, startCursor: null, endCursor: null });
  });
});

describe('selectsTotalCount', () => {
  it('sees totalCount selected directly, in an inline fragment or in a named fragment', () => {
    expect(selectsTotalCount(infoOf('{ orders { totalCount } }'))).toBe(true);
    expect(selectsTotalCount(infoOf('{ orders { ... on OrderConnection { totalCount } } }'))).toBe(true);
    expect(selectsTotalCount(infoOf('{ orders { ...Counted } } fragment Counted on OrderConnection { pageInfo { hasNextPage } totalCount }'))).toBe(true);
  });

  it('does not count when the selection does not ask for it (a node field of that name does not count)', () => {
    expect(selectsTotalCount(infoOf('{ orders { edges { node { id } } pageInfo { hasNextPage } } }'))).toBe(false);
    expect(selectsTotalCount(infoOf('{ orders { edges { node { totalCount } } } }'))).toBe(false);
  });
});
