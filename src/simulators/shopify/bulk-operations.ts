import {
  getNamedType,
  isCompositeType,
  isObjectType,
  Kind,
  parse,
  validate,
  type DocumentNode,
  type FieldNode,
  type FragmentDefinitionNode,
  type GraphQLCompositeType,
  type GraphQLField,
  type GraphQLSchema,
  type OperationDefinitionNode,
  type SelectionSetNode,
} from 'graphql';
import type { ServerResponse } from 'node:http';
import type { Logger } from 'pino';
import type { SimulatorClock } from './clock.js';
import { gid, idOfType } from './gid.js';
import { isConnectionType } from './query-cost.js';
import type { ShopState } from './shop-state.js';

/**
 * Shopify's bulk query export: `bulkOperationRunQuery` starts a job that runs the query over the
 * whole catalogue (connections need no `first`), moves `CREATED → RUNNING → COMPLETED` and
 * serves the result as JSONL from a local URL. Nested connection nodes become their own lines
 * with `__parentId` (the 2026-01+ default, `groupObjects: false`). Shopify's limits apply: at
 * most 5 connections, nested at most 2 deep, no top-level `node`/`nodes`, at most 5 running
 * operations.
 */

export interface BulkOperationRecord {
  __typename: 'BulkOperation';
  id: number;
  status: 'CREATED' | 'RUNNING' | 'COMPLETED' | 'FAILED' | 'CANCELING' | 'CANCELED' | 'EXPIRED';
  errorCode: 'ACCESS_DENIED' | 'INTERNAL_SERVER_ERROR' | 'TIMEOUT' | null;
  type: 'QUERY';
  query: string;
  createdAt: number;
  completedAt: number | null;
  objectCount: number;
  rootObjectCount: number;
  fileSize: number | null;
  url: string | null;
  partialDataUrl: string | null;
}

export interface BulkUserError {
  field: string[] | null;
  message: string;
  code: 'INVALID' | 'LIMIT_REACHED' | 'OPERATION_IN_PROGRESS' | null;
}

export interface BulkOperationsOptions {
  schema: GraphQLSchema;
  state: ShopState;
  clock: SimulatorClock;
  logger: Logger;
  /** Base URL the JSONL results are served from (`<adminUrl>/_simulator/bulk`). */
  resultBaseUrl: () => string;
  /** Executes a validated query with unbounded connections; returns its data or throws. */
  executeUnbounded: (document: DocumentNode) => Record<string, unknown>;
}

const MAX_RUNNING = 5;
/** Lines per write of a result download (about 100 KB of levels). */
const RESULT_LINES_PER_WRITE = 1_000;
const MAX_CONNECTIONS = 5;
const MAX_NESTING = 2;

export class BulkOperations {
  private readonly operations = new Map<number, BulkOperationRecord>();
  /** Each completed operation's JSONL lines (without their newline), kept as lines: never joined into one string. */
  private readonly results = new Map<number, readonly string[]>();
  private closed = false;

  constructor(private readonly options: BulkOperationsOptions) {}

  find(id: number): BulkOperationRecord | null {
    return this.operations.get(id) ?? null;
  }

  list(): BulkOperationRecord[] {
    return [...this.operations.values()];
  }

  /**
   * Serves a completed operation's JSONL on `response`, a few hundred lines per write, waiting for
   * the socket to drain when the client reads slowly (back-pressure), and stopping if it goes away.
   * Returns false when there is no such result (the caller answers 404).
   */
  async writeResult(id: number, response: ServerResponse): Promise<boolean> {
    const lines = this.results.get(id);
    if (lines === undefined) return false;
    const record = this.operations.get(id);
    response.writeHead(200, { 'Content-Type': 'application/jsonl', ...(record?.fileSize != null ? { 'Content-Length': String(record.fileSize) } : {}) });
    for (let start = 0; start < lines.length; start += RESULT_LINES_PER_WRITE) {
      if (response.destroyed) return true;
      const chunk = `${lines.slice(start, start + RESULT_LINES_PER_WRITE).join('\n')}\n`;
      if (!response.write(chunk)) {
        await new Promise<void>((resolve) => {
          const done = () => {
            response.off('drain', done);
            response.off('close', done);
            resolve();
          };
          response.on('drain', done);
          response.on('close', done);
        });
      }
    }
    response.end();
    return true;
  }

  close(): void {
    this.closed = true;
  }

