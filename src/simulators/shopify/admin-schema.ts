import { readFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import { buildClientSchema, type GraphQLSchema, type IntrospectionQuery } from 'graphql';

/** The Admin API version whose real schema is vendored; the simulator speaks this version. */
export const ADMIN_API_VERSION = '2026-10';

const schemaFile = new URL('../../../vendor/shopify/admin-2026-10.schema.json.gz', import.meta.url);

export interface AdminSchema {
  readonly version: string;
  readonly schema: GraphQLSchema;
  /** Mutation fields whose description says they accept `@idempotent`. */
  readonly idempotentMutations: ReadonlySet<string>;
  /** Mutation fields that, from 2026-04, fail at runtime without `@idempotent`. */
  readonly idempotencyRequired: ReadonlySet<string>;
  /** Access scopes (any one suffices) a type needs, from Shopify's `offline_scopes` list. */
  readonly typeScopes: ReadonlyMap<string, ScopeRequirement>;
  /** Access scopes a field needs (`Type.field`), from the same list. */
  readonly fieldScopes: ReadonlyMap<string, ScopeRequirement>;
}

export interface ScopeRequirement {
  scopes: readonly string[];
  /** Shopify's wording, e.g. "`read_inventory` access scope." */
  requiredAccess: string;
}

interface OfflineScopeItem {
  type: 'type' | 'field';
  typeName: string;
  fieldName?: string;
  requiredAccess: string;
  offlineScopes: string[];
}

let cached: AdminSchema | undefined;

/**
 * The real 2026-10 Admin API schema, built once per process: decompressing and building it takes
 * about half a second, far too slow for every simulator a test suite starts. Which mutations take
 * `@idempotent`, and which require it, is read from Shopify's own field descriptions.
 */
export function loadAdminSchema(): AdminSchema {
  if (cached) return cached;
  const json = JSON.parse(gunzipSync(readFileSync(schemaFile)).toString('utf8')) as { data: IntrospectionQuery; offline_scopes?: { items: OfflineScopeItem[] } };
  const schema = buildClientSchema(json.data, { assumeValid: true });
  const idempotentMutations = new Set<string>();
  const idempotencyRequired = new Set<string>();
  for (const field of Object.values(schema.getMutationType()?.getFields() ?? {})) {
    const description = field.description ?? '';
    if (!description.includes('@idempotent')) continue;
    idempotentMutations.add(field.name);
    if (/idempotency key is required/i.test(description)) idempotencyRequired.add(field.name);
  }
  const typeScopes = new Map<string, ScopeRequirement>();
  const fieldScopes = new Map<string, ScopeRequirement>();
  for (const item of json.offline_scopes?.items ?? []) {
    if (item.offlineScopes.length === 0) continue;
    const requirement = { scopes: item.offlineScopes, requiredAccess: item.requiredAccess };
    if (item.type === 'type') typeScopes.set(item.typeName, requirement);
    else if (item.fieldName) fieldScopes.set(`${item.typeName}.${item.fieldName}`, requirement);
  }
  cached = { version: ADMIN_API_VERSION, schema, idempotentMutations, idempotencyRequired, typeScopes, fieldScopes };
  return cached;
}
