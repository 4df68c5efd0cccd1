import { readdirSync, readFileSync } from 'node:fs';
import { makeExecutableSchema } from '@graphql-tools/schema';
import { buildSchema, parse, validate, type OperationDefinitionNode } from 'graphql';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { readSchemaRules } from '../../src/http/graphql-guard/field-rules.js';
import { analyzeOperation, fragmentsOf } from '../../src/http/graphql-guard/operation-analysis.js';
import { buildResolvers, loadTypeDefs } from '../../src/http/graphql-schema.js';

/**
 * The console is an API client like any other, under the default query cost limit: every
 * document it sends (console/src/graphql) is valid against the schema and costs at most
 * GRAPHQL_MAX_COST's default, so a console page never fails with MAX_COST_EXCEEDED on a gateway
 * left at its defaults. (The browser test lifts the limits; this is where they are held.)
 */
const schema = makeExecutableSchema({ typeDefs: loadTypeDefs(), resolvers: buildResolvers() as never });
const rules = readSchemaRules(schema);
const maxCost = loadConfig({}).graphql.maxCost;
const folder = new URL('../../console/src/graphql/', import.meta.url);
// Fragments may be shared between files: codegen sees every document at once, so do we.
const documents = readdirSync(folder)
  .filter((file) => file.endsWith('.graphql'))
  .map((file) => ({ file, text: readFileSync(new URL(file, folder), 'utf8') }));
const whole = parse(documents.map((document) => document.text).join('\n'));
const fragments = fragmentsOf(whole);
const operations = whole.definitions.filter((definition): definition is OperationDefinitionNode => definition.kind === 'OperationDefinition');

describe('the console’s GraphQL documents', () => {
  it('are valid against the schema', () => {
    expect(operations.length).toBeGreaterThanOrEqual(documents.length);
    expect(validate(buildSchema(loadTypeDefs()), whole).map((error) => error.message)).toEqual([]);
  });

  it.each(operations.map((operation) => [operation.name?.value ?? '(anonymous)', operation] as const))('%s costs at most the default GRAPHQL_MAX_COST', (_name, operation) => {
    const analysis = analyzeOperation(rules, operation, fragments, {});
    expect(analysis.undeclared).toEqual(new Set());
    expect(analysis.cost).toBeGreaterThan(0);
    expect(analysis.cost, `cost of ${operation.name?.value}`).toBeLessThanOrEqual(maxCost);
  });
});
