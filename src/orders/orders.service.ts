import type { Db } from '../db/database.js';
import type { WebhookInboxStatus } from '../db/schema/index.js';
import type { Logger } from '../logger.js';
import { AppError, NotFoundError } from '../shared/errors.js';
import { decodeCursor, invalidCursor, pageSize, toConnection, type Connection } from '../shared/pagination.js';
import { refusedReplay, type ReplayResult } from './replay-result.js';
import type { OrderProcessor } from './order-processor.service.js';
import { numericShopifyId } from '../shopify/gid.js';
import type { OrderLine, OrderRecord, OrderStatus, WebhookDeliveryRecord } from './order.models.js';
import type { OrderRepository } from './order.repository.js';
import type { WebhookInboxRepository } from './webhook-inbox.repository.js';
import { replayDeliveriesByFilter, type ReplayDeliveriesInput, type ReplayDeliveriesResult } from './webhook-inbox.replay.js';
import type { WebhookHealth, WebhookSubscriptionService } from './webhook-subscriptions.service.js';

/**
 * What people and programs ask of the orders domain: orders and their lines, the inbox's
 * failed deliveries, the webhook subscriptions' health, and replaying an order.
 */
export interface OrdersService {
  /** By the gateway's id, a Shopify gid (`gid://shopify/Order/1`) or a numeric Shopify id. */
  findOrder(id: string): Promise<OrderRecord | null>;
  /** Newest first, one page (src/shared/pagination.ts); `withTotalCount` counts every match too. */
  listOrders(input: {
    first?: number | null;
    after?: string | null;
    status?: OrderStatus | null;
    needsAttention?: boolean | null;
    withTotalCount?: boolean;
  }): Promise<Connection<OrderRecord>>;
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
  /**
   * Replays the orders a filter matches, at most `limit` at once: queued for the worker (a FAILED
   * order back to RECEIVED, a waiting one due now) rather than run here, so one call can take
   * hundreds. Only FAILED and waiting orders are queued; the rest are counted, never touched. A
   * dry run matches and changes nothing. Refusals come back as `userErrors`.
   */
  replayOrders(input: ReplayOrdersInput): Promise<ReplayOrdersResult>;
  /**
   * Puts the FAILED and waiting webhook deliveries the ids and filter match back in the inbox,
   * due now, at most `limit` at once (src/orders/webhook-inbox.replay.ts); a dry run matches and
   * changes nothing. Refusals come back as `userErrors`.
   */
  replayWebhookDeliveries(input: ReplayDeliveriesInput): Promise<ReplayDeliveriesResult>;
  /** Newest first (by id), one page (src/shared/pagination.ts); `withTotalCount` counts every match too. */
  listDeliveries(input: {
    first?: number | null;
    after?: string | null;
    status?: WebhookInboxStatus | null;
    topic?: string | null;
    orderId?: string | null;
    withTotalCount?: boolean;
  }): Promise<Connection<WebhookDeliveryRecord>>;
  findDelivery(id: string): Promise<WebhookDeliveryRecord | null>;
  webhookHealth(): Promise<WebhookHealth>;
}

export interface ReplayOrdersInput {
  readonly ids?: readonly string[] | null;
  readonly status?: OrderStatus | null;
  readonly errorCode?: string | null;
  readonly receivedAfter?: Date | null;
  readonly receivedBefore?: Date | null;
  readonly dryRun?: boolean | null;
  readonly limit?: number | null;
}

export type ReplayOrdersErrorCode = 'NO_FILTER' | 'LIMIT_TOO_LARGE' | 'NOT_FOUND' | 'NOT_REPLAYABLE' | 'ORDERS_TO_ERP_OFF';

/** `queued`: what was queued for the worker. */
export type ReplayOrdersResult = ReplayResult<OrderRecord, ReplayOrdersErrorCode>;

export const REPLAY_ORDERS_DEFAULT_LIMIT = 100;
export const REPLAY_ORDERS_MAX_LIMIT = 500;

export interface ReplayOrdersOptions {
  /** Null: orders of every shop the database holds. */
  readonly shop: string | null;
  readonly orders: OrderRepository;
  /** The go-live switch ORDERS_TO_ERP: off, a replay (not a dry run) is refused. */
  readonly ordersToErp?: (() => Promise<'on' | 'off'>) | undefined;
}

/**
 * The replay by filter, on the database alone: the GraphQL mutation and the operator CLI
 * (`orders replay`) both run it; the running gateways' workers take the queued orders.
 */
