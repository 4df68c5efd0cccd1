import type { Db } from '../db/database.js';
import type { WebhookInboxStatus } from '../db/schema/index.js';
import type { Logger } from '../logger.js';
import { AppError, NotFoundError, ValidationError } from '../shared/errors.js';
import type { OrderProcessor } from './order-processor.service.js';
import { numericShopifyId, type Connection, type OrderLine, type OrderRecord, type OrderStatus, type WebhookDeliveryRecord } from './order.models.js';
import type { OrderCursor, OrderRepository } from './order.repository.js';
import type { WebhookInboxRepository } from './webhook-inbox.repository.js';
import type { WebhookHealth, WebhookSubscriptionService } from './webhook-subscriptions.service.js';

/**
 * What people and programs ask of the orders domain: orders and their lines, the inbox's
 * failed deliveries, the webhook subscriptions' health, and replaying an order.
 */
export interface OrdersService {
  /** By the gateway's id, a Shopify gid (`gid://shopify/Order/1`) or a numeric Shopify id. */
  findOrder(id: string): Promise<OrderRecord | null>;
  listOrders(input: { first?: number | null; after?: string | null; status?: OrderStatus | null; needsAttention?: boolean | null }): Promise<Connection<OrderRecord>>;
  /** Lines of several orders at once (the per-request loader's batch). */
  getLinesByOrderIds(orderIds: readonly string[]): Promise<Map<string, OrderLine[]>>;
  /**
   * Runs the order's pipeline again now, under a claim of its own: a FAILED order back to
   * RECEIVED (lines mapped again, attempts reset), a waiting one mapped again, a submitted one's
   * cancellation or returns retried, an in-doubt one looked up once settled (never sent blind).
   * While another attempt holds the order (any instance, this one's worker included) the replay
   * changes nothing and returns the order as it stands.
   */
  replayOrder(id: string): Promise<OrderRecord>;
  listDeliveries(input: { first?: number | null; after?: string | null; status?: WebhookInboxStatus | null; topic?: string | null; orderId?: string | null }): Promise<Connection<WebhookDeliveryRecord>>;
  findDelivery(id: string): Promise<WebhookDeliveryRecord | null>;
  webhookHealth(): Promise<WebhookHealth>;
}

export interface OrdersServiceOptions {
  readonly db: Db;
  readonly shop: string;
  readonly orders: OrderRepository;
  readonly inbox: WebhookInboxRepository;
  readonly processor: OrderProcessor;
  /** The go-live switch ORDERS_TO_ERP (default on): off, a replay is refused like the worker's sends. */
  readonly ordersToErp?: () => Promise<'on' | 'off'>;
  readonly subscriptions: WebhookSubscriptionService;
  /** This gateway's webhook address (PUBLIC_URL + /webhooks/shopify), when known. */
  readonly webhookAddress: () => string | null;
  readonly log: Logger;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const MAX_PAGE = 250;

function pageSize(first: number | null | undefined): number {
  if (first === null || first === undefined) return 50;
  if (!Number.isInteger(first) || first < 0 || first > MAX_PAGE) throw new ValidationError(`first must be a whole number from 0 to ${MAX_PAGE}`, { first });
  return first;
}

function encodeCursor(value: unknown): string {
  return Buffer.from(JSON.stringify(value)).toString('base64url');
}

function decodeCursor<T>(cursor: string, check: (value: unknown) => value is T): T {
  try {
    const value: unknown = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
    if (check(value)) return value;
  } catch {
    // Falls through to the error below.
  }
  throw new ValidationError('after is not a cursor from this list', { after: cursor });
}

const isOrderCursor = (value: unknown): value is { r: string; i: string } =>
  typeof value === 'object' && value !== null && typeof (value as { r?: unknown }).r === 'string' && typeof (value as { i?: unknown }).i === 'string';
const isDeliveryCursor = (value: unknown): value is { d: number } => typeof value === 'object' && value !== null && Number.isInteger((value as { d?: unknown }).d);

export function createOrdersService(options: OrdersServiceOptions): OrdersService {
  const { shop, orders, inbox } = options;

  async function findOrder(id: string): Promise<OrderRecord | null> {
    const trimmed = id.trim();
    if (UUID.test(trimmed)) {
      const order = await orders.findById(trimmed);
      return order && order.shop === shop ? order : null;
    }
    const numeric = numericShopifyId(trimmed, 'Order');
    return numeric ? orders.findByShopifyId(shop, numeric) : null;
  }

  return {
    findOrder,

    async listOrders(input) {
      const first = pageSize(input.first);
      let after: OrderCursor | null = null;
      if (input.after) {
        const cursor = decodeCursor(input.after, isOrderCursor);
        after = { receivedAt: new Date(cursor.r), id: cursor.i };
      }
      const rows = await orders.list(shop, { status: input.status, needsAttention: input.needsAttention }, { first: first + 1, after });
      const page = rows.slice(0, first);
      const edges = page.map((order) => ({ cursor: encodeCursor({ r: order.receivedAt.toISOString(), i: order.id }), node: order }));
      return { edges, pageInfo: { hasNextPage: rows.length > first, endCursor: edges.at(-1)?.cursor ?? null } };
    },

    async getLinesByOrderIds(orderIds) {
      const stored = await orders.linesOf(options.db, orderIds);
      return new Map([...stored].map(([orderId, lines]) => [orderId, lines.map(({ erpCoveredQuantity: _covered, explainedQuantity: _explained, ...line }) => line)]));
    },

    async replayOrder(id) {
      const order = await findOrder(id);
      if (!order) throw new NotFoundError('Order', id);
      if (order.status === 'CANCELLED') return order;
      if ((await options.ordersToErp?.()) === 'off') {
        throw new AppError('ORDERS_TO_ERP_OFF', 'orders to the ERP are switched off (ORDERS_TO_ERP=off): the order stays received and goes once switched on (`switches set --orders-to-erp on`)');
      }
      // Under a claim of its own, like the worker's: refused while any live claim holds the
      // order (this instance's worker included), so a replay never runs beside another attempt.
      const outcome = await options.processor.processNow(order.id, { reset: true });
      if (outcome.result === 'busy') options.log.info({ orderId: order.id }, 'the order is being worked on right now; the replay leaves it to that attempt');
      else options.log.info({ orderId: order.id, shopifyOrderId: order.shopifyOrderId, status: order.status, result: outcome.result }, 'order replayed by hand');
      return (await orders.findById(order.id)) ?? order;
    },

    async listDeliveries(input) {
      const first = pageSize(input.first);
      const afterId = input.after ? decodeCursor(input.after, isDeliveryCursor).d : null;
      let orderRef: string | null = null;
      if (input.orderId) {
        const order = await findOrder(input.orderId);
        orderRef = order?.shopifyOrderId ?? numericShopifyId(input.orderId, 'Order') ?? input.orderId;
      }
      const rows = await inbox.list(shop, { status: input.status, topic: input.topic, orderRef }, { first: first + 1, afterId });
      const page = rows.slice(0, first);
      const edges = page.map((delivery) => ({ cursor: encodeCursor({ d: delivery.id }), node: delivery }));
      return { edges, pageInfo: { hasNextPage: rows.length > first, endCursor: edges.at(-1)?.cursor ?? null } };
    },

    async findDelivery(id) {
      if (!/^\d+$/.test(id.trim())) return null;
      const delivery = await inbox.find(Number(id.trim()));
      return delivery && delivery.shop === shop ? delivery : null;
    },

    webhookHealth() {
      return options.subscriptions.status(options.webhookAddress());
    },
  };
}
