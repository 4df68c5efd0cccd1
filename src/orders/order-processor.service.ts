// One unit though long: the ERP side of one order (submit, cancel, returns, in-doubt look-ups)
// is one protocol over one claim. Every step renews the same claim, writes back under its token
// and records failures and in-doubt sends the same way; split by step, that protocol would be
// copied into each file. Persistence is order.repository.ts; line mapping is order-line-mapper.ts.
import { randomUUID } from 'node:crypto';
import type { AlertSender } from '../alerts/alert-sender.js';
import type { Db } from '../db/database.js';
import { isDatabaseUnavailable, isTransientConflict } from '../db/database-errors.js';
import type { CreateSalesOrderResult, CustomerReturnInput, ErpConnector, SalesOrder, SalesOrderInput, SalesOrderOutcome } from '../erp/erp-connector.js';
import { ErpBusyError } from '../erp/erp-errors.js';
import type { PushSignal } from '../inventory/inventory.port.js';
import type { Logger } from '../logger.js';
import { chunk } from '../shared/collections.js';
import { AppError, isAppError } from '../shared/errors.js';
import { refundReferenceOf, withFlag } from './order-intake.service.js';
import type { OrderHealthPort, OversellFinding } from './order-health.port.js';
import type { OrderLineMapper } from './order-line-mapper.js';
import { externalReferenceOf, orderErrorCodeOf, type OrderErrorCode, type OrderFlag, type OrderFlagCode, type OrderRecord } from './order.models.js';
import { microBatch } from './micro-batch.js';
import { claimKey, type ClaimedOrder, type OrderChanges, type OrderRepository, type StoredLine, type SubmittedWriteBack } from './order.repository.js';
import { createErpOutageGate } from './erp-outage-gate.js';
import type { OrdersMetrics } from './orders.metrics.js';
import { deferPositionWrites, pendingTargetOf, replaceOrderLines, setPendingUnits, type PendingChange } from './pending-units.repository.js';
import { contentDigestOf } from './shopify-order.payloads.js';

/**
 * The ERP side of the pipeline: for an order with work due, map its lines (and count their units
 * as pending), then create, cancel or record returns in the ERP, and write the outcome back.
 *
 * Guarantees (each order is exactly one ERP sale, under every interleaving):
 * - One holder at a time works on an order. A claim (`claimDue`/`claim`) carries a fresh token
 *   per attempt and a short lease; it is refused while any live claim holds the order, this
 *   process's own included (a replay beside the worker). The holder renews the lease while it
 *   works (heartbeat), so a dead holder's orders are taken over within a lease.
 * - Every write the holder makes states its token and is refused (no effect) once stale: the
 *   record of a send, the write-back of an answer, a return's outcome.
 * - Right before an ERP write, one fenced statement checks the claim is live and records the send
 *   (`erp_sending`, `erp_sent_at`); nothing is sent otherwise. The ERP view carries the claim's
 *   abort signal, so a claim lost while the call waits in the ERP queue sends nothing.
 * - A write whose answer was lost (`ERP_IN_DOUBT`, or a send recorded by a holder that vanished)
 *   is IN_DOUBT: never sent again blind, resolved by a look-up made only once the ERP's own
 *   timeout (`capabilities.inDoubtSettleMs`) has passed since the send. Found: it was applied.
 *   Not found: it was not, and is sent again. A cancellation of an in-doubt order waits for that
 *   answer, and a cancellation that finds nothing while a create may still commit waits too.
 * - Only a real refusal fails an order for good (`ERP_REJECTED`, `UNKNOWN_SKU`,
 *   `UNKNOWN_LOCATION`). Conflicts, lock timeouts, a busy or unreachable ERP are retried with
 *   backoff (an alert after `maxAttempts`, and retries go on). A line without a mapping makes the
 *   order wait (alert raised), never sends a Shopify spelling to the ERP; it goes once mapped.
 *   One order's failure never stops the others.
 */

/** What the order pipeline uses of the ATP engine (src/inventory/atp.service.ts). */
export interface OrderAtpPort {
  refreshPositions(skus: readonly string[], options?: { readonly signal?: AbortSignal }): Promise<unknown>;
}

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
  /** The success metrics: each ERP attempt's outcome (error rate). Absent: not recorded. */
  readonly health?: Pick<OrderHealthPort, 'recordOrderAttempt'>;
  /**
   * The ATP engine's ERP re-read: the allocation check has it re-read the stock terms of what the
   * ERP now holds before releasing pending units. Absent (tests of the pipeline alone): released
   * at once, and the units count nowhere until the next stock read.
   */
  readonly atp?: OrderAtpPort;
  /** Called with the oversells found when an order's lines are mapped (and counted) here, once committed. */
  readonly onOversold?: (findings: readonly OversellFinding[]) => Promise<void>;
  /** Attempts after which a retried order raises an alert (default 8); retries go on. */
  readonly maxAttempts?: number;
  /** First backoff; doubles per attempt up to `backoffMaxMs` (defaults 5 s and 10 min). */
  readonly backoffBaseMs?: number;
  readonly backoffMaxMs?: number;
  /** How long a claim lasts without renewal (default 45 s): a dead holder's orders wait no longer. */
  readonly leaseMs?: number;
  /** How often the holder renews its claims (default a third of the lease; 0: never, for tests of frozen holders). */
  readonly heartbeatMs?: number;
  /**
   * The longest an attempt holds its order's claim (default 4 leases, 3 minutes): one that runs
   * longer is taken for hung (a database connection that never answers was seen to hold one for
   * eight minutes) and its claim is no longer renewed, so another instance takes the order once
   * it lapses; the hung attempt is fenced by its token and its ERP calls are aborted. A healthy
   * attempt ends within two rounds of ERP calls, each bounded by the connector's timeout.
   */
  readonly maxHoldMs?: number;
  /** Orders worked on at once by this instance (default twice the ERP slots, at least 8). */
  readonly concurrency?: number;
  /** Orders waiting in this instance's ERP queue at once, past the claim check (default the connector's `capabilities.ordersInFlight`, else 4). */
  readonly erpSlots?: number;
  /** Overrides `erp.capabilities.inDoubtSettleMs`. */
  readonly inDoubtSettleMs?: number;
  /** The pipeline's hold-off while the ERP is down (erp-outage-gate.ts): first and longest pause between probes (defaults 1 s and 15 s). */
  readonly outagePauseMs?: number;
  readonly outageMaxPauseMs?: number;
  readonly random?: () => number;
  /**
   * The clock of claims, leases and in-doubt settling (tests inject one to lapse a lease without
   * waiting). Absent: the database's clock, which every instance shares.
   */
  readonly clock?: () => Date;
  /**
   * Called at each step of an order's work (tests pause there, with promises they control, to
   * reproduce interleavings deterministically). Absent: no pause.
   */
  readonly pause?: (step: PipelineStep, context: PauseContext) => Promise<void>;
}

/** Where an order's work can be paused: after the claim, before and after each ERP call. */
export type PipelineStep = 'claimed' | 'before-send' | 'after-send' | 'before-lookup' | 'before-write-back';

export interface PauseContext {
  readonly orderId: string;
  readonly token: string;
  readonly operation: 'create' | 'cancel' | 'return' | 'lookup' | 'none';
}

export interface ProcessOutcome {
  readonly orderId: string;
  readonly result: 'submitted' | 'cancelled' | 'returns' | 'retry' | 'failed' | 'nothing' | 'busy' | 'lost-claim' | 'in-doubt' | 'waiting';
}

