// One unit though long: the order aggregate (an order, its lines and its returns) and its claim
// columns, written together in the pipeline's transactions; this is the one writer of those
// tables. Pending units (pending-units.repository.ts) and the inbox have their own files.
import { and, asc, desc, eq, inArray, isNull, lt, notInArray, or, sql, type SQL } from 'drizzle-orm';
import { compareStrings } from '../erp/erp-inputs.js';
import { rowsOf, type Db } from '../db/database.js';
import { jsonParam } from '../db/sql-lists.js';
import { orderPollState, orderReturns, shopifyOrderLines, shopifyOrders, type OrderReturnStatus } from '../db/schema/index.js';
import { orderErrorCodeOf, type OrderErrorCode, type OrderFlag, type OrderLine, type OrderRecord, type OrderSnapshot, type OrderStatus } from './order.models.js';

/**
 * Reads and writes of Shopify orders, their lines and returns, and the poll's state. Methods that
 * take a `tx` run in the caller's transaction (the pipeline changes an order, its lines and the
 * pending units together); the others are single statements.
 */

type OrderRow = typeof shopifyOrders.$inferSelect;
type LineRow = typeof shopifyOrderLines.$inferSelect;

export function toOrder(row: OrderRow): OrderRecord {
  return {
    id: row.id,
    shop: row.shop,
    shopifyOrderId: row.shopifyOrderId,
    name: row.name,
    status: row.status,
    source: row.source === 'poll' ? 'poll' : 'webhook',
    erpReference: row.erpReference,
    lastError: row.lastError,
    // Rows written before the codes were a closed set may hold another: read as INTERNAL_ERROR.
    lastErrorCode: row.lastErrorCode === null ? null : orderErrorCodeOf(row.lastErrorCode),
    attempts: row.attempts,
    nextAttemptAt: row.nextAttemptAt,
    receivedAt: row.receivedAt,
    shopifyCreatedAt: row.shopifyCreatedAt,
    shopifyUpdatedAt: row.shopifyUpdatedAt,
    shopifyCancelledAt: row.shopifyCancelledAt,
    submittedAt: row.submittedAt,
    cancelledAt: row.cancelledAt,
    allocatedAt: row.allocatedAt,
    createAttemptedAt: row.createAttemptedAt,
    erpSending: row.erpSending,
    erpSentAt: row.erpSentAt,
    createSentAt: row.createSentAt,
    linesDigest: row.linesDigest,
    submittedDigest: row.submittedDigest,
    flags: (row.flags ?? []) as OrderFlag[],
    snapshot: row.snapshot as OrderSnapshot,
  };
}

export function toLine(row: LineRow): OrderLine & { readonly erpCoveredQuantity: number; readonly explainedQuantity: number } {
  return {
    lineNo: row.lineNo,
    shopifyLineId: row.shopifyLineId,
    shopifySku: row.shopifySku,
    shopifyVariantId: row.shopifyVariantId,
    title: row.title,
    shopifyQuantity: row.shopifyQuantity,
    unitPrice: row.unitPrice,
    erpSku: row.erpSku,
    location: row.location,
    quantity: row.quantity,
    mappingError: row.mappingError,
    pendingQuantity: row.pendingQuantity,
    erpCoveredQuantity: row.erpCoveredQuantity,
    explainedQuantity: row.explainedQuantity,
  };
}

export type StoredLine = ReturnType<typeof toLine>;

export interface NewOrder {
  readonly shop: string;
  readonly snapshot: OrderSnapshot;
  readonly source: 'webhook' | 'poll';
  readonly status: OrderStatus;
  /** Set when the order's lines are written in the same transaction. */
  readonly linesDigest?: string | null;
}

/** A line as written: the stored line's fields, with its pending units optional. */
export type NewLine = Omit<OrderLine, 'pendingQuantity'> & {
  /** Carried over from the line this one replaces, so its units explain a Shopify drop once. */
  readonly explainedQuantity?: number;
  /** Units counted in `pending_orders` for the line as it is written (see pending-units.repository.ts). */
  readonly pendingQuantity?: number;
};

export type OrderChanges = Partial<
  Pick<
    typeof shopifyOrders.$inferInsert,
    | 'status'
    | 'name'
    | 'erpReference'
    | 'lastError'
    | 'attempts'
    | 'snapshot'
    | 'linesDigest'
    | 'submittedDigest'
    | 'createAttemptedAt'
    | 'erpSending'
    | 'erpSentAt'
    | 'submittedAt'
    | 'cancelledAt'
    | 'allocatedAt'
    | 'allocationCheckedAt'
    | 'shopifyUpdatedAt'
    | 'shopifyCancelledAt'
    | 'flags'
  >
> & {
  /** Only the listed codes are stored (schema/orders.graphql's OrderErrorCode). */
  readonly lastErrorCode?: OrderErrorCode | null;
  /** `'now'` = due at once; a number = due in that many milliseconds; a date = due then; null = nothing to do. */
  readonly due?: 'now' | number | Date | null;
};

