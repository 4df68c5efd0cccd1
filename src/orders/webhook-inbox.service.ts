import { createHash } from 'node:crypto';
import type { Db } from '../db/database.js';
import type { Logger } from '../logger.js';
import type { OversellFinding } from './order-health.port.js';
import type { IntakeResult, OrderIntake } from './order-intake.service.js';
import { isOrderTopic, type OrderSnapshot, type WebhookDeliveryRecord } from './order.models.js';
import type { NewLine, OrderRepository } from './order.repository.js';
import type { OrdersMetrics } from './orders.metrics.js';
import type { OrderLineMapper, PreparedMapping } from './order-line-mapper.js';
import { deferPositionWrites, type DeferredPositionWrites } from './pending-units.repository.js';
import { MalformedWebhookBody, parseWebhookBody, type ParsedWebhookBody } from './shopify-order.payloads.js';
import type { WebhookInboxRepository } from './webhook-inbox.repository.js';
import type { VerifiedDelivery } from '../shopify/webhook-delivery.js';

/**
 * The inbox: what happens to a signed delivery. `receive` stores it (the only work before the
 * 200: a JSON read for the order it names, and one insert shared with the deliveries that arrive
 * meanwhile); `drain` validates and applies stored deliveries to the orders' state later (orders,
 * lines, pending units), many instances at once, giving way to acknowledgements in flight.
 */

export type ReceiveResult =
  /** Stored; the pipeline applies it after the answer. */
  | { readonly result: 'stored'; readonly id: number | null }
  /** The same webhook id (or the same topic's event id) was stored before: acknowledged, nothing done. */
  | { readonly result: 'duplicate' }
  /** Stored as FAILED with the reason (signed, but not what the topic promises). */
  | { readonly result: 'malformed'; readonly reason: string }
  /** A topic or shop this gateway does not act on: acknowledged, not stored. */
  | { readonly result: 'ignored'; readonly reason: string };

export interface DrainResult {
  /** Deliveries taken from the inbox in this call (settled or put back to wait). */
  readonly claimed: number;
  /** Deliveries settled (applied, ignored or failed) in this call. */
  readonly settled: number;
  /** Orders that got work for the ERP side. */
  readonly dueOrderIds: readonly string[];
  readonly pendingChanged: boolean;
  /** Orders whose units the ATP could not cover when they were counted (already reported through `onOversold`). */
  readonly oversold: readonly OversellFinding[];
}

export interface WebhookInboxService {
  /**
   * Stores a delivery of an order topic (counting it in the metrics is the route's job). Rejects
   * with WebhookInboxFullError when the write queue is full: nothing stored, answer 503.
   */
  receive(delivery: VerifiedDelivery): Promise<ReceiveResult>;
  /** Applies up to `batchSize` due deliveries in one transaction (their orders' lines mapped ahead). */
  drain(options?: { batchSize?: number }): Promise<DrainResult>;
}

export interface WebhookInboxServiceOptions {
  readonly db: Db;
  readonly shop: string;
  readonly inbox: WebhookInboxRepository;
  readonly orders: OrderRepository;
  readonly intake: OrderIntake;
  readonly mapper: OrderLineMapper;
  readonly metrics: OrdersMetrics;
  readonly log: Logger;
  /** Called after a delivery is stored, to wake the drain. */
  readonly onStored?: () => void;
  /** Called after a batch committed with the oversells its orders made (never on the acknowledgement path). */
  readonly onOversold?: (findings: readonly OversellFinding[]) => Promise<void>;
  /** How long a refund waits for its order before it is FAILED (attempts; default 12, about 17 h). */
  readonly maxWaits?: number;
  /** First wait for a delivery that cannot be applied yet; doubles per attempt (default 10 s). */
  readonly waitBaseMs?: number;
  readonly waitMaxMs?: number;
  /**
   * Longest wait of a drain for the acknowledgements' inserts in flight (default 50 ms): under a
   * flood of webhooks the drain batches what arrived meanwhile instead of competing with each
   * acknowledgement for the event loop and the database. Far under the 5 s within which an
   * acknowledged order must show with its pending units.
   */
  readonly ackYieldMs?: number;
}

/**
 * What the acknowledgement reads of a body: the order it names (`id`, a refund's `order_id`), or
 * why it is plainly not what its topic promises (not JSON, no order id, an order without a
 * `line_items` list). One JSON.parse and no schema: the full validation (zod) is the drain's,
 * which stores a body failing it as FAILED with the reason, as here.
 */
