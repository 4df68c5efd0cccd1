import type { Db } from '../db/database.js';
import type { Logger } from '../logger.js';
import { shopifyGid } from '../shopify/gid.js';
import type { OversellFinding } from './order-health.port.js';
import type { OrderFlag, OrderFlagCode, OrderRecord, OrderSnapshot, RefundSnapshot } from './order.models.js';
import type { NewLine, OrderRepository } from './order.repository.js';
import { moveUnits, pendingTargetOf, replaceOrderLines, setPendingUnits, type DeferredPositionWrites } from './pending-units.repository.js';
import { contentDigestOf } from './shopify-order.payloads.js';

/**
 * What Shopify said about an order, applied to the gateway's state: the decisions of the
 * pipeline that need no ERP. Everything here runs inside the caller's transaction and touches
 * only the database (never the mapping, the ERP or Shopify), so the inbox can apply a delivery
 * and mark it done atomically, and the same rules serve webhooks and the poll.
 *
 * The order row is the deduplication: the first event about an order (create, update, cancel,
 * from a webhook or the poll) creates it; later ones are compared with it. An event never moves
 * an order backwards: an older `updated_at` is stale, and a cancellation is final.
 */

export type IntakeResult =
  | {
      readonly kind: 'applied';
      readonly outcome: string;
      readonly orderId: string;
      /** This event made the order known to the gateway. */
      readonly created?: boolean;
      readonly due: boolean;
      readonly pendingChanged: boolean;
      /** Units counted beyond the ATP (oversells), for the caller to report once committed. */
      readonly oversold?: readonly OversellFinding[];
    }
  | { readonly kind: 'ignored'; readonly outcome: string }
  /** The event cannot be applied yet (a refund before its order): try again later. */
  | { readonly kind: 'not-yet'; readonly outcome: string };

export interface OrderIntakeOptions {
  readonly repository: OrderRepository;
  readonly shop: string;
  readonly log: Logger;
  readonly now: () => Date;
}

export interface ApplyOrderContext {
  readonly source: 'webhook' | 'poll';
  readonly topic: string;
  readonly cutoverAt: Date;
  /**
   * The snapshot's lines mapped to the ERP (read before the transaction). Given, they are stored
   * and their units counted as pending in this same transaction; absent (the mapping could not
   * be read), the worker maps them before it sends the order.
   */
  readonly lines?: readonly NewLine[] | null;
  /** Write the positions' pending units at the transaction's end (the inbox's batch; see DeferredPositionWrites). */
  readonly deferred?: DeferredPositionWrites | null;
}

export interface OrderIntake {
  /** An order snapshot from a webhook (`orders/create|updated|cancelled`) or the poll. */
  applyOrder(tx: Db, snapshot: OrderSnapshot, via: ApplyOrderContext): Promise<IntakeResult>;
  applyRefund(tx: Db, refund: RefundSnapshot): Promise<IntakeResult>;
  /**
   * Records orders the gateway has never seen, with their mapped lines and pending units, in a
   * few statements for all of them (the inbox's fast path for a batch of creates). Snapshots
   * that are not plainly new (test, before the cut-over, cancelled, no goods, or an order that
   * exists) are left out of the result: apply those one by one with `applyOrder`.
   */
  applyNewOrders(
    tx: Db,
    items: ReadonlyArray<{ readonly snapshot: OrderSnapshot; readonly lines: readonly NewLine[] }>,
    via: { readonly source: 'webhook' | 'poll'; readonly cutoverAt: Date; readonly deferred?: DeferredPositionWrites | null },
  ): Promise<Map<string, IntakeResult>>;
}

/** Adds a flag unless the same code and message is already raised. */
export function withFlag(flags: readonly OrderFlag[], code: OrderFlagCode, message: string, at: Date): OrderFlag[] | null {
  if (flags.some((flag) => flag.code === code && flag.message === message)) return null;
  return [...flags, { code, message, raisedAt: at.toISOString() }];
}

const RESTOCKED_RETURN_TYPES = new Set(['return', 'legacy_restock']);

