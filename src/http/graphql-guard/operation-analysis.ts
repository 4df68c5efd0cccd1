import type { DirectiveNode, FragmentDefinitionNode, OperationDefinitionNode, SelectionNode, ValueNode } from 'graphql';
import type { ApiScope } from '../../auth/api-key.models.js';
import { DEFAULT_PAGE_SIZE } from '../../shared/pagination.js';
import type { FieldRule, SchemaRules } from './field-rules.js';

/**
 * Walks one operation the way execution will, before anything runs: named fragments, fragments
 * inside fragments and inline fragments are expanded, `@skip`/`@include` are evaluated with the
 * request's variables, and abstract types count as their most expensive possible type. It
 * measures what the guard limits: depth, aliases, the Shopify-style cost, and the scopes of every
 * field reached.
 *
 * Costs (as Shopify counts them): an object field 1, a scalar or enum 0, a connection
 * `2 + size × node` where size is `first`/`last` (or the declared default), a list declaring
 * `@listSize` `size × element`, a mutation field 10, and `@cost(weight:)` replaces a field's own
 * weight. A list declaring no size counts as one element, as Shopify counts plain lists.
 *
 * A fragment's result is memoised per type, so a document that spreads fragments into
 * fragments (a "fragment bomb") is walked in time linear in its size; its cost still adds up to
 * what execution would do, and is then refused.
 */
export interface OperationAnalysis {
  /** Longest chain of fields that have a selection (leaves do not count). */
  depth: number;
  /** Aliased fields, counted as often as execution would meet them. */
  aliases: number;
  /** Requested cost. */
  cost: number;
  /** Scopes of the fields reached (root fields and nested fields that declare one). */
  scopes: Set<ApiScope>;
  /** Root fields reached that declare no scope: refused (deny by default). */
  undeclared: Set<string>;
  /** `__schema` or `__type` was asked for. */
  introspection: boolean;
}

/** Size counted for a connection that names no `first`/`last` and declares no default: the page it answers. */
export const DEFAULT_CONNECTION_SIZE = DEFAULT_PAGE_SIZE;
/** A mutation field's own weight, as Shopify's. */
export const MUTATION_WEIGHT = 10;
/** A connection's own weight, as Shopify's. */
export const CONNECTION_WEIGHT = 2;

type Variables = Readonly<Record<string, unknown>>;

interface Measure {
  depth: number;
  aliases: number;
  cost: number;
}

const introspectionRoots: Readonly<Record<string, string>> = { __schema: '__Schema', __type: '__Type' };

interface PlanEntry {
  responseKey: string;
  children: readonly SelectionNode[] | undefined;
  childType: string | undefined;
  ownWeight: number;
  /** Set for a connection: its own weight. */
  connectionWeight: number | undefined;
  sized: boolean;
  listWeight: number;
  /** A field of a connection type (`edges`): its elements are the connection's nodes. */
  inConnection: boolean;
}

class Walker {
  private readonly memo = new Map<string, Measure>();
  private readonly plans = new Map<readonly SelectionNode[], Map<string, PlanEntry[]>>();
  readonly scopes = new Set<ApiScope>();
  readonly undeclared = new Set<string>();
  introspection = false;

  constructor(
    private readonly rules: SchemaRules,
    private readonly fragments: ReadonlyMap<string, FragmentDefinitionNode>,
    private readonly variables: Variables,
    private readonly defaults: Variables,
    private readonly rootType: string,
    private readonly isMutation: boolean,
  ) {}

  value(node: ValueNode): unknown {
    switch (node.kind) {
      case 'Variable': {
        const name = node.name.value;
        return name in this.variables ? this.variables[name] : this.defaults[name];
      }
      case 'IntValue':
        return Number(node.value);
      case 'BooleanValue':
        return node.value;
      default:
        return undefined;
    }
  }

  included(directives: readonly DirectiveNode[] | undefined): boolean {
    if (!directives) return true;
    for (const directive of directives) {
      const name = directive.name.value;
      if (name !== 'skip' && name !== 'include') continue;
      const condition = directive.arguments?.find((a) => a.name.value === 'if');
      const value = condition ? this.value(condition.value) : undefined;
      if (name === 'skip' && value === true) return false;
      if (name === 'include' && value === false) return false;
    }
    return true;
  }

  /** Whether a fragment with this type condition applies to an object of `typeName`. */
  applies(condition: string | undefined, typeName: string): boolean {
    if (!condition || condition === typeName) return true;
    return this.rules.possibleTypes.get(condition)?.includes(typeName) ?? false;
  }

  /** A selection set on any composite type: an abstract type counts as its costliest object type. */
  selectionSet(selections: readonly SelectionNode[], typeName: string): Measure {
    const possible = this.rules.possibleTypes.get(typeName);
    if (!possible) return this.objectSelections(selections, typeName);
    const result: Measure = { depth: 0, aliases: 0, cost: 0 };
    for (const objectType of possible) {
      const one = this.objectSelections(selections, objectType);
      result.depth = Math.max(result.depth, one.depth);
      result.aliases = Math.max(result.aliases, one.aliases);
      result.cost = Math.max(result.cost, one.cost);
    }
    return result;
  }