export interface OrderFilter {
  readonly status?: OrderStatus | null;
  /** Only orders with at least one flag for a person. */
  readonly needsAttention?: boolean | null;
  readonly ids?: readonly string[] | null;
  readonly errorCode?: string | null;
  readonly receivedAfter?: Date | null;
  readonly receivedBefore?: Date | null;
  /** Only orders a replay can help: FAILED, or RECEIVED and waiting after an error. */
  readonly replayable?: boolean | null;
}

/**
 * Where a page of orders continues: the last row's `received_at` as PostgreSQL's text, to the
 * microsecond (a Date keeps milliseconds, and orders written in one statement share one
 * timestamp), and its id, which breaks the tie.
 */
export interface OrderCursor {
  readonly receivedAt: string;
  readonly id: string;
}

/** An order of a listed page with its sort key as the cursor needs it. */
export interface ListedOrder {
  readonly order: OrderRecord;
  /** `received_at` in UTC to the microsecond, e.g. `2026-12-06T11:34:47.123456Z`. */
  readonly receivedAtKey: string;
}

const receivedAtKey = sql<string>`to_char(${shopifyOrders.receivedAt} at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')`;

const REPLAYABLE = sql`(${shopifyOrders.status} = 'FAILED' or (${shopifyOrders.status} = 'RECEIVED' and ${shopifyOrders.lastErrorCode} is not null))`;

/** `shop` null: every shop's orders (the operator CLI, which may not know the demo's shop). */
function listConditions(shop: string | null, filter: OrderFilter): SQL[] {
  const conditions: SQL[] = shop === null ? [] : [eq(shopifyOrders.shop, shop)];
  if (filter.status) conditions.push(eq(shopifyOrders.status, filter.status));
  if (filter.needsAttention === true) conditions.push(sql`jsonb_array_length(${shopifyOrders.flags}) > 0`);
  if (filter.needsAttention === false) conditions.push(sql`jsonb_array_length(${shopifyOrders.flags}) = 0`);
  if (filter.ids) conditions.push(filter.ids.length > 0 ? inArray(shopifyOrders.id, [...filter.ids]) : sql`false`);
  if (filter.errorCode) conditions.push(eq(shopifyOrders.lastErrorCode, filter.errorCode));
  if (filter.receivedAfter) conditions.push(sql`${shopifyOrders.receivedAt} >= ${filter.receivedAfter.toISOString()}::timestamptz`);
  if (filter.receivedBefore) conditions.push(sql`${shopifyOrders.receivedAt} < ${filter.receivedBefore.toISOString()}::timestamptz`);
  if (filter.replayable) conditions.push(REPLAYABLE);
  return conditions;
}

export interface PendingReturn {
  readonly id: string;
  readonly shopifyRefundId: string;
  readonly lines: unknown;
  readonly status: OrderReturnStatus;
  /** When it was last sent to the ERP (an IN_DOUBT return is looked up once this has settled). */
  readonly sentAt: Date | null;
}

/** A claim on an order: the fencing token every write under it states. */
export interface OrderClaim {
  readonly token: string;
  readonly owner: string;
  /** When the claim was taken, on the lease's clock (the database's, or the caller's `at`). */
  readonly claimedAt: Date;
}

export type ClaimedOrder = OrderRecord & { readonly claim: OrderClaim };

/** One order's SUBMITTED write-back (see `releaseSubmitted`). */
export interface SubmittedWriteBack {
  readonly id: string;
  readonly token: string;
  readonly erpReference: string;
  readonly submittedDigest: string;
  readonly submittedAt: Date;
  /** Due again at once (a cancellation or a return waits), else nothing left to do. */
  readonly dueNow: boolean;
  /** The order's flags when they changed (a CONFLICT raised); null keeps the stored ones. */
  readonly flags: readonly OrderFlag[] | null;
}

/**
 * The time a lease statement works with: the caller's clock when given (tests drive leases with
 * an injected clock), else the database's, which every instance shares.
 */
function timeOf(at: Date | undefined): SQL {
  return at ? sql`${at.toISOString()}::timestamptz` : sql`now()`;
}

/** How the batched claim writes key their answers: one claim is an order and a token. */
export function claimKey(id: string, token: string): string {
  return `${id}\u0000${token}`;
}

function claimedOf(row: OrderRow, owner: string, leaseMs: number): ClaimedOrder {
  return { ...toOrder(row), claim: { token: row.leaseToken!, owner, claimedAt: new Date(row.leaseUntil!.getTime() - Math.max(1, Math.round(leaseMs))) } };
}

function dueValue(due: 'now' | number | Date | null, at?: Date): SQL | null {
  if (due === null) return null;
  if (due === 'now') return timeOf(at);
  if (due instanceof Date) return sql`${due.toISOString()}::timestamptz`;
  return sql`${timeOf(at)} + ${Math.max(0, Math.round(due))} * interval '1 millisecond'`;
}

function leaseUntil(leaseMs: number, at: Date | undefined): SQL {
  return sql`${timeOf(at)} + ${Math.max(1, Math.round(leaseMs))} * interval '1 millisecond'`;
}

