import { buildSchema, getNamedType, GraphQLEnumType, GraphQLList, GraphQLNonNull, GraphQLObjectType, GraphQLString, isEnumType, isInterfaceType, isListType, isNonNullType, isObjectType, type GraphQLField, type GraphQLOutputType } from 'graphql';
import { describe, expect, it } from 'vitest';
import { loadTypeDefs } from '../../src/http/graphql-schema.js';

const schema = buildSchema(loadTypeDefs());
const mutations = Object.values(schema.getMutationType()!.getFields());

/** The mutations the public contract names: they keep their return types and throw coded errors. */
const CONTRACT_MUTATIONS = ['pushInventory', 'reserveInventory', 'releaseReservation', 'commitReservation', 'mapLocation', 'mapSku', 'setSafetyStock', 'replayOrder'];

/**
 * Mutations older than the payload rule that return an entity (or a plain value) directly: like
 * the contract ones, they keep their return types and must document their codes.
 */
const ENTITY_MUTATIONS = ['createApiKey', 'revokeApiKey', 'setSwitches'];

/**
 * String fields whose name suggests a closed set but whose values are open: Shopify's or the ERP's
 * own words, or codes other systems and future versions add to (clients must accept new ones).
 */
const OPEN_STRING_FIELDS = new Set([
  // Codes raised by any part of the pipeline or returned by Shopify/the ERP: the set grows.
  'SyncRunError.code',
  'SyncRunFailure.code',
  'JobRunError.code',
  // Alerts are raised by every domain (thresholds, oversells, failed orders and fulfilments, privacy requests).
  'Alert.code',
  // Names and ids that happen to end in a listed word.
  'Location.code',
  'Location.warehouseCode',
]);

const CLOSED_NAME = /(kind|status|code|reason|source|type|policy|mode)$/i;

function unwrap(type: GraphQLOutputType): GraphQLOutputType {
  return isNonNullType(type) ? type.ofType : type;
}

function describeUserErrors(field: GraphQLField<unknown, unknown>): string[] {
  const problems: string[] = [];
  const payload = unwrap(field.type);
  if (!isObjectType(payload)) return [`${field.name} returns ${String(field.type)}, not a payload object`];
  const userErrors = payload.getFields().userErrors;
  if (!userErrors) return [`${field.name}: ${payload.name} has no userErrors`];
  const list = userErrors.type;
  if (!(isNonNullType(list) && isListType(list.ofType) && isNonNullType(list.ofType.ofType))) problems.push(`${field.name}: userErrors is ${String(list)}, not [X!]!`);
  const error = getNamedType(list);
  if (!isObjectType(error)) return [...problems, `${field.name}: user error type is not an object`];
  const fields = error.getFields();
  if (String(fields.field?.type) !== '[String!]!') problems.push(`${field.name}: ${error.name}.field is ${String(fields.field?.type)}`);
  if (String(fields.message?.type) !== 'String!') problems.push(`${field.name}: ${error.name}.message is ${String(fields.message?.type)}`);
  const code = fields.code?.type;
  if (!code || !isNonNullType(code) || !isEnumType(code.ofType)) problems.push(`${field.name}: ${error.name}.code is ${String(code)}, not an enum`);
  return problems;
}

describe('the schema keeps the shapes every mutation and field follows', () => {
  it('every contract mutation keeps its return type and lists its error codes in its description', () => {
    const names = mutations.map((m) => m.name);
    for (const name of CONTRACT_MUTATIONS) expect(names, name).toContain(name);
    const undocumented = [...CONTRACT_MUTATIONS, ...ENTITY_MUTATIONS]
      .filter((name) => names.includes(name))
      .filter((name) => !/^Error codes: [A-Z_]+(, [A-Z_]+)*\.$/m.test(schema.getMutationType()!.getFields()[name]!.description ?? ''));
    expect(undocumented).toEqual([]);
  });

  it('every other mutation returns a payload with userErrors { field message code } whose code is an enum, and lists its codes', () => {
    const problems = mutations
      .filter((m) => !CONTRACT_MUTATIONS.includes(m.name) && !ENTITY_MUTATIONS.includes(m.name))
      .flatMap((m) => [...describeUserErrors(m), ...(/^userErrors codes: [A-Z_]+(, [A-Z_]+)*\.$/m.test(m.description ?? '') ? [] : [`${m.name}: no "userErrors codes:" line`])]);
    expect(problems).toEqual([]);
  });

  it('no field named like a closed set (kind, status, code, reason, source, type, policy, mode) is a String unless listed as open', () => {
    const strings: string[] = [];
    for (const type of Object.values(schema.getTypeMap())) {
      if (type.name.startsWith('__') || !(isObjectType(type) || isInterfaceType(type))) continue;
      for (const field of Object.values(type.getFields())) {
        if (!CLOSED_NAME.test(field.name)) continue;
        const named = getNamedType(field.type);
        if (named === GraphQLString && !OPEN_STRING_FIELDS.has(`${type.name}.${field.name}`)) strings.push(`${type.name}.${field.name}`);
      }
    }
    expect(strings).toEqual([]);
  });

  it('every entry of the open-String allow-list names a String field that exists', () => {
    const stale = [...OPEN_STRING_FIELDS].filter((entry) => {
      const [typeName, fieldName] = entry.split('.') as [string, string];
      const type = schema.getType(typeName);
      return !(type && (isObjectType(type) || isInterfaceType(type)) && getNamedType(type.getFields()[fieldName]?.type) === GraphQLString);
    });
    expect(stale).toEqual([]);
  });

  it('the check itself fails on a String status and on a payload without userErrors', () => {
    const bad = new GraphQLObjectType({ name: 'BadPayload', fields: { ok: { type: GraphQLString } } });
    expect(describeUserErrors({ name: 'bad', type: new GraphQLNonNull(bad) } as unknown as GraphQLField<unknown, unknown>)).toEqual(['bad: BadPayload has no userErrors']);
    const code = new GraphQLEnumType({ name: 'BadCode', values: { A: {} } });
    const error = new GraphQLObjectType({ name: 'BadError', fields: { field: { type: new GraphQLNonNull(new GraphQLList(new GraphQLNonNull(GraphQLString))) }, message: { type: new GraphQLNonNull(GraphQLString) }, code: { type: new GraphQLNonNull(code) } } });
    const good = new GraphQLObjectType({ name: 'GoodPayload', fields: { userErrors: { type: new GraphQLNonNull(new GraphQLList(new GraphQLNonNull(error))) } } });
    expect(describeUserErrors({ name: 'good', type: new GraphQLNonNull(good) } as unknown as GraphQLField<unknown, unknown>)).toEqual([]);
    expect(CLOSED_NAME.test('inventoryPolicy') && CLOSED_NAME.test('kind') && !CLOSED_NAME.test('name')).toBe(true);
  });
});
