import { GraphQLError, type GraphQLResolveInfo } from 'graphql';
import {
  badRequest,
  byId,
  checkInputArrays,
  countOf,
  idempotent,
  iso,
  moneyBag,
  noSort,
  notImplemented,
  pageArgs,
  refuseSavedSearch,
  requireChangeFromQuantity,
  requireId,
  search,
  sortedBy,
  mergeResolverMaps,
  type AdminContext,
  type Args,
  type ResolverMap,
  type Source,
} from './admin-api.resolver-kit.js';
import { createFulfillmentResolvers, findFulfillmentNode } from './admin-api.fulfillments.resolvers.js';
import { createMetafieldResolvers, metafieldResolvers } from './admin-api.metafields.resolvers.js';
import type { BulkOperationRecord } from './bulk-operations.js';
import { gid, idOfType, inventoryLevelGid, parseGid } from './gid.js';
import { paginate, type SortValue } from './pagination.js';
import { requiredFieldValues, type compileSearch, type SearchField } from './search-query.js';
import { ShopState, type UserError } from './shop-state.js';
import {
  QUANTITY_NAMES,
  type AdjustmentGroupRecord,
  type InventoryChangeRecord,
  type InventoryItemRecord,
  type LevelRecord,
  type LineItemRecord,
  type LocationRecord,
  type OrderRecord,
  type ProductRecord,
  type QuantityName,
  type RefundLineRecord,
  type RefundRecord,
  type VariantRecord,
  type WebhookSubscriptionRecord,
} from './shop-state.models.js';

/**
 * Field resolvers of the simulated Admin API over `ShopState`. They only translate between
 * GraphQL and the shop's records; the rules live in `ShopState`. A field without a resolver
 * here reads the same-named property of its source object; a field that has neither answers a
 * `NOT_IMPLEMENTED` error naming it, never a silent null.
 */

// ------------------------------------------------------------------ search fields

const variantSearchFields = (state: ShopState): Record<string, SearchField<VariantRecord>> => ({
  sku: { kind: 'string', read: (variant) => variant.sku },
  id: { kind: 'id', read: (variant) => variant.id },
  product_id: { kind: 'id', read: (variant) => variant.productId },
  barcode: { kind: 'string', read: (variant) => variant.barcode },
  title: { kind: 'string', read: (variant) => variant.title },
  created_at: { kind: 'date', read: (variant) => variant.createdAt },
  updated_at: { kind: 'date', read: (variant) => variant.updatedAt },
  inventory_quantity: { kind: 'number', read: (variant) => inventoryQuantity(state, variant) },
  product_status: { kind: 'string', read: (variant) => state.products.get(variant.productId)?.status ?? null },
});

const itemSearchFields: Record<string, SearchField<InventoryItemRecord>> = {
  sku: { kind: 'string', read: (item) => item.sku },
  id: { kind: 'id', read: (item) => item.id },
  created_at: { kind: 'date', read: (item) => item.createdAt },
  updated_at: { kind: 'date', read: (item) => item.updatedAt },
};

const productSearchFields = (state: ShopState): Record<string, SearchField<ProductRecord>> => ({
  title: { kind: 'string', read: (product) => product.title },
  id: { kind: 'id', read: (product) => product.id },
  handle: { kind: 'string', read: (product) => product.handle },
  sku: { kind: 'string', read: (product) => product.variantIds.map((id) => state.variants.get(id)?.sku ?? '').filter(Boolean) },
  status: { kind: 'string', read: (product) => product.status },
  vendor: { kind: 'string', read: (product) => product.vendor },
  product_type: { kind: 'string', read: (product) => product.productType },
  tag: { kind: 'string', read: (product) => product.tags },
  created_at: { kind: 'date', read: (product) => product.createdAt },
  updated_at: { kind: 'date', read: (product) => product.updatedAt },
});

