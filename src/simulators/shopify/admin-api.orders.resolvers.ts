import { byId, countOf, iso, moneyBag, noSort, notImplemented, pageArgs, refuseSavedSearch, requireId, search, sortedBy, type AdminContext, type ResolverMap, type Source } from './admin-api.resolver-kit.js';
import { metafieldResolvers } from './admin-api.metafields.resolvers.js';
import { gid, idOfType } from './gid.js';
import { paginate, type SortValue } from './pagination.js';
import type { SearchField } from './search-query.js';
import { ShopState } from './shop-state.js';
import type { LineItemRecord, OrderRecord, RefundLineRecord, RefundRecord } from './shop-state.models.js';

/**
 * Admin API resolvers of orders: `order`, `orders` (search and sort keys), `ordersCount`,
 * `orderCancel`, and the order's customer, addresses, line items and refunds. Fulfilment orders
 * and fulfilments are in admin-api.fulfillments.resolvers.ts. They translate between GraphQL and
 * the shop's records; the rules live in the state modules.
 */

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

function orderCurrency(context: AdminContext, line: Source): string {
  return context.state.orders.get(line.orderId as number)?.currency ?? context.state.currency;
}

export function createOrderResolvers(): ResolverMap {
  return {
    QueryRoot: {
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
    },

    Mutation: {
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
  };
}
