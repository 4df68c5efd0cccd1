import { randomUUID } from 'node:crypto';
import type { AlertSender } from '../alerts/alert-sender.js';
import type { Db } from '../db/database.js';
import type { CustomerReturnInput, ErpConnector, SalesOrderInput } from '../erp/erp-connector.js';
import type { PushSignal } from '../inventory/push-requests.js';
import type { Logger } from '../logger.js';
import { AppError, isAppError } from '../shared/errors.js';
import { refundReferenceOf, withFlag } from './order-intake.service.js';
import type { OrderLineMapper } from './order-line-mapper.js';
import { externalReferenceOf, type OrderFlag, type OrderFlagCode, type OrderRecord } from './order.models.js';
import type { OrderChanges, OrderRepository, StoredLine } from './order.repository.js';
import type { OrdersMetrics } from './orders.metrics.js';
import { pendingTargetOf, replaceOrderLines, setPendingUnits, type PendingChange } from './pending-units.repository.js';
import { contentDigestOf } from './shopify-order.payloads.js';

/**
 * The ERP side of the pipeline: for an order with work due, map its lines (and count their units
 * as pending), then create, cancel or record returns in the ERP, and write the outcome back.
 *
 * Guarantees:
 * - One instance at a time works on an order: it holds a claim on the row (`claimDue`/`claim`,
 *   a lease taken with `for update skip locked`), and every write-back checks the claim is still
 *   its own, so a worker that lost its claim changes nothing. ERP calls happen outside database
 *   transactions (an ERP can take seconds; PGlite has one connection).
 * - ERP writes are idempotent by the Shopify order id (and refund id), so a worker that dies
 *   after the ERP call and before the write-back is repeated harmlessly by the next claim.
 * - An ERP that is down or slow delays orders: each failure schedules the next attempt with
 *   exponential backoff; after `maxAttempts` the order is FAILED (or flagged, for work after
 *   submission), alerted, and waits for `replayOrder`. A refusal that retrying cannot change
 *   (unknown SKU, unmapped line, ERP_REJECTED) fails the order at once. One order's failure
 *   never stops the others.
 */

export interface OrderProcessorOptions {
  readonly db: Db;
  readonly shop: string;
  readonly repository: OrderRepository;
  readonly mapper: OrderLineMapper;
  readonly erp: ErpConnector;
  readonly alerts: AlertSender;
  readonly pushSignal: PushSignal;
  readonly metrics: OrdersMetrics;
  readonly log: Logger;
  readonly now: () => Date;
  /** ERP attempts before an order is FAILED (default 8). */
  readonly maxAttempts?: number;
  /** First backoff; doubles per attempt up to `backoffMaxMs` (defaults 5 s and 10 min). */
  readonly backoffBaseMs?: number;
  readonly backoffMaxMs?: number;
  /** How long a claim lasts; longer than the slowest bounded ERP exchange of one order (default 10 min). */
  readonly leaseMs?: number;
  /** Orders worked on at once by this instance (default 8; the ERP call policy bounds the ERP's share). */
  readonly concurrency?: number;
  readonly random?: () => number;
}

export interface ProcessOutcome {
  readonly orderId: string;
  readonly result: 'submitted' | 'cancelled' | 'returns' | 'retry' | 'failed' | 'nothing' | 'busy' | 'lost-claim';
}

export interface OrderProcessor {
  /**
   * Claims due orders and works on them until none is due; returns how many were worked on. An
   * order that failed and was scheduled for a retry is not taken again in the same call.
   */
  processDue(options?: { signal?: AbortSignal; limit?: number }): Promise<number>;
  /** Works on one order now (replay), unless another instance holds its claim (`busy`). */
  processNow(orderId: string): Promise<ProcessOutcome>;
  /** Reads submitted orders from the ERP and releases the pending units it now holds. */
  checkAllocations(options?: { limit?: number; signal?: AbortSignal }): Promise<{ checked: number; allocated: number; released: number }>;
  /** The claims' owner id of this instance (for logs and tests). */
  readonly instanceId: string;
}

