import { Kind, parse, type DocumentNode, type FieldNode, type FragmentDefinitionNode, type SelectionSetNode, type ValueNode } from 'graphql';

/**
 * Shopify's requested query cost, computed before sending so the throttle can wait for it and a
 * query over the single-query limit is never sent. Rules (shopify.dev "rate limits"): scalars and
 * enums 0, objects 1, a connection 2 plus `first`/`last` times the cost of one node, `nodes(ids:)`
 * the number of ids times one node, each mutation field 10. It reads only the document (no
 * schema): a field with a selection set is an object, a field with `first`/`last` a connection.
 * Shopify's own figure may differ slightly; the transport calibrates each operation's estimate
 * with the `requestedQueryCost` Shopify reports.
 */

export const SINGLE_QUERY_MAX_COST = 1000;
export const MUTATION_COST = 10;

export function parseOperation(source: string): { document: DocumentNode; operationName: string; isMutation: boolean } {
  const document = parse(source);
  const operation = document.definitions.find((definition) => definition.kind === Kind.OPERATION_DEFINITION);
  if (!operation || operation.kind !== Kind.OPERATION_DEFINITION || !operation.name) {
    throw new Error('a Shopify operation document must hold one named operation');
  }
  return { document, operationName: operation.name.value, isMutation: operation.operation === 'mutation' };
}

export function requestedQueryCost(document: DocumentNode, variables: Record<string, unknown> = {}): number {
  const fragments = new Map<string, FragmentDefinitionNode>();
  for (const definition of document.definitions) {
    if (definition.kind === Kind.FRAGMENT_DEFINITION) fragments.set(definition.name.value, definition);
  }
  const operation = document.definitions.find((definition) => definition.kind === Kind.OPERATION_DEFINITION);
  if (!operation || operation.kind !== Kind.OPERATION_DEFINITION) return 0;

  if (operation.operation === 'mutation') {
    let fields = 0;
    for (const selection of operation.selectionSet.selections) if (selection.kind === Kind.FIELD) fields += 1;
    return fields * MUTATION_COST;
  }

  const valueOf = (node: ValueNode): unknown => {
    switch (node.kind) {
      case Kind.VARIABLE:
        return variables[node.name.value];
      case Kind.INT:
        return Number(node.value);
      case Kind.LIST:
        return node.values.map(valueOf);
      default:
        return undefined;
    }
  };

  const selectionCost = (selectionSet: SelectionSetNode | undefined): number => {
    if (!selectionSet) return 0;
    let sum = 0;
    // Inline fragments on different types are alternatives: one object is only ever one type.
    let alternatives = 0;
    for (const selection of selectionSet.selections) {
      if (selection.kind === Kind.FIELD) sum += fieldCost(selection);
      else if (selection.kind === Kind.INLINE_FRAGMENT) alternatives = Math.max(alternatives, selectionCost(selection.selectionSet));
      else {
        const fragment = fragments.get(selection.name.value);
        if (fragment) sum += selectionCost(fragment.selectionSet);
      }
    }
    return sum + alternatives;
  };

  const connectionNodeCost = (selectionSet: SelectionSetNode): number => {
    let cost = 0;
    for (const selection of selectionSet.selections) {
      if (selection.kind !== Kind.FIELD) continue;
      if (selection.name.value === 'nodes') cost += 1 + selectionCost(selection.selectionSet);
      if (selection.name.value === 'edges') {
        for (const edgeSelection of selection.selectionSet?.selections ?? []) {
          if (edgeSelection.kind === Kind.FIELD && edgeSelection.name.value === 'node') cost += 1 + selectionCost(edgeSelection.selectionSet);
        }
      }
    }
    return cost;
  };

  function fieldCost(field: FieldNode): number {
    if (!field.selectionSet) return 0;
    const argument = (name: string) => field.arguments?.find((arg) => arg.name.value === name);
    const size = argument('first') ?? argument('last');
    if (size) {
      const count = Number(valueOf(size.value) ?? 0);
      return 2 + Math.max(0, count) * connectionNodeCost(field.selectionSet);
    }
    const ids = argument('ids');
    if (field.name.value === 'nodes' && ids) {
      const list = valueOf(ids.value);
      const count = Array.isArray(list) ? list.length : 1;
      return count * (1 + selectionCost(field.selectionSet));
    }
    return 1 + selectionCost(field.selectionSet);
  }

  return selectionCost(operation.selectionSet);
}
