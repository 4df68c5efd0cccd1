import type { ConstDirectiveNode, GraphQLField, GraphQLNamedType, GraphQLObjectType, GraphQLSchema, GraphQLType } from 'graphql';
import type { ApiScope } from '../../auth/api-key.models.js';

/**
 * What the SDL says about each field that the guard needs: the scope it requires
 * (`@requiresScope`), its cost (`@cost`, `@listSize`) and its shape (list, connection, object).
 * Read once per schema from the fields' SDL nodes.
 *
 * Only duck-typed reads of the schema are used here (no `isObjectType` & co.): under vitest the
 * schema comes from graphql's CommonJS build while this module may get the ESM one, and graphql's
 * `instanceof` checks refuse objects of the other copy.
 */
export interface FieldRule {
  /** Scope the key needs; `undefined` when the field declares none. */
  readonly scope: ApiScope | undefined;
  /** `@cost(weight:)`, when declared. */
  readonly weight: number | undefined;
  /** `@listSize(assumedSize:)`: the size counted when no slicing argument is given. */
  readonly assumedSize: number | undefined;
  /** `@listSize(slicingArguments:)`: arguments whose value is the size (e.g. `first`). */
  readonly slicingArguments: readonly string[];
  /** Declared defaults of the slicing arguments (e.g. `first: Int = 20`). */
  readonly slicingDefaults: ReadonlyMap<string, number>;
  readonly isList: boolean;
  /** Returns a Relay connection (a type with `edges` and `pageInfo`). */
  readonly isConnection: boolean;
  /** Returns an object, interface or union (needs a selection). */
  readonly isComposite: boolean;
  /** The named type it returns. */
  readonly typeName: string;
}

export interface SchemaRules {
  readonly schema: GraphQLSchema;
  /** `Type.field` -> rule; introspection types included. */
  readonly fields: ReadonlyMap<string, FieldRule>;
  /** Root fields of Query/Mutation/Subscription that declare no `@requiresScope` (refused). */
  readonly undeclaredRootFields: readonly string[];
  /** Connection types: their `edges` and `pageInfo` add nothing of their own (Shopify counts the node). */
  readonly connectionTypes: ReadonlySet<string>;
  /** Possible object types of each interface or union, by name. */
  readonly possibleTypes: ReadonlyMap<string, readonly string[]>;
  readonly rootTypes: { readonly query: string | undefined; readonly mutation: string | undefined; readonly subscription: string | undefined };
}

/** Connections sized by `first`/`last` when their field declares nothing else. */
export const DEFAULT_CONNECTION_SLICING = ['first', 'last'] as const;

function unwrap(type: GraphQLType): { named: GraphQLNamedType; isList: boolean } {
  let current: GraphQLType = type;
  let isList = false;
  while ('ofType' in current && current.ofType) {
    // A wrapping type prints as `[T]` (list) or `T!` (non-null).
    if (String(current).endsWith(']')) isList = true;
    current = current.ofType as GraphQLType;
  }
  return { named: current as GraphQLNamedType, isList };
}

/** Objects and interfaces have `getInterfaces`; input objects, which also have fields, do not. */
function isOutputComposite(type: GraphQLNamedType): boolean {
  return ('getFields' in type && 'getInterfaces' in type) || 'getTypes' in type;
}

/** Interfaces and unions resolve their concrete type; objects do not. */
function isAbstract(type: GraphQLNamedType): boolean {
  return 'resolveType' in type;
}

function directive(node: { directives?: readonly ConstDirectiveNode[] } | null | undefined, name: string): ConstDirectiveNode | undefined {
  return node?.directives?.find((d) => d.name.value === name);
}

function argument(node: ConstDirectiveNode | undefined, name: string) {
  return node?.arguments?.find((a) => a.name.value === name)?.value;
}

function scopeOf(field: GraphQLField<unknown, unknown>): ApiScope | undefined {
  const value = argument(directive(field.astNode, 'requiresScope'), 'scope');
  return value?.kind === 'EnumValue' ? (value.value.toLowerCase() as ApiScope) : undefined;
}

function intArgument(node: ConstDirectiveNode | undefined, name: string): number | undefined {
  const value = argument(node, name);
  return value?.kind === 'IntValue' ? Number(value.value) : undefined;
}

export function readSchemaRules(schema: GraphQLSchema): SchemaRules {
  const fields = new Map<string, FieldRule>();
  const connectionTypes = new Set<string>();
  const possibleTypes = new Map<string, readonly string[]>();
  const typeMap = schema.getTypeMap();

  for (const type of Object.values(typeMap)) {
    if (isAbstract(type)) possibleTypes.set(type.name, schema.getPossibleTypes(type as never).map((t) => t.name));
    if (!isOutputComposite(type) || !('getFields' in type)) continue;
    const typeFields = (type as GraphQLObjectType).getFields();
    if ('edges' in typeFields && 'pageInfo' in typeFields) connectionTypes.add(type.name);
  }

  for (const type of Object.values(typeMap)) {
    if (!isOutputComposite(type) || !('getFields' in type)) continue;
    for (const field of Object.values((type as GraphQLObjectType).getFields())) {
      const { named, isList } = unwrap(field.type);
      const listSize = directive(field.astNode, 'listSize');
      const sliceValue = argument(listSize, 'slicingArguments');
      const declaredSlicing = sliceValue?.kind === 'ListValue' ? sliceValue.values.flatMap((v) => (v.kind === 'StringValue' ? [v.value] : [])) : undefined;
      const isConnection = connectionTypes.has(named.name);
      const slicingArguments = declaredSlicing ?? (isConnection ? DEFAULT_CONNECTION_SLICING.filter((name) => field.args.some((a) => a.name === name)) : []);
      const slicingDefaults = new Map<string, number>();
      for (const arg of field.args) {
        if (slicingArguments.includes(arg.name) && typeof arg.defaultValue === 'number') slicingDefaults.set(arg.name, arg.defaultValue);
      }
      fields.set(`${type.name}.${field.name}`, {
        scope: scopeOf(field),
        weight: intArgument(directive(field.astNode, 'cost'), 'weight'),
        assumedSize: intArgument(listSize, 'assumedSize'),
        slicingArguments,
        slicingDefaults,
        isList,
        isConnection,
        isComposite: isOutputComposite(named),
        typeName: named.name,
      });
    }
  }

  const rootTypes = {
    query: schema.getQueryType()?.name,
    mutation: schema.getMutationType()?.name,
    subscription: schema.getSubscriptionType()?.name,
  };
  const undeclaredRootFields: string[] = [];
  for (const root of Object.values(rootTypes)) {
    if (!root) continue;
    for (const name of Object.keys((typeMap[root] as GraphQLObjectType).getFields())) {
      if (!fields.get(`${root}.${name}`)?.scope) undeclaredRootFields.push(`${root}.${name}`);
    }
  }
  return { schema, fields, undeclaredRootFields, connectionTypes, possibleTypes, rootTypes };
}
