import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { buildClientSchema, type GraphQLSchema, type IntrospectionQuery } from 'graphql';

/**
 * The vendored Shopify Admin API schema (an introspection result, gzipped to stay small in git),
 * as a graphql-js schema. Used by graphql-codegen (as a custom schema loader) and by the test that
 * validates every operation the client sends.
 */
export const shopifyAdminSchemaPath = 'vendor/shopify/admin-2026-10.schema.json.gz';

let cached: GraphQLSchema | undefined;

export function loadShopifyAdminSchema(path: string = shopifyAdminSchemaPath): GraphQLSchema {
  if (path === shopifyAdminSchemaPath && cached) return cached;
  const json = JSON.parse(gunzipSync(readFileSync(resolve(path))).toString('utf8')) as { data: IntrospectionQuery };
  const schema = buildClientSchema(json.data);
  if (path === shopifyAdminSchemaPath) cached = schema;
  return schema;
}

/** graphql-codegen custom loader entry: `schema: { '<file>': { loader: './scripts/shopify-admin-schema.ts' } }`. */
export default function shopifyAdminSchemaLoader(pointer: string): GraphQLSchema {
  return loadShopifyAdminSchema(pointer);
}