export interface OrderProcessor {
  /**
   * Claims due orders and works on them until none is due; returns how many were worked on. An
   * order that failed and was scheduled for a retry is not taken again in the same call.
   */
  processDue(options?: {
    signal?: AbortSignal;
    limit?: number;
    /**
     * Resolves when more orders may have become due (the worker's wake). With it, orders that
     * arrive while the claimed ones are still under way are claimed at once and overlap them;
     * without it, the next claim waits for one of them to finish.
     */
    moreDue?: () => Promise<void>;
  }): Promise<number>;
  /**
   * Works on one order now (replay), unless any live claim holds it (`busy`). `reset`: a FAILED
   * order goes back to RECEIVED with its lines mapped again and its attempts reset.
   */
  processNow(orderId: string, options?: { reset?: boolean }): Promise<ProcessOutcome>;
  /** Renews every claim this instance holds now (the heartbeat's step; tests call it directly). */
  renewClaims(): Promise<number>;
  /** Orders waiting for a mapping become due now (after mapSku or a catalogue refresh). */
  mappingChanged(): Promise<number>;
  /** Reads submitted orders from the ERP and releases the pending units it now holds. */
  checkAllocations(options?: { limit?: number; signal?: AbortSignal; budgetMs?: number }): Promise<{ checked: number; allocated: number; released: number }>;
  /**
   * The allocation check of these Shopify orders now (the ERP just shipped them: their units left
   * its stock and must leave the pending term too), instead of at their turn in the periodic
   * check, which at a peak cycles through tens of thousands of orders the ERP has not allocated.
   */
  checkShipped(shopifyOrderIds: readonly string[], options?: { signal?: AbortSignal }): Promise<{ checked: number; allocated: number; released: number }>;
  /** This instance's id (the claims' owner, for logs and people; the token is per attempt). */
  readonly instanceId: string;
  /** While the ERP is found down, when this instance next lets an order through (a probe); else null. */
  erpHeldOffUntil(): Date | null;
}

/** Refusals that sending again cannot change: the order fails for good. */
const PERMANENT_CODES = new Set<OrderErrorCode>(['UNKNOWN_SKU', 'UNKNOWN_LOCATION', 'ERP_REJECTED', 'ORDER_WITHOUT_GOODS', 'BAD_USER_INPUT']);

/** Longest wait between two looks at the mapping for an order waiting for one. */
const MAPPING_RETRY_MAX_MS = 5 * 60_000;

class ClaimLost extends Error {
  constructor() {
    super('the claim on the order was taken over or lapsed');
  }
}

/** How long the pipeline's batched database steps may take before their callers are failed. */
const DATABASE_BATCH_TIMEOUT_MS = 30_000;

/** An order claimed before the ERP was found down, given back before it was sent: nothing left. */
class HeldBack extends Error {
  constructor() {
    super('the ERP was found unavailable before this order was sent; it waits for the pipeline to let orders through again');
  }
}

/** The error's code as an order stores it (one of ORDER_ERROR_CODES). */
function errorCode(error: unknown): OrderErrorCode {
  return isAppError(error) ? orderErrorCodeOf(error.code) : 'INTERNAL_ERROR';
}

function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/**
 * Whether a failed write may have been applied. The port reports a lost answer as
 * `ERP_IN_DOUBT`; anything that is not one of the port's errors (a bug, an unexpected throw
 * after the request left) is taken as in doubt too: looking again costs a delay, a blind resend
 * could cost a second sale.
 */
function writeInDoubt(error: unknown): boolean {
  return errorCode(error) === 'ERP_IN_DOUBT' || !isAppError(error);
}

/** A small counting semaphore: the orders of this instance waiting in the ERP queue at once. */
function semaphore(size: number) {
  let free = size;
  const waiting: Array<() => void> = [];
  return {
    async acquire(): Promise<() => void> {
      if (free > 0) free -= 1;
      else await new Promise<void>((resolve) => waiting.push(resolve));
      let released = false;
      return () => {
        if (released) return;
        released = true;
        const next = waiting.shift();
        if (next) next();
        else free += 1;
      };
    },
  };
}

/** What one attempt on a claimed order carries: its token, its ERP view, its claim's signal. */
interface Attempt {
  readonly order: ClaimedOrder;
  readonly token: string;
  /** When the claim was taken, on the claim's clock: a look-up after it is at least this late. */
  readonly claimedAt: Date;
  readonly erp: ErpConnector;
  readonly signal: AbortSignal;
  lost(): boolean;
  /** When this process recorded its last send (its own clock), to place a lost request's departure. */
  markedAt: number | null;
  /**
   * How the outage gate treats it: held back while the ERP is down (`normal`), or sent anyway as
   * the gate's probe, or as a replay a person asked for (its ticket while the gate is open).
   */
  readonly gate: { readonly kind: 'normal' } | { readonly kind: 'probe'; readonly ticket: number | null };
}