const PERMANENT_CODES = new Set(['UNKNOWN_SKU', 'UNKNOWN_LOCATION', 'ERP_REJECTED', 'UNMAPPED_LINE', 'ORDER_WITHOUT_GOODS', 'BAD_USER_INPUT']);

class ClaimLost extends Error {
  constructor() {
    super('the claim on the order was taken over');
  }
}

function errorCode(error: unknown): string {
  return isAppError(error) ? error.code : 'INTERNAL_ERROR';
}

function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

export function createOrderProcessor(options: OrderProcessorOptions): OrderProcessor {
  const { db, shop, repository, mapper, erp, log } = options;
  const instanceId = `orders-${randomUUID()}`;
  const maxAttempts = options.maxAttempts ?? 8;
  const backoffBaseMs = options.backoffBaseMs ?? 5_000;
  const backoffMaxMs = options.backoffMaxMs ?? 10 * 60_000;
  const leaseMs = options.leaseMs ?? 10 * 60_000;
  const concurrency = Math.max(1, options.concurrency ?? 8);
  const random = options.random ?? Math.random;

  const backoff = (attempt: number) => {
    const ceiling = Math.min(backoffMaxMs, backoffBaseMs * 2 ** Math.max(0, attempt - 1));
    // Between half and all of the ceiling: instances retrying after one outage spread out.
    return Math.round(ceiling / 2 + (random() * ceiling) / 2);
  };

  /** Writes back under the claim: rolls back if another owner took it over. */
  async function writeBack(orderId: string, work: (tx: Db, order: OrderRecord) => Promise<OrderChanges>): Promise<void> {
    await db.transaction(async (transaction) => {
      const tx = transaction as unknown as Db;
      const order = await repository.lockById(tx, orderId);
      if (!order) throw new ClaimLost();
      const changes = await work(tx, order);
      if (!(await repository.updateAndRelease(tx, orderId, instanceId, changes))) throw new ClaimLost();
    });
  }

  function alertFailure(order: OrderRecord, code: string, message: string, phase: string) {
    options.alerts.send({
      code: phase === 'create' ? 'ORDER_FAILED' : phase === 'cancel' ? 'ORDER_CANCEL_FAILED' : 'ORDER_RETURN_FAILED',
      severity: 'critical',
      message: `Shopify order ${order.name} (${order.shopifyOrderId}): ${message}`,
      details: { orderId: order.id, shopifyOrderId: order.shopifyOrderId, name: order.name, errorCode: code, phase },
    });
  }

  /** After a failed ERP step: retry later, or give up (FAILED or flagged) and alert. */
  async function recordFailure(order: OrderRecord, phase: 'create' | 'cancel' | 'return', error: unknown): Promise<ProcessOutcome['result']> {
    const code = errorCode(error);
    const message = errorMessage(error);
    const attempts = order.attempts + 1;
    const permanent = PERMANENT_CODES.has(code);
    options.metrics.erpCalls.inc({ operation: phase, result: permanent ? 'refused' : 'failed' });
    if (!permanent && attempts < maxAttempts) {
      const delay = backoff(attempts);
      log.warn({ orderId: order.id, shopifyOrderId: order.shopifyOrderId, phase, code, attempts, retryInMs: delay, err: error }, 'ERP step failed; will retry');
      options.metrics.orders.inc({ event: 'retried' });
      await writeBack(order.id, async () => ({ attempts, lastError: message, lastErrorCode: code, due: delay }));
      return 'retry';
    }
    const why = permanent ? message : `gave up after ${attempts} attempts: ${message}`;
    log.error({ orderId: order.id, shopifyOrderId: order.shopifyOrderId, phase, code, attempts, err: error }, `order ${phase} failed`);
    options.metrics.orders.inc({ event: 'failed' });
    alertFailure(order, code, why, phase);
    await writeBack(order.id, async (_tx, fresh) => {
      if (phase === 'create') return { status: 'FAILED', attempts, lastError: why, lastErrorCode: code, due: null };
      const flagCode: OrderFlagCode = phase === 'cancel' ? 'CANCEL_FAILED' : 'RETURN_FAILED';
      const flags = withFlag(fresh.flags, flagCode, why, options.now());
      return { attempts, lastError: why, lastErrorCode: code, due: null, ...(flags ? { flags } : {}) };
    });
    return 'failed';
  }

  /** Lines mapped from the current snapshot, and their units counted as pending, in one transaction. */
  async function ensureLines(order: OrderRecord): Promise<StoredLine[]> {
    const digest = contentDigestOf(order.snapshot);
    if (order.linesDigest === digest) return (await repository.linesOf(db, [order.id])).get(order.id) ?? [];
    const mapped = await mapper.mapLines(order.snapshot);
    let pendingChanged = false;
    await db.transaction(async (transaction) => {
      const tx = transaction as unknown as Db;
      const fresh = await repository.lockById(tx, order.id);
      if (!fresh || fresh.linesDigest === contentDigestOf(fresh.snapshot)) return;
      // Mapped from a snapshot that changed meanwhile: the next pass maps the newer one.
      if (contentDigestOf(fresh.snapshot) !== digest) return;
      const change = await replaceOrderLines(tx, repository, shop, fresh, mapped, digest, options.now());
      pendingChanged = change.positions.length > 0;
    });
    if (pendingChanged) options.pushSignal.wake();
    return (await repository.linesOf(db, [order.id])).get(order.id) ?? [];
  }

  function salesOrderOf(order: OrderRecord, lines: readonly StoredLine[]): SalesOrderInput {
    return {
      externalReference: externalReferenceOf(order.shopifyOrderId),
      name: order.snapshot.name,
      customer: order.snapshot.customer,
      shippingAddress: order.snapshot.shippingAddress,
      currency: order.snapshot.currency,
      lines: lines.map((line) => ({ sku: line.erpSku!, quantity: line.quantity!, location: line.location!, unitPrice: line.unitPrice })),
    };
  }

  async function submit(order: OrderRecord): Promise<ProcessOutcome['result']> {
    let lines: StoredLine[];
    try {
      lines = await ensureLines(order);
    } catch (error) {
      return recordFailure(order, 'create', error);
    }
    if (lines.length === 0) {
      return recordFailure(order, 'create', new AppError('ORDER_WITHOUT_GOODS', 'the order has no goods lines left to send to the ERP'));
    }
    const unmapped = lines.filter((line) => line.mappingError || !line.erpSku || !line.location || line.quantity === null);
    if (unmapped.length > 0) {
      const reasons = [...new Set(unmapped.map((line) => line.mappingError ?? `line "${line.title}" is not mapped`))];
      return recordFailure(order, 'create', new AppError('UNMAPPED_LINE', reasons.join('; ')));
    }
    const input = salesOrderOf(order, lines);
    const digest = contentDigestOf(order.snapshot);
    if (!order.createAttemptedAt) await repository.update(db, order.id, { createAttemptedAt: options.now() });
    let result;
    try {
      result = await erp.createSalesOrder(input);
    } catch (error) {
      return recordFailure(order, 'create', describeErpError(error, lines));
    }
    options.metrics.erpCalls.inc({ operation: 'create', result: 'ok' });
    options.metrics.orders.inc({ event: 'submitted' });
    log.info({ orderId: order.id, shopifyOrderId: order.shopifyOrderId, erpReference: result.erpReference, created: result.created }, 'order submitted to the ERP');
    await writeBack(order.id, async (tx, fresh) => {
      let flags: OrderFlag[] | null = null;
      if (contentDigestOf(fresh.snapshot) !== digest) {
        flags = withFlag(fresh.flags, 'CONFLICT', `Shopify changed the order while it was being sent to the ERP (${result.erpReference}); the ERP order has the earlier content`, options.now());
        options.metrics.orders.inc({ event: 'conflict' });
      }
      const returns = await repository.pendingReturns(tx, fresh.id);
      return {
        status: 'SUBMITTED',
        erpReference: result.erpReference,
        submittedDigest: digest,
        submittedAt: options.now(),
        attempts: 0,
        lastError: null,
        lastErrorCode: null,
        due: fresh.shopifyCancelledAt !== null || returns.length > 0 ? 'now' : null,
        ...(flags ? { flags } : {}),
      };
    });
    return 'submitted';
  }

  async function cancel(order: OrderRecord): Promise<ProcessOutcome['result']> {
    const mayBeInErp = order.createAttemptedAt !== null || order.erpReference !== null;
    if (mayBeInErp) {
      try {
        const result = await erp.cancelSalesOrder(externalReferenceOf(order.shopifyOrderId));
        options.metrics.erpCalls.inc({ operation: 'cancel', result: 'ok' });
        log.info({ orderId: order.id, shopifyOrderId: order.shopifyOrderId, erpReference: result.erpReference, cancelled: result.cancelled }, 'order cancelled in the ERP');
      } catch (error) {
        if (errorCode(error) !== 'NOT_FOUND') return recordFailure(order, 'cancel', error);
        // Never reached the ERP: nothing to cancel there.
      }
    }
    let pendingChanged = false;
    await writeBack(order.id, async (tx) => {
      const change = await setPendingUnits(tx, shop, order.id, () => 0, options.now());
      pendingChanged = change.positions.length > 0;
      return { status: 'CANCELLED', cancelledAt: options.now(), attempts: 0, lastError: null, lastErrorCode: null, due: null };
    });
    if (pendingChanged) options.pushSignal.wake();
    options.metrics.orders.inc({ event: 'cancelled' });
    return 'cancelled';
  }

  async function recordReturns(order: OrderRecord): Promise<ProcessOutcome['result']> {
    const returns = await repository.pendingReturns(db, order.id);
    const lines = (await repository.linesOf(db, [order.id])).get(order.id) ?? [];
    const raised: Array<{ code: OrderFlagCode; message: string }> = [];
    for (const pending of returns) {
      const wanted = (pending.lines as Array<{ shopifyLineId: string; quantity: number; shopifyLocationId: string | null }>) ?? [];
      const erpLines: { sku: string; quantity: number; location: string }[] = [];
      const problems: string[] = [];
      for (const item of wanted) {
        const line = lines.find((candidate) => candidate.shopifyLineId === item.shopifyLineId);
        if (!line || !line.erpSku || !line.location || line.quantity === null) {
          problems.push(`line ${item.shopifyLineId} is not on the ERP order`);
          continue;
        }
        const perShopifyUnit = line.shopifyQuantity > 0 ? line.quantity / line.shopifyQuantity : 1;
        let location = line.location;
        if (item.shopifyLocationId) {
          try {
            location = (await mapper.erpLocationFor(item.shopifyLocationId)) ?? line.location;
          } catch (error) {
            return recordFailure(order, 'return', error);
          }
        }
        erpLines.push({ sku: line.erpSku, quantity: item.quantity * perShopifyUnit, location });
      }
      const reference = refundReferenceOf(pending.shopifyRefundId);
      if (problems.length > 0 || erpLines.length === 0) {
        const message = `refund ${pending.shopifyRefundId}: ${problems.join('; ') || 'no goods to return'}; record the return by hand`;
        await repository.finishReturn(pending.id, { status: 'FLAGGED', lastError: message });
        raised.push({ code: 'RETURN_FAILED', message });
        continue;
      }
      if (!erp.capabilities.customerReturns) {
        const message = `refund ${pending.shopifyRefundId} restocked ${erpLines.map((l) => `${l.quantity} × ${l.sku} at ${l.location}`).join(', ')}; this ERP connector cannot record customer returns: record it by hand`;
        await repository.finishReturn(pending.id, { status: 'FLAGGED', lastError: message });
        raised.push({ code: 'RETURN_NOT_SUPPORTED', message });
        continue;
      }
      const input: CustomerReturnInput = { externalReference: reference, salesOrderReference: externalReferenceOf(order.shopifyOrderId), lines: erpLines };
      try {
        const result = await erp.createCustomerReturn(input);
        options.metrics.erpCalls.inc({ operation: 'return', result: 'ok' });
        if (result.supported) {
          await repository.finishReturn(pending.id, { status: 'DONE', erpReference: result.erpReference });
          log.info({ orderId: order.id, refundId: pending.shopifyRefundId, erpReference: result.erpReference }, 'customer return recorded in the ERP');
        } else {
          const message = `refund ${pending.shopifyRefundId}: the ERP connector cannot record customer returns; record it by hand`;
          await repository.finishReturn(pending.id, { status: 'FLAGGED', lastError: message });
          raised.push({ code: 'RETURN_NOT_SUPPORTED', message });
        }
      } catch (error) {
        if (!PERMANENT_CODES.has(errorCode(error))) return recordFailure(order, 'return', error);
        const message = `refund ${pending.shopifyRefundId}: the ERP refused the return: ${errorMessage(error)}`;
        await repository.finishReturn(pending.id, { status: 'FLAGGED', lastError: message });
        raised.push({ code: 'RETURN_FAILED', message });
      }
    }
    for (const flag of raised) {
      options.alerts.send({ code: 'ORDER_RETURN_NEEDS_PERSON', severity: 'warning', message: `Shopify order ${order.name}: ${flag.message}`, details: { orderId: order.id, flag: flag.code } });
    }
    await writeBack(order.id, async (_tx, fresh) => {
      let flags: OrderFlag[] = [...fresh.flags];
      for (const flag of raised) flags = withFlag(flags, flag.code, flag.message, options.now()) ?? flags;
      return { attempts: 0, lastError: null, lastErrorCode: null, due: fresh.shopifyCancelledAt !== null && fresh.status !== 'CANCELLED' ? 'now' : null, flags };
    });
    return 'returns';
  }

  /** Works on a claimed order (as the claim read it). */
  async function work(order: OrderRecord): Promise<ProcessOutcome> {
    const orderId = order.id;
    try {
      if (order.shopifyCancelledAt !== null && order.status !== 'CANCELLED') {
        // An order not yet in the ERP and never sent needs no ERP call, but its lines may never
        // have been counted: nothing to release either.
        return { orderId, result: await cancel(order) };
      }
      if (order.status === 'RECEIVED') return { orderId, result: await submit(order) };
      if (order.status === 'SUBMITTED') return { orderId, result: await recordReturns(order) };
      await writeBack(orderId, async () => ({ due: null }));
      return { orderId, result: 'nothing' };
    } catch (error) {
      if (error instanceof ClaimLost) {
        log.warn({ orderId }, 'another instance took over the order; its work here was rolled back');
        return { orderId, result: 'lost-claim' };
      }
      throw error;
    }
  }

  async function workClaimed(order: OrderRecord): Promise<ProcessOutcome> {
    try {
      return await work(order);
    } catch (error) {
      // A database error: the claim lapses and the order is tried again.
      log.error({ orderId: order.id, err: error }, 'order processing crashed; it will be retried when its claim lapses');
      return { orderId: order.id, result: 'retry' };
    }
  }

  return {
    instanceId,

    async processDue({ signal, limit = Number.POSITIVE_INFINITY } = {}) {
      let processed = 0;
      const running = new Set<Promise<void>>();
      let exhausted = false;
      const retried: string[] = [];
      while (!signal?.aborted && processed < limit) {
        if (running.size >= concurrency) {
          await Promise.race(running);
          continue;
        }
        if (exhausted) {
          if (running.size === 0) break;
          await Promise.race(running);
          exhausted = false;
          continue;
        }
        const claimed = await repository.claimDue(instanceId, leaseMs, Math.min(concurrency - running.size, limit - processed), retried);
        if (claimed.length === 0) {
          exhausted = true;
          continue;
        }
        for (const order of claimed) {
          processed += 1;
          const task = workClaimed(order).then((outcome) => {
            if (outcome.result === 'retry' || outcome.result === 'lost-claim') retried.push(order.id);
          });
          running.add(task);
          void task.finally(() => running.delete(task));
        }
      }
      await Promise.all(running);
      return processed;
    },

    async processNow(orderId) {
      if (!(await repository.claim(orderId, instanceId, leaseMs))) return { orderId, result: 'busy' };
      const order = await repository.findById(orderId);
      return order ? work(order) : { orderId, result: 'nothing' };
    },

    async checkAllocations({ limit = 200, signal } = {}) {
      const orders = await repository.awaitingAllocation(shop, limit);
      let checked = 0;
      let allocated = 0;
      let released = 0;
      for (const order of orders) {
        if (signal?.aborted) break;
        let found;
        try {
          found = await erp.findSalesOrder(externalReferenceOf(order.shopifyOrderId));
          options.metrics.erpCalls.inc({ operation: 'find', result: 'ok' });
        } catch (error) {
          options.metrics.erpCalls.inc({ operation: 'find', result: 'failed' });
          log.warn({ err: error, orderId: order.id }, 'could not read an order from the ERP; allocation checks stop for this run');
          break;
        }
        checked += 1;
        let change: PendingChange = { positions: [], delta: 0 };
        let fullyHeld = false;
        await db.transaction(async (transaction) => {
          const tx = transaction as unknown as Db;
          const fresh = await repository.lockById(tx, order.id);
          if (!fresh || fresh.status !== 'SUBMITTED') return;
          const lines = (await repository.linesOf(tx, [order.id])).get(order.id) ?? [];
          const covered = new Map<number, number>();
          if (found) {
            const settled = found.status === 'cancelled' || found.status === 'done';
            // The ERP's held units per SKU and location, handed out to our lines in order.
            const held = new Map<string, number>();
            for (const line of found.lines) {
              const key = `${line.sku}\u0000${line.location}`;
              held.set(key, (held.get(key) ?? 0) + line.allocatedQuantity + line.shippedQuantity);
            }
            for (const line of lines) {
              if (line.quantity === null || !line.erpSku || !line.location) continue;
              const key = `${line.erpSku}\u0000${line.location}`;
              const available = settled ? line.quantity : (held.get(key) ?? 0);
              const share = Math.min(line.quantity, available);
              held.set(key, Math.max(0, available - share));
              covered.set(line.lineNo, share);
            }
            fullyHeld = settled || found.allocated || lines.every((line) => line.quantity === null || (covered.get(line.lineNo) ?? 0) >= line.quantity - 1e-9);
          }
          await repository.setErpCovered(tx, order.id, covered);
          const target = pendingTargetOf(fresh);
          change = await setPendingUnits(tx, shop, order.id, (line) => target({ ...line, erpCoveredQuantity: covered.get(line.lineNo) ?? line.erpCoveredQuantity }), options.now());
          await repository.update(tx, order.id, { allocationCheckedAt: options.now(), ...(fullyHeld ? { allocatedAt: options.now() } : {}) });
        });
        if (fullyHeld) allocated += 1;
        if (change.delta < 0) released += -change.delta;
        if (change.positions.length > 0) options.pushSignal.wake();
      }
      return { checked, allocated, released };
    },
  };
}

/** Names the Shopify lines behind SKUs the ERP refused, so a person knows what to map. */
function describeErpError(error: unknown, lines: readonly StoredLine[]): unknown {
  if (!isAppError(error) || error.code !== 'UNKNOWN_SKU') return error;
  const skus = Array.isArray(error.details.skus) ? (error.details.skus as string[]) : [];
  const described = skus.map((sku) => {
    const line = lines.find((candidate) => candidate.erpSku === sku);
    return line ? `${sku} (line "${line.title}", Shopify SKU ${line.shopifySku ?? 'none'})` : sku;
  });
  return new AppError('UNKNOWN_SKU', `The ERP does not know SKU ${described.join(', ')}: map the variant to an ERP SKU (mapSku) or create the product in the ERP, then replayOrder`, error.details, { cause: error });
}
