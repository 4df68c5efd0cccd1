import type { Db } from '../db/database.js';
import type { Logger } from '../logger.js';
import type { ShopifyClient, ShopifyOrderSummary } from '../shopify/shopify-client.js';
import type { OversellFinding } from './order-health.port.js';
import type { OrderIntake } from './order-intake.service.js';
import type { OrderLineMapper } from './order-line-mapper.js';
import { numericShopifyId } from '../shopify/gid.js';
import type { OrderRepository } from './order.repository.js';
import type { OrdersMetrics } from './orders.metrics.js';
import type { WebhookInboxRepository } from './webhook-inbox.repository.js';
import { deferPositionWrites } from './pending-units.repository.js';
import { snapshotOfPolledOrder } from './shopify-order.payloads.js';

/**
 * Reconciliation by polling: Shopify does not promise to deliver every webhook (and deletes a
 * subscription whose endpoint keeps failing), so a job reads the orders updated since the
 * watermark, minus an overlap window for orders Shopify indexes late, and feeds the ones the
 * gateway has never seen into the same intake as webhooks. The order row deduplicates: an order
 * the webhooks delivered is only checked for a cancellation they missed. The watermark moves only
 * after every order up to it has been applied (page by page, oldest update first), so a crash
 * mid-run re-reads from its last page, never skips.
 */
export interface OrderPollService {
  poll(options?: { signal?: AbortSignal }): Promise<OrderPollResult>;
}

export interface OrderPollResult {
  readonly seen: number;
  /** Orders no webhook had delivered, now in the pipeline. */
  readonly missed: number;
  /** Cancellations no webhook had delivered. */
  readonly cancellations: number;
  readonly watermark: string;
}

export interface OrderPollServiceOptions {
  readonly db: Db;
  readonly shop: string;
  readonly shopify: ShopifyClient;
  readonly repository: OrderRepository;
  readonly inbox: WebhookInboxRepository;
  readonly intake: OrderIntake;
  readonly mapper: OrderLineMapper;
  readonly metrics: OrdersMetrics;
  readonly log: Logger;
  /** Re-read before the watermark (default 15 min). */
  readonly overlapMs?: number;
  /** Orders per page (default 250, Shopify's largest: a listing costs about a point an order). */
  readonly pageSize?: number;
  /** Called as soon as the poll put an order (or a cancellation) into the pipeline: its work starts at once. */
  readonly onWork?: () => void;
  /** Called after a missed order was recorded with units its positions' ATP could not cover. */
  readonly onOversold?: (findings: readonly OversellFinding[]) => Promise<void>;
}

export function createOrderPollService(options: OrderPollServiceOptions): OrderPollService {
  const { db, shop, shopify, repository, intake, log } = options;
  const overlapMs = options.overlapMs ?? 15 * 60_000;

  async function apply(work: (tx: Db) => Promise<unknown>): Promise<void> {
    await db.transaction((transaction) => work(transaction as unknown as Db));
  }

  /** A listed order the gateway does not have: read it whole and put it into the pipeline. True when it was. */
  async function bringIn(order: ShopifyOrderSummary, cutoverAt: Date): Promise<boolean> {
    const legacyId = order.legacyId || numericShopifyId(order.id, 'Order')!;
    // Its webhook is stored and waits to be applied: not missed, just not yet applied.
    if (await options.inbox.hasPendingOrderFor(shop, legacyId)) return false;
    const details = await shopify.findOrder(order.id);
    if (!details) return false;
    const snapshot = snapshotOfPolledOrder(details);
    // Mapped before the transaction, so its units count as pending from the same commit.
    const lines = snapshot.cancelledAt ? null : await options.mapper.mapLines(snapshot).catch(() => null);
    let applied = false;
    let oversold: readonly OversellFinding[] = [];
    await apply(async (tx) => {
      // Its positions are written last, as the inbox's are: a webhook of the same order racing
      // in another instance's batch then never waits on this transaction's position locks
      // while this one waits on its insert (a deadlock seen at 10,000 orders a minute).
      const deferred = deferPositionWrites(tx, shop);
      const result = await intake.applyOrder(tx, snapshot, { source: 'poll', topic: 'poll', cutoverAt, lines, deferred });
      const flushed = await deferred.flush(new Date());
      applied = result.kind === 'applied' && result.created === true;
      oversold = result.kind === 'applied' ? [...(result.oversold ?? []), ...flushed.oversold] : [];
    });
    if (oversold.length > 0) await options.onOversold?.(oversold);
    if (!applied) return false;
    options.onWork?.();
    options.metrics.missedByWebhooks.inc();
    log.warn({ shopifyOrderId: legacyId, name: order.name }, 'the poll found an order no webhook delivered: it joins the pipeline');
    return true;
  }

  return {
    async poll({ signal } = {}) {
      const state = await repository.pollState(shop);
      const since = new Date(state.watermark.getTime() - overlapMs);
      let watermark = state.watermark;
      let cursor: string | null = null;
      let seen = 0;
      let missed = 0;
      let cancellations = 0;
      do {
        signal?.throwIfAborted();
        const page = await shopify.listOrdersUpdatedSince(since, { after: cursor, first: options.pageSize ?? 250 });
        const legacyIdOf = (order: (typeof page.items)[number]) => order.legacyId || numericShopifyId(order.id, 'Order');
        // One look-up for the page: at a peak a pass covers tens of thousands of orders.
        const knownIds = await repository.knownByShopifyIds(shop, page.items.map(legacyIdOf).filter((id): id is string => Boolean(id)));
        const unknown: Array<(typeof page.items)[number]> = [];
        for (const order of page.items) {
          seen += 1;
          const updatedAt = new Date(order.updatedAt);
          if (updatedAt > watermark) watermark = updatedAt;
          const legacyId = legacyIdOf(order);
          if (!legacyId) continue;
          const knownId = knownIds.get(legacyId);
          if (knownId) {
            const known = order.cancelledAt && !knownId.cancelled ? await repository.findByShopifyId(shop, legacyId) : null;
            if (order.cancelledAt && known && known.shopifyCancelledAt === null) {
              const snapshot = { ...known.snapshot, cancelledAt: new Date(order.cancelledAt).toISOString(), updatedAt: updatedAt.toISOString() };
              await apply((tx) => intake.applyOrder(tx, snapshot, { source: 'poll', topic: 'poll', cutoverAt: state.cutoverAt }));
              cancellations += 1;
              options.onWork?.();
              log.warn({ shopifyOrderId: legacyId, name: order.name }, 'the poll found a cancellation no webhook delivered');
            }
            continue;
          }
          if (order.test || new Date(order.createdAt) < state.cutoverAt) continue;
          unknown.push(order);
        }
        // The page's missed orders, several at once: each is a Shopify read and a transaction
        // of its own, and one after another a peak's lost webhooks took the poll many minutes.
        let next = 0;
        const lane = async () => {
          while (next < unknown.length) {
            signal?.throwIfAborted();
            if (await bringIn(unknown[next++]!, state.cutoverAt)) missed += 1;
          }
        };
        await Promise.all(Array.from({ length: Math.min(MISSED_ORDERS_AT_ONCE, unknown.length) }, lane));
        cursor = page.nextCursor;
        // Pages come oldest update first: every order up to here is in the pipeline, so a pass
        // cut short (a restart, a timeout) resumes from this page, not from the pass's start.
        await repository.setPollWatermark(shop, watermark);
      } while (cursor);
      return { seen, missed, cancellations, watermark: watermark.toISOString() };
    },
  };
}

/** Missed orders of one page read and applied at once by the poll. */
const MISSED_ORDERS_AT_ONCE = 8;