  objectSelections(selections: readonly SelectionNode[], typeName: string): Measure {
    const result: Measure = { depth: 0, aliases: 0, cost: 0 };
    const add = (part: Measure) => {
      result.depth = Math.max(result.depth, part.depth);
      result.aliases += part.aliases;
      result.cost += part.cost;
    };
    for (const selection of selections) {
      if (!this.included(selection.directives)) continue;
      if (selection.kind === 'Field') {
        add(this.field(selection, typeName));
      } else if (selection.kind === 'InlineFragment') {
        if (this.applies(selection.typeCondition?.name.value, typeName)) add(this.objectSelections(selection.selectionSet.selections, typeName));
      } else {
        const fragment = this.fragments.get(selection.name.value);
        if (!fragment || !this.applies(fragment.typeCondition.name.value, typeName)) continue;
        const key = `${fragment.name.value}|${typeName}`;
        let part = this.memo.get(key);
        if (!part) {
          // A placeholder first: a fragment cycle (invalid, refused by validation) ends here.
          this.memo.set(key, { depth: 0, aliases: 0, cost: 0 });
          part = this.objectSelections(fragment.selectionSet.selections, typeName);
          this.memo.set(key, part);
        }
        add(part);
      }
    }
    return result;
  }

  /** A field's own points: declared, or mutation 10, object 1, a connection's edges and pageInfo 0, scalar 0. */
  ownWeight(rule: FieldRule | undefined, typeName: string, composite: boolean): number {
    if (rule?.weight !== undefined) return rule.weight;
    if (this.isMutation && typeName === this.rootType) return MUTATION_WEIGHT;
    if (this.rules.connectionTypes.has(typeName)) return 0;
    return composite ? 1 : 0;
  }

  /**
   * The fields of a selection set that can cost anything (objects, lists, weighted fields) on
   * one object type, fragments flattened: built once per request and selection set, so the walk
   * over a returned page visits only what counts, not every scalar of every row.
   */
  plan(selections: readonly SelectionNode[], typeName: string): PlanEntry[] {
    let byType = this.plans.get(selections);
    if (!byType) this.plans.set(selections, (byType = new Map()));
    const cached = byType.get(typeName);
    if (cached) return cached;
    const entries: PlanEntry[] = [];
    const collect = (nodes: readonly SelectionNode[]) => {
      for (const selection of nodes) {
        if (!this.included(selection.directives)) continue;
        if (selection.kind === 'InlineFragment') {
          if (this.applies(selection.typeCondition?.name.value, typeName)) collect(selection.selectionSet.selections);
        } else if (selection.kind === 'FragmentSpread') {
          const fragment = this.fragments.get(selection.name.value);
          if (fragment && this.applies(fragment.typeCondition.name.value, typeName)) collect(fragment.selectionSet.selections);
        } else {
          const name = selection.name.value;
          if (name.startsWith('__')) continue;
          const rule = this.rules.fields.get(`${typeName}.${name}`);
          const children = selection.selectionSet?.selections;
          const ownWeight = this.ownWeight(rule, typeName, Boolean(children));
          if (!children && ownWeight === 0) continue;
          entries.push({
            responseKey: selection.alias?.value ?? name,
            children,
            childType: rule?.typeName,
            ownWeight,
            connectionWeight: rule?.isConnection ? (rule.weight ?? CONNECTION_WEIGHT) : undefined,
            sized: rule !== undefined && (rule.assumedSize !== undefined || rule.slicingArguments.length > 0),
            listWeight: rule?.weight ?? 0,
            inConnection: this.rules.connectionTypes.has(typeName),
          });
        }
      }
    };
    collect(selections);
    byType.set(typeName, entries);
    return entries;
  }

  /** The cost of what a selection set returned (an abstract type: its costliest possible type). */
  dataCost(selections: readonly SelectionNode[], typeName: string, data: unknown): number {
    if (data === null || typeof data !== 'object') return 0;
    const possible = this.rules.possibleTypes.get(typeName);
    if (possible) {
      let max = 0;
      for (const objectType of possible) max = Math.max(max, this.dataCost(selections, objectType, data));
      return max;
    }
    let cost = 0;
    for (const entry of this.plan(selections, typeName)) {
      const value = (data as Record<string, unknown>)[entry.responseKey];
      // Absent: the field was not on this object's type (or was skipped); it did not run.
      if (value === undefined) continue;
      if (!entry.children || !entry.childType || value === null) {
        cost += entry.connectionWeight ?? entry.ownWeight;
      } else if (entry.connectionWeight !== undefined) {
        cost += entry.connectionWeight + this.dataCost(entry.children, entry.childType, value);
      } else if (Array.isArray(value)) {
        // A connection's edges and a sized list count every element; another list, its costliest one.
        let elements = 0;
        for (const element of value) {
          const one = this.dataCost(entry.children, entry.childType, element);
          elements = entry.inConnection ? elements + one : entry.sized ? elements + 1 + one : Math.max(elements, one);
        }
        cost += entry.sized ? entry.listWeight + elements : entry.ownWeight + elements;
      } else {
        cost += entry.ownWeight + this.dataCost(entry.children, entry.childType, value);
      }
    }
    return cost;
  }