  runQuery(query: string, groupObjects: boolean): { bulkOperation: BulkOperationRecord | null; userErrors: BulkUserError[] } {
    const refuse = (message: string, code: BulkUserError['code'] = 'INVALID') => ({ bulkOperation: null, userErrors: [{ field: ['query'], message, code }] });
    if (groupObjects) return refuse('groupObjects: true is not supported by the Shopify simulator; use the default JSONL lines with __parentId.');
    let document: DocumentNode;
    try {
      document = parse(query);
    } catch (error) {
      return refuse(`Invalid bulk query: ${(error as Error).message}`);
    }
    const operations = document.definitions.filter((definition): definition is OperationDefinitionNode => definition.kind === Kind.OPERATION_DEFINITION);
    if (operations.length !== 1 || operations[0]!.operation !== 'query') return refuse('Bulk queries must contain exactly one query operation.');
    const errors = validate(this.options.schema, document);
    if (errors.length > 0) return refuse(`Invalid bulk query: ${errors.map((error) => error.message).join(' ')}`);
    const shapeProblem = this.checkShape(document, operations[0]!);
    if (shapeProblem) return refuse(shapeProblem);
    const running = this.list().filter((operation) => operation.status === 'CREATED' || operation.status === 'RUNNING').length;
    if (running >= MAX_RUNNING) return refuse(`A shop can run at most ${MAX_RUNNING} bulk query operations at a time.`, 'LIMIT_REACHED');

    const record: BulkOperationRecord = {
      __typename: 'BulkOperation',
      id: this.options.state.nextId('BulkOperation'),
      status: 'CREATED',
      errorCode: null,
      type: 'QUERY',
      query,
      createdAt: this.options.clock.now(),
      completedAt: null,
      objectCount: 0,
      rootObjectCount: 0,
      fileSize: null,
      url: null,
      partialDataUrl: null,
    };
    this.operations.set(record.id, record);
    // Run after the mutation has answered, as Shopify does: the caller sees CREATED first.
    setImmediate(() => this.execute(record, document, operations[0]!));
    return { bulkOperation: record, userErrors: [] };
  }

  cancel(ref: string): { bulkOperation: BulkOperationRecord | null; userErrors: { field: string[] | null; message: string }[] } {
    const id = idOfType(ref, 'BulkOperation');
    const record = id === null ? undefined : this.operations.get(id);
    if (!record) return { bulkOperation: null, userErrors: [{ field: ['id'], message: 'Bulk operation does not exist' }] };
    if (record.status !== 'CREATED' && record.status !== 'RUNNING') {
      return { bulkOperation: record, userErrors: [{ field: ['id'], message: `A bulk operation cannot be canceled when it is ${record.status.toLowerCase()}` }] };
    }
    record.status = 'CANCELING';
    return { bulkOperation: record, userErrors: [] };
  }