const orderSearchFields: Record<string, SearchField<OrderRecord>> = {
  id: { kind: 'id', read: (order) => order.id },
  name: { kind: 'string', read: (order) => [order.name, order.name.replace(/^#/, '')] },
  email: { kind: 'string', read: (order) => order.email },
  created_at: { kind: 'date', read: (order) => order.createdAt },
  updated_at: { kind: 'date', read: (order) => order.updatedAt },
  processed_at: { kind: 'date', read: (order) => order.processedAt },
  status: { kind: 'string', read: (order) => ['any', order.cancelledAt !== null ? 'cancelled' : order.closedAt !== null ? 'closed' : 'open'] },
  financial_status: { kind: 'string', read: (order) => ['any', order.financialStatus.toLowerCase()] },
  fulfillment_status: {
    kind: 'string',
    read: (order) =>
      ['any'].concat(
        order.fulfillmentStatus === 'FULFILLED'
          ? ['shipped', 'fulfilled']
          : order.fulfillmentStatus === 'PARTIALLY_FULFILLED'
            ? ['partial', 'unfulfilled']
            : order.fulfillmentStatus === 'RESTOCKED'
              ? ['restocked']
              : ['unshipped', 'unfulfilled'],
      ),
  },
  sku: { kind: 'string', read: (order) => order.lineItems.map((line) => line.sku ?? '').filter(Boolean) },
  tag: { kind: 'string', read: (order) => order.tags },
  test: { kind: 'boolean', read: (order) => order.test },
};

const locationSearchFields: Record<string, SearchField<LocationRecord>> = {
  id: { kind: 'id', read: (location) => location.id },
  name: { kind: 'string', read: (location) => location.name },
  active: { kind: 'boolean', read: (location) => location.isActive },
  created_at: { kind: 'date', read: (location) => location.createdAt },
  updated_at: { kind: 'date', read: (location) => location.updatedAt },
};

const levelSearchFields: Record<string, SearchField<LevelRecord>> = {
  inventory_item_id: { kind: 'id', read: (level) => level.itemId },
  location_id: { kind: 'id', read: (level) => level.locationId },
  created_at: { kind: 'date', read: (level) => level.createdAt },
  updated_at: { kind: 'date', read: (level) => level.updatedAt },
};

const webhookSearchFields: Record<string, SearchField<WebhookSubscriptionRecord>> = {
  id: { kind: 'id', read: (subscription) => subscription.id },
  topic: { kind: 'string', read: (subscription) => subscription.topic },
  created_at: { kind: 'date', read: (subscription) => subscription.createdAt },
  updated_at: { kind: 'date', read: (subscription) => subscription.updatedAt },
};

function inventoryQuantity(state: ShopState, variant: VariantRecord): number {
  const item = state.items.get(variant.inventoryItemId);
  if (!item) return 0;
  let total = 0;
  for (const level of item.levels.values()) if (level.isActive) total += level.available;
  return total;
}

// ------------------------------------------------------------------ shared resolvers

/** Resolves `node(id:)` for the types the simulator holds. */
function resolveNode(state: ShopState, value: string): unknown {
  const parsed = parseGid(value);
  if (!parsed) throw new GraphQLError(`Invalid global id '${value}'`, { extensions: { code: 'argumentLiteralsIncompatible' } });
  switch (parsed.type) {
    case 'Location':
      return state.locations.get(parsed.id) ?? null;
    case 'Product':
      return state.products.get(parsed.id) ?? null;
    case 'ProductVariant':
      return state.variants.get(parsed.id) ?? null;
    case 'InventoryItem':
      return state.items.get(parsed.id) ?? null;
    case 'InventoryLevel': {
      const itemId = Number(parsed.params.get('inventory_item_id'));
      return state.findLevel(itemId, parsed.id) ?? null;
    }
    case 'Order':
      return state.orders.get(parsed.id) ?? null;
    case 'WebhookSubscription':
      return state.webhookSubscriptions.get(parsed.id) ?? null;
    case 'InventoryAdjustmentGroup':
      return state.adjustmentGroups.get(parsed.id) ?? null;
    case 'MetafieldDefinition':
      return state.metafields.definitions.get(parsed.id) ?? null;
    default:
      return findFulfillmentNode(state, parsed.type, parsed.id) ?? null;
  }
}

function levelConnection(levels: readonly LevelRecord[], idOf: (level: LevelRecord) => number, args: Args, context: AdminContext, info: GraphQLResolveInfo) {
  let list = levels;
  if (typeof args.query === 'string' && args.query.trim()) {
    const compiled = search(context, info, args.query, levelSearchFields);
    list = levels.filter(compiled.matches);
  }
  return paginate(list, idOf, noSort, pageArgs(args, context));
}

function changeRecords(group: AdjustmentGroupRecord, args: Args): InventoryChangeRecord[] {
  let changes = group.changes;
  const itemIds = Array.isArray(args.inventoryItemIds) ? new Set((args.inventoryItemIds as string[]).map((value) => idOfType(value, 'InventoryItem'))) : null;
  const locationIds = Array.isArray(args.locationIds) ? new Set((args.locationIds as string[]).map((value) => idOfType(value, 'Location'))) : null;
  const names = Array.isArray(args.quantityNames) ? new Set(args.quantityNames as string[]) : null;
  if (itemIds) changes = changes.filter((change) => itemIds.has(change.itemId));
  if (locationIds) changes = changes.filter((change) => locationIds.has(change.locationId));
  if (names) changes = changes.filter((change) => names.has(change.name));
  return changes;
}

function inventoryPayload(result: { group: AdjustmentGroupRecord | null; userErrors: UserError[] }) {
  return { inventoryAdjustmentGroup: result.group, userErrors: result.userErrors };
}

// ------------------------------------------------------------------ the resolver map

export function createAdminResolvers(): ResolverMap {
  return mergeResolverMaps(createCoreResolvers(), createFulfillmentResolvers(), createMetafieldResolvers());
}

function createCoreResolvers(): ResolverMap {
  return {
    QueryRoot: {
      shop: () => ({ __typename: 'Shop' }),
      // The calling token's scopes (every scope the simulator knows when it was given none).
      currentAppInstallation: (_source, _args, context) => ({
        accessScopes: [...(context.grantedScopes ?? new Set([...context.adminSchema.typeScopes.values(), ...context.adminSchema.fieldScopes.values()].flatMap((requirement) => requirement.scopes)))].sort().map((handle) => ({ handle, description: handle })),
      }),
      location: (_source, args, context) => {
        if (args.id === undefined || args.id === null) {
          return [...context.state.locations.values()].find((location) => location.isActive) ?? null;
        }
        const id = requireId(args.id, 'Location');
        return id === null ? null : (context.state.locations.get(id) ?? null);
      },
      locations: (_source, args, context, info) => {
        if (args.includeLegacy === true) {
          // Fulfillment-service locations do not exist in the simulator; the flag changes nothing.
        }
        const compiled = search(context, info, args.query, locationSearchFields, ['name']);
        const sortKey = (args.sortKey as string | undefined) ?? 'NAME';
        if (sortKey !== 'NAME' && sortKey !== 'ID') throw notImplemented('QueryRoot', 'locations', `sortKey ${sortKey}`);
        const candidates = [...context.state.locations.values()].filter((location) => (args.includeInactive === true || location.isActive) && compiled.matches(location));
        const sortValue = sortKey === 'NAME' ? (location: LocationRecord) => location.name : noSort;
        return paginate(sortedBy(candidates, sortValue, false), byId, sortValue, pageArgs(args, context));
      },
      locationsCount: (_source, args, context, info) => {
        const compiled = search(context, info, args.query, locationSearchFields, ['name']);
        return countOf([...context.state.locations.values()].filter((location) => location.isActive && compiled.matches(location)).length, args.limit);
      },
      product: (_source, args, context) => {
        const id = requireId(args.id, 'Product');
        return id === null ? null : (context.state.products.get(id) ?? null);
      },
      products: (_source, args, context, info) => {
        refuseSavedSearch(args, 'QueryRoot', 'products');
        const compiled = search(context, info, args.query, productSearchFields(context.state), ['title', 'sku']);
        const sortKey = (args.sortKey as string | undefined) ?? 'ID';
        const sortValues: Record<string, (product: ProductRecord) => SortValue> = {
          ID: noSort,
          TITLE: (product) => product.title,
          CREATED_AT: (product) => product.createdAt,
          UPDATED_AT: (product) => product.updatedAt,
          VENDOR: (product) => product.vendor,
          PRODUCT_TYPE: (product) => product.productType,
        };
        const sortValue = sortValues[sortKey];
        if (!sortValue) throw notImplemented('QueryRoot', 'products', `sortKey ${sortKey}`);
        const all = context.state.productsById();
        const candidates = compiled.root ? all.filter(compiled.matches) : all;
        return paginate(sortedBy(candidates, sortValue, sortKey === 'ID'), byId, sortValue, pageArgs(args, context));
      },
      productsCount: (_source, args, context, info) => {
        const compiled = search(context, info, args.query, productSearchFields(context.state), ['title', 'sku']);
        return countOf(context.state.productsById().filter(compiled.matches).length, args.limit);
      },
      productVariant: (_source, args, context) => {
        const id = requireId(args.id, 'ProductVariant');
        return id === null ? null : (context.state.variants.get(id) ?? null);
      },
      productVariants: (_source, args, context, info) => {
        refuseSavedSearch(args, 'QueryRoot', 'productVariants');
        const state = context.state;
        const compiled = search(context, info, args.query, variantSearchFields(state), ['sku', 'title']);
        const sortKey = (args.sortKey as string | undefined) ?? 'ID';
        const sortValues: Record<string, (variant: VariantRecord) => SortValue> = {
          ID: noSort,
          SKU: (variant) => variant.sku,
          TITLE: (variant) => variant.title,
          NAME: (variant) => variant.title,
          POSITION: (variant) => variant.position,
          INVENTORY_QUANTITY: (variant) => inventoryQuantity(state, variant),
        };
        const sortValue = sortValues[sortKey];
        if (!sortValue) throw notImplemented('QueryRoot', 'productVariants', `sortKey ${sortKey}`);
        const candidates = variantCandidates(state, compiled.root, compiled.matches);
        return paginate(sortedBy(candidates, sortValue, sortKey === 'ID'), byId, sortValue, pageArgs(args, context));
      },
      productVariantsCount: (_source, args, context, info) => {
        const compiled = search(context, info, args.query, variantSearchFields(context.state), ['sku', 'title']);
        return countOf(variantCandidates(context.state, compiled.root, compiled.matches).length, args.limit);
      },
      inventoryItem: (_source, args, context) => {
        const id = requireId(args.id, 'InventoryItem');
        return id === null ? null : (context.state.items.get(id) ?? null);
      },
      inventoryItems: (_source, args, context, info) => {
        const state = context.state;
        const compiled = search(context, info, args.query, itemSearchFields, ['sku']);
        const narrowed = requiredFieldValues(compiled.root, 'sku');
        let candidates: readonly InventoryItemRecord[];
        if (narrowed) {
          const found = new Map<number, InventoryItemRecord>();
          for (const { value, prefix } of narrowed) for (const item of state.findItemsBySku(value, prefix)) found.set(item.id, item);
          candidates = [...found.values()].sort((a, b) => a.id - b.id).filter(compiled.matches);
        } else {
          candidates = compiled.root ? state.itemsById().filter(compiled.matches) : state.itemsById();
        }
        return paginate(candidates, byId, noSort, pageArgs(args, context));
      },
      inventoryLevel: (_source, args, context) => {
        const parsed = typeof args.id === 'string' ? parseGid(args.id) : null;
        if (!parsed) throw new GraphQLError(`Invalid global id '${String(args.id)}'`, { extensions: { code: 'argumentLiteralsIncompatible' } });
        if (parsed.type !== 'InventoryLevel') return null;
        return context.state.findLevel(Number(parsed.params.get('inventory_item_id')), parsed.id) ?? null;
      },
      order: (_source, args, context) => {
        const id = requireId(args.id, 'Order');
        return id === null ? null : (context.state.orders.get(id) ?? null);
      },
      orders: (_source, args, context, info) => {
        refuseSavedSearch(args, 'QueryRoot', 'orders');
        const compiled = search(context, info, args.query, orderSearchFields, ['name', 'email', 'sku']);
        const sortKey = (args.sortKey as string | undefined) ?? 'PROCESSED_AT';
        const sortValues: Record<string, (order: OrderRecord) => SortValue> = {
          ID: noSort,
          ORDER_NUMBER: noSort,
          CREATED_AT: (order) => order.createdAt,
          UPDATED_AT: (order) => order.updatedAt,
          PROCESSED_AT: (order) => order.processedAt,
          TOTAL_PRICE: (order) => ShopState.orderTotal(order),
          CURRENT_TOTAL_PRICE: (order) => ShopState.currentOrderTotal(order),
          FINANCIAL_STATUS: (order) => order.financialStatus,
          FULFILLMENT_STATUS: (order) => order.fulfillmentStatus,
          PO_NUMBER: (order) => order.poNumber,
          TOTAL_ITEMS_QUANTITY: (order) => order.lineItems.reduce((sum, line) => sum + line.quantity, 0),
        };
        const sortValue = sortValues[sortKey];
        if (!sortValue) throw notImplemented('QueryRoot', 'orders', `sortKey ${sortKey}`);
        const candidates = [...context.state.orders.values()].filter(compiled.matches);
        return paginate(sortedBy(candidates, sortValue, false), byId, sortValue, pageArgs(args, context));
      },
      ordersCount: (_source, args, context, info) => {
        refuseSavedSearch(args, 'QueryRoot', 'ordersCount');
        const compiled = search(context, info, args.query, orderSearchFields, ['name', 'email', 'sku']);
        return countOf([...context.state.orders.values()].filter(compiled.matches).length, args.limit);
      },
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
      node: (_source, args, context) => resolveNode(context.state, args.id as string),
      nodes: (_source, args, context) => (args.ids as string[]).map((value) => resolveNode(context.state, value)),
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
      inventorySetQuantities: (_source, args, context, info) => {
        const input = args.input as Record<string, unknown> & { quantities: Record<string, unknown>[] };
        checkInputArrays(input, ['input']);
        requireChangeFromQuantity(input.quantities, 'quantities');
        return idempotent(
          info,
          context,
          args,
          () =>
            inventoryPayload(
              context.state.setQuantities({
                name: input.name as string,
                reason: input.reason as string,
                referenceDocumentUri: (input.referenceDocumentUri as string | null | undefined) ?? null,
                quantities: input.quantities.map((quantity) => ({
                  inventoryItemId: quantity.inventoryItemId as string,
                  locationId: quantity.locationId as string,
                  quantity: quantity.quantity as number,
                  changeFromQuantity: quantity.changeFromQuantity as number | null,
                })),
              }),
            ),
          (code, message) => ({ inventoryAdjustmentGroup: null, userErrors: [{ field: null, message, code }] }),
        );
      },
      inventoryAdjustQuantities: (_source, args, context, info) => {
        const input = args.input as Record<string, unknown> & { changes: Record<string, unknown>[] };
        checkInputArrays(input, ['input']);
        requireChangeFromQuantity(input.changes, 'changes');
        return idempotent(
          info,
          context,
          args,
          () =>
            inventoryPayload(
              context.state.adjustQuantities({
                name: input.name as string,
                reason: input.reason as string,
                referenceDocumentUri: (input.referenceDocumentUri as string | null | undefined) ?? null,
                changes: input.changes.map((change) => ({
                  inventoryItemId: change.inventoryItemId as string,
                  locationId: change.locationId as string,
                  delta: change.delta as number,
                  changeFromQuantity: change.changeFromQuantity as number | null,
                  ledgerDocumentUri: (change.ledgerDocumentUri as string | null | undefined) ?? null,
                })),
              }),
            ),
          (code, message) => ({ inventoryAdjustmentGroup: null, userErrors: [{ field: null, message, code }] }),
        );
      },
      inventoryActivate: (_source, args, context, info) =>
        idempotent(
          info,
          context,
          args,
          () => {
            const result = context.state.activateInventory(
              args.inventoryItemId as string,
              args.locationId as string,
              (args.available as number | null | undefined) ?? null,
              (args.onHand as number | null | undefined) ?? null,
            );
            return { inventoryLevel: result.level, userErrors: result.userErrors };
          },
          (_code, message): { inventoryLevel: LevelRecord | null; userErrors: Omit<UserError, 'code'>[] } => ({ inventoryLevel: null, userErrors: [{ field: null, message }] }),
        ),
      orderCancel: (_source, args, context) => {
        if (args.refundMethod !== undefined && args.refundMethod !== null) throw notImplemented('Mutation', 'orderCancel', 'refundMethod');
        const id = idOfType(args.orderId as string, 'Order');
        const order = id === null ? undefined : context.state.orders.get(id);
        const jobId = gid('Job', context.state.nextId('Order'));
        if (!order) {
          return { job: null, jobResult: null, orderCancelUserErrors: [{ field: ['orderId'], message: 'Order does not exist', code: 'NOT_FOUND' }] };
        }
        if (order.cancelledAt !== null) {
          return { job: null, jobResult: null, orderCancelUserErrors: [{ field: ['orderId'], message: 'Cannot cancel an order that has already been cancelled', code: 'INVALID' }] };
        }
        context.state.cancelOrder(order.id, { reason: args.reason as OrderRecord['cancelReason'] & string, restock: args.restock as boolean, staffNote: (args.staffNote as string | null | undefined) ?? null });
        // Shopify cancels asynchronously; the simulator finishes before answering, so the job is done.
        return {
          job: { id: jobId, done: true, query: {} },
          jobResult: { __typename: 'OrderCancelJobResult', id: jobId, done: true, errors: [], order, status: 'SUCCEEDED' },
          orderCancelUserErrors: [],
        };
      },
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

    Shop: {
      id: () => gid('Shop', 1),
      name: (_source, _args, context) => context.shop.name(),
      myshopifyDomain: (_source, _args, context) => context.shop.domain,
      email: (_source, _args, context) => context.shop.email,
      contactEmail: (_source, _args, context) => context.shop.email,
      currencyCode: (_source, _args, context) => context.state.currency,
      ianaTimezone: () => 'UTC',
      timezoneAbbreviation: () => 'UTC',
      timezoneOffset: () => '+0000',
      timezoneOffsetMinutes: () => 0,
      url: (_source, _args, context) => `https://${context.shop.domain}`,
      primaryDomain: (_source, _args, context) => ({ id: gid('Domain', 1), host: context.shop.domain, url: `https://${context.shop.domain}`, sslEnabled: true, localization: null, marketWebPresence: null }),
      plan: (_source, _args, context) => {
        const plan = context.shop.plan();
        const names: Record<string, string> = { standard: 'Basic', advanced: 'Advanced', plus: 'Shopify Plus', enterprise: 'Commerce Components' };
        return { publicDisplayName: names[plan.name] ?? plan.name, shopifyPlus: plan.name === 'plus' || plan.name === 'enterprise', partnerDevelopment: false };
      },
    },

    Location: {
      id: (source) => gid('Location', source.id as number),
      legacyResourceId: (source) => String(source.id),
      createdAt: (source) => iso(source.createdAt as number),
      updatedAt: (source) => iso(source.updatedAt as number),
      deactivatedAt: (source) => iso(source.deactivatedAt as number | null),
      isFulfillmentService: () => false,
      fulfillmentService: () => null,
      isPrimary: (source, _args, context) => [...context.state.locations.values()].find((location) => location.isActive)?.id === source.id,
      activatable: (source) => !(source.isActive as boolean),
      deactivatable: (source) => source.isActive as boolean,
      deletable: (source) => !(source.isActive as boolean),
      addressVerified: () => false,
      hasUnfulfilledOrders: (source, _args, context) =>
        [...context.state.orders.values()].some((order) => order.cancelledAt === null && order.lineItems.some((line) => line.locationId === source.id && line.quantity - line.fulfilledQuantity - line.removedQuantity > 0)),
      hasActiveInventory: (source, _args, context) => context.state.levelsAtLocation(source.id as number).length > 0,
      address: (source) => {
        const address = (source as unknown as LocationRecord).address;
        return { ...address, formatted: [address.address1, address.city, address.countryCode].filter((part): part is string => Boolean(part)), latitude: null, longitude: null };
      },
      inventoryLevel: (source, args, context) => {
        const itemId = requireId(args.inventoryItemId, 'InventoryItem');
        const level = itemId === null ? undefined : context.state.findLevel(itemId, source.id as number);
        return level && (level.isActive || args.includeInactive === true) ? level : null;
      },
      inventoryLevels: (source, args, context, info) => {
        return levelConnection(context.state.levelsAtLocation(source.id as number, args.includeInactive === true), (level) => level.itemId, args, context, info);
      },
      ...metafieldResolvers('LOCATION'),
    },

    Product: {
      id: (source) => gid('Product', source.id as number),
      legacyResourceId: (source) => String(source.id),
      createdAt: (source) => iso(source.createdAt as number),
      updatedAt: (source) => iso(source.updatedAt as number),
      publishedAt: (source) => ((source.status as string) === 'ACTIVE' ? iso(source.createdAt as number) : null),
      description: () => '',
      descriptionHtml: () => '',
      isGiftCard: () => false,
      onlineStoreUrl: () => null,
      templateSuffix: () => null,
      requiresSellingPlan: () => false,
      hasOnlyDefaultVariant: (source, _args, context) => {
        const ids = source.variantIds as number[];
        return ids.length === 1 && context.state.variants.get(ids[0]!)?.title === 'Default Title';
      },
      hasOutOfStockVariants: (source, _args, context) => (source.variantIds as number[]).some((id) => inventoryQuantity(context.state, context.state.variants.get(id)!) <= 0),
      tracksInventory: (source, _args, context) => (source.variantIds as number[]).some((id) => context.state.items.get(context.state.variants.get(id)!.inventoryItemId)?.tracked),
      totalInventory: (source, _args, context) => (source.variantIds as number[]).reduce((sum, id) => sum + inventoryQuantity(context.state, context.state.variants.get(id)!), 0),
      totalVariants: (source) => (source.variantIds as number[]).length,
      variantsCount: (source) => ({ count: (source.variantIds as number[]).length, precision: 'EXACT' }),
      variants: (source, args, context) => {
        const sortKey = (args.sortKey as string | undefined) ?? 'POSITION';
        if (sortKey !== 'POSITION' && sortKey !== 'ID') throw notImplemented('Product', 'variants', `sortKey ${sortKey}`);
        const variants = (source.variantIds as number[]).map((id) => context.state.variants.get(id)!);
        return paginate(variants, byId, noSort, pageArgs(args, context));
      },
      ...metafieldResolvers('PRODUCT'),
    },

    ProductVariant: {
      id: (source) => gid('ProductVariant', source.id as number),
      legacyResourceId: (source) => String(source.id),
      createdAt: (source) => iso(source.createdAt as number),
      updatedAt: (source) => iso(source.updatedAt as number),
      displayName: (source, _args, context) => `${context.state.products.get(source.productId as number)?.title ?? ''} - ${source.title as string}`,
      product: (source, _args, context) => context.state.products.get(source.productId as number),
      inventoryItem: (source, _args, context) => context.state.items.get(source.inventoryItemId as number),
      inventoryQuantity: (source, _args, context) => inventoryQuantity(context.state, source as unknown as VariantRecord),
      sellableOnlineQuantity: (source, _args, context) => Math.max(0, inventoryQuantity(context.state, source as unknown as VariantRecord)),
      availableForSale: (source, _args, context) => {
        const variant = source as unknown as VariantRecord;
        const item = context.state.items.get(variant.inventoryItemId);
        return !item?.tracked || variant.inventoryPolicy === 'CONTINUE' || inventoryQuantity(context.state, variant) > 0;
      },
      requiresComponents: (source, _args, context) => context.state.items.get(source.inventoryItemId as number)?.nonMutable === true,
      selectedOptions: (source) => ((source.title as string) === 'Default Title' ? [{ name: 'Title', value: 'Default Title' }] : [{ name: 'Title', value: source.title as string }]),
      defaultCursor: (source) => Buffer.from(JSON.stringify({ last_id: source.id, last_value: null })).toString('base64'),
      ...metafieldResolvers('PRODUCTVARIANT'),
    },

    SelectedOption: {
      optionValue: () => {
        throw notImplemented('SelectedOption', 'optionValue');
      },
    },

    InventoryItem: {
      id: (source) => gid('InventoryItem', source.id as number),
      legacyResourceId: (source) => String(source.id),
      createdAt: (source) => iso(source.createdAt as number),
      updatedAt: (source) => iso(source.updatedAt as number),
      duplicateSkuCount: (source, _args, context) => context.state.duplicateSkuCount(source as unknown as InventoryItemRecord),
      unitCost: (source, _args, context) => (source.unitCost === null ? null : { amount: source.unitCost, currencyCode: context.state.currency }),
      harmonizedSystemCode: () => null,
      countryCodeOfOrigin: () => null,
      provinceCodeOfOrigin: () => null,
      inventoryHistoryUrl: () => null,
      trackedEditable: () => ({ locked: false, reason: null }),
      locationsCount: (source) => ({ count: [...(source as unknown as InventoryItemRecord).levels.values()].filter((level) => level.isActive).length, precision: 'EXACT' }),
      variant: (source, _args, context) => context.state.variants.get(source.variantId as number),
      variants: (source, args, context) => paginate([context.state.variants.get(source.variantId as number)!], byId, noSort, pageArgs(args, context)),
      inventoryLevel: (source, args) => {
        const locationId = requireId(args.locationId, 'Location');
        const level = locationId === null ? undefined : (source as unknown as InventoryItemRecord).levels.get(locationId);
        return level && (level.isActive || args.includeInactive === true) ? level : null;
      },
      inventoryLevels: (source, args, context, info) => {
        const levels = [...(source as unknown as InventoryItemRecord).levels.values()].filter((level) => args.includeInactive === true || level.isActive).sort((a, b) => a.locationId - b.locationId);
        return levelConnection(levels, (level) => level.locationId, args, context, info);
      },
    },

    InventoryLevel: {
      id: (source) => inventoryLevelGid(source.locationId as number, source.itemId as number),
      createdAt: (source) => iso(source.createdAt as number),
      updatedAt: (source) => iso(source.updatedAt as number),
      canDeactivate: (source) => ShopState.onHand(source as unknown as LevelRecord) === 0 && (source.committed as number) === 0,
      deactivationAlert: () => null,
      item: (source, _args, context) => context.state.items.get(source.itemId as number),
      location: (source, _args, context) => context.state.locations.get(source.locationId as number),
      quantities: (source, args) => {
        const level = source as unknown as LevelRecord;
        const names = args.names as string[];
        const unknown = names.filter((name) => !(QUANTITY_NAMES as readonly string[]).includes(name));
        if (unknown.length > 0) {
          throw badRequest(`Invalid quantity name(s): ${unknown.join(', ')}. Valid names are ${QUANTITY_NAMES.join(', ')}.`);
        }
        const updatedAt = iso(level.updatedAt);
        return names.map((name) => ({
          __typename: 'InventoryQuantity',
          level,
          name,
          quantity: ShopState.quantity(level, name as QuantityName),
          updatedAt,
        }));
      },
      scheduledChanges: () => {
        throw notImplemented('InventoryLevel', 'scheduledChanges');
      },
    },

    InventoryQuantity: {
      id: (source) => {
        const level = source.level as LevelRecord;
        return `gid://shopify/InventoryQuantity/${level.locationId}?inventory_item_id=${level.itemId}&name=${source.name as string}`;
      },
    },

    InventoryAdjustmentGroup: {
      id: (source) => gid('InventoryAdjustmentGroup', source.id as number),
      createdAt: (source) => iso(source.createdAt as number),
      app: () => null,
      staffMember: () => null,
      changes: (source, args) => changeRecords(source as unknown as AdjustmentGroupRecord, args),
    },

    InventoryChange: {
      item: (source, _args, context) => context.state.items.get(source.itemId as number) ?? null,
      location: (source, _args, context) => context.state.locations.get(source.locationId as number) ?? null,
    },

    Order: {
      id: (source) => gid('Order', source.id as number),
      legacyResourceId: (source) => String(source.id),
      createdAt: (source) => iso(source.createdAt as number),
      updatedAt: (source) => iso(source.updatedAt as number),
      processedAt: (source) => iso(source.processedAt as number),
      cancelledAt: (source) => iso(source.cancelledAt as number | null),
      closedAt: (source) => iso(source.closedAt as number | null),
      closed: (source) => source.closedAt !== null,
      confirmed: () => true,
      edited: () => false,
      currencyCode: (source) => source.currency,
      presentmentCurrencyCode: (source) => source.currency,
      displayFinancialStatus: (source) => source.financialStatus,
      displayFulfillmentStatus: (source) => source.fulfillmentStatus,
      fullyPaid: (source) => ['PAID', 'PARTIALLY_REFUNDED', 'REFUNDED'].includes(source.financialStatus as string),
      unpaid: (source) => ['PENDING', 'AUTHORIZED', 'EXPIRED'].includes(source.financialStatus as string),
      returnStatus: () => 'NO_RETURN',
      statusPageUrl: (source, _args, context) => `https://${context.shop.domain}/orders/${source.id as number}/authenticate`,
      totalPriceSet: (source) => moneyBag(ShopState.orderTotal(source as unknown as OrderRecord), source.currency as string),
      subtotalPriceSet: (source) => moneyBag(ShopState.orderTotal(source as unknown as OrderRecord), source.currency as string),
      currentTotalPriceSet: (source) => moneyBag(ShopState.currentOrderTotal(source as unknown as OrderRecord), source.currency as string),
      currentSubtotalPriceSet: (source) => moneyBag(ShopState.currentOrderTotal(source as unknown as OrderRecord), source.currency as string),
      totalRefundedSet: (source) =>
        moneyBag(
          (source.refunds as RefundRecord[]).reduce((sum, refund) => sum + refund.lines.reduce((lineSum, line) => lineSum + Number(line.subtotal), 0), 0),
          source.currency as string,
        ),
      subtotalLineItemsQuantity: (source) => (source.lineItems as LineItemRecord[]).reduce((sum, line) => sum + line.quantity, 0),
      currentSubtotalLineItemsQuantity: (source) => (source.lineItems as LineItemRecord[]).reduce((sum, line) => sum + line.quantity - line.removedQuantity, 0),
      customer: (source) => source.customer,
      shippingAddress: (source) => source.shippingAddress,
      billingAddress: () => null,
      retailLocation: (source, _args, context) => (source.locationId === null ? null : (context.state.locations.get(source.locationId as number) ?? null)),
      physicalLocation: (source, _args, context) => (source.locationId === null ? null : (context.state.locations.get(source.locationId as number) ?? null)),
      app: () => null,
      lineItems: (source, args, context) => paginate(source.lineItems as LineItemRecord[], byId, noSort, pageArgs(args, context)),
      refunds: (source, args) => {
        const refunds = source.refunds as RefundRecord[];
        return typeof args.first === 'number' ? refunds.slice(0, args.first) : refunds;
      },
      ...metafieldResolvers('ORDER'),
    },

    Customer: {
      id: (source) => gid('Customer', source.id as number),
      legacyResourceId: (source) => String(source.id),
      displayName: (source) => [source.firstName, source.lastName].filter(Boolean).join(' ') || ((source.email as string | null) ?? ''),
      defaultEmailAddress: (source) => (source.email ? { emailAddress: source.email } : null),
    },

    MailingAddress: {
      id: () => gid('MailingAddress', 1),
      name: (source) => [source.firstName, source.lastName].filter(Boolean).join(' ') || null,
      company: () => null,
      countryCodeV2: (source) => source.countryCode ?? null,
      formatted: (source) => [source.address1, source.city, source.country].filter((part): part is string => Boolean(part)),
    },

    LineItem: {
      id: (source) => gid('LineItem', source.id as number),
      currentQuantity: (source) => (source.quantity as number) - (source.removedQuantity as number),
      unfulfilledQuantity: (source) => Math.max(0, (source.quantity as number) - (source.fulfilledQuantity as number) - (source.removedQuantity as number)),
      refundableQuantity: (source) => (source.quantity as number) - (source.removedQuantity as number),
      nonFulfillableQuantity: (source) => source.removedQuantity,
      isGiftCard: () => false,
      merchantEditable: () => true,
      restockable: (source) => source.inventoryItemId !== null,
      customAttributes: () => [],
      discountAllocations: () => [],
      duties: () => [],
      taxLines: () => [],
      variant: (source, _args, context) => (source.variantId === null ? null : (context.state.variants.get(source.variantId as number) ?? null)),
      product: (source, _args, context) => (source.productId === null ? null : (context.state.products.get(source.productId as number) ?? null)),
      originalUnitPriceSet: (source, _args, context) => moneyBag(source.price as string, orderCurrency(context, source)),
      discountedUnitPriceSet: (source, _args, context) => moneyBag(source.price as string, orderCurrency(context, source)),
      discountedUnitPriceAfterAllDiscountsSet: (source, _args, context) => moneyBag(source.price as string, orderCurrency(context, source)),
      originalTotalSet: (source, _args, context) => moneyBag(Number(source.price) * (source.quantity as number), orderCurrency(context, source)),
      discountedTotalSet: (source, _args, context) => moneyBag(Number(source.price) * (source.quantity as number), orderCurrency(context, source)),
      totalDiscountSet: (source, _args, context) => moneyBag(0, orderCurrency(context, source)),
      unfulfilledOriginalTotalSet: (source, _args, context) =>
        moneyBag(Number(source.price) * Math.max(0, (source.quantity as number) - (source.fulfilledQuantity as number) - (source.removedQuantity as number)), orderCurrency(context, source)),
      unfulfilledDiscountedTotalSet: (source, _args, context) =>
        moneyBag(Number(source.price) * Math.max(0, (source.quantity as number) - (source.fulfilledQuantity as number) - (source.removedQuantity as number)), orderCurrency(context, source)),
    },

    Refund: {
      id: (source) => gid('Refund', source.id as number),
      legacyResourceId: (source) => String(source.id),
      createdAt: (source) => iso(source.createdAt as number),
      processedAt: (source) => iso(source.createdAt as number),
      updatedAt: (source) => iso(source.createdAt as number),
      order: (source, _args, context) => context.state.orders.get(source.orderId as number),
      staffMember: () => null,
      return: () => null,
      duties: () => [],
      totalRefundedSet: (source, _args, context) =>
        moneyBag(
          (source.lines as RefundLineRecord[]).reduce((sum, line) => sum + Number(line.subtotal), 0),
          context.state.orders.get(source.orderId as number)?.currency ?? context.state.currency,
        ),
      refundLineItems: (source, args, context) => {
        const order = context.state.orders.get(source.orderId as number)!;
        const lines = (source.lines as RefundLineRecord[]).map((line) => ({ ...line, order }));
        return paginate(lines, byId, noSort, pageArgs(args, context));
      },
    },

    RefundLineItem: {
      id: (source) => gid('RefundLineItem', source.id as number),
      lineItem: (source) => (source.order as OrderRecord).lineItems.find((line) => line.id === source.lineItemId),
      location: (source, _args, context) => (source.locationId === null ? null : (context.state.locations.get(source.locationId as number) ?? null)),
      restocked: (source) => source.restockType !== 'NO_RESTOCK',
      priceSet: (source) => {
        const line = (source.order as OrderRecord).lineItems.find((candidate) => candidate.id === source.lineItemId)!;
        return moneyBag(line.price, (source.order as OrderRecord).currency);
      },
      subtotalSet: (source) => moneyBag(source.subtotal as string, (source.order as OrderRecord).currency),
      totalTaxSet: (source) => moneyBag(0, (source.order as OrderRecord).currency),
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

function orderCurrency(context: AdminContext, line: Source): string {
  return context.state.orders.get(line.orderId as number)?.currency ?? context.state.currency;
}

/** Variants a `productVariants` query can match, narrowed through the SKU index when it can. */
function variantCandidates(state: ShopState, root: ReturnType<typeof compileSearch>['root'], matches: (variant: VariantRecord) => boolean): readonly VariantRecord[] {
  const narrowed = requiredFieldValues(root, 'sku');
  if (narrowed) {
    const found = new Map<number, VariantRecord>();
    for (const { value, prefix } of narrowed) {
      for (const item of state.findItemsBySku(value, prefix)) {
        const variant = state.variants.get(item.variantId);
        if (variant) found.set(variant.id, variant);
      }
    }
    return [...found.values()].sort((a, b) => a.id - b.id).filter(matches);
  }
  return root ? state.variantsById().filter(matches) : state.variantsById();
}
