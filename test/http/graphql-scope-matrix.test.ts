import { ApolloServer } from '@apollo/server';
import { makeExecutableSchema } from '@graphql-tools/schema';
import type { GraphQLField, GraphQLInputObjectType, GraphQLNamedType, GraphQLObjectType, GraphQLSchema, GraphQLType } from 'graphql';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ApiScope } from '../../src/auth/api-key.models.js';
import type { GraphQLContext } from '../../src/http/graphql-context.js';
import { createGraphqlGuard, defaultGraphqlGuardOptions } from '../../src/http/graphql-guard/graphql-guard.js';
import { readSchemaRules } from '../../src/http/graphql-guard/field-rules.js';
import { buildResolvers, loadTypeDefs } from '../../src/http/graphql-schema.js';
import { startTestGateway, type TestGateway } from '../support/gateway.js';

/**
 * Every root field of the real schema, found by walking it (a field added tomorrow is in the
 * matrix without touching this file), sent through every shape a document can take, with a key
 * of each scope: only the scope the field declares ever gets past the guard.
 */

type Body = { data?: Record<string, unknown> | null; errors?: Array<{ message: string; extensions?: { code?: string } }> };

const schema: GraphQLSchema = makeExecutableSchema({ typeDefs: loadTypeDefs(), resolvers: buildResolvers() as never });
const rules = readSchemaRules(schema);
const allScopes: ApiScope[] = ['read', 'sync', 'reserve', 'admin'];

function named(type: GraphQLType): GraphQLNamedType {
  let current: GraphQLType = type;
  while ('ofType' in current && current.ofType) current = current.ofType as GraphQLType;
  return current as GraphQLNamedType;
}

/** A literal for a required input: the smallest value the type accepts. */
function literal(type: GraphQLType): string {
  if ('ofType' in type && type.ofType) {
    const inner = type.ofType as GraphQLType;
    // A wrapper is non-null (`T!`) or a list (`[T]`).
    return String(type) === `${String(inner)}!` ? literal(inner) : `[${literal(inner)}]`;
  }
  const base = type as GraphQLNamedType;
  if ('getValues' in base) return base.getValues()[0]!.name;
  if ('getFields' in base && !('getInterfaces' in base)) {
    const fields = Object.values((base as GraphQLInputObjectType).getFields()).filter((f) => String(f.type).endsWith('!'));
    return `{ ${fields.map((f) => `${f.name}: ${literal(f.type)}`).join(', ')} }`;
  }
  switch (base.name) {
    case 'Int':
    case 'Float':
      return '1';
    case 'Boolean':
      return 'false';
    case 'DateTime':
      return '"2026-01-01T00:00:00Z"';
    case 'Date':
      return '"2026-01-01"';
    default:
      return '"MATRIX-NO-SUCH-THING"';
  }
}

/**
 * Arguments: the required ones, except where the smallest value would start heavy work with
 * the right key (a full push, safety stock for every SKU), and a name that tells which request
 * created an API key.
 */
function argumentsOf(typeName: string, field: GraphQLField<unknown, unknown>, tag: string): string {
  if (typeName === 'Mutation' && field.name === 'pushInventory') return '(input: { skus: ["MATRIX-NO-SUCH-SKU"], dryRun: true })';
  if (typeName === 'Mutation' && field.name === 'setSafetyStock') return '(input: { sku: "MATRIX-NO-SUCH-SKU", quantity: null })';
  if (typeName === 'Mutation' && field.name === 'createApiKey') return `(input: { name: "${tag}", scopes: [READ] })`;
  if (typeName === 'Query' && field.name === 'lots') return '(sku: "MATRIX-NO-SUCH-SKU")';
  const required = field.args.filter((arg) => String(arg.type).endsWith('!'));
  return required.length === 0 ? '' : `(${required.map((arg) => `${arg.name}: ${literal(arg.type)}`).join(', ')})`;
}

function selectionOf(field: GraphQLField<unknown, unknown>): string {
  const base = named(field.type);
  return 'getFields' in base || 'getTypes' in base ? ' { __typename }' : '';
}

