import { getDirectiveValues, GraphQLError, type GraphQLResolveInfo } from 'graphql';
import type { AdminSchema } from './admin-schema.js';
import type { BulkOperations } from './bulk-operations.js';
import type { PlanLimits } from './cost-bucket.js';
import { parseGid } from './gid.js';
import { stableJson, type IdempotencyStore } from './idempotency.js';
import type { PageArgs, SortValue } from './pagination.js';
import { compileSearch, type SearchField } from './search-query.js';
import type { ShopState } from './shop-state.js';

/**
 * What every family of Admin API resolvers shares: the request context, the resolver types,
 * GraphQL errors in Shopify's shape, scalars (DateTime, MoneyBag), page arguments, search,
 * sorting, and the mutation checks Shopify applies to every mutation (`@idempotent`, input
 * array limits).
 */

export interface ShopInfo {
  domain: string;
  name: () => string;
  email: string;
  plan: () => PlanLimits;
}

export interface SearchWarningReport {
  path: (string | number)[];
  query: string;
  warnings: { field: string; message: string }[];
}

export interface AdminContext {
  state: ShopState;
  adminSchema: AdminSchema;
  shop: ShopInfo;
  idempotency: IdempotencyStore;
  bulk: BulkOperations;
  apiVersion: string;
  searchWarnings: SearchWarningReport[];
  /** Set while a bulk operation runs its query: connections return every node. */
  unboundedConnections: boolean;
  /** Scopes granted to the calling token (write scopes imply their read scope); null grants everything. */
  grantedScopes: ReadonlySet<string> | null;
}

export type Source = Record<string, unknown>;
export type Args = Record<string, unknown>;
export type FieldResolver = (source: Source, args: Args, context: AdminContext, info: GraphQLResolveInfo) => unknown;
export type ResolverMap = Record<string, Record<string, FieldResolver>>;

export function notImplemented(typeName: string, fieldName: string, detail?: string): GraphQLError {
  return new GraphQLError(
    `${typeName}.${fieldName} is not implemented by the Shopify simulator${detail ? ` (${detail})` : ''}. The document is valid against the real 2026-10 schema; extend src/simulators/shopify/admin-api.resolvers.ts to support it.`,
    { extensions: { code: 'NOT_IMPLEMENTED', typeName, fieldName } },
  );
}

export function badRequest(message: string, extra: Record<string, unknown> = {}): GraphQLError {
  return new GraphQLError(message, { extensions: { code: 'BAD_REQUEST', ...extra } });
}

const isoCache = new Map<number, string>();

/** GraphQL DateTime: ISO 8601 to the second, in UTC. Memoised: pages of levels repeat the same few seconds. */
export function iso(ms: number | null | undefined): string | null {
  if (ms === null || ms === undefined) return null;
  const seconds = Math.floor(ms / 1000);
  let text = isoCache.get(seconds);
  if (text === undefined) {
    text = new Date(seconds * 1000).toISOString().replace('.000Z', 'Z');
    if (isoCache.size > 10_000) isoCache.clear();
    isoCache.set(seconds, text);
  }
  return text;
}

export function moneyBag(amount: number | string, currencyCode: string) {
  const value = typeof amount === 'number' ? amount.toFixed(2) : amount;
  const money = { amount: value, currencyCode };
  return { shopMoney: money, presentmentMoney: money };
}

export function pageArgs(args: Args, context: AdminContext): PageArgs {
  return {
    unbounded: context.unboundedConnections,
    first: args.first as number | null | undefined,
    last: args.last as number | null | undefined,
    after: args.after as string | null | undefined,
    before: args.before as string | null | undefined,
    reverse: args.reverse as boolean | null | undefined,
  };
}

export function search<T>(context: AdminContext, info: GraphQLResolveInfo, query: unknown, fields: Record<string, SearchField<T>>, defaultFields: string[] = []) {
  const compiled = compileSearch(typeof query === 'string' ? query : null, fields, defaultFields);
  if (compiled.warnings.length > 0 && typeof query === 'string') {
    context.searchWarnings.push({ path: pathOf(info), query, warnings: compiled.warnings });
  }
  return compiled;
}

export function pathOf(info: GraphQLResolveInfo): (string | number)[] {
  const path: (string | number)[] = [];
  for (let current: GraphQLResolveInfo['path'] | undefined = info.path; current; current = current.prev) path.unshift(current.key);
  return path;
}

export function byId<T extends { id: number }>(item: T): number {
  return item.id;
}

export const noSort = (): SortValue => null;

export function refuseSavedSearch(args: Args, typeName: string, fieldName: string): void {
  if (args.savedSearchId !== undefined && args.savedSearchId !== null) throw notImplemented(typeName, fieldName, 'savedSearchId');
}

/** Sorts a copy by (value, id) unless the sort is by id, where `items` already is in order. */
export function sortedBy<T extends { id: number }>(items: readonly T[], sortValue: (item: T) => SortValue, byIdAlready: boolean): readonly T[] {
  if (byIdAlready) return items;
  return [...items].sort((a, b) => {
    const left = sortValue(a);
    const right = sortValue(b);
    if (left !== right) {
      if (left === null) return -1;
      if (right === null) return 1;
      if (left < right) return -1;
      if (left > right) return 1;
    }
    return a.id - b.id;
  });
}