  size(node: Extract<SelectionNode, { kind: 'Field' }>, rule: FieldRule): number {
    let size: number | undefined;
    for (const name of rule.slicingArguments) {
      const arg = node.arguments?.find((a) => a.name.value === name);
      const value = arg ? this.value(arg.value) : rule.slicingDefaults.get(name);
      if (typeof value === 'number' && Number.isFinite(value)) size = Math.max(size ?? 0, value);
    }
    return Math.max(0, size ?? rule.assumedSize ?? (rule.isConnection ? DEFAULT_CONNECTION_SIZE : 1));
  }

  field(node: Extract<SelectionNode, { kind: 'Field' }>, typeName: string): Measure {
    const name = node.name.value;
    const aliases = node.alias ? 1 : 0;
    if (name === '__typename') return { depth: 0, aliases, cost: 0 };
    const introspectionType = typeName === this.rootType ? introspectionRoots[name] : undefined;
    if (introspectionType) this.introspection = true;
    const rule = introspectionType ? undefined : this.rules.fields.get(`${typeName}.${name}`);
    if (!introspectionType && typeName === this.rootType && !rule?.scope) this.undeclared.add(`${typeName}.${name}`);
    if (rule?.scope) this.scopes.add(rule.scope);

    const childType = introspectionType ?? rule?.typeName;
    const selections = node.selectionSet?.selections;
    const ownWeight = this.ownWeight(rule, typeName, Boolean(selections));

    if (!selections || !childType) return { depth: 0, aliases, cost: rule?.weight ?? 0 };
    const children = this.selectionSet(selections, childType);
    // `ofType` chains end at a named type (a few levels at most) and cannot fan out, so they do
    // not count as depth: the standard introspection query stays within the default limit.
    const depth = (name === 'ofType' ? 0 : 1) + children.depth;
    const result = { depth, aliases: aliases + children.aliases, cost: 0 };
    if (rule?.isConnection) {
      result.cost = (rule.weight ?? CONNECTION_WEIGHT) + this.size(node, rule) * children.cost;
    } else if (rule?.isList && (rule.assumedSize !== undefined || rule.slicingArguments.length > 0)) {
      result.cost = (rule.weight ?? 0) + this.size(node, rule) * (1 + children.cost);
    } else {
      result.cost = ownWeight + children.cost;
    }
    return result;
  }
}

function operationContext(rules: SchemaRules, operation: OperationDefinitionNode) {
  const rootType = (operation.operation === 'query' ? rules.rootTypes.query : operation.operation === 'mutation' ? rules.rootTypes.mutation : rules.rootTypes.subscription) ?? 'Query';
  const defaults: Record<string, unknown> = {};
  for (const definition of operation.variableDefinitions ?? []) {
    if (definition.defaultValue?.kind === 'IntValue') defaults[definition.variable.name.value] = Number(definition.defaultValue.value);
    if (definition.defaultValue?.kind === 'BooleanValue') defaults[definition.variable.name.value] = definition.defaultValue.value;
  }
  return { rootType, defaults };
}

export function fragmentsOf(document: { definitions: readonly { kind: string }[] }): Map<string, FragmentDefinitionNode> {
  const fragments = new Map<string, FragmentDefinitionNode>();
  for (const definition of document.definitions) {
    if (definition.kind === 'FragmentDefinition') {
      const fragment = definition as FragmentDefinitionNode;
      fragments.set(fragment.name.value, fragment);
    }
  }
  return fragments;
}

/** Measures an operation before it runs. */
export function analyzeOperation(
  rules: SchemaRules,
  operation: OperationDefinitionNode,
  fragments: ReadonlyMap<string, FragmentDefinitionNode>,
  variables: Variables = {},
): OperationAnalysis {
  const { rootType, defaults } = operationContext(rules, operation);
  const walker = new Walker(rules, fragments, variables, defaults, rootType, operation.operation === 'mutation');
  const result = walker.objectSelections(operation.selectionSet.selections, rootType);
  return { ...result, scopes: walker.scopes, undeclared: walker.undeclared, introspection: walker.introspection };
}

/**
 * The cost of what an operation returned: connections and sized lists count their real
 * lengths, so a page shorter than `first` costs less than was reserved (the difference is
 * refunded to the key's bucket, as Shopify does).
 */
export function actualCost(
  rules: SchemaRules,
  operation: OperationDefinitionNode,
  fragments: ReadonlyMap<string, FragmentDefinitionNode>,
  variables: Variables,
  data: Record<string, unknown>,
): number {
  const { rootType, defaults } = operationContext(rules, operation);
  const walker = new Walker(rules, fragments, variables, defaults, rootType, operation.operation === 'mutation');
  return walker.dataCost(operation.selectionSet.selections, rootType, data);
}
