import type { AlertSender } from '../alerts/alert-sender.js';
import type { Logger } from '../logger.js';
import type { NewPrivacyRequest, PrivacyRepository, PrivacyRequestRecord } from './privacy.repository.js';

/**
 * Customers' personal data: kept only while it serves (RETENTION_DAYS), removed on request.
 *
 * - Retention: raw webhook bodies and the customer and address of settled orders received more
 *   than `retentionDays` ago are removed by the `privacy.retention` job. What exactly-once needs
 *   (ids, statuses, ERP references, digests) stays.
 * - GDPR requests from Shopify are recorded before the 200 and worked on after it (at once, and
 *   by the `privacy.requests` job until done): `customers/redact` removes that customer's data
 *   (their orders' snapshots, the webhook bodies about them), `shop/redact` every customer's of the
 *   shop, `customers/data_request` is logged and alerted for the operator, who answers the
 *   customer (the gateway holds nothing Shopify does not).
 * - Data still needed by work in flight (an order not yet settled with the ERP, a delivery not yet
 *   applied) is left; the request stays PENDING and the next run tries again, so a redaction
 *   never breaks an order on its way to the ERP.
 */
export interface PrivacyService {
  /** Records a GDPR request (a redelivery is `duplicate`) and starts working on it after the caller's answer. */
  recordRequest(request: NewPrivacyRequest): Promise<'recorded' | 'duplicate'>;
  /** Works on PENDING requests; returns how many were done and how many still wait. */
  processPending(options?: { signal?: AbortSignal }): Promise<{ readonly done: number; readonly waiting: number }>;
  /** Removes personal data older than the retention; returns what was removed. */
  applyRetention(options?: { signal?: AbortSignal }): Promise<{ readonly orders: number; readonly deliveries: number }>;
}

/** What privacy needs of the orders domain, given by the composition root. */
export interface PrivacyOrdersPort {
  /**
   * The digest of a stored order snapshot that the orders domain compares later updates with
   * (see `submittedDigest`): computed before a redaction removes the address it covers.
   */
  contentDigestOf(snapshot: unknown): string;
}

export interface PrivacyServiceOptions {
  readonly repository: PrivacyRepository;
  readonly orders: PrivacyOrdersPort;
  readonly retentionDays: number;
  readonly alerts: AlertSender;
  readonly log: Logger;
  readonly now: () => Date;
  /** Rows per statement (default 500). */
  readonly batchSize?: number;
}

/** What one redaction removed, and what it had to leave for now. */
interface RedactionCount {
  orders: number;
  deliveries: number;
  ordersInFlight: number;
  deliveriesPending: number;
}