export interface OrderRepository {
  findById(id: string): Promise<OrderRecord | null>;
  findByShopifyId(shop: string, shopifyOrderId: string): Promise<OrderRecord | null>;
  /** Which of these Shopify orders the gateway has, and whether it knows each is cancelled: one statement (the poll's page). */
  knownByShopifyIds(shop: string, shopifyOrderIds: readonly string[]): Promise<Map<string, { readonly cancelled: boolean }>>;
  /** The order row locked for the caller's transaction (null when there is none). */
  lockByShopifyId(tx: Db, shop: string, shopifyOrderId: string): Promise<OrderRecord | null>;
  lockById(tx: Db, id: string): Promise<OrderRecord | null>;
  /**
   * These orders' rows locked in one statement, in id order (the order every multi-row lock of
   * orders takes: the claims' writes, the allocation check, the inbox's batches), so two of them
   * never wait on each other in a cycle. Unknown ids are absent.
   */
  lockByIds(tx: Db, ids: readonly string[]): Promise<OrderRecord[]>;
  /** `lockByIds` by Shopify order id: the existing orders among these, locked in id order. */
  lockByShopifyIds(tx: Db, shop: string, shopifyOrderIds: readonly string[]): Promise<OrderRecord[]>;
  /** Inserts the order; null when another transaction inserted it first (the caller re-reads). */
  insert(tx: Db, order: NewOrder): Promise<OrderRecord | null>;
  /** Inserts many orders in one statement, in Shopify id order; those another transaction inserted first are left out. */
  insertMany(tx: Db, orders: readonly NewOrder[]): Promise<OrderRecord[]>;
  /** Writes the lines of several new orders in one statement. */
  insertLines(tx: Db, shop: string, lines: ReadonlyArray<NewLine & { readonly orderId: string }>): Promise<void>;
  update(tx: Db, id: string, changes: OrderChanges): Promise<void>;
  linesOf(tx: Db, orderIds: readonly string[]): Promise<Map<string, StoredLine[]>>;
  /**
   * Writes the lines of an order whose old lines' pending units the caller has already released
   * (`keepNone`: delete the old lines first; a new order has none).
   */
  replaceLines(tx: Db, shop: string, orderId: string, lines: readonly NewLine[], options?: { keepNone?: boolean }): Promise<void>;
  updateLineMapping(tx: Db, orderId: string, lineNo: number, mapping: Pick<NewLine, 'erpSku' | 'location' | 'quantity' | 'mappingError'>): Promise<void>;
  setErpCovered(tx: Db, orderId: string, covered: ReadonlyMap<number, number>): Promise<void>;

  /**
   * Claims up to `limit` due orders until `leaseMs` from now, each with a new token: an order is
   * claimed by one holder at a time, and a claim whose lease is not renewed (a dead or frozen
   * holder) lapses and may be taken by the next claim. `at`: the caller's clock (tests).
   */
  claimDue(owner: string, leaseMs: number, limit: number, options?: { readonly exclude?: readonly string[]; readonly at?: Date }): Promise<ClaimedOrder[]>;
  /**
   * Claims one order (due or not) with a new token; null while any live claim holds it, this
   * process's own included (a replay beside the worker waits for the worker).
   */
  claim(id: string, owner: string, leaseMs: number, at?: Date): Promise<ClaimedOrder | null>;
  /**
   * Extends the live claims with these tokens to `leaseMs` from now, in one statement; returns the
   * ids renewed (a claim that lapsed or was taken over is not).
   */
  renewClaims(claims: ReadonlyArray<{ readonly id: string; readonly token: string }>, leaseMs: number, at?: Date): Promise<Set<string>>;
  /**
   * The fenced step right before an ERP write: records that `operation` is being sent now and
   * renews the lease, only while the claim with `token` is live. Null (nothing written, send
   * nothing) when it is not; else the time recorded as sent.
   */
  markSending(id: string, token: string, operation: 'create' | 'cancel', leaseMs: number, at?: Date): Promise<Date | null>;
  /**
   * `markSending` for several claims in one statement (the pipeline's group commit): each row is
   * written only while its own claim is live. Answers the time recorded per claim written, keyed
   * by `claimKey(id, token)`.
   */
  markSendingMany(claims: ReadonlyArray<{ readonly id: string; readonly token: string; readonly operation: 'create' | 'cancel' }>, leaseMs: number, at?: Date): Promise<Map<string, Date>>;
  /**
   * The rows of these orders locked for the caller's transaction (in id order, so two batches
   * never deadlock), each with whether it has returns not yet recorded in the ERP.
   */
  lockForWriteBack(tx: Db, ids: readonly string[]): Promise<Map<string, { readonly order: OrderRecord; readonly hasPendingReturns: boolean }>>;
  /**
   * The write-back of creates the ERP accepted, several in one statement: each order becomes
   * SUBMITTED and its claim ends, only while its own `token` holds. Answers the claims written
   * (`claimKey(id, token)`).
   */
  releaseSubmitted(tx: Db, rows: ReadonlyArray<SubmittedWriteBack>, at?: Date): Promise<Set<string>>;
  /** Writes `changes` under the claim with `token`, keeping it; false (nothing written) when the token is stale. */
  updateUnderClaim(id: string, token: string, changes: OrderChanges): Promise<boolean>;
  /** Writes `changes` and ends the claim with `token` in one statement; false (nothing written) when the token is stale. */
  updateAndRelease(tx: Db, id: string, token: string, changes: OrderChanges, at?: Date): Promise<boolean>;
  nextDueAt(): Promise<Date | null>;
  /** Orders waiting for a mapping (RECEIVED, `UNMAPPED_LINE`) become due now; how many. */
  dueWaitingForMapping(shop: string): Promise<number>;

