import { and, asc, eq, gt, inArray, isNull, lt, or, sql, type SQL } from 'drizzle-orm';
import { rowsOf, type Db } from '../db/database.js';
import { valuesTable } from '../db/sql-lists.js';
import { privacyRequests, shopifyOrders, webhookInbox, type PrivacyRequestTopic } from '../db/schema/index.js';

/**
 * Where customers' personal data is removed. Personal data sits in two places: the raw webhook
 * bodies (`webhook_inbox.body`) and the order snapshots (`shopify_orders.snapshot`: `customer`
 * and `shippingAddress`). This repository is the one writer of their removal; everything else of
 * those rows belongs to the orders domain, and is left as it is: ids, statuses, ERP references,
 * digests, so exactly-once still holds for a redacted order (a redelivery is still a duplicate,
 * an update after submission is still compared with what the ERP got).
 *
 * Only settled rows are touched, re-checked in the statement that writes them: an order with
 * ERP work due, a live claim or no ERP outcome yet (RECEIVED, IN_DOUBT, FAILED), and an inbox
 * row not yet applied, still need their data. Callers count those and come back later.
 */

export interface NewPrivacyRequest {
  readonly shop: string;
  readonly topic: PrivacyRequestTopic;
  readonly webhookId: string;
  readonly shopifyCustomerId: string | null;
  readonly customerEmail: string | null;
  readonly orderIds: readonly string[];
  readonly dataRequestId: string | null;
}

export interface PrivacyRequestRecord extends NewPrivacyRequest {
  readonly id: number;
  readonly status: 'PENDING' | 'DONE';
  readonly attempts: number;
  readonly outcome: string | null;
  readonly receivedAt: Date;
  readonly processedAt: Date | null;
}

/** An order whose personal data may be removed, with what keeps its conflict check working. */
export interface RedactableOrder {
  readonly id: string;
  readonly shopifyOrderId: string;
  readonly status: string;
  readonly snapshot: unknown;
  readonly submittedDigest: string | null;
}

/** Which orders: a customer's (by order ids or e-mail), a whole shop's, or those received before a time. */
export type OrderSelection =
  | { readonly kind: 'customer'; readonly shop: string; readonly orderIds: readonly string[]; readonly email: string | null }
  | { readonly kind: 'shop'; readonly shop: string }
  | { readonly kind: 'expired'; readonly before: Date };

/** Which inbox rows: those about some orders, those of a shop, or those received before a time. */
export type DeliverySelection =
  | { readonly kind: 'orders'; readonly shop: string; readonly orderRefs: readonly string[]; readonly email: string | null }
  | { readonly kind: 'shop'; readonly shop: string }
  | { readonly kind: 'expired'; readonly before: Date };

export interface PrivacyRepository {
  /** Records a GDPR request; false when this webhook id was recorded before. */
  insertRequest(request: NewPrivacyRequest): Promise<boolean>;
  findRequest(id: number): Promise<PrivacyRequestRecord | null>;
  /** PENDING requests, oldest first. */
  pendingRequests(limit: number): Promise<PrivacyRequestRecord[]>;
  /** DONE, with its outcome; the e-mail is cleared. */
  completeRequest(id: number, outcome: string): Promise<void>;
  /** Stays PENDING (tried again by the next run), with what it waits for. */
  postponeRequest(id: number, outcome: string): Promise<void>;
  /** Orders of the selection whose personal data is still there, settled or not (`settled` says). */
  findOrders(selection: OrderSelection, limit: number, afterId: string | null): Promise<Array<RedactableOrder & { readonly settled: boolean }>>;
  /**
   * Removes customer and shipping address from these orders' snapshots, keeping `submitted_digest`
   * (set to `keepDigest` where it was empty). Rows no longer settled are left. Returns the count.
   */
  redactOrders(orders: ReadonlyArray<{ readonly id: string; readonly keepDigest: string | null }>): Promise<number>;
  /** Blanks the bodies of settled inbox rows of the selection (at most `limit`); counts rows still PENDING. */
  redactDeliveries(selection: DeliverySelection, limit: number): Promise<{ readonly redacted: number; readonly pending: number }>;
  /** The gateway's orders (numeric Shopify ids) holding this customer's data: a data request's answer. */
  countCustomerOrders(shop: string, orderIds: readonly string[], email: string | null): Promise<number>;
}

