import { byId, checkInputArrays, countOf, iso, noSort, notImplemented, pageArgs, requireId, search, sortedBy, type ResolverMap } from './admin-api.resolver-kit.js';
import type { BulkOperationRecord } from './bulk-operations.js';
import { gid, idOfType } from './gid.js';
import { paginate, type SortValue } from './pagination.js';
import type { SearchField } from './search-query.js';
import type { WebhookSubscriptionRecord } from './shop-state.models.js';

/**
 * Admin API resolvers of webhook subscriptions (`webhookSubscriptionCreate`/`Update`/`Delete`, the
 * queries and count) and of bulk operations (`bulkOperationRunQuery`, `bulkOperationCancel`,
 * `bulkOperation(s)`), whose end is announced by webhook. They translate between GraphQL and the
 * shop's records; the rules live in the state modules.
 */

const webhookSearchFields: Record<string, SearchField<WebhookSubscriptionRecord>> = {
  id: { kind: 'id', read: (subscription) => subscription.id },
  topic: { kind: 'string', read: (subscription) => subscription.topic },
  created_at: { kind: 'date', read: (subscription) => subscription.createdAt },
  updated_at: { kind: 'date', read: (subscription) => subscription.updatedAt },
};

export function createWebhooksResolvers(): ResolverMap {
  return {
    QueryRoot: {
      webhookSubscription: (_source, args, context) => {
        const id = requireId(args.id, 'WebhookSubscription');
        return id === null ? null : (context.state.webhookSubscriptions.get(id) ?? null);
      },
      webhookSubscriptions: (_source, args, context, info) => {
        const compiled = search(context, info, args.query, webhookSearchFields);
        const topics = Array.isArray(args.topics) ? new Set(args.topics as string[]) : null;
        const candidates = [...context.state.webhookSubscriptions.values()].filter(
          (subscription) =>
            compiled.matches(subscription) &&
            (!topics || topics.has(subscription.topic)) &&
            (typeof args.uri !== 'string' || subscription.uri === args.uri) &&
            (typeof args.callbackUrl !== 'string' || subscription.uri === args.callbackUrl) &&
            (typeof args.format !== 'string' || subscription.format === args.format),
        );
        const sortKey = (args.sortKey as string | undefined) ?? 'CREATED_AT';
        const sortValue = sortKey === 'CREATED_AT' ? (subscription: WebhookSubscriptionRecord) => subscription.createdAt : noSort;
        return paginate(sortedBy(candidates, sortValue, false), byId, sortValue, pageArgs(args, context));
      },
      webhookSubscriptionsCount: (_source, args, context, info) => {
        const compiled = search(context, info, args.query, webhookSearchFields);
        return countOf([...context.state.webhookSubscriptions.values()].filter(compiled.matches).length, args.limit);
      },
      bulkOperation: (_source, args, context) => {
        const id = requireId(args.id, 'BulkOperation');
        return id === null ? null : context.bulk.find(id);
      },
      bulkOperations: (_source, args, context, info) => {
        const compiled = search<BulkOperationRecord>(context, info, args.query, {
          status: { kind: 'string', read: (operation) => operation.status.toLowerCase() },
          operation_type: { kind: 'string', read: (operation) => operation.type.toLowerCase() },
          id: { kind: 'id', read: (operation) => operation.id },
          created_at: { kind: 'date', read: (operation) => operation.createdAt },
        });
        const sortKey = (args.sortKey as string | undefined) ?? 'CREATED_AT';
        const sortValue = (operation: BulkOperationRecord): SortValue => (sortKey === 'COMPLETED_AT' ? operation.completedAt : operation.createdAt);
        const candidates = context.bulk.list().filter(compiled.matches);
        return paginate(sortedBy(candidates, sortValue, false), byId, sortValue, pageArgs(args, context));
      },
      currentBulkOperation: (_source, args, context) => {
        if ((args.type as string | undefined) === 'MUTATION') return null;
        return context.bulk.list().at(-1) ?? null;
      },
    },

    Mutation: {
      webhookSubscriptionCreate: (_source, args, context) => {
        const input = args.webhookSubscription as Record<string, unknown>;
        checkInputArrays(input, ['webhookSubscription']);
        if (input.metafields !== undefined && input.metafields !== null) throw notImplemented('Mutation', 'webhookSubscriptionCreate', 'webhookSubscription.metafields');
        const result = context.state.createWebhookSubscription({
          topic: args.topic as string,
          uri: input.uri as string | null | undefined,
          format: input.format as 'JSON' | 'XML' | null | undefined,
          includeFields: input.includeFields as string[] | null | undefined,
          metafieldNamespaces: input.metafieldNamespaces as string[] | null | undefined,
          filter: input.filter as string | null | undefined,
          name: input.name as string | null | undefined,
          apiVersion: context.apiVersion,
        });
        return { webhookSubscription: result.subscription, userErrors: result.userErrors };
      },
      webhookSubscriptionUpdate: (_source, args, context) => {
        const input = args.webhookSubscription as Record<string, unknown>;
        const result = context.state.updateWebhookSubscription(args.id as string, {
          uri: input.uri as string | null | undefined,
          format: input.format as 'JSON' | 'XML' | null | undefined,
          includeFields: input.includeFields as string[] | null | undefined,
          metafieldNamespaces: input.metafieldNamespaces as string[] | null | undefined,
          filter: input.filter as string | null | undefined,
          name: input.name as string | null | undefined,
        });
        return { webhookSubscription: result.subscription, userErrors: result.userErrors };
      },
      webhookSubscriptionDelete: (_source, args, context) => {
        const deleted = idOfType(args.id as string, 'WebhookSubscription') === null ? null : context.state.deleteWebhookSubscription(args.id as string);
        if (deleted === null) return { deletedWebhookSubscriptionId: null, userErrors: [{ field: ['id'], message: 'Webhook subscription does not exist' }] };
        return { deletedWebhookSubscriptionId: gid('WebhookSubscription', deleted), userErrors: [] };
      },
      bulkOperationRunQuery: (_source, args, context) => context.bulk.runQuery(args.query as string, args.groupObjects === true),
      bulkOperationCancel: (_source, args, context) => context.bulk.cancel(args.id as string),
    },

    WebhookSubscription: {
      id: (source) => gid('WebhookSubscription', source.id as number),
      legacyResourceId: (source) => String(source.id),
      createdAt: (source) => iso(source.createdAt as number),
      updatedAt: (source) => iso(source.updatedAt as number),
      apiVersion: (source) => ({ handle: source.apiVersion, displayName: source.apiVersion, supported: true }),
      metafields: () => [],
      callbackUrl: (source) => source.uri,
      endpoint: (source) => ({ __typename: 'WebhookHttpEndpoint', callbackUrl: source.uri }),
    },

    BulkOperation: {
      id: (source) => gid('BulkOperation', source.id as number),
      createdAt: (source) => iso(source.createdAt as number),
      completedAt: (source) => iso(source.completedAt as number | null),
      objectCount: (source) => String(source.objectCount),
      rootObjectCount: (source) => String(source.rootObjectCount),
      fileSize: (source) => (source.fileSize === null ? null : String(source.fileSize)),
    },
  };
}