function readAtReceipt(topic: string, body: string): { orderRef: string | null; malformed: string | null } {
  let json: unknown;
  try {
    json = JSON.parse(body);
  } catch (error) {
    return { orderRef: null, malformed: `body is not JSON: ${(error as Error).message}` };
  }
  if (json === null || typeof json !== 'object' || Array.isArray(json)) return { orderRef: null, malformed: 'body is not a JSON object' };
  const record = json as Record<string, unknown>;
  const refund = topic === 'refunds/create';
  const value = refund ? record.order_id : record.id;
  const orderRef = (typeof value === 'number' && Number.isSafeInteger(value) && value > 0) || (typeof value === 'string' && /^\d+$/.test(value)) ? String(value) : null;
  if (refund) return { orderRef, malformed: orderRef ? null : 'not a Shopify refund: order_id: a numeric id is required' };
  if (!orderRef) return { orderRef, malformed: 'not a Shopify order: id: a numeric id is required' };
  if (!Array.isArray(record.line_items)) return { orderRef, malformed: 'not a Shopify order: line_items: a list is required' };
  return { orderRef, malformed: null };
}

/** Bodies validated between two turns of the event loop in a drain (see `drain`). */
const PARSE_SLICE = 10;

/** Resolves after the event loop has polled for I/O once (sockets with acknowledgements waiting). */
function nextTurnOfTheEventLoop(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

export function createWebhookInboxService(options: WebhookInboxServiceOptions): WebhookInboxService {
  const { db, shop, log } = options;
  const maxWaits = options.maxWaits ?? 12;
  const waitBaseMs = options.waitBaseMs ?? 10_000;
  const waitMaxMs = options.waitMaxMs ?? 4 * 60 * 60_000;
  const ackYieldMs = options.ackYieldMs ?? 50;
  let cutover: Date | null = null;

  const cutoverAt = async () => {
    cutover ??= (await options.orders.pollState(shop)).cutoverAt;
    return cutover;
  };

  function parseOrReason(topic: string, body: string): ParsedWebhookBody | MalformedWebhookBody {
    try {
      return parseWebhookBody(topic, body);
    } catch (error) {
      if (error instanceof MalformedWebhookBody) return error;
      throw error;
    }
  }

  function applyOne(
    tx: Db,
    row: WebhookDeliveryRecord,
    body: ParsedWebhookBody,
    cutoverAtValue: Date,
    prepared: PreparedMapping | null,
    deferred: DeferredPositionWrites | null,
  ): Promise<IntakeResult> {
    if (body.kind === 'refund') return options.intake.applyRefund(tx, body.refund);
    const lines = prepared ? options.mapper.linesFor(prepared, body.snapshot) : null;
    return options.intake.applyOrder(tx, body.snapshot, { source: 'webhook', topic: row.topic, cutoverAt: cutoverAtValue, lines, deferred });
  }

  /**
   * Claims the peeked deliveries that are still due in one transaction and applies them. Without
   * savepoints (the fast path) any failure rolls the whole batch back for the caller to redo
   * with them; with savepoints, a failing delivery is put back to wait and the rest commit.
   */
  async function applyBatch(
    peeked: readonly number[],
    cutoverAtValue: Date,
    parsed: ReadonlyMap<number, ParsedWebhookBody | MalformedWebhookBody>,
    prepared: PreparedMapping | null,
    savepoints: boolean,
  ): Promise<DrainResult> {
    const dueOrderIds = new Set<string>();
    let pendingChanged = false;
    let oversold: OversellFinding[] = [];
    let settled = 0;
    let claimed = 0;
    await db.transaction(async (transaction) => {
      const tx = transaction as unknown as Db;
      // A retried transaction starts again from nothing.
      oversold = [];
      const rows = await options.inbox.claimDue(tx, peeked);
      claimed = rows.length;
      // Every claimed row was read ahead (claimDue takes only those), its body parsed then.
      const bodies = new Map(rows.map((row) => [row.id, parsed.get(row.id)!]));
      const mapped = new Map<number, NewLine[]>();
      const orderIds: string[] = [];
      for (const row of rows) {
        const body = bodies.get(row.id)!;
        if (body instanceof MalformedWebhookBody) continue;
        orderIds.push(body.kind === 'order' ? body.snapshot.shopifyOrderId : body.refund.shopifyOrderId);
        if (body.kind === 'order' && prepared) mapped.set(row.id, options.mapper.linesFor(prepared, body.snapshot));
      }
      // The batch's existing orders are locked first, in one statement in id order: taken one
      // by one in delivery order, they deadlocked with the claims' writes and the allocation
      // check, which lock orders in id order (seen at 10,000 orders a minute).
      await options.orders.lockByShopifyIds(tx, shop, orderIds);
      // The positions' pending units are written at the end, in one locked step (see
      // DeferredPositionWrites): hot positions are held for the commit, not the batch, and are
      // never held while a new order is inserted. One by one, a savepoint that rolls back drops
      // what it moved. (Locked first in the one-by-one way, they deadlocked with a poll inserting
      // one of the batch's new orders: it waited for those positions, the insert for it.)
      const deferred = deferPositionWrites(tx, shop);
      await deferred.present([...mapped.values()].flat().flatMap((line) => (line.erpSku && line.location ? [{ sku: line.erpSku, location: line.location }] : [])));

      // The fast path: each order's first event in the batch, when it is an order the gateway
      // may never have seen, is recorded with the others in a few statements. Whatever it does
      // not take (the order exists, or is not plainly new) goes the one-by-one way below.
      const fast = new Map<number, IntakeResult>();
      if (!savepoints && prepared) {
        const seen = new Set<string>();
        const candidates: Array<{ rowId: number; snapshot: OrderSnapshot; lines: NewLine[] }> = [];
        for (const row of rows) {
          const body = bodies.get(row.id)!;
          if (body instanceof MalformedWebhookBody) continue;
          const orderId = body.kind === 'order' ? body.snapshot.shopifyOrderId : body.refund.shopifyOrderId;
          if (seen.has(orderId)) continue;
          seen.add(orderId);
          if (body.kind === 'order') candidates.push({ rowId: row.id, snapshot: body.snapshot, lines: mapped.get(row.id) ?? options.mapper.linesFor(prepared, body.snapshot) });
        }
        const recorded = await options.intake.applyNewOrders(tx, candidates, { source: 'webhook', cutoverAt: cutoverAtValue, deferred });
        for (const candidate of candidates) {
          const result = recorded.get(candidate.snapshot.shopifyOrderId);
          if (result) fast.set(candidate.rowId, result);
        }
        await options.inbox.completeMany(tx, [...fast.keys()], { status: 'DONE', outcome: 'order received' });
        for (const result of fast.values()) {
          if (result.kind !== 'applied') continue;
          settled += 1;
          dueOrderIds.add(result.orderId);
          if (result.pendingChanged) pendingChanged = true;
          oversold.push(...(result.oversold ?? []));
        }
      }

      for (const row of rows) {
        if (fast.has(row.id)) continue;
        const rowLog = log.child({ topic: row.topic, webhookId: row.webhookId });
        const body = bodies.get(row.id)!;
        if (body instanceof MalformedWebhookBody) {
          await options.inbox.complete(tx, row.id, { status: 'FAILED', outcome: 'malformed body', lastError: body.message });
          settled += 1;
          continue;
        }
        let result: IntakeResult;
        if (!savepoints) {
          result = await applyOne(tx, row, body, cutoverAtValue, prepared, deferred);
        } else {
          const mark = deferred.mark();
          try {
            result = await tx.transaction((savepoint) => applyOne(savepoint as unknown as Db, row, body, cutoverAtValue, prepared, deferred));
          } catch (error) {
            deferred.discardSince(mark);
            const attempts = row.attempts + 1;
            const reason = error instanceof Error ? error.message : String(error);
            if (attempts >= maxWaits) {
              rowLog.error({ err: error, attempts }, 'webhook delivery could not be applied; giving up');
              await options.inbox.complete(tx, row.id, { status: 'FAILED', outcome: 'could not be applied', lastError: reason });
              settled += 1;
            } else {
              rowLog.warn({ err: error, attempts }, 'webhook delivery could not be applied; will retry');
              await options.inbox.postpone(tx, row.id, Math.min(waitMaxMs, waitBaseMs * 2 ** (attempts - 1)), reason);
            }
            continue;
          }
        }
        if (result.kind === 'not-yet') {
          const attempts = row.attempts + 1;
          if (attempts >= maxWaits) {
            await options.inbox.complete(tx, row.id, { status: 'FAILED', outcome: 'gave up waiting', lastError: `${result.outcome}: it never arrived (webhook and poll)` });
            rowLog.error({ attempts }, 'a delivery waited for its order in vain');
            settled += 1;
          } else {
            await options.inbox.postpone(tx, row.id, Math.min(waitMaxMs, waitBaseMs * 2 ** (attempts - 1)), result.outcome);
          }
          continue;
        }
        settled += 1;
        if (result.kind === 'ignored') {
          await options.inbox.complete(tx, row.id, { status: 'IGNORED', outcome: result.outcome });
          rowLog.debug({ outcome: result.outcome }, 'webhook delivery changed nothing');
          continue;
        }
        await options.inbox.complete(tx, row.id, { status: 'DONE', outcome: result.outcome });
        if (result.due) dueOrderIds.add(result.orderId);
        if (result.pendingChanged) pendingChanged = true;
        oversold.push(...(result.oversold ?? []));
        rowLog.debug({ outcome: result.outcome, orderId: result.orderId }, 'webhook delivery applied');
      }
      const flushed = await deferred.flush(new Date());
      if (flushed.positions.length > 0) pendingChanged = true;
      oversold.push(...flushed.oversold);
    });
    if (oversold.length > 0) await options.onOversold?.(oversold);
    return { claimed, settled, dueOrderIds: [...dueOrderIds], pendingChanged, oversold };
  }

  return {
    async receive(delivery) {
      const topic = (delivery.topic ?? '').trim();
      if (!isOrderTopic(topic)) {
        log.info({ topic: topic || null, webhookId: delivery.webhookId }, 'webhook topic not handled: acknowledged and ignored');
        return { result: 'ignored', reason: `topic ${topic || '(none)'} is not handled` };
      }
      if (delivery.shopDomain && delivery.shopDomain.toLowerCase() !== shop.toLowerCase()) {
        log.warn({ topic, shopDomain: delivery.shopDomain, webhookId: delivery.webhookId }, 'webhook for another shop: acknowledged and ignored');
        return { result: 'ignored', reason: `shop ${delivery.shopDomain} is not served by this gateway` };
      }
      const body = delivery.body.toString('utf8');
      const { orderRef, malformed: lastError } = readAtReceipt(topic, body);
      const status: 'PENDING' | 'FAILED' = lastError === null ? 'PENDING' : 'FAILED';
      // Shopify always sends a webhook id; without one, the body itself identifies the delivery.
      const webhookId = delivery.webhookId?.trim() || `body-sha256:${createHash('sha256').update(topic).update(delivery.body).digest('hex')}`;
      const triggeredAt = delivery.triggeredAt && !Number.isNaN(Date.parse(delivery.triggeredAt)) ? new Date(delivery.triggeredAt) : null;
      const stored = await options.inbox.insert({
        shop,
        webhookId,
        eventId: delivery.eventId?.trim() || null,
        topic,
        apiVersion: delivery.apiVersion?.trim() || null,
        triggeredAt,
        body,
        orderRef,
        status,
        lastError,
      });
      if (!stored) {
        log.debug({ topic, webhookId }, 'webhook delivered again: already stored');
        return { result: 'duplicate' };
      }
      if (status === 'FAILED') {
        log.error({ topic, webhookId, reason: lastError }, 'signed webhook with a body that is not what its topic promises: stored as failed');
        return { result: 'malformed', reason: lastError! };
      }
      options.onStored?.();
      return { result: 'stored', id: null };
    },

    async drain({ batchSize = 100 } = {}) {
      // Acknowledgements first: wait (briefly) for the inserts of those in flight.
      await options.inbox.whenWritesIdle(ackYieldMs);
      const cutoverAtValue = await cutoverAt();
      // Read ahead, outside any transaction: the due bodies, and the mapping their orders need
      // (the mapping reads its own tables; PGlite has one connection, so never inside ours).
      const parsed = new Map<number, ParsedWebhookBody | MalformedWebhookBody>();
      const due = await options.inbox.peekDue(batchSize);
      for (let i = 0; i < due.length; i++) {
        // The schema check costs ~30-100 µs a body: in slices, with a turn of the event loop
        // between them, so acknowledgements arriving meanwhile are read and answered in between
        // instead of waiting for a whole batch's validation.
        if (i > 0 && i % PARSE_SLICE === 0) await nextTurnOfTheEventLoop();
        parsed.set(due[i]!.id, parseOrReason(due[i]!.topic, due[i]!.body));
      }
      let prepared: PreparedMapping | null = null;
      const snapshots = [...parsed.values()].flatMap((body) => (body instanceof MalformedWebhookBody || body.kind !== 'order' || body.snapshot.cancelledAt ? [] : [body.snapshot]));
      if (snapshots.length > 0) {
        try {
          prepared = await options.mapper.prepare(snapshots);
        } catch (error) {
          // The orders are recorded anyway; the worker maps them (and retries) before sending.
          log.warn({ err: error }, 'could not read the mapping for new orders; they are mapped later');
        }
      }
      // Only the deliveries read ahead are claimed (their mapping is prepared); one stored since
      // is the next batch's, which the inbox loop starts at once.
      const peeked = due.map((row) => row.id);
      if (peeked.length === 0) return { claimed: 0, settled: 0, dueOrderIds: [], pendingChanged: false, oversold: [] };
      try {
        return await applyBatch(peeked, cutoverAtValue, parsed, prepared, false);
      } catch (error) {
        // One delivery broke the batch's transaction: apply them one by one, each in a savepoint,
        // so the others go through and the bad one waits for a retry.
        log.warn({ err: error }, 'a webhook delivery failed in its batch; applying the batch one by one');
        return applyBatch(peeked, cutoverAtValue, parsed, prepared, true);
      }
    },
  };
}