export function createOrderIntake(options: OrderIntakeOptions): OrderIntake {
  const { repository, shop } = options;

  async function cancelKnownOrder(tx: Db, order: OrderRecord, cancelledAt: string, deferred: DeferredPositionWrites | null | undefined): Promise<{ pendingChanged: boolean; due: boolean }> {
    const cancelled = { ...order, shopifyCancelledAt: new Date(cancelledAt) };
    await repository.update(tx, order.id, {
      shopifyCancelledAt: cancelled.shopifyCancelledAt,
      // Work for the worker unless the order is already settled as cancelled.
      ...(order.status !== 'CANCELLED' ? { due: 'now' as const } : {}),
    });
    // Shopify restocked the units when it cancelled: they no longer count against the ATP.
    const change = await setPendingUnits(tx, shop, order.id, pendingTargetOf(cancelled), options.now(), deferred);
    return { pendingChanged: change.positions.length > 0, due: order.status !== 'CANCELLED' };
  }

  return {
    async applyOrder(tx, snapshot, via) {
      const existing = await repository.lockByShopifyId(tx, shop, snapshot.shopifyOrderId);
      if (!existing) {
        if (snapshot.test) return { kind: 'ignored', outcome: 'ignored: a test order' };
        if (new Date(snapshot.createdAt) < via.cutoverAt) {
          return { kind: 'ignored', outcome: `ignored: created ${snapshot.createdAt}, before the gateway took over orders (${via.cutoverAt.toISOString()})` };
        }
        // Cancelled before the gateway heard of it (the cancel overtook the create): recorded as
        // CANCELLED, so the create, when it comes, finds it and sends nothing to the ERP.
        const cancelled = snapshot.cancelledAt !== null;
        if (!cancelled && !snapshot.lines.some((line) => !line.giftCard && line.currentQuantity > 0)) {
          return { kind: 'ignored', outcome: 'ignored: no goods for the ERP (gift cards or no open lines)' };
        }
        const inserted = await repository.insert(tx, { shop, snapshot, source: via.source, status: cancelled ? 'CANCELLED' : 'RECEIVED' });
        if (inserted) {
          // Its units count as pending from now on, in the transaction that records the order.
          let pendingChanged = false;
          let oversold: readonly OversellFinding[] = [];
          if (!cancelled && via.lines) {
            const change = await replaceOrderLines(tx, repository, shop, inserted, via.lines, contentDigestOf(snapshot), options.now(), { newOrder: true, deferred: via.deferred });
            pendingChanged = change.positions.length > 0;
            oversold = change.oversold ?? [];
          }
          return {
            kind: 'applied',
            outcome: cancelled ? 'recorded as cancelled: it never goes to the ERP' : 'order received',
            orderId: inserted.id,
            created: true,
            due: !cancelled,
            pendingChanged,
            oversold,
          };
        }
        // Another transaction created it between our read and insert: treat this as a later event.
        const raced = await repository.lockByShopifyId(tx, shop, snapshot.shopifyOrderId);
        if (!raced) throw new Error(`order ${snapshot.shopifyOrderId} neither inserted nor found`);
        return applyToExisting(tx, raced, snapshot, via);
      }
      return applyToExisting(tx, existing, snapshot, via);
    },

    async applyNewOrders(tx, items, via) {
      const results = new Map<string, IntakeResult>();
      const eligible = items.filter(
        ({ snapshot }) =>
          !snapshot.test &&
          snapshot.cancelledAt === null &&
          new Date(snapshot.createdAt) >= via.cutoverAt &&
          snapshot.lines.some((line) => !line.giftCard && line.currentQuantity > 0),
      );
      if (eligible.length === 0) return results;
      const inserted = await repository.insertMany(
        tx,
        eligible.map(({ snapshot }) => ({ shop, snapshot, source: via.source, status: 'RECEIVED' as const, linesDigest: contentDigestOf(snapshot) })),
      );
      const byShopifyId = new Map(inserted.map((order) => [order.shopifyOrderId, order]));
      const lines = eligible.flatMap(({ snapshot, lines: mapped }) => {
        const order = byShopifyId.get(snapshot.shopifyOrderId);
        return order ? mapped.map((line) => ({ ...line, orderId: order.id, pendingQuantity: 0, erpCoveredQuantity: 0, explainedQuantity: 0 })) : [];
      });
      // A new, open order's lines hold all their units: nothing is allocated in the ERP yet.
      const { change, next } = await moveUnits(tx, shop, lines, (line) => line.quantity ?? 0, options.now(), { orderIdOf: (index) => lines[index]!.orderId, deferred: via.deferred });
      await repository.insertLines(
        tx,
        shop,
        lines.map((line, index) => ({ ...line, pendingQuantity: next.get(index)?.pending ?? 0, explainedQuantity: next.get(index)?.explained ?? 0 })),
      );
      for (const order of inserted) {
        results.set(order.shopifyOrderId, {
          kind: 'applied',
          outcome: 'order received',
          orderId: order.id,
          created: true,
          due: true,
          pendingChanged: change.positions.length > 0,
          oversold: (change.oversold ?? []).filter((finding) => finding.orderId === order.id),
        });
      }
      return results;
    },

    async applyRefund(tx, refund) {
      const order = await repository.lockByShopifyId(tx, shop, refund.shopifyOrderId);
      if (!order) return { kind: 'not-yet', outcome: `waiting for order ${refund.shopifyOrderId}` };
      const returned = refund.lines.filter((line) => RESTOCKED_RETURN_TYPES.has(line.restockType) && line.quantity > 0);
      const removed = refund.lines.filter((line) => line.restockType === 'cancel' && line.quantity > 0);
      const outcomes: string[] = [];
      let due = false;
      if (returned.length > 0) {
        const inserted = await repository.insertReturn(tx, {
          shop,
          orderId: order.id,
          shopifyRefundId: refund.refundId,
          lines: returned.map((line) => ({ shopifyLineId: line.lineItemId, quantity: line.quantity, shopifyLocationId: line.locationId })),
          status: 'PENDING',
        });
        outcomes.push(inserted ? `return of ${returned.reduce((sum, line) => sum + line.quantity, 0)} unit(s) recorded` : 'return already recorded');
        if (inserted && order.status === 'SUBMITTED') {
          await repository.update(tx, order.id, { due: 'now' });
          due = true;
        }
      }
      // Units removed from an order the ERP already has (and Shopify did not cancel): the ERP
      // order still asks for them. Changing it is a person's call.
      if (removed.length > 0 && order.status === 'SUBMITTED' && order.shopifyCancelledAt === null) {
        const message = `refund ${refund.refundId} removed ${removed.map((line) => `${line.quantity} × line ${line.lineItemId}`).join(', ')} from an order the ERP already has (${order.erpReference ?? 'no reference'}); adjust the ERP order`;
        const flags = withFlag(order.flags, 'LINES_REMOVED', message, options.now());
        if (flags) await repository.update(tx, order.id, { flags });
        outcomes.push('removed lines flagged');
        options.log.warn({ orderId: order.id, shopifyOrderId: order.shopifyOrderId, refundId: refund.refundId }, 'units removed from an order the ERP already has');
      }
      if (outcomes.length === 0) return { kind: 'ignored', outcome: 'refund without restocked goods: nothing for the ERP' };
      return { kind: 'applied', outcome: outcomes.join('; '), orderId: order.id, due, pendingChanged: false };
    },
  };

  async function applyToExisting(tx: Db, order: OrderRecord, snapshot: OrderSnapshot, via: ApplyOrderContext): Promise<IntakeResult> {
    const topic = via.topic;
    // A cancellation is final and needs no ordering: apply it whenever it shows.
    if (snapshot.cancelledAt && order.shopifyCancelledAt === null) {
      const { pendingChanged, due } = await cancelKnownOrder(tx, order, snapshot.cancelledAt, via.deferred);
      if (new Date(snapshot.updatedAt) > order.shopifyUpdatedAt) await repository.update(tx, order.id, { shopifyUpdatedAt: new Date(snapshot.updatedAt), snapshot });
      return { kind: 'applied', outcome: 'cancellation recorded', orderId: order.id, due, pendingChanged };
    }
    const updatedAt = new Date(snapshot.updatedAt);
    if (updatedAt <= order.shopifyUpdatedAt) {
      return { kind: 'ignored', outcome: updatedAt.getTime() === order.shopifyUpdatedAt.getTime() ? `duplicate (${topic})` : `stale: updated_at ${snapshot.updatedAt} is older than what the gateway has` };
    }
    if (order.status === 'RECEIVED' || (order.status === 'FAILED' && order.createAttemptedAt === null)) {
      // Not in the ERP yet: take the newer content, and its lines with their pending units
      // (without mapped lines, the worker maps them again: the digest changed).
      await repository.update(tx, order.id, { snapshot, name: snapshot.name, shopifyUpdatedAt: updatedAt });
      const digest = contentDigestOf(snapshot);
      const changed = digest !== contentDigestOf(order.snapshot);
      let pendingChanged = false;
      let oversold: readonly OversellFinding[] = [];
      if (changed && via.lines) {
        const change = await replaceOrderLines(tx, repository, shop, { ...order, snapshot }, via.lines, digest, options.now(), { deferred: via.deferred });
        pendingChanged = change.positions.length > 0;
        oversold = change.oversold ?? [];
      }
      if (changed && order.status === 'RECEIVED') await repository.update(tx, order.id, { due: 'now' });
      return {
        kind: 'applied',
        outcome: changed ? 'order updated before reaching the ERP' : 'updated (nothing the ERP needs)',
        orderId: order.id,
        due: changed && order.status === 'RECEIVED',
        pendingChanged,
        oversold,
      };
    }
    await repository.update(tx, order.id, { shopifyUpdatedAt: updatedAt });
    // An order the ERP has, or may have (its create in doubt): the ERP order is left alone.
    if (order.status === 'SUBMITTED' || order.status === 'FAILED' || order.status === 'IN_DOUBT') {
      const digest = contentDigestOf(snapshot);
      const sentDigest = order.submittedDigest ?? (order.snapshot ? contentDigestOf(order.snapshot) : null);
      if (digest !== sentDigest) {
        const message = `Shopify changed the order after it reached the ERP (${order.erpReference ?? 'reference unknown'}): updated ${snapshot.updatedAt}; the ERP order was left as it was`;
        const flags = withFlag(order.flags, 'CONFLICT', message, options.now());
        if (flags) await repository.update(tx, order.id, { flags });
        options.log.warn({ orderId: order.id, shopifyOrderId: order.shopifyOrderId, erpReference: order.erpReference }, 'order changed in Shopify after it reached the ERP: flagged as a conflict');
        return { kind: 'applied', outcome: 'conflict flagged', orderId: order.id, due: false, pendingChanged: false };
      }
    }
    return { kind: 'applied', outcome: 'updated (nothing the ERP needs)', orderId: order.id, due: false, pendingChanged: false };
  }
}

/** The refund's gid, the idempotency key of its ERP customer return. */
export function refundReferenceOf(refundId: string): string {
  return shopifyGid('Refund', refundId);
}