export function createPrivacyService(options: PrivacyServiceOptions): PrivacyService {
  const { repository, log } = options;
  const batchSize = options.batchSize ?? 500;
  let running: Promise<{ done: number; waiting: number }> | null = null;

  /**
   * The digest the conflict check compares later updates with: kept as it was before the
   * snapshot loses the address it was computed from.
   */
  const keepDigestOf = (order: { status: string; snapshot: unknown; submittedDigest: string | null }) =>
    order.submittedDigest ?? (order.status === 'SUBMITTED' ? options.orders.contentDigestOf(order.snapshot) : null);

  async function redactOrders(selection: Parameters<PrivacyRepository['findOrders']>[0], count: RedactionCount, signal?: AbortSignal): Promise<string[]> {
    const touched: string[] = [];
    let after: string | null = null;
    for (;;) {
      if (signal?.aborted) break;
      const found = await repository.findOrders(selection, batchSize, after);
      if (found.length === 0) break;
      after = found[found.length - 1]!.id;
      for (const order of found) touched.push(order.shopifyOrderId);
      const settled = found.filter((order) => order.settled);
      count.ordersInFlight += found.length - settled.length;
      count.orders += await repository.redactOrders(settled.map((order) => ({ id: order.id, keepDigest: keepDigestOf(order) })));
      if (found.length < batchSize) break;
    }
    return touched;
  }

  async function redactDeliveries(selection: Parameters<PrivacyRepository['redactDeliveries']>[0], count: RedactionCount, signal?: AbortSignal): Promise<void> {
    for (;;) {
      if (signal?.aborted) return;
      const { redacted, pending } = await repository.redactDeliveries(selection, batchSize);
      count.deliveries += redacted;
      if (redacted < batchSize) {
        count.deliveriesPending += pending;
        return;
      }
    }
  }

  async function processOne(request: PrivacyRequestRecord, signal?: AbortSignal): Promise<boolean> {
    const requestLog = log.child({ privacyRequestId: request.id, topic: request.topic, shopifyCustomerId: request.shopifyCustomerId });
    if (request.topic === 'customers/data_request') {
      const held = await repository.countCustomerOrders(request.shop, request.orderIds, request.customerEmail);
      const message = `Shopify customer ${request.shopifyCustomerId ?? '(unknown)'} asked for their data (request ${request.dataRequestId ?? request.id}); the gateway holds ${held} of their orders, all also in Shopify and the ERP`;
      requestLog.warn({ ordersRequested: request.orderIds, ordersHeld: held, dataRequestId: request.dataRequestId }, 'customer data request: the operator answers it');
      options.alerts.send({
        code: 'PRIVACY_DATA_REQUEST',
        severity: 'warning',
        message,
        details: { privacyRequestId: request.id, shopifyCustomerId: request.shopifyCustomerId, dataRequestId: request.dataRequestId, ordersRequested: request.orderIds, ordersHeld: held },
      });
      await repository.completeRequest(request.id, `operator alerted; ${held} orders held`);
      return true;
    }

    const count: RedactionCount = { orders: 0, deliveries: 0, ordersInFlight: 0, deliveriesPending: 0 };
    if (request.topic === 'customers/redact') {
      const orderRefs = await redactOrders({ kind: 'customer', shop: request.shop, orderIds: request.orderIds, email: request.customerEmail }, count, signal);
      await redactDeliveries({ kind: 'orders', shop: request.shop, orderRefs: [...new Set([...orderRefs, ...request.orderIds])], email: request.customerEmail }, count, signal);
    } else {
      await redactOrders({ kind: 'shop', shop: request.shop }, count, signal);
      await redactDeliveries({ kind: 'shop', shop: request.shop }, count, signal);
    }
    if (signal?.aborted) return false;
    const summary = `${count.orders} orders and ${count.deliveries} webhook bodies redacted`;
    if (count.ordersInFlight > 0 || count.deliveriesPending > 0) {
      const waiting = `${summary}; waiting for ${count.ordersInFlight} orders not yet settled with the ERP and ${count.deliveriesPending} deliveries not yet applied`;
      await repository.postponeRequest(request.id, waiting);
      requestLog.warn({ ...count }, 'redaction waits for orders still in flight');
      if (request.attempts === 0) {
        options.alerts.send({ code: 'PRIVACY_REDACTION_WAITING', severity: 'warning', message: `${request.topic} (request ${request.id}) ${waiting}: FAILED orders need a replay or a cancellation first`, details: { privacyRequestId: request.id, ...count } });
      }
      return false;
    }
    await repository.completeRequest(request.id, summary);
    requestLog.info({ ...count }, 'personal data redacted');
    return true;
  }

  async function processPendingOnce(signal?: AbortSignal) {
    let done = 0;
    let waiting = 0;
    for (const request of await repository.pendingRequests(100)) {
      if (signal?.aborted) break;
      if (await processOne(request, signal)) done += 1;
      else waiting += 1;
    }
    return { done, waiting };
  }

  const service: PrivacyService = {
    async recordRequest(request) {
      const stored = await repository.insertRequest(request);
      if (!stored) return 'duplicate';
      log.info({ topic: request.topic, shopifyCustomerId: request.shopifyCustomerId, orders: request.orderIds.length }, 'privacy request recorded');
      // After the answer, not before: Shopify waits 5 s at most, a redaction may take longer.
      setImmediate(() => {
        service.processPending().catch((error: unknown) => log.warn({ err: error }, 'privacy requests could not be worked on now; the job tries again'));
      });
      return 'recorded';
    },

    processPending({ signal } = {}) {
      // One run at a time in this process (the job and the wake-up after a request may meet).
      running ??= processPendingOnce(signal).finally(() => {
        running = null;
      });
      return running;
    },

    async applyRetention({ signal } = {}) {
      const before = new Date(options.now().getTime() - options.retentionDays * 86_400_000);
      const count: RedactionCount = { orders: 0, deliveries: 0, ordersInFlight: 0, deliveriesPending: 0 };
      await redactOrders({ kind: 'expired', before }, count, signal);
      await redactDeliveries({ kind: 'expired', before }, count, signal);
      if (count.orders > 0 || count.deliveries > 0) log.info({ orders: count.orders, deliveries: count.deliveries, before: before.toISOString() }, 'personal data past the retention removed');
      return { orders: count.orders, deliveries: count.deliveries };
    },
  };
  return service;
}
