import type { FieldNode, FragmentDefinitionNode, SelectionSetNode } from 'graphql';
import type { PageInclude } from './page-terms.js';

/**
 * What a `products` selection asks of each node, read from the operation (fragments included),
 * so the page's positions and lots are read in the page's own statement (./page-terms.ts) and
 * the locations beside it, rather than through a promise per product. Only reads are decided here: a field skipped by
 * `@skip`/`@include` at most costs a read nobody uses.
 */

interface SelectionInfo {
  readonly fieldNodes: ReadonlyArray<{ readonly selectionSet?: SelectionSetNode | undefined }>;
  readonly fragments: Readonly<Record<string, FragmentDefinitionNode>>;
}

/** The fields of `selectionSet` (fragments expanded) named `name`. */
function fieldsNamed(selectionSet: SelectionSetNode | undefined, name: string, fragments: SelectionInfo['fragments'], seen = new Set<string>()): FieldNode[] {
  const found: FieldNode[] = [];
  for (const selection of selectionSet?.selections ?? []) {
    if (selection.kind === 'Field') {
      if (selection.name.value === name) found.push(selection);
    } else if (selection.kind === 'InlineFragment') {
      found.push(...fieldsNamed(selection.selectionSet, name, fragments, seen));
    } else if (!seen.has(selection.name.value)) {
      seen.add(selection.name.value);
      found.push(...fieldsNamed(fragments[selection.name.value]?.selectionSet, name, fragments, seen));
    }
  }
  return found;
}

/**
 * What a products page's nodes need read beside it: positions (and the locations) when
 * `availability` is selected (any argument: positions are filtered in memory), lots at the
 * page's location scope when `lots` is selected without a `location` argument (with one, its
 * own read answers it).
 */
export function pageIncludeOf(info: SelectionInfo): PageInclude {
  const nodeFields = info.fieldNodes
    .flatMap((field) => fieldsNamed(field.selectionSet, 'edges', info.fragments))
    .flatMap((edges) => fieldsNamed(edges.selectionSet, 'node', info.fragments));
  const productFields = (name: string) => nodeFields.flatMap((node) => fieldsNamed(node.selectionSet, name, info.fragments));
  const lots = productFields('lots').some((field) => !(field.arguments ?? []).some((argument) => argument.name.value === 'location'));
  return { positions: productFields('availability').length > 0, lots };
}
