import { byId, checkInputArrays, iso, moneyBag, noSort, pageArgs, requireId, search, type ResolverMap } from './admin-api.resolver-kit.js';
import type { FulfillmentInput } from './fulfillments.state.js';
import { gid } from './gid.js';
import { paginate } from './pagination.js';
import type { SearchField } from './search-query.js';
import type { ShopState } from './shop-state.js';
import type { FulfillmentOrderRecord, FulfillmentRecord, LineItemRecord, OrderRecord } from './shop-state.models.js';

/**
 * Admin API resolvers of fulfilment orders and fulfilments: `Order.fulfillmentOrders`,
 * `Order.fulfillments`, `fulfillmentOrder(id:)`, `fulfillment(id:)`, `fulfillmentOrders` and
 * `fulfillmentCreate`. They translate; the rules live in fulfillments.state.ts.
 */

const fulfillmentOrderSearchFields: Record<string, SearchField<FulfillmentOrderRecord>> = {
  id: { kind: 'id', read: (fulfillmentOrder) => fulfillmentOrder.id },
  status: { kind: 'string', read: (fulfillmentOrder) => fulfillmentOrder.status.toLowerCase() },
  assigned_location_id: { kind: 'id', read: (fulfillmentOrder) => fulfillmentOrder.locationId },
  order_id: { kind: 'id', read: (fulfillmentOrder) => fulfillmentOrder.orderId },
  updated_at: { kind: 'date', read: (fulfillmentOrder) => fulfillmentOrder.updatedAt },
};

function lineOf(order: OrderRecord | undefined, lineItemId: number): LineItemRecord | undefined {
  return order?.lineItems.find((line) => line.id === lineItemId);
}

/** Fulfilment orders worth showing: not cancelled, and not closed without ever shipping anything. */
function displayable(fulfillmentOrder: FulfillmentOrderRecord): boolean {
  if (fulfillmentOrder.status === 'CANCELLED') return false;
  return fulfillmentOrder.status !== 'CLOSED' || fulfillmentOrder.lineItems.some((lineItem) => lineItem.totalQuantity > lineItem.remainingQuantity);
}

const SUPPORTED_ACTIONS: Record<FulfillmentOrderRecord['status'], string[]> = {
  OPEN: ['CREATE_FULFILLMENT', 'HOLD', 'MOVE'],
  IN_PROGRESS: ['CREATE_FULFILLMENT', 'HOLD'],
  CLOSED: [],
  CANCELLED: [],
};