type RequestRow = typeof privacyRequests.$inferSelect;

function toRecord(row: RequestRow): PrivacyRequestRecord {
  return {
    id: row.id,
    shop: row.shop,
    topic: row.topic,
    webhookId: row.webhookId,
    shopifyCustomerId: row.shopifyCustomerId,
    customerEmail: row.customerEmail,
    orderIds: row.orderIds,
    dataRequestId: row.dataRequestId,
    status: row.status,
    attempts: row.attempts,
    outcome: row.outcome,
    receivedAt: row.receivedAt,
    processedAt: row.processedAt,
  };
}

/** A settled order: an ERP outcome recorded, nothing due, no live claim. */
const orderSettled = sql`(${shopifyOrders.status} in ('SUBMITTED', 'CANCELLED') and ${shopifyOrders.nextAttemptAt} is null and (${shopifyOrders.leaseUntil} is null or ${shopifyOrders.leaseUntil} < now()))`;

function orderWhere(selection: OrderSelection): SQL {
  switch (selection.kind) {
    case 'customer': {
      const byId = selection.orderIds.length > 0 ? inArray(shopifyOrders.shopifyOrderId, [...selection.orderIds]) : undefined;
      const byEmail = selection.email ? sql`lower(${shopifyOrders.snapshot} -> 'customer' ->> 'email') = ${selection.email.toLowerCase()}` : undefined;
      return and(eq(shopifyOrders.shop, selection.shop), isNull(shopifyOrders.redactedAt), or(byId, byEmail) ?? sql`false`)!;
    }
    case 'shop':
      return and(eq(shopifyOrders.shop, selection.shop), isNull(shopifyOrders.redactedAt))!;
    case 'expired':
      // Retention leaves FAILED orders to the operator (a replay needs the address); they age out once settled.
      return and(isNull(shopifyOrders.redactedAt), lt(shopifyOrders.receivedAt, selection.before))!;
  }
}

function deliveryWhere(selection: DeliverySelection): SQL {
  switch (selection.kind) {
    case 'orders': {
      const byRef = selection.orderRefs.length > 0 ? inArray(webhookInbox.orderRef, [...selection.orderRefs]) : undefined;
      // A body that named no order it could be filed under (it did not parse) may still hold the e-mail.
      const byEmail = selection.email ? sql`(${webhookInbox.orderRef} is null and strpos(lower(${webhookInbox.body}), ${selection.email.toLowerCase()}) > 0)` : undefined;
      return and(eq(webhookInbox.shop, selection.shop), isNull(webhookInbox.redactedAt), or(byRef, byEmail) ?? sql`false`)!;
    }
    case 'shop':
      return and(eq(webhookInbox.shop, selection.shop), isNull(webhookInbox.redactedAt))!;
    case 'expired':
      return and(isNull(webhookInbox.redactedAt), lt(webhookInbox.receivedAt, selection.before))!;
  }
}