interface Shape {
  name: string;
  /**
   * The request body (or bodies, batched) for the field: `call` is the field with its arguments
   * and selection, `head` and `selection` the same in two parts (directives go between).
   */
  build(root: 'query' | 'mutation', rootType: string, call: string, head: string, selection: string): unknown;
  /** The key the field's answer is under. */
  key: string;
}

const shapes: Shape[] = [
  { name: 'direct', key: 'f', build: (root, _type, call) => ({ query: `${root} { ${call} }` }) },
  { name: 'alias', key: 'renamed', build: (root, _type, call) => ({ query: `${root} { renamed: ${call} }` }) },
  { name: 'named fragment', key: 'f', build: (root, type, call) => ({ query: `${root} { ...F } fragment F on ${type} { ${call} }` }) },
  {
    name: 'fragment in a fragment',
    key: 'f',
    build: (root, type, call) => ({ query: `${root} { ...A } fragment A on ${type} { ...B } fragment B on ${type} { ${call} }` }),
  },
  { name: 'nested inline fragments', key: 'f', build: (root, type, call) => ({ query: `${root} { ... on ${type} { ... { ... on ${type} { ${call} } } } }` }) },
  {
    name: 'variables and @include',
    key: 'f',
    build: (root, _type, _call, head, selection) => ({
      query: `${root} Q($yes: Boolean!, $no: Boolean = false) { ... @include(if: $yes) { ${head} @skip(if: $no)${selection} } }`,
      variables: { yes: true },
    }),
  },
  { name: '@skip(if: false)', key: 'f', build: (root, _type, _call, head, selection) => ({ query: `${root} { ${head} @skip(if: false)${selection} }` }) },
  {
    name: 'two operations, operationName',
    key: 'f',
    build: (root, _type, call) => ({ query: `query Harmless { __typename } ${root} Target { ${call} }`, operationName: 'Target' }),
  },
  {
    name: 'batched',
    key: 'f',
    build: (root, _type, call) => [{ query: '{ __typename }' }, { query: `${root} { ${call} }` }],
  },
];