export function createOrderProcessor(options: OrderProcessorOptions): OrderProcessor {
  const { db, shop, repository, mapper, log } = options;
  const instanceId = `orders-${randomUUID()}`;
  const maxAttempts = options.maxAttempts ?? 8;
  const backoffBaseMs = options.backoffBaseMs ?? 5_000;
  const backoffMaxMs = options.backoffMaxMs ?? 10 * 60_000;
  const leaseMs = options.leaseMs ?? 45_000;
  const heartbeatMs = options.heartbeatMs ?? Math.max(1, Math.floor(leaseMs / 3));
  const maxHoldMs = options.maxHoldMs ?? 4 * leaseMs;
  const slots = Math.max(1, options.erpSlots ?? options.erp.capabilities.ordersInFlight ?? 4);
  const concurrency = Math.max(1, options.concurrency ?? Math.max(8, 2 * slots));
  const erpSlots = semaphore(slots);
  const random = options.random ?? Math.random;
  const settleMs = () => options.inDoubtSettleMs ?? options.erp.capabilities.inDoubtSettleMs;
  const pause = options.pause ?? (async () => undefined);
  /** The claim clock's time, or undefined for the database's. */
  const at = () => options.clock?.();
  const outage = createErpOutageGate({
    pauseMs: options.outagePauseMs,
    maxPauseMs: options.outageMaxPauseMs,
    onChange: (event) => {
      options.metrics.erpOutage.set(event.state === 'open' ? 1 : 0);
      if (event.state === 'open') log.warn({ pauseMs: event.pauseMs }, 'the ERP is unavailable: orders are held back and one goes alone as a probe after each pause');
      else log.info({ openMs: event.openMs }, 'the ERP answered again: held-back orders flow again');
    },
  });
  /** Claims held by this instance now, renewed by the heartbeat. */
  const held = new Map<string, { readonly token: string; readonly controller: AbortController; readonly since: number; lastRenewed: number }>();

  // Group commit: the orders worked on at once share their statements (one read of their lines,
  // one fenced send record, one SUBMITTED write-back transaction per batch instead of per order).
  // Each row still states its own claim's token; a stale one is left out, the others are written.
  // A statement of these that never comes back fails its callers after 30 s instead of holding
  // the batch's place (and, both places held, the whole pipeline) for good; see micro-batch.ts.
  const databaseBatch = { timeoutMs: DATABASE_BATCH_TIMEOUT_MS };
  const linesBatch = microBatch(async (ids: readonly string[]) => {
    const byOrder = await repository.linesOf(db, [...new Set(ids)]);
    return ids.map((id) => byOrder.get(id) ?? []);
  }, databaseBatch);
  const sendBatch = microBatch(async (claims: ReadonlyArray<{ id: string; token: string; operation: 'create' | 'cancel' }>) => {
    const sent = await repository.markSendingMany(claims, leaseMs, at());
    return claims.map((claim) => sent.get(claimKey(claim.id, claim.token)) ?? null);
  }, databaseBatch);
  const submittedBatch = microBatch(async (items: ReadonlyArray<{ attempt: Attempt; erpReference: string; digest: string }>) => {
    let written = new Set<string>();
    let conflicts = new Set<string>();
    await db.transaction(async (transaction) => {
      const tx = transaction as unknown as Db;
      const locked = await repository.lockForWriteBack(tx, [...new Set(items.map((item) => item.attempt.order.id))]);
      const rows: SubmittedWriteBack[] = [];
      conflicts = new Set();
      for (const { attempt, erpReference, digest } of items) {
        const fresh = locked.get(attempt.order.id);
        if (!fresh) continue;
        let flags: OrderFlag[] | null = null;
        if (contentDigestOf(fresh.order.snapshot) !== digest) {
          flags = withFlag(fresh.order.flags, 'CONFLICT', `Shopify changed the order while it was being sent to the ERP (${erpReference}); the ERP order has the earlier content`, options.now()) ?? null;
          conflicts.add(claimKey(attempt.order.id, attempt.token));
        }
        rows.push({
          id: attempt.order.id,
          token: attempt.token,
          erpReference,
          submittedDigest: digest,
          submittedAt: options.now(),
          dueNow: fresh.order.shopifyCancelledAt !== null || fresh.hasPendingReturns,
          flags,
        });
      }
      written = await repository.releaseSubmitted(tx, rows, at());
    });
    return items.map(({ attempt }) => {
      const key = claimKey(attempt.order.id, attempt.token);
      return { written: written.has(key), conflict: conflicts.has(key) };
    });
  }, databaseBatch);

  // The creates of the orders past their send record at the same moment go to the ERP together
  // when its connector can take several in one call (`createSalesOrders`): two round trips for a
  // batch instead of two per order. Each order keeps its own outcome; one alone goes the
  // one-at-a-time way. Two batches may be in flight, so the next one forms while one is answered.
  const createMany = options.erp.createSalesOrders ? options.erp : null;
  const createBatch = microBatch(
    async (items: ReadonlyArray<{ attempt: Attempt; input: SalesOrderInput }>): Promise<SalesOrderOutcome[]> => {
      // A claim lost while waiting here sends nothing, as the lane's signal does for one order;
      // neither does an order queued before the ERP was found down (given back, no attempt).
      const outcomes = new Map<Attempt, SalesOrderOutcome>();
      for (const item of items) if (heldOff(item.attempt)) outcomes.set(item.attempt, { ok: false, error: new HeldBack() });
      const live = items.filter((item) => !item.attempt.lost() && !outcomes.has(item.attempt));
      if (live.length === 1) {
        const [only] = live;
        outcomes.set(only!.attempt, await only!.attempt.erp.createSalesOrder(only!.input).then(
          (result): SalesOrderOutcome => ({ ok: true, result }),
          (error: unknown): SalesOrderOutcome => ({ ok: false, error }),
        ));
      } else if (live.length > 1) {
        // Any of their claims lost aborts the call: queued, nothing is sent (each retried);
        // sent, every order of it is in doubt and looked up (never a blind resend).
        const signal = AbortSignal.any(live.map((item) => item.attempt.signal));
        const view = createMany!.forLane('background', { signal });
        try {
          const answered = await view.createSalesOrders!(live.map((item) => item.input));
          live.forEach((item, index) => outcomes.set(item.attempt, answered[index] ?? { ok: false, error: new Error('the ERP answered fewer orders than were sent') }));
        } catch (error) {
          for (const item of live) outcomes.set(item.attempt, { ok: false, error });
        }
      }
      return items.map(({ attempt }) => outcomes.get(attempt) ?? { ok: false, error: new ErpBusyError('the claim on the order was lost before it was sent to the ERP; nothing was sent', { orderId: attempt.order.id }) });
    },
    { maxSize: slots, maxInFlight: 2 },
  );

  /** Creates the order in the ERP, together with the others sent at the same moment when the connector allows. */
  async function createInErp(attempt: Attempt, input: SalesOrderInput): Promise<CreateSalesOrderResult> {
    if (!createMany) return attempt.erp.createSalesOrder(input);
    const outcome = await createBatch.run({ attempt, input });
    if (!outcome.ok) throw outcome.error;
    return outcome.result;
  }

  const backoff = (attempt: number) => {
    const ceiling = Math.min(backoffMaxMs, backoffBaseMs * 2 ** Math.max(0, attempt - 1));
    // Between half and all of the ceiling: instances retrying after one outage spread out.
    return Math.round(ceiling / 2 + (random() * ceiling) / 2);
  };

  async function renewClaims(): Promise<number> {
    for (const [id, claim] of held) {
      if (claim.controller.signal.aborted || Date.now() - claim.since <= maxHoldMs) continue;
      log.warn({ orderId: id, heldMs: Date.now() - claim.since }, "an attempt held its order's claim too long and is taken for hung: the claim is left to lapse for another instance");
      claim.controller.abort(new ClaimLost());
    }
    const claims = [...held].filter(([, claim]) => !claim.controller.signal.aborted).map(([id, claim]) => ({ id, token: claim.token, claim }));
    if (claims.length === 0) return 0;
    let renewed: Set<string>;
    try {
      renewed = await repository.renewClaims(claims, leaseMs, at());
    } catch (error) {
      log.warn({ err: error, orders: claims.length }, 'could not renew the claims on orders');
      // The database is away: the leases run out on their own; stop before another may take over.
      for (const { claim } of claims) if (Date.now() - claim.lastRenewed > (leaseMs * 2) / 3) claim.controller.abort(new ClaimLost());
      return 0;
    }
    for (const { id, claim } of claims) {
      if (renewed.has(id)) {
        claim.lastRenewed = Date.now();
        continue;
      }
      // Not renewed: either its attempt ended meanwhile (it released the claim), or the claim is lost.
      if (held.get(id) !== claim) continue;
      log.warn({ orderId: id }, 'the claim on an order lapsed or was taken over: its ERP calls are aborted');
      claim.controller.abort(new ClaimLost());
    }
    return renewed.size;
  }

  let heartbeat: NodeJS.Timeout | null = null;
  function hold(order: ClaimedOrder, gate: Attempt['gate']): Attempt {
    const controller = new AbortController();
    held.set(order.id, { token: order.claim.token, controller, since: Date.now(), lastRenewed: Date.now() });
    if (heartbeatMs > 0 && heartbeat === null) {
      heartbeat = setInterval(() => void renewClaims(), heartbeatMs);
      heartbeat.unref?.();
    }
    return {
      order,
      token: order.claim.token,
      claimedAt: order.claim.claimedAt,
      erp: options.erp.forLane('background', { signal: controller.signal }),
      signal: controller.signal,
      lost: () => controller.signal.aborted,
      markedAt: null,
      gate,
    };
  }

  function letGo(attempt: Attempt): void {
    if (held.get(attempt.order.id)?.token === attempt.token) held.delete(attempt.order.id);
    if (held.size === 0 && heartbeat !== null) {
      clearInterval(heartbeat);
      heartbeat = null;
    }
  }

  /** Writes back under the claim and ends it: rolls back (ClaimLost) when the token is stale. */
  async function writeBack(attempt: Attempt, work: (tx: Db, order: OrderRecord) => Promise<OrderChanges>): Promise<void> {
    await pause('before-write-back', { orderId: attempt.order.id, token: attempt.token, operation: 'none' });
    await db.transaction(async (transaction) => {
      const tx = transaction as unknown as Db;
      const order = await repository.lockById(tx, attempt.order.id);
      if (!order) throw new ClaimLost();
      const changes = await work(tx, order);
      if (!(await repository.updateAndRelease(tx, attempt.order.id, attempt.token, changes, at()))) throw new ClaimLost();
    });
  }

  /** Records the send right before an ERP write, under a live claim; throws ClaimLost (nothing sent) otherwise. */
  async function markSending(attempt: Attempt, operation: 'create' | 'cancel'): Promise<Date> {
    await pause('before-send', { orderId: attempt.order.id, token: attempt.token, operation });
    if (attempt.lost()) throw new ClaimLost();
    const sentAt = await sendBatch.run({ id: attempt.order.id, token: attempt.token, operation });
    if (!sentAt) throw new ClaimLost();
    attempt.markedAt = Date.now();
    return sentAt;
  }

  /**
   * When the request whose answer was lost left, on the lease's clock: the recorded send time,
   * moved by however long the request then waited in the connector before it left (the port's
   * `ErpInDoubtError.sentAt`, on this process's clock). Settling counts from the later one.
   */
  function inDoubtSentAt(attempt: Attempt, recorded: Date, error: unknown): Date {
    const left = (error as { sentAt?: unknown }).sentAt;
    if (!(left instanceof Date) || attempt.markedAt === null) return recorded;
    return new Date(recorded.getTime() + Math.max(0, left.getTime() - attempt.markedAt));
  }

  /** One ERP attempt's outcome for the error rate; a failure to record it never fails the order. */
  async function recordAttempt(ok: boolean): Promise<void> {
    if (!options.health) return;
    try {
      await options.health.recordOrderAttempt(ok);
    } catch (error) {
      log.warn({ err: error }, 'could not record an order attempt for the health metrics');
    }
  }

  /** Whether an order not yet sent must be given back: the ERP was found down after it was claimed. */
  function heldOff(attempt: Attempt): boolean {
    return attempt.gate.kind === 'normal' && outage.holdingOff();
  }

  /** The probe's ticket of an attempt, if it is the outage gate's probe (or a replay sent while it is open). */
  const ticketOf = (attempt: Attempt) => (attempt.gate.kind === 'probe' ? (attempt.gate.ticket ?? undefined) : undefined);

  /** An ERP step's `ERP_UNAVAILABLE` opens the outage gate (or, the probe's, keeps it open longer). */
  function noteErpFailure(attempt: Attempt, error: unknown): void {
    const aborted = isAppError(error) && error.details.reason === 'ABORTED';
    if (errorCode(error) === 'ERP_UNAVAILABLE' && !aborted) outage.unavailable(ticketOf(attempt));
  }

  /**
   * An order claimed before the ERP was found down and not sent, or sent and refused as
   * unavailable once another had found it down: given back as it was (no attempt counted, the
   * send marker cleared: nothing was applied), due when the gate lets one through.
   */
  async function holdOff(attempt: Attempt): Promise<ProcessOutcome['result']> {
    options.metrics.orders.inc({ event: 'held-back' });
    const reopensAt = outage.reopensAt();
    await writeBack(attempt, async () => ({
      erpSending: null,
      lastError: 'held back: the ERP is unavailable; the pipeline sends one order alone as a probe after each pause, then all again once it answers',
      lastErrorCode: 'ERP_UNAVAILABLE',
      due: reopensAt ? Math.max(0, reopensAt.getTime() - Date.now()) : 'now',
    }));
    return 'retry';
  }

  function alertFailure(order: OrderRecord, code: string, message: string, phase: string, alertCode?: string) {
    options.alerts.send({
      code: alertCode ?? (phase === 'create' ? 'ORDER_FAILED' : phase === 'cancel' ? 'ORDER_CANCEL_FAILED' : 'ORDER_RETURN_FAILED'),
      severity: 'critical',
      message: `Shopify order ${order.name} (${order.shopifyOrderId}): ${message}`,
      details: { orderId: order.id, shopifyOrderId: order.shopifyOrderId, name: order.name, errorCode: code, phase },
    });
  }

  /** When a write sent at `sentAt` has settled (a look-up from then on is conclusive). */
  const settlesAt = (sentAt: Date) => new Date(sentAt.getTime() + settleMs());

  /** Whether an in-doubt write sent at `sentAt` has settled by this claim (a look-up made now is conclusive). */
  function settledBy(attempt: Attempt, sentAt: Date | null): boolean {
    return !sentAt || settlesAt(sentAt).getTime() <= attempt.claimedAt.getTime();
  }

  /**
   * A write was sent and its answer lost: record it IN_DOUBT (the send marker stays) and come
   * back once it has settled. Never sent again before that.
   */
  async function recordInDoubt(attempt: Attempt, operation: 'create' | 'cancel', error: unknown, sentAt: Date): Promise<ProcessOutcome['result']> {
    const order = attempt.order;
    const lookUpAt = settlesAt(sentAt);
    // A probe whose answer was lost proves nothing: the gate stays open.
    if (attempt.gate.kind === 'probe') outage.unavailable(ticketOf(attempt));
    options.metrics.erpCalls.inc({ operation, result: 'in-doubt' });
    options.metrics.orders.inc({ event: 'in-doubt' });
    log.warn({ orderId: order.id, shopifyOrderId: order.shopifyOrderId, operation, lookUpAt, err: error }, 'ERP write in doubt: its answer was lost; looked up once the ERP has settled');
    await writeBack(attempt, async () => ({
      ...(operation === 'create' ? { status: 'IN_DOUBT' as const } : {}),
      erpSending: operation,
      erpSentAt: sentAt,
      lastError: `the ERP's answer to the ${operation} was lost; it is looked up again after ${Math.round(settleMs() / 1000)} s, never sent again blind: ${errorMessage(error)}`,
      lastErrorCode: 'ERP_IN_DOUBT',
      due: lookUpAt,
    }));
    return 'in-doubt';
  }

  /**
   * After a failed ERP step: a real refusal fails the order for good (FAILED, or a flag for work
   * after submission); anything else is retried with backoff, with an alert once it has been
   * retried `maxAttempts` times. The send marker is cleared: the port says nothing was applied.
   */
  async function recordFailure(attempt: Attempt, phase: 'create' | 'cancel' | 'return', error: unknown): Promise<ProcessOutcome['result']> {
    const order = attempt.order;
    const code = errorCode(error);
    const message = errorMessage(error);
    const attempts = order.attempts + 1;
    const permanent = PERMANENT_CODES.has(code);
    // Sent before another order found the ERP down, and refused for that same reason: one outage,
    // already counted by the order that found it (and then by each probe). Given back like the
    // orders not yet sent, no attempt counted: at a peak the orders on their way when the ERP goes
    // down are dozens per instance, and the outage would count once for each of them.
    if (code === 'ERP_UNAVAILABLE' && heldOff(attempt)) {
      options.metrics.erpCalls.inc({ operation: phase, result: 'failed' });
      return holdOff(attempt);
    }
    // The gateway's own database failed the step (a cut connection, a deadlock) before anything
    // was sent (a failure after a send is in doubt, never here): no ERP attempt, none counted,
    // and the order is tried again within seconds. At a database failover every order in work
    // failed so, and each counted as an ERP failure.
    if (!isAppError(error) && (isDatabaseUnavailable(error) || isTransientConflict(error))) {
      options.metrics.orders.inc({ event: 'database-retry' });
      log.warn({ orderId: order.id, shopifyOrderId: order.shopifyOrderId, phase, err: error }, 'order step failed on the database before reaching the ERP; will retry');
      await writeBack(attempt, async () => ({ erpSending: null, lastError: message, lastErrorCode: code, due: backoff(1) }));
      return 'retry';
    }
    noteErpFailure(attempt, error);
    options.metrics.erpCalls.inc({ operation: phase, result: permanent ? 'refused' : 'failed' });
    // A snapshot that changed while its lines were mapped is no ERP attempt: it is mapped again.
    if (code !== 'ORDER_LINES_CHANGING') await recordAttempt(false);
    if (!permanent) {
      const delay = backoff(attempts);
      log.warn({ orderId: order.id, shopifyOrderId: order.shopifyOrderId, phase, code, attempts, retryInMs: delay, err: error }, 'ERP step failed; will retry');
      options.metrics.orders.inc({ event: 'retried' });
      if (attempts === maxAttempts) {
        log.error({ orderId: order.id, shopifyOrderId: order.shopifyOrderId, phase, code, attempts }, `order ${phase} still failing after ${attempts} attempts; retries go on`);
        alertFailure(order, code, `still not in the ERP after ${attempts} attempts (${message}); the gateway keeps trying`, phase, 'ORDER_DELAYED');
      }
      await writeBack(attempt, async () => ({ attempts, erpSending: null, lastError: message, lastErrorCode: code, due: delay }));
      return 'retry';
    }
    log.error({ orderId: order.id, shopifyOrderId: order.shopifyOrderId, phase, code, attempts, err: error }, `order ${phase} refused by the ERP`);
    options.metrics.orders.inc({ event: 'failed' });
    alertFailure(order, code, message, phase);
    await writeBack(attempt, async (_tx, fresh) => {
      if (phase === 'create') return { status: 'FAILED', erpSending: null, attempts, lastError: message, lastErrorCode: code, due: null };
      const flagCode: OrderFlagCode = phase === 'cancel' ? 'CANCEL_FAILED' : 'RETURN_FAILED';
      const flags = withFlag(fresh.flags, flagCode, message, options.now());
      return { erpSending: null, attempts, lastError: message, lastErrorCode: code, due: null, ...(flags ? { flags } : {}) };
    });
    return 'failed';
  }

  /**
   * A line maps to no ERP SKU or location: the order waits (RECEIVED, retried, and due at once
   * after `mappingChanged`), with an alert the first time. Never sent with a Shopify spelling,
   * never failed for good for it.
   */
  async function waitForMapping(attempt: Attempt, reasons: readonly string[]): Promise<ProcessOutcome['result']> {
    const order = attempt.order;
    const message = `waiting for a mapping: ${reasons.join('; ')}`;
    const attempts = order.attempts + 1;
    if (order.lastErrorCode !== 'UNMAPPED_LINE') {
      options.alerts.send({
        code: 'ORDER_WAITING_FOR_MAPPING',
        severity: 'warning',
        message: `Shopify order ${order.name} (${order.shopifyOrderId}) waits: ${reasons.join('; ')}. It goes to the ERP once mapped.`,
        details: { orderId: order.id, shopifyOrderId: order.shopifyOrderId, name: order.name },
      });
    }
    log.warn({ orderId: order.id, shopifyOrderId: order.shopifyOrderId, reasons }, 'order waits for a mapping');
    options.metrics.orders.inc({ event: 'waiting-for-mapping' });
    // Capped well below the ERP backoff: a mapping made without telling the pipeline is picked up soon.
    await writeBack(attempt, async () => ({ attempts, erpSending: null, lastError: message, lastErrorCode: 'UNMAPPED_LINE', due: Math.min(backoff(attempts), MAPPING_RETRY_MAX_MS) }));
    return 'waiting';
  }

  /**
   * Lines mapped from the current snapshot, and their units counted as pending, in one
   * transaction. Lines stored unmapped (the mapping was missing, or not read with the inbox's
   * batch) are mapped again from a fresh read of the mapping.
   */
  async function ensureLines(order: OrderRecord): Promise<StoredLine[]> {
    const digest = contentDigestOf(order.snapshot);
    const stored = await linesBatch.run(order.id);
    const unmapped = stored.some((line) => line.erpSku === null || line.location === null || line.quantity === null || line.mappingError !== null);
    if (order.linesDigest === digest && stored.length > 0 && !unmapped) return stored;
    const mapped = await mapper.mapLines(order.snapshot);
    let pendingChanged = false;
    let oversold: readonly OversellFinding[] = [];
    await db.transaction(async (transaction) => {
      const tx = transaction as unknown as Db;
      const fresh = await repository.lockById(tx, order.id);
      // Mapped from a snapshot that changed meanwhile: the next pass maps the newer one.
      if (!fresh || contentDigestOf(fresh.snapshot) !== digest) return;
      const change = await replaceOrderLines(tx, repository, shop, fresh, mapped, digest, options.now());
      pendingChanged = change.positions.length > 0;
      oversold = change.oversold ?? [];
    });
    if (pendingChanged) options.pushSignal.wake();
    if (oversold.length > 0) await options.onOversold?.(oversold);
    return linesBatch.run(order.id);
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

  /** The write-back of a create the ERP has (answered now, or found by a look-up). */
  async function recordSubmitted(attempt: Attempt, erpReference: string, digest: string): Promise<ProcessOutcome['result']> {
    const order = attempt.order;
    options.metrics.orders.inc({ event: 'submitted' });
    // Written with the other orders answered meanwhile (one transaction), each under its own token.
    await pause('before-write-back', { orderId: order.id, token: attempt.token, operation: 'none' });
    const { written, conflict } = await submittedBatch.run({ attempt, erpReference, digest });
    if (!written) throw new ClaimLost();
    if (conflict) options.metrics.orders.inc({ event: 'conflict' });
    log.info({ orderId: order.id, shopifyOrderId: order.shopifyOrderId, erpReference }, 'order submitted to the ERP');
    return 'submitted';
  }

  async function submit(attempt: Attempt): Promise<ProcessOutcome['result']> {
    const order = attempt.order;
    let lines: StoredLine[];
    try {
      lines = await ensureLines(order);
    } catch (error) {
      return recordFailure(attempt, 'create', error);
    }
    const goods = order.snapshot.lines.some((line) => !line.giftCard && line.currentQuantity > 0);
    if (lines.length === 0 && !goods) {
      return recordFailure(attempt, 'create', new AppError('ORDER_WITHOUT_GOODS', 'the order has no goods lines left to send to the ERP'));
    }
    // Mapped from a snapshot that changed meanwhile (the next pass maps the newer one), or unmapped.
    if (lines.length === 0) return recordFailure(attempt, 'create', new AppError('ORDER_LINES_CHANGING', 'the order changed while its lines were mapped; mapped again next'));
    const unmapped = lines.filter((line) => line.mappingError || !line.erpSku || !line.location || line.quantity === null);
    if (unmapped.length > 0) {
      return waitForMapping(attempt, [...new Set(unmapped.map((line) => line.mappingError ?? `line "${line.title}" is not mapped`))]);
    }
    const input = salesOrderOf(order, lines);
    const digest = contentDigestOf(order.snapshot);
    const release = await erpSlots.acquire();
    let result;
    let sentAt: Date;
    try {
      if (heldOff(attempt)) return await holdOff(attempt);
      sentAt = await markSending(attempt, 'create');
      try {
        result = await createInErp(attempt, input);
      } catch (error) {
        if (error instanceof HeldBack) return await holdOff(attempt);
        await pause('after-send', { orderId: order.id, token: attempt.token, operation: 'create' });
        if (writeInDoubt(error)) return recordInDoubt(attempt, 'create', error, inDoubtSentAt(attempt, sentAt, error));
        return recordFailure(attempt, 'create', describeErpError(error, lines));
      }
    } finally {
      release();
    }
    await pause('after-send', { orderId: order.id, token: attempt.token, operation: 'create' });
    options.metrics.erpCalls.inc({ operation: 'create', result: 'ok' });
    await recordAttempt(true);
    return recordSubmitted(attempt, result.erpReference, digest);
  }

  /**
   * Resolves a write in doubt (answer lost, or sent by a holder that vanished): only once it has
   * settled, by looking the document up. A create found is SUBMITTED; not found, it was never
   * applied, and is sent again (or, for a cancelled order, never sent). A cancel is sent again
   * unless the ERP shows the order cancelled.
   */
  async function resolveInDoubt(attempt: Attempt): Promise<ProcessOutcome['result']> {
    const order = attempt.order;
    // An IN_DOUBT order is a create in doubt whatever else was recorded.
    const operation = order.erpSending ?? 'create';
    const sentAt = order.erpSentAt ?? order.createSentAt;
    if (!settledBy(attempt, sentAt)) {
      await writeBack(attempt, async () => ({
        ...(operation === 'create' ? { status: 'IN_DOUBT' as const } : {}),
        erpSending: operation,
        lastErrorCode: 'ERP_IN_DOUBT',
        due: settlesAt(sentAt!),
      }));
      return 'in-doubt';
    }
    await pause('before-lookup', { orderId: order.id, token: attempt.token, operation: 'lookup' });
    let found;
    try {
      found = await attempt.erp.findSalesOrder(externalReferenceOf(order.shopifyOrderId));
      options.metrics.erpCalls.inc({ operation: 'find', result: 'ok' });
    } catch (error) {
      // Still in doubt: the marker stays, and the look-up is tried again later.
      noteErpFailure(attempt, error);
      options.metrics.erpCalls.inc({ operation: 'find', result: 'failed' });
      const attempts = order.attempts + 1;
      await writeBack(attempt, async () => ({
        ...(operation === 'create' ? { status: 'IN_DOUBT' as const } : {}),
        erpSending: operation,
        attempts,
        lastError: `the ${operation} is in doubt and could not be looked up in the ERP (${errorCode(error)}): ${errorMessage(error)}`,
        lastErrorCode: 'ERP_IN_DOUBT',
        due: backoff(attempts),
      }));
      return 'retry';
    }
    if (operation === 'create') {
      if (found) {
        log.info({ orderId: order.id, erpReference: found.erpReference }, 'in-doubt create resolved: the ERP has the order');
        await recordAttempt(true);
        return recordSubmitted(attempt, found.erpReference, order.submittedDigest ?? contentDigestOf(order.snapshot));
      }
      log.info({ orderId: order.id }, 'in-doubt create resolved: the ERP never got the order; sending it again');
      const next: Attempt = { ...attempt, order: { ...order, status: 'RECEIVED', erpSending: null } };
      // Conclusive: the ERP never had it, so a cancelled order needs no ERP call.
      return order.shopifyCancelledAt !== null ? recordCancelled(next) : submit(next);
    }
    if (found?.status === 'cancelled') return recordCancelled(attempt);
    return cancel({ ...attempt, order: { ...order, erpSending: null } });
  }

  async function recordCancelled(attempt: Attempt): Promise<ProcessOutcome['result']> {
    let pendingChanged = false;
    await writeBack(attempt, async (tx) => {
      const change = await setPendingUnits(tx, shop, attempt.order.id, () => 0, options.now());
      pendingChanged = change.positions.length > 0;
      return { status: 'CANCELLED', erpSending: null, cancelledAt: options.now(), attempts: 0, lastError: null, lastErrorCode: null, due: null };
    });
    if (pendingChanged) options.pushSignal.wake();
    options.metrics.orders.inc({ event: 'cancelled' });
    return 'cancelled';
  }

  async function cancel(attempt: Attempt): Promise<ProcessOutcome['result']> {
    const order = attempt.order;
    const mayBeInErp = order.createAttemptedAt !== null || order.createSentAt !== null || order.erpReference !== null;
    if (mayBeInErp) {
      const release = await erpSlots.acquire();
      let sentAt: Date;
      try {
        if (heldOff(attempt)) return await holdOff(attempt);
        sentAt = await markSending(attempt, 'cancel');
        try {
          const result = await attempt.erp.cancelSalesOrder(externalReferenceOf(order.shopifyOrderId));
          await pause('after-send', { orderId: order.id, token: attempt.token, operation: 'cancel' });
          options.metrics.erpCalls.inc({ operation: 'cancel', result: 'ok' });
          await recordAttempt(true);
          log.info({ orderId: order.id, shopifyOrderId: order.shopifyOrderId, erpReference: result.erpReference, cancelled: result.cancelled }, 'order cancelled in the ERP');
        } catch (error) {
          await pause('after-send', { orderId: order.id, token: attempt.token, operation: 'cancel' });
          if (writeInDoubt(error)) return recordInDoubt(attempt, 'cancel', error, inDoubtSentAt(attempt, sentAt, error));
          if (errorCode(error) !== 'NOT_FOUND') return recordFailure(attempt, 'cancel', error);
          // Nothing there yet. Conclusive only once the last create has settled: a create whose
          // answer was lost may still commit, and must not stay live in the ERP.
          if (order.createSentAt && settlesAt(order.createSentAt).getTime() > sentAt.getTime()) {
            const lookAgainAt = settlesAt(order.createSentAt);
            log.info({ orderId: order.id, lookAgainAt }, 'cancellation found no ERP order while a create may still commit; looking again once it has settled');
            await writeBack(attempt, async () => ({ erpSending: null, lastError: 'cancelled in Shopify; the ERP showed no order while a create may still commit: looked again once it has settled', lastErrorCode: 'ERP_IN_DOUBT', due: lookAgainAt }));
            return 'in-doubt';
          }
        }
      } finally {
        release();
      }
    }
    return recordCancelled(attempt);
  }
  async function recordReturns(attempt: Attempt): Promise<ProcessOutcome['result']> {
    const order = attempt.order;
    const returns = await repository.pendingReturns(db, order.id);
    const lines = (await repository.linesOf(db, [order.id])).get(order.id) ?? [];
    const raised: Array<{ code: OrderFlagCode; message: string }> = [];
    /** The soonest an in-doubt return may be looked up, when one is not settled yet. */
    let lookAgainAt: Date | null = null;
    const lookAgainBy = (when: Date) => {
      if (lookAgainAt === null || when < lookAgainAt) lookAgainAt = when;
    };
    const settle = async (id: string, result: Parameters<OrderRepository['finishReturn']>[2]) => {
      if (!(await repository.finishReturn(id, attempt.token, result))) throw new ClaimLost();
    };
    for (const pending of returns) {
      const reference = refundReferenceOf(pending.shopifyRefundId);
      if (pending.status === 'IN_DOUBT') {
        if (!settledBy(attempt, pending.sentAt)) {
          lookAgainBy(settlesAt(pending.sentAt!));
          continue;
        }
        await pause('before-lookup', { orderId: order.id, token: attempt.token, operation: 'lookup' });
        let found;
        try {
          found = await attempt.erp.findCustomerReturn(reference);
        } catch (error) {
          return recordFailure(attempt, 'return', error);
        }
        if (found) {
          await settle(pending.id, { status: 'DONE', erpReference: found.erpReference });
          log.info({ orderId: order.id, refundId: pending.shopifyRefundId, erpReference: found.erpReference }, 'in-doubt customer return resolved: the ERP has it');
          continue;
        }
        // Settled and not there: it was never applied, so it is sent again below.
      }
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
            return recordFailure(attempt, 'return', error);
          }
        }
        erpLines.push({ sku: line.erpSku, quantity: item.quantity * perShopifyUnit, location });
      }
      if (problems.length > 0 || erpLines.length === 0) {
        const message = `refund ${pending.shopifyRefundId}: ${problems.join('; ') || 'no goods to return'}; record the return by hand`;
        await settle(pending.id, { status: 'FLAGGED', lastError: message });
        raised.push({ code: 'RETURN_FAILED', message });
        continue;
      }
      if (!options.erp.capabilities.customerReturns) {
        const message = `refund ${pending.shopifyRefundId} restocked ${erpLines.map((l) => `${l.quantity} × ${l.sku} at ${l.location}`).join(', ')}; this ERP connector cannot record customer returns: record it by hand`;
        await settle(pending.id, { status: 'FLAGGED', lastError: message });
        raised.push({ code: 'RETURN_NOT_SUPPORTED', message });
        continue;
      }
      const input: CustomerReturnInput = { externalReference: reference, salesOrderReference: externalReferenceOf(order.shopifyOrderId), lines: erpLines };
      const release = await erpSlots.acquire();
      try {
        await pause('before-send', { orderId: order.id, token: attempt.token, operation: 'return' });
        if (attempt.lost()) throw new ClaimLost();
        const sentAt = await repository.markReturnSending(pending.id, attempt.token, at());
        if (!sentAt) throw new ClaimLost();
        attempt.markedAt = Date.now();
        try {
          const result = await attempt.erp.createCustomerReturn(input);
          await pause('after-send', { orderId: order.id, token: attempt.token, operation: 'return' });
          options.metrics.erpCalls.inc({ operation: 'return', result: 'ok' });
          await recordAttempt(true);
          if (result.supported) {
            await settle(pending.id, { status: 'DONE', erpReference: result.erpReference });
            log.info({ orderId: order.id, refundId: pending.shopifyRefundId, erpReference: result.erpReference }, 'customer return recorded in the ERP');
          } else {
            const message = `refund ${pending.shopifyRefundId}: the ERP connector cannot record customer returns; record it by hand`;
            await settle(pending.id, { status: 'FLAGGED', lastError: message });
            raised.push({ code: 'RETURN_NOT_SUPPORTED', message });
          }
        } catch (error) {
          if (error instanceof ClaimLost) throw error;
          await pause('after-send', { orderId: order.id, token: attempt.token, operation: 'return' });
          if (writeInDoubt(error)) {
            const left = inDoubtSentAt(attempt, sentAt, error);
            await settle(pending.id, { status: 'IN_DOUBT', lastError: `the ERP's answer was lost; looked up again once settled: ${errorMessage(error)}`, sentAt: left });
            options.metrics.erpCalls.inc({ operation: 'return', result: 'in-doubt' });
            log.warn({ orderId: order.id, refundId: pending.shopifyRefundId, lookUpAt: settlesAt(left), err: error }, 'customer return in doubt: its answer was lost');
            lookAgainBy(settlesAt(left));
            continue;
          }
          if (!PERMANENT_CODES.has(errorCode(error))) return recordFailure(attempt, 'return', error);
          const message = `refund ${pending.shopifyRefundId}: the ERP refused the return: ${errorMessage(error)}`;
          await settle(pending.id, { status: 'FLAGGED', lastError: message });
          raised.push({ code: 'RETURN_FAILED', message });
        }
      } finally {
        release();
      }
    }
    for (const flag of raised) {
      options.alerts.send({ code: 'ORDER_RETURN_NEEDS_PERSON', severity: 'warning', message: `Shopify order ${order.name}: ${flag.message}`, details: { orderId: order.id, flag: flag.code } });
    }
    await writeBack(attempt, async (_tx, fresh) => {
      let flags: OrderFlag[] = [...fresh.flags];
      for (const flag of raised) flags = withFlag(flags, flag.code, flag.message, options.now()) ?? flags;
      const cancelDue = fresh.shopifyCancelledAt !== null && fresh.status !== 'CANCELLED';
      const inDoubt = lookAgainAt !== null ? { lastError: "a customer return's answer was lost; it is looked up again once settled", lastErrorCode: 'ERP_IN_DOUBT' as const } : { lastError: null, lastErrorCode: null };
      return { attempts: 0, ...inDoubt, due: cancelDue ? 'now' : lookAgainAt, flags };
    });
    return lookAgainAt !== null ? 'in-doubt' : 'returns';
  }

  /** Works on a claimed order (as the claim read it). */
  async function work(order: ClaimedOrder, gate: Attempt['gate']): Promise<ProcessOutcome> {
    const orderId = order.id;
    const attempt = hold(order, gate);
    try {
      await pause('claimed', { orderId, token: attempt.token, operation: 'none' });
      // A write sent earlier whose answer is not recorded (lost, or its sender vanished): resolve
      // it first, whatever else is due (a cancellation waits for the answer).
      if (order.erpSending !== null || order.status === 'IN_DOUBT') return { orderId, result: await resolveInDoubt(attempt) };
      if (order.shopifyCancelledAt !== null && order.status !== 'CANCELLED') {
        // An order never sent needs no ERP call, but its lines may never have been counted:
        // nothing to release either.
        return { orderId, result: await cancel(attempt) };
      }
      if (order.status === 'RECEIVED') return { orderId, result: await submit(attempt) };
      if (order.status === 'SUBMITTED') return { orderId, result: await recordReturns(attempt) };
      await writeBack(attempt, async () => ({ due: null }));
      return { orderId, result: 'nothing' };
    } catch (error) {
      if (error instanceof ClaimLost) {
        options.metrics.orders.inc({ event: 'lost-claim' });
        log.warn({ orderId }, 'the claim on the order was lost; nothing more is written by this attempt');
        return { orderId, result: 'lost-claim' };
      }
      throw error;
    } finally {
      letGo(attempt);
    }
  }

  /**
   * An attempt's outcome, or 'retry' once it has run past its longest hold and its lease: by then
   * its claim has lapsed (renewClaims) and another instance may have the order. The pass stops
   * waiting for it, so one attempt hung on the database never stops this instance's pipeline.
   */
  function withinHold(orderId: string, work: Promise<ProcessOutcome>): Promise<ProcessOutcome> {
    let timer: NodeJS.Timeout | null = null;
    const deadline = new Promise<ProcessOutcome>((resolve) => {
      timer = setTimeout(() => {
        log.warn({ orderId }, 'an attempt did not end within its longest hold and lease: the pipeline goes on without it');
        resolve({ orderId, result: 'retry' });
      }, maxHoldMs + leaseMs);
      timer.unref?.();
    });
    return Promise.race([work, deadline]).finally(() => {
      if (timer) clearTimeout(timer);
    });
  }

  async function workClaimed(order: ClaimedOrder, gate: Attempt['gate'] = { kind: 'normal' }): Promise<ProcessOutcome> {
    try {
      return await work(order, gate);
    } catch (error) {
      // A database error: the claim lapses and the order is tried again (a recorded send stays in doubt).
      log.error({ orderId: order.id, err: error }, 'order processing crashed; it will be retried when its claim lapses');
      return { orderId: order.id, result: 'retry' };
    }
  }

  return {
    instanceId,

    async processDue({ signal, limit = Number.POSITIVE_INFINITY, moreDue } = {}) {
      let processed = 0;
      const running = new Set<Promise<void>>();
      let exhausted = false;
      const retried: string[] = [];
      while (!signal?.aborted && processed < limit) {
        // Refilled in bulk once half the places are free: one claim statement per several orders.
        if (running.size >= concurrency || (running.size > 0 && running.size > concurrency / 2)) {
          await Promise.race(running);
          continue;
        }
        if (exhausted) {
          if (running.size === 0) break;
          // The orders in hand move in step through the batched statements, so they tend to end
          // together: waiting for one of them would leave the pipeline empty between waves.
          await Promise.race(moreDue ? [...running, moreDue()] : running);
          exhausted = false;
          continue;
        }
        // The ERP found down: nothing is claimed but, after each pause, one order alone (the probe).
        const allowed = outage.allowance();
        if (allowed === 0) {
          if (running.size === 0) break;
          await Promise.race(running);
          continue;
        }
        const claimed = await repository.claimDue(instanceId, leaseMs, Math.min(concurrency - running.size, limit - processed, allowed), { exclude: retried, at: at() });
        if (claimed.length === 0) {
          exhausted = true;
          continue;
        }
        for (const order of claimed) {
          processed += 1;
          const ticket = allowed === 1 && outage.state() === 'open' ? outage.probeStarted() : null;
          const task = withinHold(order.id, workClaimed(order, ticket === null ? { kind: 'normal' } : { kind: 'probe', ticket })).then((outcome) => {
            if (ticket !== null) outage.probeEnded(ticket);
            if (outcome.result !== 'submitted' && outcome.result !== 'cancelled') retried.push(order.id);
          });
          running.add(task);
          void task.finally(() => running.delete(task));
        }
      }
      await Promise.all(running);
      return processed;
    },

    async processNow(orderId, { reset = false } = {}) {
      const claimed = await repository.claim(orderId, instanceId, leaseMs, at());
      if (!claimed) return { orderId, result: 'busy' };
      // A replay takes a FAILED order back to RECEIVED with its lines mapped again (written under
      // the claim, so a stale replay writes nothing); an order in doubt stays in doubt: its
      // look-up decides, never a blind send.
      let order: ClaimedOrder = claimed;
      if (reset) {
        const changes = claimed.status === 'FAILED' ? ({ status: 'RECEIVED', linesDigest: null } as const) : {};
        if (!(await repository.updateUnderClaim(orderId, claimed.claim.token, { ...changes, attempts: 0, lastError: null, lastErrorCode: null }))) {
          return { orderId, result: 'busy' };
        }
        order = { ...claimed, ...changes, attempts: 0, lastError: null, lastErrorCode: null };
      }
      // Asked for by a person: sent even while the pipeline holds off, as a probe would be.
      const ticket = outage.state() === 'open' ? outage.probeStarted() : null;
      try {
        return await workClaimed(order, { kind: 'probe', ticket });
      } finally {
        if (ticket !== null) outage.probeEnded(ticket);
      }
    },

    renewClaims,

    erpHeldOffUntil: () => outage.reopensAt(),

    async mappingChanged() {
      return repository.dueWaitingForMapping(shop);
    },

    async checkAllocations({ limit = ALLOCATION_CHECK_ROUND, signal, budgetMs = ALLOCATION_CHECK_BUDGET_MS } = {}) {
      // Rounds of `limit` orders, each order checked once per call (those checked since it began
      // are left for the next), while rounds come back full and the budget lasts. A round is one
      // ERP read of all its orders (`findSalesOrders`), one re-read of the ERP's stock terms of
      // what those orders hold, and one transaction per group of orders: at a peak the ERP holds
      // thousands of orders a minute, and one read per order left their units counted twice
      // (pending here, allocated there), hiding stock from Shopify for many minutes.
      const began = options.now();
      const deadline = Date.now() + budgetMs;
      const total = { checked: 0, allocated: 0, released: 0 };
      while (!signal?.aborted && Date.now() < deadline) {
        const orders = await repository.awaitingAllocation(shop, limit, began);
        if (orders.length === 0) break;
        const round = await checkRound(orders, signal);
        if (round === 'erp-failed') break;
        addTo(total, round);
        if (orders.length < limit) break;
      }
      return total;
    },

    async checkShipped(shopifyOrderIds, { signal } = {}) {
      const total = { checked: 0, allocated: 0, released: 0 };
      const orders = await repository.awaitingAllocationOf(shop, shopifyOrderIds);
      for (const round of chunk(orders, ALLOCATION_CHECK_ROUND)) {
        if (signal?.aborted) break;
        const result = await checkRound(round, signal);
        if (result === 'erp-failed') break;
        addTo(total, result);
      }
      return total;
    },
  };

  /**
   * One round of the allocation check. The ERP's stock terms of the SKUs the ERP now holds for
   * these orders are read (after the orders were, so they include what the orders hold) and
   * written to the read model before any pending unit is released: released first, the units
   * would be counted nowhere until the next stock read, and Shopify offered them twice.
   */
  async function checkRound(orders: readonly OrderRecord[], signal?: AbortSignal): Promise<'erp-failed' | { checked: number; allocated: number; released: number }> {
    let found: ReadonlyMap<string, SalesOrder>;
    try {
      found = await options.erp.findSalesOrders(orders.map((order) => externalReferenceOf(order.shopifyOrderId)));
      options.metrics.erpCalls.inc({ operation: 'find', result: 'ok' });
    } catch (error) {
      options.metrics.erpCalls.inc({ operation: 'find', result: 'failed' });
      log.warn({ err: error, orders: orders.length }, 'could not read orders from the ERP; allocation checks stop for this run');
      return 'erp-failed';
    }
    const holding = new Set<string>();
    for (const sale of found.values()) {
      const settled = sale.status === 'cancelled' || sale.status === 'done';
      for (const line of sale.lines) if (settled || line.allocatedQuantity > 0 || line.shippedQuantity > 0) holding.add(line.sku);
    }
    if (holding.size > 0 && options.atp) {
      try {
        await options.atp.refreshPositions([...holding].sort(), { signal });
      } catch (error) {
        log.warn({ err: error, skus: holding.size }, "could not re-read the ERP's stock of allocated orders; their pending units stay until the next check");
        return 'erp-failed';
      }
    }
    const result = { checked: 0, allocated: 0, released: 0 };
    for (const group of chunk(orders, ALLOCATION_WRITE_GROUP)) {
      if (signal?.aborted) break;
      let outcomes: AllocationOutcome[];
      try {
        outcomes = await applyAllocations(group, found);
      } catch (error) {
        // One order's failure (a position gone meanwhile) must not hold back the others.
        log.warn({ err: error, orders: group.length }, 'an allocation write-back failed; writing its orders one at a time');
        outcomes = [];
        for (const order of group) {
          try {
            outcomes.push(...(await applyAllocations([order], found)));
          } catch (single) {
            log.warn({ err: single, orderId: order.id }, 'could not write back an allocation; checked again at the next run');
          }
        }
      }
      for (const outcome of outcomes) {
        result.checked += 1;
        if (outcome.allocated) result.allocated += 1;
        result.released += outcome.released;
      }
    }
    return result;
  }

  /**
   * Writes what the ERP holds of these orders (`found`, by external reference) in one
   * transaction (the orders locked in one statement, in id order): each submitted order's covered quantities, its pending units (the rest of each
   * line), its check time and, once the ERP holds all of it, its allocation. The positions are
   * written last, all at once (hot SKUs: locked for the commit, not the transaction).
   */
  async function applyAllocations(orders: readonly OrderRecord[], found: ReadonlyMap<string, SalesOrder>): Promise<AllocationOutcome[]> {
    const outcomes: AllocationOutcome[] = [];
    let change: PendingChange = { positions: [], delta: 0 };
    await db.transaction(async (transaction) => {
      outcomes.length = 0;
      const tx = transaction as unknown as Db;
      const at = options.now();
      const deferred = deferPositionWrites(tx, shop);
      const lines = await repository.linesOf(
        tx,
        orders.map((order) => order.id),
      );
      let delta = 0;
      for (const fresh of await repository.lockByIds(
        tx,
        orders.map((order) => order.id),
      )) {
        if (fresh.status !== 'SUBMITTED') continue;
        const sale = found.get(externalReferenceOf(fresh.shopifyOrderId)) ?? null;
        const { covered, fullyHeld } = coveredBy(sale, lines.get(fresh.id) ?? []);
        await repository.setErpCovered(tx, fresh.id, covered);
        const target = pendingTargetOf(fresh);
        const moved = await setPendingUnits(tx, shop, fresh.id, (line) => target({ ...line, erpCoveredQuantity: covered.get(line.lineNo) ?? line.erpCoveredQuantity }), at, deferred);
        await repository.update(tx, fresh.id, { allocationCheckedAt: at, ...(fullyHeld ? { allocatedAt: at } : {}) });
        delta += moved.delta;
        outcomes.push({ allocated: fullyHeld, released: Math.max(0, -moved.delta) });
      }
      const flushed = await deferred.flush(at);
      change = { positions: flushed.positions, delta, oversold: flushed.oversold };
    });
    if (change.positions.length > 0) options.pushSignal.wake();
    // Units counted only now (their position had no row at intake) are checked as they are added.
    if ((change.oversold ?? []).length > 0) await options.onOversold?.(change.oversold!);
    return outcomes;
  }
}