  /** Newest first (`received_at`, then id, both descending); up to `first` orders after the cursor. */
  list(shop: string | null, filter: OrderFilter, page: { first: number; after: OrderCursor | null }): Promise<ListedOrder[]>;
  /** How many orders match `filter` (one indexed count). */
  count(shop: string | null, filter: OrderFilter): Promise<number>;
  /**
   * Queues a replay of up to `limit` orders matching `filter` that a replay can help and no live
   * claim holds (newest first): a FAILED one back to RECEIVED to be mapped again, attempts and
   * error cleared, due now, so whichever instance's worker claims it next runs it. Returns them.
   */
  queueReplay(shop: string | null, filter: OrderFilter, limit: number): Promise<OrderRecord[]>;
  /** SUBMITTED orders the ERP has not fully allocated, least recently checked first. */
  /** Submitted orders the ERP has not fully allocated, never checked or checked before `checkedBefore` first. */
  awaitingAllocation(shop: string, limit: number, checkedBefore?: Date): Promise<OrderRecord[]>;
  /** The submitted, not fully allocated orders among these Shopify orders. */
  awaitingAllocationOf(shop: string, shopifyOrderIds: readonly string[]): Promise<OrderRecord[]>;

  insertReturn(tx: Db, input: { shop: string; orderId: string; shopifyRefundId: string; lines: unknown; status: OrderReturnStatus }): Promise<boolean>;
  /** Returns not yet recorded in the ERP (`tx`: the caller's transaction, or the pool). */
  pendingReturns(tx: Db, orderId: string): Promise<PendingReturn[]>;
  /**
   * Settles a return, only while the claim with `token` on its order holds (false: nothing
   * written). `sentAt` records a send (status IN_DOUBT or PENDING while in flight).
   */
  finishReturn(
    id: string,
    token: string,
    result: { status: OrderReturnStatus; erpReference?: string | null; lastError?: string | null; sentAt?: Date | null },
  ): Promise<boolean>;
  /** The fenced step right before sending a return: records the send time while the claim holds. */
  markReturnSending(id: string, token: string, at?: Date): Promise<Date | null>;

  /** The poll's state, created with `cutoverAt = watermark = now` on first use. */
  pollState(shop: string): Promise<{ cutoverAt: Date; watermark: Date }>;
  setPollWatermark(shop: string, watermark: Date): Promise<void>;
}

/** A shop's orders in the ERP that it does not yet hold in full: the allocation check's work. */
function awaitingAllocationOf(shop: string): SQL {
  return and(eq(shopifyOrders.shop, shop), eq(shopifyOrders.status, 'SUBMITTED'), isNull(shopifyOrders.allocatedAt))!;
}