  private checkShape(document: DocumentNode, operation: OperationDefinitionNode): string | null {
    const schema = this.options.schema;
    const fragments = new Map<string, FragmentDefinitionNode>();
    for (const definition of document.definitions) if (definition.kind === Kind.FRAGMENT_DEFINITION) fragments.set(definition.name.value, definition);
    let connections = 0;
    let deepest = 0;
    let problem: string | null = null;
    const visit = (selectionSet: SelectionSetNode, type: GraphQLCompositeType, depth: number, nodeSelectsId: boolean) => {
      for (const selection of selectionSet.selections) {
        if (selection.kind === Kind.INLINE_FRAGMENT) {
          const conditionType = selection.typeCondition ? schema.getType(selection.typeCondition.name.value) : type;
          if (conditionType && isCompositeType(conditionType)) visit(selection.selectionSet, conditionType, depth, nodeSelectsId);
          continue;
        }
        if (selection.kind === Kind.FRAGMENT_SPREAD) {
          const fragment = fragments.get(selection.name.value);
          const conditionType = fragment ? schema.getType(fragment.typeCondition.name.value) : undefined;
          if (fragment && conditionType && isCompositeType(conditionType)) visit(fragment.selectionSet, conditionType, depth, nodeSelectsId);
          continue;
        }
        const definition = 'getFields' in type ? (type.getFields() as Record<string, GraphQLField<unknown, unknown>>)[selection.name.value] : undefined;
        if (!definition || !selection.selectionSet) continue;
        const named = getNamedType(definition.type);
        if (!isCompositeType(named)) continue;
        if (isConnectionType(named)) {
          connections++;
          const level = depth + 1;
          deepest = Math.max(deepest, level);
          if (level > 1 && !nodeSelectsId) problem ??= `The parent of the nested connection "${selection.name.value}" must select its id, so its lines can carry __parentId.`;
          const nodeType = getNamedType(named.getFields().nodes?.type ?? named.getFields().edges!.type);
          const innerType = isObjectType(nodeType) && nodeType.name.endsWith('Edge') ? getNamedType(nodeType.getFields().node!.type) : nodeType;
          for (const inner of selection.selectionSet.selections) {
            if (inner.kind !== Kind.FIELD) continue;
            if (inner.name.value === 'nodes' && inner.selectionSet && isCompositeType(innerType)) visit(inner.selectionSet, innerType, level, selectsId(inner.selectionSet));
            if (inner.name.value === 'edges' && inner.selectionSet) {
              for (const edgeField of inner.selectionSet.selections) {
                if (edgeField.kind === Kind.FIELD && edgeField.name.value === 'node' && edgeField.selectionSet && isCompositeType(innerType)) {
                  visit(edgeField.selectionSet, innerType, level, selectsId(edgeField.selectionSet));
                }
              }
            }
          }
        } else {
          visit(selection.selectionSet, named, depth, nodeSelectsId);
        }
      }
    };
    const root = schema.getQueryType()!;
    for (const selection of operation.selectionSet.selections) {
      if (selection.kind === Kind.FIELD && (selection.name.value === 'node' || selection.name.value === 'nodes')) return 'Bulk queries cannot use the top-level node or nodes fields.';
    }
    visit(operation.selectionSet, root, 0, false);
    if (problem) return problem;
    if (connections === 0) return 'Bulk queries must contain at least one connection.';
    if (connections > MAX_CONNECTIONS) return `Bulk queries cannot contain more than ${MAX_CONNECTIONS} connections (found ${connections}).`;
    if (deepest > MAX_NESTING) return `Bulk queries cannot nest connections more than ${MAX_NESTING} levels deep.`;
    return null;
  }

  private execute(record: BulkOperationRecord, document: DocumentNode, operation: OperationDefinitionNode): void {
    if (this.closed) return;
    if (record.status === 'CANCELING') {
      this.finish(record, 'CANCELED');
      return;
    }
    record.status = 'RUNNING';
    try {
      const data = this.options.executeUnbounded(document);
      if ((record.status as string) === 'CANCELING') {
        this.finish(record, 'CANCELED');
        return;
      }
      const lines: string[] = [];
      let roots = 0;
      const fragments = new Map<string, FragmentDefinitionNode>();
      for (const definition of document.definitions) if (definition.kind === Kind.FRAGMENT_DEFINITION) fragments.set(definition.name.value, definition);
      const flattener = new JsonlFlattener(this.options.schema, fragments, lines, () => roots++);
      flattener.flattenRoot(operation.selectionSet, data);
      this.results.set(record.id, lines);
      record.objectCount = lines.length;
      record.rootObjectCount = roots;
      record.fileSize = lines.reduce((size, line) => size + Buffer.byteLength(line) + 1, 0);
      record.url = `${this.options.resultBaseUrl()}/${record.id}.jsonl`;
      this.finish(record, 'COMPLETED');
    } catch (error) {
      this.options.logger.error({ err: error, bulkOperationId: record.id }, 'bulk operation failed');
      record.errorCode = 'INTERNAL_SERVER_ERROR';
      this.finish(record, 'FAILED');
    }
  }

  private finish(record: BulkOperationRecord, status: BulkOperationRecord['status']): void {
    record.status = status;
    record.completedAt = this.options.clock.now();
    this.options.state.announceBulkOperationFinished({
      id: record.id,
      status: record.status,
      errorCode: record.errorCode,
      completedAt: record.completedAt,
      createdAt: record.createdAt,
      type: record.type,
    });
  }
}

function selectsId(selectionSet: SelectionSetNode): boolean {
  return selectionSet.selections.some((selection) => selection.kind === Kind.FIELD && selection.name.value === 'id' && !selection.alias);
}

/** Turns a bulk query's result into JSONL lines: one per connection node, children with `__parentId`. */
class JsonlFlattener {
  constructor(
    private readonly schema: GraphQLSchema,
    private readonly fragments: Map<string, FragmentDefinitionNode>,
    private readonly lines: string[],
    private readonly countRoot: () => void,
  ) {}