export async function replayOrdersByFilter(options: ReplayOrdersOptions, input: ReplayOrdersInput): Promise<ReplayOrdersResult> {
  const dryRun = input.dryRun ?? false;
  const limit = input.limit ?? REPLAY_ORDERS_DEFAULT_LIMIT;
  const refuse = (code: ReplayOrdersErrorCode, field: string[], message: string): ReplayOrdersResult => refusedReplay(dryRun, code, field, message);
  if (!Number.isInteger(limit) || limit < 1 || limit > REPLAY_ORDERS_MAX_LIMIT) {
    return refuse('LIMIT_TOO_LARGE', ['input', 'limit'], `limit must be a whole number from 1 to ${REPLAY_ORDERS_MAX_LIMIT}`);
  }
  // An empty list names no order: no ids filter (the CLI passes one when no --id is given).
  const ids = input.ids?.length ? [...new Set(input.ids.map((id) => id.trim()))] : null;
  if (!ids?.length && !input.status && !input.errorCode && !input.receivedAfter && !input.receivedBefore) {
    // Replaying every order of the shop is never what an operator means.
    return refuse('NO_FILTER', ['input'], 'give at least one filter: ids, status, errorCode, receivedAfter or receivedBefore');
  }
  const userErrors: Array<ReplayOrdersResult['userErrors'][number]> = [];
  const badIds = ids?.filter((id) => !UUID.test(id)) ?? [];
  if (badIds.length > 0) userErrors.push({ field: ['input', 'ids'], message: `not an order id: ${badIds.join(', ')}`, code: 'NOT_FOUND' });
  const filter = {
    ids: ids ? ids.filter((id) => UUID.test(id)) : null,
    status: input.status,
    errorCode: input.errorCode,
    receivedAfter: input.receivedAfter,
    receivedBefore: input.receivedBefore,
  };
  const [rows, matchedCount, replayableCount] = await Promise.all([
    options.orders.list(options.shop, filter, { first: limit + 1, after: null }),
    options.orders.count(options.shop, filter),
    options.orders.count(options.shop, { ...filter, replayable: true }),
  ]);
  const matched = toConnection('orders', rows, { first: limit, after: null, keyOf: (row) => [row.receivedAtKey, row.order.id], nodeOf: (row) => row.order, totalCount: matchedCount });
  if (filter.ids) {
    const found = new Set(rows.map((row) => row.order.id));
    const missing = filter.ids.filter((id) => !found.has(id));
    if (missing.length > 0 && matchedCount <= limit) userErrors.push({ field: ['input', 'ids'], message: `no such order: ${missing.join(', ')}`, code: 'NOT_FOUND' });
    const named = rows.map((row) => row.order).filter((order) => !(order.status === 'FAILED' || (order.status === 'RECEIVED' && order.lastErrorCode !== null)));
    if (named.length > 0) {
      userErrors.push({
        field: ['input', 'ids'],
        message: `a replay cannot help ${named.map((order) => `${order.id} (${order.status})`).join(', ')}: only FAILED orders and orders waiting after an error are replayed (replayOrder retries a submitted order's cancellation or returns)`,
        code: 'NOT_REPLAYABLE',
      });
    }
  }
  if (dryRun) return { dryRun, matchedCount, replayableCount, matched, queued: [], userErrors };
  if ((await options.ordersToErp?.()) === 'off') {
    return { dryRun, matchedCount, replayableCount, matched, queued: [], userErrors: [...userErrors, { field: ['input'], message: 'orders to the ERP are switched off (ORDERS_TO_ERP=off): switch them on first (`switches set --orders-to-erp on`)', code: 'ORDERS_TO_ERP_OFF' }] };
  }
  const queued = replayableCount > 0 ? await options.orders.queueReplay(options.shop, filter, limit) : [];
  return { dryRun, matchedCount, replayableCount, matched, queued, userErrors };
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
  /** Wakes this instance's worker after a replay queued orders (others find them due). */
  readonly onQueued?: () => void;
  /** Wakes this instance's inbox drain after a replay put deliveries back (others find them due). */
  readonly onDeliveriesQueued?: () => void;
  readonly log: Logger;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const TIMESTAMP_KEY = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z$/;

/** The order cursor's key: `received_at` to the microsecond, then the id (see OrderCursor). */
function orderCursor(after: string): { receivedAt: string; id: string } {
  const [receivedAt, id] = decodeCursor('orders', after, 2);
  if (typeof receivedAt !== 'string' || !TIMESTAMP_KEY.test(receivedAt) || typeof id !== 'string' || !UUID.test(id)) invalidCursor('orders', after);
  return { receivedAt: receivedAt as string, id: id as string };
}

function deliveryCursor(after: string): number {
  const [id] = decodeCursor('webhookDeliveries', after, 1);
  if (!Number.isSafeInteger(id)) invalidCursor('webhookDeliveries', after);
  return id as number;
}

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
      const after = input.after ? orderCursor(input.after) : null;
      const filter = { status: input.status, needsAttention: input.needsAttention };
      const [rows, totalCount] = await Promise.all([orders.list(shop, filter, { first: first + 1, after }), input.withTotalCount ? orders.count(shop, filter) : null]);
      return toConnection('orders', rows, {
        first,
        after: input.after,
        keyOf: (row) => [row.receivedAtKey, row.order.id],
        nodeOf: (row) => row.order,
        totalCount,
      });
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

    async replayOrders(input) {
      const result = await replayOrdersByFilter({ shop, orders, ordersToErp: options.ordersToErp }, input);
      if (result.queued.length > 0) {
        options.log.info({ queued: result.queued.length, matched: result.matchedCount }, 'orders queued for a replay by hand');
        options.onQueued?.();
      }
      return result;
    },

    async replayWebhookDeliveries(input) {
      const result = await replayDeliveriesByFilter({ shop, inbox }, input);
      if (result.queued.length > 0) {
        options.log.info({ queued: result.queued.length, matched: result.matchedCount }, 'webhook deliveries queued for a replay by hand');
        options.onDeliveriesQueued?.();
      }
      return result;
    },

    async listDeliveries(input) {
      const first = pageSize(input.first);
      const afterId = input.after ? deliveryCursor(input.after) : null;
      let orderRef: string | null = null;
      if (input.orderId) {
        const order = await findOrder(input.orderId);
        orderRef = order?.shopifyOrderId ?? numericShopifyId(input.orderId, 'Order') ?? input.orderId;
      }
      const filter = { status: input.status, topic: input.topic, orderRef };
      const [rows, totalCount] = await Promise.all([inbox.list(shop, filter, { first: first + 1, afterId }), input.withTotalCount ? inbox.count(shop, filter) : null]);
      // The inbox id is a sequence: unique, and in the order deliveries were stored.
      return toConnection('webhookDeliveries', rows, { first, after: input.after, keyOf: (delivery) => [delivery.id], totalCount });
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
