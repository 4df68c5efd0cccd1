import type {
  CreateFulfillmentMutation,
  FulfillmentOrderLineFieldsFragment,
  FulfillmentOrderLineItemsQuery,
  OrderFulfillmentOrdersQuery,
  OrderFulfillmentsQuery,
} from './__generated__/admin.types.js';
import { prepareOperation, type AdminApiTransport } from './admin-api-transport.js';
import {
  createFulfillmentDocument,
  fulfillmentOrderLineItemsDocument,
  orderFulfillmentOrdersDocument,
  orderFulfillmentsDocument,
} from './operations/fulfilments.operations.js';
import { ShopifyError } from './shopify.errors.js';
import type {
  CreateFulfillmentInput,
  OrderId,
  ShopifyFulfillment,
  ShopifyFulfillmentOrder,
  ShopifyFulfillmentOrderLine,
  ShopifyOrderFulfilments,
} from './shopify-client.js';

/**
 * `ShopifyClient.getOrderFulfilments` and `createFulfillment`. The read pages fulfilment orders
 * and their lines in sizes that stay well under Shopify's single-query cost limit. The create is
 * sent once: Shopify offers no idempotency key for `fulfillmentCreate`, so a lost answer is
 * `SHOPIFY_IN_DOUBT` (the transport does not resend it) and the caller looks the fulfilment up.
 */

const operations = {
  orderFulfillmentOrders: prepareOperation(orderFulfillmentOrdersDocument),
  fulfillmentOrderLineItems: prepareOperation(fulfillmentOrderLineItemsDocument),
  orderFulfillments: prepareOperation(orderFulfillmentsDocument),
  createFulfillment: prepareOperation(createFulfillmentDocument),
};

const FULFILLMENT_ORDERS_PER_PAGE = 10;
const FULFILLMENT_ORDER_LINES_PER_PAGE = 25;
const MORE_FULFILLMENT_ORDER_LINES = 100;
/** Fulfilments read per order, and shipped lines read per fulfilment. */
const FULFILLMENTS_PER_ORDER = 30;
const FULFILLMENT_LINES = 25;

function fulfillmentOrderLineOf(node: FulfillmentOrderLineFieldsFragment): ShopifyFulfillmentOrderLine {
  return {
    id: node.id,
    lineItemId: node.lineItem.id,
    sku: node.sku ?? null,
    inventoryItemId: node.inventoryItemId ?? null,
    totalQuantity: node.totalQuantity,
    remainingQuantity: node.remainingQuantity,
  };
}

export async function getOrderFulfilments(transport: AdminApiTransport, orderId: OrderId): Promise<ShopifyOrderFulfilments | null> {
  const fulfillmentOrders: ShopifyFulfillmentOrder[] = [];
  let cancelledAt: string | null = null;
  let after: string | null = null;
  do {
    const { data }: { data: OrderFulfillmentOrdersQuery } = await transport.request<OrderFulfillmentOrdersQuery>(operations.orderFulfillmentOrders, {
      id: orderId,
      first: FULFILLMENT_ORDERS_PER_PAGE,
      after,
      linesFirst: FULFILLMENT_ORDER_LINES_PER_PAGE,
    });
    if (!data.order) return null;
    cancelledAt = data.order.cancelledAt;
    for (const node of data.order.fulfillmentOrders.nodes) {
      const lineItems = node.lineItems.nodes.map(fulfillmentOrderLineOf);
      let linesAfter = node.lineItems.pageInfo.hasNextPage ? node.lineItems.pageInfo.endCursor : null;
      while (linesAfter) {
        const page: { data: FulfillmentOrderLineItemsQuery } = await transport.request<FulfillmentOrderLineItemsQuery>(operations.fulfillmentOrderLineItems, {
          id: node.id,
          first: MORE_FULFILLMENT_ORDER_LINES,
          after: linesAfter,
        });
        const more = page.data.fulfillmentOrder?.lineItems;
        if (!more) break;
        lineItems.push(...more.nodes.map(fulfillmentOrderLineOf));
        linesAfter = more.pageInfo.hasNextPage ? more.pageInfo.endCursor : null;
      }
      fulfillmentOrders.push({ id: node.id, status: node.status, locationId: node.assignedLocation.location?.id ?? null, lineItems });
    }
    after = data.order.fulfillmentOrders.pageInfo.hasNextPage ? data.order.fulfillmentOrders.pageInfo.endCursor : null;
  } while (after);
  const { data } = await transport.request<OrderFulfillmentsQuery>(operations.orderFulfillments, {
    id: orderId,
    first: FULFILLMENTS_PER_ORDER,
    linesFirst: FULFILLMENT_LINES,
  });
  const fulfillments: ShopifyFulfillment[] = (data.order?.fulfillments ?? []).map((node) => ({
    id: node.id,
    status: node.status,
    createdAt: node.createdAt,
    tracking: node.trackingInfo.map((info) => ({ number: info.number ?? null, company: info.company ?? null, url: info.url ?? null })),
    lines: node.fulfillmentLineItems.nodes.map((line) => ({ lineItemId: line.lineItem.id, quantity: line.quantity ?? 0 })),
  }));
  return { orderId, cancelledAt, fulfillmentOrders, fulfillments };
}

export async function createFulfillment(transport: AdminApiTransport, input: CreateFulfillmentInput): Promise<{ id: string; status: string; createdAt: string }> {
  const byFulfillmentOrder = new Map<string, { id: string; quantity: number }[]>();
  for (const line of input.lines) {
    const lines = byFulfillmentOrder.get(line.fulfillmentOrderId) ?? [];
    lines.push({ id: line.fulfillmentOrderLineItemId, quantity: line.quantity });
    byFulfillmentOrder.set(line.fulfillmentOrderId, lines);
  }
  const tracking = input.tracking;
  const trackingInfo =
    tracking && (tracking.number || tracking.company || tracking.url)
      ? { ...(tracking.number ? { number: tracking.number } : {}), ...(tracking.company ? { company: tracking.company } : {}), ...(tracking.url ? { url: tracking.url } : {}) }
      : undefined;
  const { data } = await transport.request<CreateFulfillmentMutation>(
    operations.createFulfillment,
    {
      fulfillment: {
        lineItemsByFulfillmentOrder: [...byFulfillmentOrder].map(([fulfillmentOrderId, lines]) => ({ fulfillmentOrderId, fulfillmentOrderLineItems: lines })),
        notifyCustomer: input.notifyCustomer,
        ...(trackingInfo ? { trackingInfo } : {}),
      },
    },
    { lostAnswerInDoubt: true },
  );
  const payload = data.fulfillmentCreate;
  if (payload?.fulfillment && payload.userErrors.length === 0) return { id: payload.fulfillment.id, status: payload.fulfillment.status, createdAt: payload.fulfillment.createdAt };
  throw new ShopifyError('SHOPIFY_USER_ERROR', `Shopify refused the fulfilment: ${payload?.userErrors.map((error) => error.message).join('; ') ?? 'no payload'}`, {
    userErrors: payload?.userErrors.map((error) => ({ field: error.field, message: error.message })) ?? [],
  });
}