export function createPrivacyRepository(db: Db): PrivacyRepository {
  return {
    async insertRequest(request) {
      const inserted = await db
        .insert(privacyRequests)
        .values({
          shop: request.shop,
          topic: request.topic,
          webhookId: request.webhookId,
          shopifyCustomerId: request.shopifyCustomerId,
          customerEmail: request.customerEmail,
          orderIds: [...request.orderIds],
          dataRequestId: request.dataRequestId,
          status: 'PENDING',
        })
        .onConflictDoNothing({ target: privacyRequests.webhookId })
        .returning({ id: privacyRequests.id });
      return inserted.length > 0;
    },

    async findRequest(id) {
      const [row] = await db.select().from(privacyRequests).where(eq(privacyRequests.id, id));
      return row ? toRecord(row) : null;
    },

    async pendingRequests(limit) {
      const rows = await db.select().from(privacyRequests).where(eq(privacyRequests.status, 'PENDING')).orderBy(asc(privacyRequests.receivedAt), asc(privacyRequests.id)).limit(limit);
      return rows.map(toRecord);
    },

    async completeRequest(id, outcome) {
      await db
        .update(privacyRequests)
        .set({ status: 'DONE', outcome, customerEmail: null, attempts: sql`${privacyRequests.attempts} + 1`, processedAt: sql`now()` })
        .where(eq(privacyRequests.id, id));
    },

    async postponeRequest(id, outcome) {
      await db.update(privacyRequests).set({ outcome, attempts: sql`${privacyRequests.attempts} + 1` }).where(eq(privacyRequests.id, id));
    },

    async findOrders(selection, limit, afterId) {
      const rows = await db
        .select({
          id: shopifyOrders.id,
          shopifyOrderId: shopifyOrders.shopifyOrderId,
          status: shopifyOrders.status,
          snapshot: shopifyOrders.snapshot,
          submittedDigest: shopifyOrders.submittedDigest,
          settled: sql<boolean>`${orderSettled}`,
        })
        .from(shopifyOrders)
        .where(and(orderWhere(selection), selection.kind === 'expired' ? orderSettled : undefined, afterId === null ? undefined : gt(shopifyOrders.id, afterId)))
        .orderBy(asc(shopifyOrders.id))
        .limit(limit);
      return rows.map((row) => ({ ...row, settled: row.settled === true || String(row.settled) === 'true' }));
    },

    async redactOrders(orders) {
      if (orders.length === 0) return 0;
      const rows = orders.map((order) => sql`(${order.id}::uuid, ${order.keepDigest}::text)`);
      const result = await db.execute(sql`
        update ${shopifyOrders} as o
        set snapshot = jsonb_set(
              jsonb_set(o.snapshot, '{customer}', jsonb_build_object('name', 'redacted', 'email', null, 'phone', null)),
              '{shippingAddress}', 'null'::jsonb),
            submitted_digest = coalesce(o.submitted_digest, v.digest),
            redacted_at = now()
        from ${valuesTable(rows, 'id, digest')}
        where o.id = v.id and o.redacted_at is null
          and o.status in ('SUBMITTED', 'CANCELLED') and o.next_attempt_at is null
          and (o.lease_until is null or o.lease_until < now())
        returning o.id`);
      return rowsOf(result).length;
    },

    async redactDeliveries(selection, limit) {
      const where = deliveryWhere(selection);
      // Ids first (bounded), then one update: a retention run over months of rows stays in small statements.
      const ids = await db
        .select({ id: webhookInbox.id })
        .from(webhookInbox)
        .where(and(where, sql`${webhookInbox.status} <> 'PENDING'`))
        .orderBy(asc(webhookInbox.id))
        .limit(limit);
      let redacted = 0;
      if (ids.length > 0) {
        const updated = await db
          .update(webhookInbox)
          .set({ body: '', redactedAt: sql`now()` })
          .where(and(inArray(webhookInbox.id, ids.map((row) => row.id)), sql`${webhookInbox.status} <> 'PENDING'`, isNull(webhookInbox.redactedAt)))
          .returning({ id: webhookInbox.id });
        redacted = updated.length;
      }
      const [pending] = await db
        .select({ count: sql<number>`count(*)::int` })
        .from(webhookInbox)
        .where(and(where, eq(webhookInbox.status, 'PENDING')));
      return { redacted, pending: Number(pending?.count ?? 0) };
    },

    async countCustomerOrders(shop, orderIds, email) {
      const [row] = await db
        .select({ count: sql<number>`count(*)::int` })
        .from(shopifyOrders)
        .where(orderWhere({ kind: 'customer', shop, orderIds, email }));
      return Number(row?.count ?? 0);
    },
  };
}