export function createOrderRepository(db: Db): OrderRepository {
  const repository: OrderRepository = {
    async findById(id) {
      const [row] = await db.select().from(shopifyOrders).where(eq(shopifyOrders.id, id));
      return row ? toOrder(row) : null;
    },

    async findByShopifyId(shop, shopifyOrderId) {
      const [row] = await db
        .select()
        .from(shopifyOrders)
        .where(and(eq(shopifyOrders.shop, shop), eq(shopifyOrders.shopifyOrderId, shopifyOrderId)));
      return row ? toOrder(row) : null;
    },

    async knownByShopifyIds(shop, shopifyOrderIds) {
      if (shopifyOrderIds.length === 0) return new Map();
      const rows = await db
        .select({ shopifyOrderId: shopifyOrders.shopifyOrderId, cancelledAt: shopifyOrders.shopifyCancelledAt })
        .from(shopifyOrders)
        .where(and(eq(shopifyOrders.shop, shop), inArray(shopifyOrders.shopifyOrderId, [...new Set(shopifyOrderIds)])));
      return new Map(rows.map((row) => [row.shopifyOrderId, { cancelled: row.cancelledAt !== null }]));
    },

    async lockByShopifyId(tx, shop, shopifyOrderId) {
      const [row] = await tx
        .select()
        .from(shopifyOrders)
        .where(and(eq(shopifyOrders.shop, shop), eq(shopifyOrders.shopifyOrderId, shopifyOrderId)))
        .for('update');
      return row ? toOrder(row) : null;
    },

    async lockById(tx, id) {
      const [row] = await tx.select().from(shopifyOrders).where(eq(shopifyOrders.id, id)).for('update');
      return row ? toOrder(row) : null;
    },

    async lockByIds(tx, ids) {
      if (ids.length === 0) return [];
      const rows = await tx.select().from(shopifyOrders).where(inArray(shopifyOrders.id, [...new Set(ids)])).orderBy(asc(shopifyOrders.id)).for('update');
      return rows.map(toOrder);
    },

    async lockByShopifyIds(tx, shop, shopifyOrderIds) {
      if (shopifyOrderIds.length === 0) return [];
      const rows = await tx
        .select()
        .from(shopifyOrders)
        .where(and(eq(shopifyOrders.shop, shop), inArray(shopifyOrders.shopifyOrderId, [...new Set(shopifyOrderIds)])))
        .orderBy(asc(shopifyOrders.id))
        .for('update');
      return rows.map(toOrder);
    },

    async insert(tx, order) {
      const [row] = await repository.insertMany(tx, [order]);
      return row ?? null;
    },

    async insertMany(tx, orders) {
      if (orders.length === 0) return [];
      // Inserted in Shopify id order: two instances inserting the same new orders (a duplicate
      // delivery) then wait for each other's rows in one order and cannot deadlock on them.
      const sorted = [...orders].sort((a, b) => compareStrings(a.snapshot.shopifyOrderId, b.snapshot.shopifyOrderId));
      const rows = await tx
        .insert(shopifyOrders)
        .values(
          sorted.map((order) => ({
            shop: order.shop,
            shopifyOrderId: order.snapshot.shopifyOrderId,
            name: order.snapshot.name,
            status: order.status,
            source: order.source,
            shopifyCreatedAt: new Date(order.snapshot.createdAt),
            shopifyUpdatedAt: new Date(order.snapshot.updatedAt),
            shopifyCancelledAt: order.snapshot.cancelledAt ? new Date(order.snapshot.cancelledAt) : null,
            snapshot: order.snapshot,
            linesDigest: order.linesDigest ?? null,
            nextAttemptAt: order.status === 'RECEIVED' ? sql`now()` : null,
            cancelledAt: order.status === 'CANCELLED' ? sql`now()` : null,
          })),
        )
        .onConflictDoNothing({ target: [shopifyOrders.shop, shopifyOrders.shopifyOrderId] })
        .returning();
      return rows.map(toOrder);
    },

    async insertLines(tx, shop, lines) {
      if (lines.length === 0) return;
      await tx.insert(shopifyOrderLines).values(
        lines.map((line) => ({
          orderId: line.orderId,
          shop,
          lineNo: line.lineNo,
          shopifyLineId: line.shopifyLineId,
          shopifySku: line.shopifySku,
          shopifyVariantId: line.shopifyVariantId,
          title: line.title,
          shopifyQuantity: line.shopifyQuantity,
          unitPrice: line.unitPrice,
          erpSku: line.erpSku,
          location: line.location,
          quantity: line.quantity,
          mappingError: line.mappingError,
          pendingQuantity: line.pendingQuantity ?? 0,
          explainedQuantity: line.explainedQuantity ?? 0,
        })),
      );
    },

    async update(tx, id, changes) {
      const { due, ...columns } = changes;
      await tx
        .update(shopifyOrders)
        .set({ ...columns, ...(due !== undefined ? { nextAttemptAt: dueValue(due) } : {}), updatedAt: sql`now()` })
        .where(eq(shopifyOrders.id, id));
    },

    async linesOf(tx, orderIds) {
      const byOrder = new Map<string, StoredLine[]>(orderIds.map((id) => [id, []]));
      if (orderIds.length === 0) return byOrder;
      const rows = await tx
        .select()
        .from(shopifyOrderLines)
        .where(inArray(shopifyOrderLines.orderId, [...orderIds]))
        .orderBy(asc(shopifyOrderLines.orderId), asc(shopifyOrderLines.lineNo));
      for (const row of rows) byOrder.get(row.orderId)?.push(toLine(row));
      return byOrder;
    },

    async replaceLines(tx, shop, orderId, lines, options = {}) {
      if (options.keepNone !== false) await tx.delete(shopifyOrderLines).where(eq(shopifyOrderLines.orderId, orderId));
      await repository.insertLines(tx, shop, lines.map((line) => ({ ...line, orderId })));
    },

    async updateLineMapping(tx, orderId, lineNo, mapping) {
      await tx
        .update(shopifyOrderLines)
        .set(mapping)
        .where(and(eq(shopifyOrderLines.orderId, orderId), eq(shopifyOrderLines.lineNo, lineNo)));
    },

    async setErpCovered(tx, orderId, covered) {
      for (const [lineNo, quantity] of covered) {
        await tx
          .update(shopifyOrderLines)
          .set({ erpCoveredQuantity: quantity })
          .where(and(eq(shopifyOrderLines.orderId, orderId), eq(shopifyOrderLines.lineNo, lineNo)));
      }
    },

    async claimDue(owner, leaseMs, limit, claimOptions = {}) {
      const exclude = claimOptions.exclude ?? [];
      const at = claimOptions.at;
      const candidates = db
        .select({ id: shopifyOrders.id })
        .from(shopifyOrders)
        .where(
          and(
            sql`${shopifyOrders.nextAttemptAt} <= ${timeOf(at)}`,
            sql`(${shopifyOrders.leaseUntil} is null or ${shopifyOrders.leaseUntil} < ${timeOf(at)})`,
            exclude.length > 0 ? notInArray(shopifyOrders.id, [...exclude]) : undefined,
          ),
        )
        .orderBy(asc(shopifyOrders.nextAttemptAt))
        .limit(limit)
        .for('update', { skipLocked: true });
      const rows = await db
        .update(shopifyOrders)
        // One token per order and attempt: gen_random_uuid() is evaluated per row.
        .set({ leaseOwner: owner, leaseToken: sql`gen_random_uuid()::text`, leaseUntil: leaseUntil(leaseMs, at) })
        .where(inArray(shopifyOrders.id, candidates))
        .returning();
      return rows.map((row) => claimedOf(row, owner, leaseMs));
    },

    async claim(id, owner, leaseMs, at) {
      const rows = await db
        .update(shopifyOrders)
        .set({ leaseOwner: owner, leaseToken: sql`gen_random_uuid()::text`, leaseUntil: leaseUntil(leaseMs, at) })
        .where(and(eq(shopifyOrders.id, id), sql`(${shopifyOrders.leaseUntil} is null or ${shopifyOrders.leaseUntil} < ${timeOf(at)})`))
        .returning();
      const row = rows[0];
      return row ? claimedOf(row, owner, leaseMs) : null;
    },

    async renewClaims(claims, leaseMs, at) {
      if (claims.length === 0) return new Set();
      const rows = await db
        .update(shopifyOrders)
        .set({ leaseUntil: leaseUntil(leaseMs, at) })
        .where(
          and(
            // Locked in id order, like the pipeline's batched writes: the heartbeat never deadlocks with them.
            inArray(
              shopifyOrders.id,
              db
                .select({ id: shopifyOrders.id })
                .from(shopifyOrders)
                .where(inArray(shopifyOrders.id, claims.map((claim) => claim.id)))
                .orderBy(asc(shopifyOrders.id))
                .for('update'),
            ),
            inArray(shopifyOrders.leaseToken, claims.map((claim) => claim.token)),
            sql`${shopifyOrders.leaseUntil} >= ${timeOf(at)}`,
          ),
        )
        .returning({ id: shopifyOrders.id });
      return new Set(rows.map((row) => row.id));
    },

    async markSending(id, token, operation, leaseMs, at) {
      const rows = await db
        .update(shopifyOrders)
        .set({
          erpSending: operation,
          erpSentAt: timeOf(at),
          leaseUntil: leaseUntil(leaseMs, at),
          ...(operation === 'create'
            ? { createSentAt: timeOf(at), createAttemptedAt: sql`coalesce(${shopifyOrders.createAttemptedAt}, ${timeOf(at)})` }
            : {}),
          updatedAt: sql`now()`,
        })
        .where(and(eq(shopifyOrders.id, id), eq(shopifyOrders.leaseToken, token), sql`${shopifyOrders.leaseUntil} >= ${timeOf(at)}`))
        .returning({ sentAt: shopifyOrders.erpSentAt });
      return rows[0]?.sentAt ?? null;
    },

    async markSendingMany(claims, leaseMs, at) {
      const sent = new Map<string, Date>();
      if (claims.length === 0) return sent;
      const t = timeOf(at);
      const result = await db.execute(sql`
        update ${shopifyOrders} set
          erp_sending = k.operation,
          erp_sent_at = ${t},
          lease_until = ${leaseUntil(leaseMs, at)},
          create_sent_at = case when k.operation = 'create' then ${t} else ${shopifyOrders.createSentAt} end,
          create_attempted_at = case when k.operation = 'create' then coalesce(${shopifyOrders.createAttemptedAt}, ${t}) else ${shopifyOrders.createAttemptedAt} end,
          updated_at = now()
        from jsonb_to_recordset(${jsonParam(claims.map((claim) => ({ id: claim.id, token: claim.token, operation: claim.operation })))}) as k(id uuid, token text, operation text)
        where ${shopifyOrders.id} = k.id and ${shopifyOrders.leaseToken} = k.token and ${shopifyOrders.leaseUntil} >= ${t}
          -- Rows locked in id order, as every multi-row write of claims does: no two of them deadlock.
          and ${shopifyOrders.id} in (select ${shopifyOrders.id} from ${shopifyOrders} where ${shopifyOrders.id} in (select (j->>'id')::uuid from jsonb_array_elements(${jsonParam(claims.map((claim) => ({ id: claim.id })))}) j) order by ${shopifyOrders.id} for update)
        returning ${shopifyOrders.id} as id, k.token as token, (extract(epoch from ${shopifyOrders.erpSentAt}) * 1000)::float8 as sent_ms`);
      for (const row of rowsOf<{ id: string; token: string; sent_ms: number | string }>(result)) sent.set(claimKey(row.id, row.token), new Date(Number(row.sent_ms)));
      return sent;
    },

    async lockForWriteBack(tx, ids) {
      const locked = new Map<string, { order: OrderRecord; hasPendingReturns: boolean }>();
      if (ids.length === 0) return locked;
      const rows = await tx
        .select()
        .from(shopifyOrders)
        .where(inArray(shopifyOrders.id, [...ids]))
        .orderBy(asc(shopifyOrders.id))
        .for('update');
      // Read after the locks are held (a statement of its own, so with a fresh snapshot): a return
      // recorded by a transaction that held an order's lock before this one is seen.
      const withReturns = await tx
        .selectDistinct({ orderId: orderReturns.orderId })
        .from(orderReturns)
        .where(and(inArray(orderReturns.orderId, [...ids]), inArray(orderReturns.status, ['PENDING', 'IN_DOUBT'])));
      const returning = new Set(withReturns.map((row) => row.orderId));
      for (const row of rows) locked.set(row.id, { order: toOrder(row), hasPendingReturns: returning.has(row.id) });
      return locked;
    },

    async releaseSubmitted(tx, rows, at) {
      if (rows.length === 0) return new Set();
      const t = timeOf(at);
      const values = rows.map((row) => ({
        id: row.id,
        token: row.token,
        erp_reference: row.erpReference,
        submitted_digest: row.submittedDigest,
        submitted_at: row.submittedAt.toISOString(),
        due_now: row.dueNow,
        flags: row.flags,
      }));
      const result = await tx.execute(sql`
        update ${shopifyOrders} set
          status = 'SUBMITTED',
          erp_reference = k.erp_reference,
          erp_sending = null,
          submitted_digest = k.submitted_digest,
          submitted_at = k.submitted_at,
          attempts = 0,
          last_error = null,
          last_error_code = null,
          next_attempt_at = case when k.due_now then ${t} else null end,
          flags = coalesce(k.flags, ${shopifyOrders.flags}),
          lease_owner = null,
          lease_token = null,
          lease_until = null,
          updated_at = now()
        from jsonb_to_recordset(${jsonParam(values)})
          as k(id uuid, token text, erp_reference text, submitted_digest text, submitted_at timestamptz, due_now boolean, flags jsonb)
        where ${shopifyOrders.id} = k.id and ${shopifyOrders.leaseToken} = k.token
        returning ${shopifyOrders.id} as id, k.token as token`);
      return new Set(rowsOf<{ id: string; token: string }>(result).map((row) => claimKey(row.id, row.token)));
    },

    async updateUnderClaim(id, token, changes) {
      const { due, ...columns } = changes;
      const rows = await db
        .update(shopifyOrders)
        .set({ ...columns, ...(due !== undefined ? { nextAttemptAt: dueValue(due) } : {}), updatedAt: sql`now()` })
        .where(and(eq(shopifyOrders.id, id), eq(shopifyOrders.leaseToken, token)))
        .returning({ id: shopifyOrders.id });
      return rows.length > 0;
    },

    async updateAndRelease(tx, id, token, changes, at) {
      const { due, ...columns } = changes;
      const rows = await tx
        .update(shopifyOrders)
        .set({
          ...columns,
          ...(due !== undefined ? { nextAttemptAt: dueValue(due, at) } : {}),
          leaseOwner: null,
          leaseToken: null,
          leaseUntil: null,
          updatedAt: sql`now()`,
        })
        .where(and(eq(shopifyOrders.id, id), eq(shopifyOrders.leaseToken, token)))
        .returning({ id: shopifyOrders.id });
      return rows.length > 0;
    },

    async dueWaitingForMapping(shop) {
      const rows = await db
        .update(shopifyOrders)
        .set({ nextAttemptAt: sql`now()` })
        .where(and(eq(shopifyOrders.shop, shop), eq(shopifyOrders.status, 'RECEIVED'), eq(shopifyOrders.lastErrorCode, 'UNMAPPED_LINE')))
        .returning({ id: shopifyOrders.id });
      return rows.length;
    },

    async nextDueAt() {
      const [row] = await db
        // A claimed order is due again only when its claim lapses (greatest() skips a null lease).
        .select({ at: sql<Date | string | null>`min(greatest(${shopifyOrders.nextAttemptAt}, ${shopifyOrders.leaseUntil}))` })
        .from(shopifyOrders)
        .where(sql`${shopifyOrders.nextAttemptAt} is not null`);
      return row?.at ? new Date(row.at) : null;
    },

    async list(shop, filter, page) {
      const conditions = listConditions(shop, filter);
      // Both keys descend, so one row comparison continues the page (and the list index serves it).
      if (page.after) conditions.push(sql`(${shopifyOrders.receivedAt}, ${shopifyOrders.id}) < (${page.after.receivedAt}::timestamptz, ${page.after.id}::uuid)`);
      const rows = await db
        .select({ row: shopifyOrders, receivedAtKey })
        .from(shopifyOrders)
        .where(and(...conditions))
        .orderBy(desc(shopifyOrders.receivedAt), desc(shopifyOrders.id))
        .limit(page.first);
      return rows.map(({ row, receivedAtKey: key }) => ({ order: toOrder(row), receivedAtKey: key }));
    },

    async count(shop, filter) {
      const [row] = await db
        .select({ count: sql<number>`count(*)::int` })
        .from(shopifyOrders)
        .where(and(...listConditions(shop, filter)));
      return Number(row?.count ?? 0);
    },

    async queueReplay(shop, filter, limit) {
      const candidates = db
        .select({ id: shopifyOrders.id })
        .from(shopifyOrders)
        .where(and(...listConditions(shop, { ...filter, replayable: true }), sql`(${shopifyOrders.leaseUntil} is null or ${shopifyOrders.leaseUntil} < now())`))
        .orderBy(desc(shopifyOrders.receivedAt), desc(shopifyOrders.id))
        .limit(limit)
        .for('update', { skipLocked: true });
      const rows = await db
        .update(shopifyOrders)
        .set({
          status: sql`(case when ${shopifyOrders.status} = 'FAILED' then 'RECEIVED' else ${shopifyOrders.status} end)`,
          linesDigest: sql`(case when ${shopifyOrders.status} = 'FAILED' then null else ${shopifyOrders.linesDigest} end)`,
          attempts: 0,
          lastError: null,
          lastErrorCode: null,
          nextAttemptAt: sql`now()`,
          updatedAt: sql`now()`,
        })
        .where(and(inArray(shopifyOrders.id, candidates), REPLAYABLE))
        .returning();
      return rows.map(toOrder).sort((a, b) => b.receivedAt.getTime() - a.receivedAt.getTime());
    },

    async awaitingAllocation(shop, limit, checkedBefore) {
      const rows = await db
        .select()
        .from(shopifyOrders)
        .where(
          and(
            awaitingAllocationOf(shop),
            checkedBefore ? or(isNull(shopifyOrders.allocationCheckedAt), lt(shopifyOrders.allocationCheckedAt, checkedBefore)) : undefined,
          ),
        )
        .orderBy(sql`${shopifyOrders.allocationCheckedAt} asc nulls first`, asc(shopifyOrders.submittedAt))
        .limit(limit);
      return rows.map(toOrder);
    },

    async awaitingAllocationOf(shop, shopifyOrderIds) {
      if (shopifyOrderIds.length === 0) return [];
      const rows = await db
        .select()
        .from(shopifyOrders)
        .where(and(awaitingAllocationOf(shop), inArray(shopifyOrders.shopifyOrderId, [...new Set(shopifyOrderIds)])));
      return rows.map(toOrder);
    },

    async insertReturn(tx, input) {
      const rows = await tx
        .insert(orderReturns)
        .values(input)
        .onConflictDoNothing({ target: [orderReturns.shop, orderReturns.shopifyRefundId] })
        .returning({ id: orderReturns.id });
      return rows.length > 0;
    },

    async pendingReturns(tx, orderId) {
      const rows = await tx
        .select()
        .from(orderReturns)
        .where(and(eq(orderReturns.orderId, orderId), inArray(orderReturns.status, ['PENDING', 'IN_DOUBT'])))
        .orderBy(asc(orderReturns.createdAt));
      return rows.map((row) => ({ id: row.id, shopifyRefundId: row.shopifyRefundId, lines: row.lines, status: row.status, sentAt: row.sentAt }));
    },

    async finishReturn(id, token, result) {
      const settled = result.status === 'DONE' || result.status === 'FLAGGED';
      const rows = await db
        .update(orderReturns)
        .set({
          status: result.status,
          erpReference: result.erpReference ?? null,
          lastError: result.lastError ?? null,
          ...(result.sentAt !== undefined ? { sentAt: result.sentAt } : {}),
          processedAt: settled ? sql`now()` : null,
        })
        .where(and(eq(orderReturns.id, id), sql`exists (select 1 from ${shopifyOrders} where ${shopifyOrders.id} = ${orderReturns.orderId} and ${shopifyOrders.leaseToken} = ${token})`))
        .returning({ id: orderReturns.id });
      return rows.length > 0;
    },

    async markReturnSending(id, token, at) {
      const rows = await db
        .update(orderReturns)
        .set({ sentAt: timeOf(at) })
        .where(
          and(
            eq(orderReturns.id, id),
            sql`exists (select 1 from ${shopifyOrders} where ${shopifyOrders.id} = ${orderReturns.orderId} and ${shopifyOrders.leaseToken} = ${token} and ${shopifyOrders.leaseUntil} >= ${timeOf(at)})`,
          ),
        )
        .returning({ sentAt: orderReturns.sentAt });
      return rows[0]?.sentAt ?? null;
    },

    async pollState(shop) {
      // Whole seconds: Shopify stores order times to the second, so an order placed in the same
      // second as the first start is not taken for an older one.
      await db
        .insert(orderPollState)
        .values({ shop, cutoverAt: sql`date_trunc('second', now())`, watermark: sql`date_trunc('second', now())` })
        .onConflictDoNothing({ target: orderPollState.shop });
      const [row] = await db.select().from(orderPollState).where(eq(orderPollState.shop, shop));
      return { cutoverAt: row!.cutoverAt, watermark: row!.watermark };
    },

    async setPollWatermark(shop, watermark) {
      await db
        .update(orderPollState)
        .set({ watermark, lastRunAt: sql`now()` })
        .where(and(eq(orderPollState.shop, shop), or(lt(orderPollState.watermark, watermark), eq(orderPollState.watermark, watermark))!));
    },
  };
  return repository;
}
