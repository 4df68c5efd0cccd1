// The vendored Shopify Admin API schema (an introspection result, gzipped to stay small in git)
// as a graphql-js schema. Plain JavaScript because graphql-codegen imports its custom schema
// loaders with Node's own import(), which does not read TypeScript. Used by codegen.ts (default
// export, the loader) and by the test that validates every operation the client sends.
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { buildClientSchema } from 'graphql';

export const shopifyAdminSchemaPath = 'vendor/shopify/admin-2026-10.schema.json.gz';

const cache = new Map();

export function loadShopifyAdminSchema(path = shopifyAdminSchemaPath) {
  const absolute = resolve(path);
  let schema = cache.get(absolute);
  if (!schema) {
    const json = JSON.parse(gunzipSync(readFileSync(absolute)).toString('utf8'));
    schema = buildClientSchema(json.data);
    cache.set(absolute, schema);
  }
  return schema;
}

export default function shopifyAdminSchemaLoader(pointer) {
  return loadShopifyAdminSchema(pointer);
}