export function requireId(value: unknown, type: string): number | null {
  if (typeof value !== 'string') return null;
  const parsed = parseGid(value);
  if (!parsed) throw new GraphQLError(`Invalid global id '${value}'`, { extensions: { code: 'argumentLiteralsIncompatible', typeName: 'CoercionError' } });
  return parsed.type === type ? parsed.id : null;
}

// ------------------------------------------------------------------ mutations: idempotency and input checks

/** Reads `@idempotent(key:)` on the mutation field and applies Shopify's 2026-04+ rules. */
export function idempotencyKey(info: GraphQLResolveInfo, context: AdminContext): string | null {
  const directive = context.adminSchema.schema.getDirective('idempotent');
  const node = info.fieldNodes[0]!;
  const values = directive ? getDirectiveValues(directive, node, info.variableValues) : undefined;
  const key = values?.key as string | undefined;
  if (key === undefined) {
    if (context.adminSchema.idempotencyRequired.has(info.fieldName)) {
      throw badRequest(`The @idempotent directive is required for ${info.fieldName} (API version 2026-04 and later). Add @idempotent(key: "<unique key>") to the field.`);
    }
    return null;
  }
  if (!key.trim()) throw badRequest('The idempotency key cannot be an empty string or whitespace only.');
  return key;
}

/** Runs a mutation under its idempotency key, when it has one. */
export function idempotent<T>(info: GraphQLResolveInfo, context: AdminContext, args: Args, execute: () => T, refusal: (code: 'IDEMPOTENCY_KEY_PARAMETER_MISMATCH' | 'IDEMPOTENCY_CONCURRENT_REQUEST', message: string) => T): T {
  const key = idempotencyKey(info, context);
  if (key === null) return execute();
  const outcome = context.idempotency.run(key, `${info.fieldName}:${stableJson(args)}`, context.state.now(), execute);
  switch (outcome.kind) {
    case 'ran':
    case 'replayed':
      return outcome.result;
    case 'mismatch':
      return refusal('IDEMPOTENCY_KEY_PARAMETER_MISMATCH', 'The same idempotency key cannot be used with different operation parameters.');
    case 'concurrent':
      return refusal('IDEMPOTENCY_CONCURRENT_REQUEST', 'This request is currently in progress, please try again.');
  }
}

const INPUT_ARRAY_LIMIT = 250;

/** Shopify caps every input array at 250 items (since 2020-01). */
export function checkInputArrays(value: unknown, path: string[]): void {
  if (Array.isArray(value)) {
    if (value.length > INPUT_ARRAY_LIMIT) {
      throw new GraphQLError(`The input array size of ${value.length} is greater than the maximum allowed of ${INPUT_ARRAY_LIMIT}.`, {
        extensions: { code: 'MAX_INPUT_SIZE_EXCEEDED', path },
      });
    }
    value.forEach((entry, index) => checkInputArrays(entry, [...path, String(index)]));
  } else if (value && typeof value === 'object') {
    for (const [key, entry] of Object.entries(value)) checkInputArrays(entry, [...path, key]);
  }
}

/** 2026-04+: `changeFromQuantity` must be present on every entry, `null` to opt out. */
export function requireChangeFromQuantity(entries: Record<string, unknown>[], listName: string): void {
  const missing = entries.map((entry, index) => ('changeFromQuantity' in entry ? -1 : index)).filter((index) => index >= 0);
  if (missing.length > 0) {
    throw badRequest(
      `changeFromQuantity is required on every entry of input.${listName} (API version 2026-04 and later): pass the quantity you expect Shopify to hold, or null to skip the compare-and-set check. Missing at ${missing
        .slice(0, 10)
        .map((index) => `input.${listName}[${index}]`)
        .join(', ')}${missing.length > 10 ? ', …' : ''}.`,
      { problems: missing.map((index) => ({ path: ['input', listName, index, 'changeFromQuantity'], explanation: 'Expected a value (null allowed)' })) },
    );
  }
}

export function countOf(count: number, limit: unknown) {
  const cap = typeof limit === 'number' ? limit : null;
  if (cap !== null && count > cap) return { count: cap, precision: 'AT_LEAST' };
  return { count, precision: 'EXACT' };
}

/** Merges resolver maps of several type families; a type's fields may come from more than one. */
export function mergeResolverMaps(...maps: ResolverMap[]): ResolverMap {
  const merged: ResolverMap = {};
  for (const map of maps) {
    for (const [typeName, fields] of Object.entries(map)) {
      const target = (merged[typeName] ??= {});
      for (const [fieldName, resolver] of Object.entries(fields)) {
        if (target[fieldName]) throw new Error(`two resolvers for ${typeName}.${fieldName}`);
        target[fieldName] = resolver;
      }
    }
  }
  return merged;
}
