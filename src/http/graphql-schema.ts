import { readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { GraphQLScalarType, Kind } from 'graphql';
import type { Resolvers } from '../__generated__/graphql.js';
import type { DomainModule } from '../domain-module.js';

const schemaFolder = resolve(fileURLToPath(new URL('../../schema', import.meta.url)));

/** The public SDL: every file in schema/, one per domain. */
export function loadTypeDefs(): string {
  return readdirSync(schemaFolder)
    .filter((file) => file.endsWith('.graphql'))
    .sort()
    .map((file) => readFileSync(join(schemaFolder, file), 'utf8'))
    .join('\n');
}

const dateTimeScalar = new GraphQLScalarType<Date, string>({
  name: 'DateTime',
  serialize(value) {
    const date = value instanceof Date ? value : new Date(value as string);
    if (Number.isNaN(date.getTime())) throw new TypeError('DateTime cannot represent an invalid date');
    return date.toISOString();
  },
  parseValue(value) {
    const date = new Date(value as string);
    if (typeof value !== 'string' || Number.isNaN(date.getTime())) throw new TypeError('DateTime must be an ISO-8601 string');
    return date;
  },
  parseLiteral(ast) {
    if (ast.kind !== Kind.STRING) throw new TypeError('DateTime must be an ISO-8601 string');
    const date = new Date(ast.value);
    if (Number.isNaN(date.getTime())) throw new TypeError('DateTime must be an ISO-8601 string');
    return date;
  },
});

const dateScalar = new GraphQLScalarType<string, string>({
  name: 'Date',
  serialize: (value) => String(value).slice(0, 10),
  parseValue(value) {
    if (typeof value !== 'string' || !/^\d{4}-\d{2}-\d{2}$/.test(value)) throw new TypeError('Date must be YYYY-MM-DD');
    return value;
  },
  parseLiteral(ast) {
    if (ast.kind !== Kind.STRING || !/^\d{4}-\d{2}-\d{2}$/.test(ast.value)) throw new TypeError('Date must be YYYY-MM-DD');
    return ast.value;
  },
});

const commonResolvers: Resolvers = {
  DateTime: dateTimeScalar,
  Date: dateScalar,
  Query: {
    serverInfo: (_parent, _args, { serverInfo }) => serverInfo(),
  },
};

/** Merges the domains' resolver maps type by type. */
function mergeResolvers(...maps: Resolvers[]): Resolvers {
  const merged: Record<string, unknown> = {};
  for (const map of maps) {
    for (const [typeName, value] of Object.entries(map)) {
      if (value instanceof GraphQLScalarType) {
        merged[typeName] = value;
        continue;
      }
      merged[typeName] = { ...(merged[typeName] as object | undefined), ...(value as object) };
    }
  }
  return merged as Resolvers;
}

/**
 * The resolver map of the schema: the scalars and `serverInfo`, then each module's resolvers.
 * Without modules, a map that still builds the whole schema (the SDL alone decides its shape and
 * rules), for tests and benchmarks that only read those.
 */
export function buildResolvers(modules: ReadonlyArray<Pick<DomainModule, 'resolvers'>> = []): Resolvers {
  return mergeResolvers(commonResolvers, ...modules.flatMap((module) => (module.resolvers ? [module.resolvers] : [])));
}