export function createFulfillmentResolvers(): ResolverMap {
  return {
    QueryRoot: {
      fulfillmentOrder: (_source, args, context) => {
        const id = requireId(args.id, 'FulfillmentOrder');
        return id === null ? null : (context.state.fulfillments.fulfillmentOrders.get(id) ?? null);
      },
      fulfillment: (_source, args, context) => {
        const id = requireId(args.id, 'Fulfillment');
        return id === null ? null : (context.state.fulfillments.fulfillments.get(id) ?? null);
      },
      fulfillmentOrders: (_source, args, context, info) => {
        const compiled = search(context, info, args.query, fulfillmentOrderSearchFields);
        const sortKey = (args.sortKey as string | undefined) ?? 'ID';
        const candidates = [...context.state.fulfillments.fulfillmentOrders.values()].filter(
          (fulfillmentOrder) => (args.includeClosed === true || (fulfillmentOrder.status !== 'CLOSED' && fulfillmentOrder.status !== 'CANCELLED')) && compiled.matches(fulfillmentOrder),
        );
        if (sortKey === 'UPDATED_AT') {
          const sortValue = (fulfillmentOrder: FulfillmentOrderRecord) => fulfillmentOrder.updatedAt;
          return paginate([...candidates].sort((a, b) => a.updatedAt - b.updatedAt || a.id - b.id), byId, sortValue, pageArgs(args, context));
        }
        return paginate(candidates, byId, noSort, pageArgs(args, context));
      },
    },

    Mutation: {
      fulfillmentCreate: (_source, args, context) => {
        checkInputArrays(args.fulfillment, ['fulfillment']);
        const result = context.state.fulfillments.createFulfillment(args.fulfillment as FulfillmentInput, 'app');
        return { fulfillment: result.fulfillment, userErrors: result.userErrors };
      },
    },

    Order: {
      fulfillmentOrders: (source, args, context, info) => {
        const order = source as unknown as OrderRecord;
        const compiled = search(context, info, args.query, fulfillmentOrderSearchFields);
        const candidates = order.fulfillmentOrders.filter((fulfillmentOrder) => (args.displayable !== true || displayable(fulfillmentOrder)) && compiled.matches(fulfillmentOrder));
        return paginate(candidates, byId, noSort, pageArgs(args, context));
      },
      fulfillments: (source, args) => {
        const fulfillments = (source as unknown as OrderRecord).fulfillments;
        return typeof args.first === 'number' ? fulfillments.slice(0, args.first) : fulfillments;
      },
    },

    FulfillmentOrder: {
      id: (source) => gid('FulfillmentOrder', source.id as number),
      createdAt: (source) => iso(source.createdAt as number),
      updatedAt: (source) => iso(source.updatedAt as number),
      fulfillAt: (source) => iso(source.createdAt as number),
      fulfillBy: () => null,
      requestStatus: () => 'UNSUBMITTED',
      channelId: () => null,
      destination: () => null,
      deliveryMethod: () => null,
      internationalDuties: () => null,
      remainingLineItemsWeight: () => null,
      fulfillmentHolds: () => [],
      supportedActions: (source) => SUPPORTED_ACTIONS[source.status as FulfillmentOrderRecord['status']].map((action) => ({ action, externalUrl: null })),
      order: (source, _args, context) => context.state.orders.get(source.orderId as number),
      orderId: (source) => gid('Order', source.orderId as number),
      orderName: (source, _args, context) => context.state.orders.get(source.orderId as number)?.name,
      orderProcessedAt: (source, _args, context) => iso(context.state.orders.get(source.orderId as number)?.processedAt),
      assignedLocation: (source, _args, context) => {
        const location = context.state.locations.get(source.locationId as number)!;
        return {
          name: location.name,
          address1: location.address.address1,
          address2: location.address.address2,
          city: location.address.city,
          province: location.address.province,
          zip: location.address.zip,
          phone: location.address.phone,
          countryCode: location.address.countryCode ?? 'US',
          location,
        };
      },
      lineItems: (source, args, context) => paginate((source as unknown as FulfillmentOrderRecord).lineItems, byId, noSort, pageArgs(args, context)),
      fulfillments: (source, args, context) => {
        const fulfillmentOrder = source as unknown as FulfillmentOrderRecord;
        const order = context.state.orders.get(fulfillmentOrder.orderId);
        return paginate(order?.fulfillments.filter((fulfillment) => fulfillment.fulfillmentOrderIds.includes(fulfillmentOrder.id)) ?? [], byId, noSort, pageArgs(args, context));
      },
    },

    FulfillmentOrderLineItem: {
      id: (source) => gid('FulfillmentOrderLineItem', source.id as number),
      lineItem: (source, _args, context) => lineOf(context.state.orders.get(source.orderId as number), source.lineItemId as number),
      inventoryItemId: (source, _args, context) => {
        const line = lineOf(context.state.orders.get(source.orderId as number), source.lineItemId as number);
        return line?.inventoryItemId ? gid('InventoryItem', line.inventoryItemId) : null;
      },
      sku: (source, _args, context) => lineOf(context.state.orders.get(source.orderId as number), source.lineItemId as number)?.sku ?? null,
      productTitle: (source, _args, context) => lineOf(context.state.orders.get(source.orderId as number), source.lineItemId as number)?.title,
      variantTitle: (source, _args, context) => lineOf(context.state.orders.get(source.orderId as number), source.lineItemId as number)?.variantTitle ?? null,
      vendor: (source, _args, context) => lineOf(context.state.orders.get(source.orderId as number), source.lineItemId as number)?.vendor ?? null,
      requiresShipping: (source, _args, context) => lineOf(context.state.orders.get(source.orderId as number), source.lineItemId as number)?.requiresShipping ?? true,
      variant: (source, _args, context) => {
        const line = lineOf(context.state.orders.get(source.orderId as number), source.lineItemId as number);
        return line?.variantId ? (context.state.variants.get(line.variantId) ?? null) : null;
      },
      warnings: () => [],
      image: () => null,
      weight: () => null,
      shippingLine: () => null,
    },

    Fulfillment: {
      id: (source) => gid('Fulfillment', source.id as number),
      legacyResourceId: (source) => String(source.id),
      createdAt: (source) => iso(source.createdAt as number),
      updatedAt: (source) => iso(source.updatedAt as number),
      deliveredAt: () => null,
      inTransitAt: () => null,
      estimatedDeliveryAt: () => null,
      // Shopify shows a fulfilment with tracking as FULFILLED, one without as MARKED_AS_FULFILLED.
      displayStatus: (source) => (source.status === 'CANCELLED' ? 'CANCELED' : (source.tracking as unknown[]).length > 0 ? 'FULFILLED' : 'MARKED_AS_FULFILLED'),
      location: (source, _args, context) => context.state.locations.get(source.locationId as number) ?? null,
      order: (source, _args, context) => context.state.orders.get(source.orderId as number),
      service: () => null,
      requiresShipping: (source, _args, context) => {
        const order = context.state.orders.get(source.orderId as number);
        return (source as unknown as FulfillmentRecord).lines.some((line) => lineOf(order, line.lineItemId)?.requiresShipping ?? true);
      },
      totalQuantity: (source) => (source as unknown as FulfillmentRecord).lines.reduce((sum, line) => sum + line.quantity, 0),
      trackingInfo: (source, args) => {
        const tracking = (source as unknown as FulfillmentRecord).tracking;
        return typeof args.first === 'number' ? tracking.slice(0, args.first) : tracking;
      },
      fulfillmentLineItems: (source, args, context) => {
        const fulfillment = source as unknown as FulfillmentRecord;
        return paginate(
          fulfillment.lines.map((line) => ({ ...line, orderId: fulfillment.orderId })),
          byId,
          noSort,
          pageArgs(args, context),
        );
      },
      fulfillmentOrders: (source, args, context) => {
        const ids = (source as unknown as FulfillmentRecord).fulfillmentOrderIds;
        return paginate(
          ids.map((id) => context.state.fulfillments.fulfillmentOrders.get(id)!),
          byId,
          noSort,
          pageArgs(args, context),
        );
      },
      events: (_source, args, context) => paginate([] as { id: number }[], byId, noSort, pageArgs(args, context)),
    },

    FulfillmentLineItem: {
      id: (source) => gid('FulfillmentLineItem', source.id as number),
      lineItem: (source, _args, context) => lineOf(context.state.orders.get(source.orderId as number), source.lineItemId as number),
      originalTotalSet: (source, _args, context) => {
        const order = context.state.orders.get(source.orderId as number);
        return moneyBag(Number(lineOf(order, source.lineItemId as number)?.price ?? 0) * (source.quantity as number), order?.currency ?? context.state.currency);
      },
      discountedTotalSet: (source, _args, context) => {
        const order = context.state.orders.get(source.orderId as number);
        return moneyBag(Number(lineOf(order, source.lineItemId as number)?.price ?? 0) * (source.quantity as number), order?.currency ?? context.state.currency);
      },
    },
  };
}

/** `node(id:)` for the fulfilment types. */
export function findFulfillmentNode(state: ShopState, type: string, id: number): unknown {
  switch (type) {
    case 'FulfillmentOrder':
      return state.fulfillments.fulfillmentOrders.get(id) ?? null;
    case 'Fulfillment':
      return state.fulfillments.fulfillments.get(id) ?? null;
    case 'FulfillmentOrderLineItem':
      return state.fulfillments.findFulfillmentOrderLineItem(id) ?? null;
    default:
      return undefined;
  }
}
