import {
  getNamedType,
  isAbstractType,
  isCompositeType,
  isLeafType,
  isListType,
  isNonNullType,
  isObjectType,
  Kind,
  valueFromASTUntyped,
  type DirectiveNode,
  type FieldNode,
  type FragmentDefinitionNode,
  type GraphQLCompositeType,
  type GraphQLField,
  type GraphQLNamedType,
  type GraphQLObjectType,
  type GraphQLSchema,
  type OperationDefinitionNode,
  type SelectionSetNode,
} from 'graphql';

/**
 * Shopify's requested query cost, computed statically before a query runs (shopify.dev, "GraphQL
 * Admin API rate limits"): scalars and enums 0, objects 1, interfaces and unions the most
 * expensive of their possible selections, a connection 2 plus `first`/`last` times the cost of
 * one node (`edges`, `pageInfo` and `cursor` are part of the 2), `nodes(ids:)` the number of ids
 * times one node, and every mutation field a flat 10 whatever it selects. A list that is not a
 * connection costs like one object, since Shopify publishes no multiplier for it.
 */

export const SINGLE_QUERY_MAX_COST = 1000;
export const MUTATION_FIELD_COST = 10;

export interface CostInput {
  schema: GraphQLSchema;
  operation: OperationDefinitionNode;
  fragments: ReadonlyMap<string, FragmentDefinitionNode>;
  variables: Record<string, unknown>;
}

export function isConnectionType(type: GraphQLNamedType): type is GraphQLObjectType {
  if (!isObjectType(type) || !type.name.endsWith('Connection')) return false;
  const fields = type.getFields();
  return 'pageInfo' in fields && ('edges' in fields || 'nodes' in fields);
}