  flattenRoot(selectionSet: SelectionSetNode, data: Record<string, unknown>): void {
    this.strip(selectionSet, this.schema.getQueryType()!, data, null, true);
  }

  /** Copies `value` without its connection fields; nodes of those connections become lines. */
  private strip(selectionSet: SelectionSetNode, type: GraphQLCompositeType, value: Record<string, unknown>, parentId: string | null, root: boolean): Record<string, unknown> {
    const copy: Record<string, unknown> = {};
    this.forEachField(selectionSet, type, (responseKey, definition, fieldSelection) => {
      if (!(responseKey in value)) return;
      const fieldValue = value[responseKey];
      const named = getNamedType(definition.type);
      if (isConnectionType(named) && fieldValue && typeof fieldValue === 'object') {
        const nodeType = getNamedType(named.getFields().nodes?.type ?? named.getFields().edges!.type);
        const innerType = (isObjectType(nodeType) && nodeType.name.endsWith('Edge') ? getNamedType(nodeType.getFields().node!.type) : nodeType) as GraphQLCompositeType;
        const connection = fieldValue as { nodes?: Record<string, unknown>[]; edges?: { node: Record<string, unknown> }[] };
        for (const inner of fieldSelection.selectionSet?.selections ?? []) {
          if (inner.kind !== Kind.FIELD) continue;
          const key = inner.alias?.value ?? inner.name.value;
          if (inner.name.value === 'nodes') {
            for (const node of (connection as Record<string, Record<string, unknown>[]>)[key] ?? []) this.emit(inner.selectionSet!, innerType, node, parentId, root);
          } else if (inner.name.value === 'edges') {
            for (const edge of (connection as Record<string, { node?: Record<string, unknown> }[]>)[key] ?? []) {
              for (const edgeField of inner.selectionSet?.selections ?? []) {
                if (edgeField.kind === Kind.FIELD && edgeField.name.value === 'node' && edge.node) {
                  this.emit(edgeField.selectionSet!, innerType, (edge as Record<string, Record<string, unknown>>)[edgeField.alias?.value ?? 'node']!, parentId, root);
                }
              }
            }
          }
        }
        return;
      }
      if (isCompositeType(named) && fieldValue && typeof fieldValue === 'object' && fieldSelection.selectionSet) {
        copy[responseKey] = Array.isArray(fieldValue)
          ? fieldValue.map((entry: Record<string, unknown> | null) => (entry ? this.strip(fieldSelection.selectionSet!, named, entry, parentId, false) : entry))
          : this.strip(fieldSelection.selectionSet, named, fieldValue as Record<string, unknown>, parentId, false);
        return;
      }
      copy[responseKey] = fieldValue;
    });
    return copy;
  }

  private emit(selectionSet: SelectionSetNode, type: GraphQLCompositeType, node: Record<string, unknown>, parentId: string | null, root: boolean): void {
    const index = this.lines.length;
    this.lines.push('');
    if (root) this.countRoot();
    const ownId = typeof node.id === 'string' ? node.id : parentId;
    const line = this.strip(selectionSet, type, node, ownId, false);
    if (!root && parentId !== null) line.__parentId = parentId;
    this.lines[index] = JSON.stringify(line);
  }

  private forEachField(
    selectionSet: SelectionSetNode,
    type: GraphQLCompositeType,
    visit: (responseKey: string, definition: GraphQLField<unknown, unknown>, selection: FieldNode) => void,
  ): void {
    for (const selection of selectionSet.selections) {
      if (selection.kind === Kind.FIELD) {
        if (selection.name.value === '__typename') continue;
        const definition = 'getFields' in type ? (type.getFields() as Record<string, GraphQLField<unknown, unknown>>)[selection.name.value] : undefined;
        if (definition) visit(selection.alias?.value ?? selection.name.value, definition, selection);
      } else if (selection.kind === Kind.INLINE_FRAGMENT) {
        const conditionType = selection.typeCondition ? this.schema.getType(selection.typeCondition.name.value) : type;
        if (conditionType && isCompositeType(conditionType)) this.forEachField(selection.selectionSet, conditionType, visit);
      } else {
        const fragment = this.fragments.get(selection.name.value);
        const conditionType = fragment ? this.schema.getType(fragment.typeCondition.name.value) : undefined;
        if (fragment && conditionType && isCompositeType(conditionType)) this.forEachField(fragment.selectionSet, conditionType, visit);
      }
    }
  }
}

export function bulkOperationGid(id: number): string {
  return gid('BulkOperation', id);
}