type AllocationTally = { checked: number; allocated: number; released: number };

function addTo(total: AllocationTally, round: Readonly<AllocationTally>): void {
  total.checked += round.checked;
  total.allocated += round.allocated;
  total.released += round.released;
}

interface AllocationOutcome {
  readonly allocated: boolean;
  readonly released: number;
}

/**
 * What the ERP holds of each of an order's lines (by line number): its held units per SKU and
 * location handed out to the lines in order; all of every line once the sale is done or
 * cancelled. `fullyHeld` when nothing of the order is left pending. Nothing is held of an order
 * the ERP does not have.
 */
export function coveredBy(sale: SalesOrder | null, lines: readonly StoredLine[]): { covered: Map<number, number>; fullyHeld: boolean } {
  const covered = new Map<number, number>();
  if (!sale) return { covered, fullyHeld: false };
  const settled = sale.status === 'cancelled' || sale.status === 'done';
  const held = new Map<string, number>();
  for (const line of sale.lines) {
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
  const fullyHeld = settled || sale.allocated || lines.every((line) => line.quantity === null || (covered.get(line.lineNo) ?? 0) >= line.quantity - 1e-9);
  return { covered, fullyHeld };
}

/** Orders per round of the allocation check: one ERP read (`findSalesOrders`) each. */
const ALLOCATION_CHECK_ROUND = 200;
/** Orders written back per transaction (one flush of their positions). */
const ALLOCATION_WRITE_GROUP = 50;
/** How long one `checkAllocations` goes on while rounds come back full (the job runs every 60 s). */
const ALLOCATION_CHECK_BUDGET_MS = 45_000;

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