export function requestedQueryCost(input: CostInput): number {
  const { schema, operation, fragments, variables } = input;

  const argumentValue = (field: FieldNode, name: string): unknown => {
    const argument = field.arguments?.find((candidate) => candidate.name.value === name);
    return argument ? valueFromASTUntyped(argument.value, variables) : undefined;
  };

  const included = (node: { directives?: readonly DirectiveNode[] }): boolean => {
    for (const directive of node.directives ?? []) {
      if (directive.name.value !== 'skip' && directive.name.value !== 'include') continue;
      const condition = directive.arguments?.find((argument) => argument.name.value === 'if');
      const value = condition ? valueFromASTUntyped(condition.value, variables) === true : false;
      if (directive.name.value === 'skip' && value) return false;
      if (directive.name.value === 'include' && !value) return false;
    }
    return true;
  };

  /** Whether a fragment on `condition` applies to an object of type `type`. */
  const applies = (condition: string | undefined, type: GraphQLCompositeType): boolean => {
    if (!condition || condition === type.name) return true;
    const conditionType = schema.getType(condition);
    if (!conditionType || !isAbstractType(conditionType)) return false;
    if (isObjectType(type)) return schema.isSubType(conditionType, type);
    return false;
  };

  /** Object types named by fragments in this selection that are possible types of `type`. */
  const concreteCandidates = (selectionSet: SelectionSetNode, type: GraphQLCompositeType, seen = new Set<string>()): Set<GraphQLObjectType> => {
    const found = new Set<GraphQLObjectType>();
    if (!isAbstractType(type)) return found;
    for (const selection of selectionSet.selections) {
      let condition: string | undefined;
      let inner: SelectionSetNode | undefined;
      if (selection.kind === Kind.INLINE_FRAGMENT) {
        condition = selection.typeCondition?.name.value;
        inner = selection.selectionSet;
      } else if (selection.kind === Kind.FRAGMENT_SPREAD) {
        if (seen.has(selection.name.value)) continue;
        seen.add(selection.name.value);
        const fragment = fragments.get(selection.name.value);
        condition = fragment?.typeCondition.name.value;
        inner = fragment?.selectionSet;
      }
      if (!inner) continue;
      const conditionType = condition ? schema.getType(condition) : undefined;
      if (conditionType && isObjectType(conditionType) && schema.isSubType(type, conditionType)) found.add(conditionType);
      else for (const candidate of concreteCandidates(inner, type, seen)) found.add(candidate);
    }
    return found;
  };

  const selectionCost = (selectionSet: SelectionSetNode | undefined, type: GraphQLCompositeType): number => {
    if (!selectionSet) return 0;
    const candidates = concreteCandidates(selectionSet, type);
    if (candidates.size === 0) return fieldsCost(selectionSet, type, new Set());
    let max = 0;
    for (const candidate of candidates) max = Math.max(max, fieldsCost(selectionSet, candidate, new Set()));
    return max;
  };

  const fieldsCost = (selectionSet: SelectionSetNode, type: GraphQLCompositeType, spread: Set<string>): number => {
    let total = 0;
    for (const selection of selectionSet.selections) {
      if (!included(selection)) continue;
      if (selection.kind === Kind.FIELD) {
        total += fieldCost(selection, type);
      } else if (selection.kind === Kind.INLINE_FRAGMENT) {
        if (applies(selection.typeCondition?.name.value, type)) total += fieldsCost(selection.selectionSet, type, spread);
      } else {
        const fragment = fragments.get(selection.name.value);
        if (!fragment || spread.has(fragment.name.value)) continue;
        if (applies(fragment.typeCondition.name.value, type)) {
          spread.add(fragment.name.value);
          total += fieldsCost(fragment.selectionSet, type, spread);
          spread.delete(fragment.name.value);
        }
      }
    }
    return total;
  };

  const fieldDefinition = (type: GraphQLCompositeType, name: string): GraphQLField<unknown, unknown> | undefined =>
    'getFields' in type ? (type.getFields() as Record<string, GraphQLField<unknown, unknown>>)[name] : undefined;

  const connectionNodeCost = (selectionSet: SelectionSetNode | undefined, connection: GraphQLObjectType): number => {
    if (!selectionSet) return 0;
    let total = 0;
    const visit = (set: SelectionSetNode, parent: GraphQLObjectType, inEdge: boolean) => {
      for (const selection of set.selections) {
        if (!included(selection)) continue;
        if (selection.kind === Kind.INLINE_FRAGMENT) {
          visit(selection.selectionSet, parent, inEdge);
          continue;
        }
        if (selection.kind === Kind.FRAGMENT_SPREAD) {
          const fragment = fragments.get(selection.name.value);
          if (fragment) visit(fragment.selectionSet, parent, inEdge);
          continue;
        }
        const definition = fieldDefinition(parent, selection.name.value);
        if (!definition) continue;
        const named = getNamedType(definition.type);
        if (!inEdge && selection.name.value === 'edges' && isObjectType(named)) {
          if (selection.selectionSet) visit(selection.selectionSet, named, true);
        } else if ((inEdge && selection.name.value === 'node') || (!inEdge && selection.name.value === 'nodes')) {
          if (isCompositeType(named)) total += 1 + selectionCost(selection.selectionSet, named);
        } else if (isCompositeType(named) && selection.name.value !== 'pageInfo') {
          total += 1 + selectionCost(selection.selectionSet, named);
        }
      }
    };
    visit(selectionSet, connection, false);
    return total;
  };

  function fieldCost(field: FieldNode, parent: GraphQLCompositeType): number {
    if (field.name.value.startsWith('__')) return field.name.value === '__typename' ? 0 : 1;
    const definition = fieldDefinition(parent, field.name.value);
    if (!definition) return 0;
    const named = getNamedType(definition.type);
    if (isLeafType(named) || !isCompositeType(named)) return 0;
    if (isConnectionType(named)) {
      const size = Number(argumentValue(field, 'first') ?? argumentValue(field, 'last') ?? 0);
      const pageSize = Number.isFinite(size) ? Math.max(0, Math.trunc(size)) : 0;
      return 2 + pageSize * connectionNodeCost(field.selectionSet, named);
    }
    const unwrapped = isNonNullType(definition.type) ? definition.type.ofType : definition.type;
    if (field.name.value === 'nodes' && isListType(unwrapped)) {
      const ids = argumentValue(field, 'ids');
      const count = Array.isArray(ids) ? ids.length : 1;
      return count * (1 + selectionCost(field.selectionSet, named));
    }
    return 1 + selectionCost(field.selectionSet, named);
  }

  const rootType = operation.operation === 'mutation' ? schema.getMutationType() : operation.operation === 'subscription' ? schema.getSubscriptionType() : schema.getQueryType();
  if (!rootType) return 0;
  if (operation.operation === 'mutation') {
    let fields = 0;
    const countFields = (set: SelectionSetNode) => {
      for (const selection of set.selections) {
        if (!included(selection)) continue;
        if (selection.kind === Kind.FIELD) {
          if (!selection.name.value.startsWith('__')) fields += 1;
        } else if (selection.kind === Kind.INLINE_FRAGMENT) countFields(selection.selectionSet);
        else {
          const fragment = fragments.get(selection.name.value);
          if (fragment) countFields(fragment.selectionSet);
        }
      }
    };
    countFields(operation.selectionSet);
    return fields * MUTATION_FIELD_COST;
  }
  return selectionCost(operation.selectionSet, rootType);
}