async function post(gateway: TestGateway, key: string, body: unknown): Promise<{ status: number; json: unknown }> {
  const response = await fetch(gateway.graphqlUrl, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${key}` },
    body: JSON.stringify(body),
  });
  return { status: response.status, json: await response.json() };
}

function forbidden(body: Body): boolean {
  return (body.errors ?? []).some((error) => error.extensions?.code === 'FORBIDDEN');
}

describe('the schema declares a scope on every root field', () => {
  it('has no Query or Mutation field without @requiresScope (deny by default)', () => {
    expect(rules.undeclaredRootFields).toEqual([]);
    const rootFields = ['Query', 'Mutation'].flatMap((type) => Object.keys((schema.getType(type) as GraphQLObjectType).getFields()).map((f) => `${type}.${f}`));
    expect(rootFields.length).toBeGreaterThan(25);
    for (const coordinate of rootFields) expect(rules.fields.get(coordinate)?.scope, coordinate).toBeDefined();
  });

  it('refuses a root field that declares no scope, before and during execution', async () => {
    const typeDefs = `
      directive @requiresScope(scope: Scope!) on FIELD_DEFINITION
      enum Scope { READ ADMIN }
      type Secret { value: String @requiresScope(scope: ADMIN) }
      type Query { undeclared: String, declared: String @requiresScope(scope: READ), secret: Secret @requiresScope(scope: READ) }`;
    let resolved = 0;
    const resolvers = {
      Query: {
        undeclared: () => (resolved++, 'leaked'),
        declared: () => (resolved++, 'fine'),
        secret: () => (resolved++, { value: 'customer data' }),
      },
    };
    const guard = createGraphqlGuard(makeExecutableSchema({ typeDefs, resolvers }), defaultGraphqlGuardOptions);
    expect(guard.rules.undeclaredRootFields).toEqual(['Query.undeclared']);
    const context = { principal: { keyId: 'k', name: 'k', scopes: new Set(['read', 'admin']) } } as unknown as GraphQLContext;
    const reader = { principal: { keyId: 'r', name: 'r', scopes: new Set(['read']) } } as unknown as GraphQLContext;

    // Before execution (the guard's plugin): refused whole, nothing resolved.
    const guarded = new ApolloServer<GraphQLContext>({ schema: guard.schema, plugins: [guard.plugin] });
    const before = await guarded.executeOperation({ query: '{ declared ...F } fragment F on Query { undeclared }' }, { contextValue: context });
    expect(JSON.stringify(before.body)).toContain('FORBIDDEN');
    expect(resolved).toBe(0);

    // At execution alone (no plugin: the wrapped resolvers), the field still refuses.
    const bare = new ApolloServer<GraphQLContext>({
      schema: guard.schema,
      // The code of the error a resolver threw (the gateway's formatter does the same).
      formatError: (formatted, error) => ({ ...formatted, extensions: { code: (error as { originalError?: { code?: string } }).originalError?.code } }),
    });
    const during = await bare.executeOperation({ query: '{ declared ...F } fragment F on Query { undeclared }' }, { contextValue: context });
    const result = during.body.kind === 'single' ? during.body.singleResult : undefined;
    expect(result?.data).toEqual({ declared: 'fine', undeclared: null });
    expect(result?.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    expect(resolved).toBe(1);

    // A nested field with its own scope refuses a key without it, however it is reached.
    const nested = await bare.executeOperation({ query: '{ secret { ... on Secret { ...V } } } fragment V on Secret { value }' }, { contextValue: reader });
    const nestedResult = nested.body.kind === 'single' ? nested.body.singleResult : undefined;
    expect(nestedResult?.data).toEqual({ secret: { value: null } });
    expect(nestedResult?.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    await guarded.stop();
    await bare.stop();
  });
});

describe('every root field, every shape, every scope', () => {
  let gateway: TestGateway;
  let clock = 1_000_000;
  const keys = new Map<ApiScope, string>();

  beforeAll(async () => {
    // Batching on, so the batched shape reaches the guard (each operation of an array is checked on its own).
    gateway = await startTestGateway({ GRAPHQL_BATCHING: 'on' }, { graphqlClock: () => (clock += 60_000) });
    await gateway.services.inventory.whenReady();
    for (const scope of allScopes) keys.set(scope, await gateway.createKey([scope]));
  });
  afterAll(async () => {
    await gateway.close();
  });

  const coordinates = (['Query', 'Mutation'] as const).flatMap((typeName) =>
    Object.values((schema.getType(typeName) as GraphQLObjectType).getFields()).map((field) => ({ typeName, field })),
  );

  for (const { typeName, field } of coordinates) {
    const required = rules.fields.get(`${typeName}.${field.name}`)?.scope;
    it(`${typeName}.${field.name}: only a ${required} key gets past the guard, in every shape`, async () => {
      const root = typeName === 'Query' ? 'query' : 'mutation';
      for (const shape of shapes) {
        // The four keys at once: each request stands alone.
        await Promise.all(allScopes.map(async (scope) => {
          const tag = `matrix ${shape.name} ${scope}`;
          const head = `${field.name}${argumentsOf(typeName, field, tag)}`;
          const selection = selectionOf(field);
          const { status, json } = await post(gateway, keys.get(scope)!, shape.build(root, typeName, head + selection, head, selection));
          const where = `${typeName}.${field.name}, ${shape.name}, ${scope} key`;
          let body: Body;
          if (Array.isArray(json)) {
            expect(json, where).toHaveLength(2);
            expect((json[0] as Body).data, where).toEqual({ __typename: 'Query' });
            body = json[1] as Body;
          } else {
            expect(shape.name, `${where}: HTTP ${status}`).not.toBe('batched');
            body = json as Body;
          }
          const responseKey = shape.key === 'renamed' ? 'renamed' : field.name;
          if (scope === required) {
            expect(forbidden(body), `${where}: ${JSON.stringify(body.errors)}`).toBe(false);
          } else {
            expect(forbidden(body), `${where}: ${JSON.stringify(body)}`).toBe(true);
            expect(body.data?.[responseKey] ?? null, where).toBeNull();
          }
        }));
      }
      if (typeName === 'Mutation' && field.name === 'createApiKey') {
        // Only the admin key's requests created keys; every refused shape created nothing.
        const created = (await gateway.services.auth.apiKeys.list()).filter((key) => key.name.startsWith('matrix '));
        expect(created.every((key) => key.name.endsWith(' admin'))).toBe(true);
        expect(created.length).toBe(shapes.length);
      }
    });
  }
});
