import { and, asc, desc, eq, inArray, lt, sql, type SQL } from 'drizzle-orm';
import { acknowledgementStatements, type Db } from '../db/database.js';
import { webhookInbox, type WebhookInboxStatus } from '../db/schema/index.js';
import { AppError } from '../shared/errors.js';
import type { WebhookDeliveryRecord } from './order.models.js';

/**
 * The webhook inbox: one row per signed delivery. Inserting is the only work done before Shopify
 * gets its 200; everything else reads rows back later, claimed with `for update skip locked` so
 * any number of instances drain it together without taking the same row.
 */

export interface NewDelivery {
  readonly shop: string;
  readonly webhookId: string;
  readonly eventId: string | null;
  readonly topic: string;
  readonly apiVersion: string | null;
  readonly triggeredAt: Date | null;
  readonly body: string;
  readonly orderRef: string | null;
  /** PENDING to be applied, or FAILED at once (a body that does not parse). */
  readonly status: 'PENDING' | 'FAILED';
  readonly lastError: string | null;
}

type InboxRow = typeof webhookInbox.$inferSelect;

function toDelivery(row: InboxRow): WebhookDeliveryRecord {
  return {
    id: row.id,
    shop: row.shop,
    webhookId: row.webhookId,
    eventId: row.eventId,
    topic: row.topic,
    apiVersion: row.apiVersion,
    triggeredAt: row.triggeredAt,
    receivedAt: row.receivedAt,
    orderRef: row.orderRef,
    status: row.status,
    attempts: row.attempts,
    nextAttemptAt: row.nextAttemptAt,
    lastError: row.lastError,
    outcome: row.outcome,
    processedAt: row.processedAt,
    body: row.body,
  };
}

export interface DeliveryFilter {
  readonly status?: WebhookInboxStatus | null;
  readonly topic?: string | null;
  readonly orderRef?: string | null;
  /** Inbox ids (an empty list matches nothing). */
  readonly ids?: readonly number[] | null;
  /** Received at or after. */
  readonly receivedAfter?: Date | null;
  /** Received before. */
  readonly receivedBefore?: Date | null;
  /** Only deliveries a replay can help (see REPLAYABLE). */
  readonly replayable?: boolean | null;
}

/**
 * A delivery a replay can help: FAILED with its body still there (not redacted), or PENDING and
 * waiting after an error (a refund before its order, a failed apply) until its next attempt.
 */
const REPLAYABLE = sql`((${webhookInbox.status} = 'FAILED' and ${webhookInbox.redactedAt} is null)
  or (${webhookInbox.status} = 'PENDING' and ${webhookInbox.lastError} is not null and ${webhookInbox.nextAttemptAt} > now()))`;

/** `shop` null: every shop's deliveries (the CLI on the demo's database, whose shop it does not know). */
function deliveryConditions(shop: string | null, filter: DeliveryFilter): SQL[] {
  const conditions: SQL[] = [];
  if (shop !== null) conditions.push(eq(webhookInbox.shop, shop));
  if (filter.status) conditions.push(eq(webhookInbox.status, filter.status));
  if (filter.topic) conditions.push(eq(webhookInbox.topic, filter.topic));
  if (filter.orderRef) conditions.push(eq(webhookInbox.orderRef, filter.orderRef));
  if (filter.ids) conditions.push(filter.ids.length > 0 ? inArray(webhookInbox.id, [...filter.ids]) : sql`false`);
  if (filter.receivedAfter) conditions.push(sql`${webhookInbox.receivedAt} >= ${filter.receivedAfter.toISOString()}::timestamptz`);
  if (filter.receivedBefore) conditions.push(sql`${webhookInbox.receivedAt} < ${filter.receivedBefore.toISOString()}::timestamptz`);
  if (filter.replayable) conditions.push(REPLAYABLE);
  return conditions;
}

/**
 * The in-memory queue of deliveries waiting for the next statement is full: nothing of this
 * delivery was stored. The route answers 503, and Shopify sends the delivery again later.
 */
export class WebhookInboxFullError extends AppError {
  constructor(queued: number, queuedBytes: number) {
    super('WEBHOOK_INBOX_FULL', 'the webhook inbox is saturated; retry later', { queued, queuedBytes });
  }
}

export interface WebhookInboxQueueLimits {
  /** Most deliveries waiting for a statement (default 2,000). */
  readonly maxQueued?: number;
  /** Most body bytes waiting for a statement (default 64 MiB): bodies may be up to WEBHOOK_MAX_BYTES each. */
  readonly maxQueuedBytes?: number;
}

export interface WebhookInboxRepository {
  /**
   * Stores a delivery (committed when the promise resolves); false when a delivery with this
   * webhook id, or of the same topic with this event id (X-Shopify-Event-Id), is already stored.
   * Deliveries arriving while a write is in flight are written together in the next statement:
   * one round trip and one commit for many webhooks under load, no added wait when there is no
   * load. The queue is bounded: when it is full the promise rejects at once with
   * WebhookInboxFullError and nothing is stored (a delivery resolved true is committed, always).
   */
  insert(delivery: NewDelivery): Promise<boolean>;
  /**
   * Acknowledgements first: resolves once no delivery waits for or is in an insert (at once when
   * none does), or after `maxWaitMs`. The inbox drain awaits it before each batch, so under a
   * flood of webhooks its transactions take turns with the acknowledgements' inserts (and batch
   * what arrived meanwhile) instead of queueing in front of them.
   */
  whenWritesIdle(maxWaitMs: number): Promise<void>;
  /** What the acknowledgements' writes cost so far (benchmarks and tests read it). */
  writeStats(): WebhookInboxWriteStats;
  /**
   * Due PENDING rows that no drain holds, to prepare their mapping before claiming them. Read
   * `FOR SHARE SKIP LOCKED` in a statement of its own: the rows another instance's batch has
   * claimed are passed over (this one peeks the next ones instead of waiting on the same), and
   * the share locks end with the statement.
   */
  peekDue(limit: number): Promise<Array<Pick<WebhookDeliveryRecord, 'id' | 'topic' | 'body'>>>;
  /**
   * Of the rows `peekDue` gave, those still PENDING and due, locked for the caller's
   * transaction; others skip them. Only peeked rows: the drain prepared their mapping, and a
   * delivery stored since waits for the next batch instead of being recorded unmapped.
   */
  claimDue(tx: Db, ids: readonly number[]): Promise<WebhookDeliveryRecord[]>;
  complete(tx: Db, id: number, result: { status: 'DONE' | 'FAILED' | 'IGNORED'; outcome: string; lastError?: string | null }): Promise<void>;
  /** Settles many rows with the same outcome in one statement. */
  completeMany(tx: Db, ids: readonly number[], result: { status: 'DONE' | 'FAILED' | 'IGNORED'; outcome: string }): Promise<void>;
  /** Leaves the row PENDING and tries it again after `delayMs`. */
  postpone(tx: Db, id: number, delayMs: number, reason: string): Promise<void>;
  /** When the next PENDING row falls due (null: none). */
  nextDueAt(): Promise<Date | null>;
  find(id: number): Promise<WebhookDeliveryRecord | null>;
  /** Newest first; `afterId` is the last id of the previous page; `shop` null: every shop's. */
  list(shop: string | null, filter: DeliveryFilter, page: { first: number; afterId: number | null }): Promise<WebhookDeliveryRecord[]>;
  /** How many deliveries match `filter` (one count). */
  count(shop: string | null, filter: DeliveryFilter): Promise<number>;
  /**
   * Puts up to `limit` of the replayable deliveries `filter` matches (newest first) back in the
   * queue, due now with their attempts reset: a FAILED one PENDING again, a waiting one due at
   * once. Rows a drain holds right now are skipped. Returns the rows as queued, newest first.
   */
  queueReplay(shop: string | null, filter: DeliveryFilter, limit: number): Promise<WebhookDeliveryRecord[]>;
  countByStatus(shop: string): Promise<Record<WebhookInboxStatus, number>>;
  /**
   * True when an order delivery (`orders/*`: one that can record the order) about this order is
   * stored and not yet applied. A waiting refund does not count: it waits for the order.
   */
  hasPendingOrderFor(shop: string, orderRef: string): Promise<boolean>;
}

/** Counters of the acknowledgements' writes since the repository was made. */
export interface WebhookInboxWriteStats {
  /** Insert statements sent: each is one round trip and one commit. */
  readonly statements: number;
  /** Deliveries those statements carried (duplicates included). */
  readonly deliveries: number;
  /** Most statements that were in flight at once. */
  readonly maxInFlight: number;
  /** Sum over statements of their round trip, sent → answered (ms). */
  readonly statementMs: number;
  /** Sum over deliveries of insert() → settled: the wait for a statement plus its round trip (ms). */
  readonly deliveryMs: number;
}

/** Most deliveries written in one statement. */
const MAX_INSERT_BATCH = 200;

/**
 * One statement for any number of deliveries, with the same text every time: ten array
 * parameters, unnested into rows in their order, so it is prepared once per connection and each
 * batch is one round trip (Drizzle's insert builder also cost CPU per row and column: tens of ms
 * for a large batch on a loaded machine, on the event loop every acknowledgement shares). A row
 * whose webhook id or event is stored already is left out (`on conflict do nothing`): the ids
 * returned are the deliveries stored. Times go as text, cast in the statement.
 */
const INSERT_DELIVERIES = `insert into webhook_inbox
    (shop, webhook_id, event_id, topic, api_version, triggered_at, body, order_ref, status, last_error, next_attempt_at, processed_at, outcome)
  select d.shop, d.webhook_id, d.event_id, d.topic, d.api_version, d.triggered_at::timestamptz, d.body, d.order_ref, d.status, d.last_error,
    case when d.status = 'PENDING' then now() end,
    case when d.status = 'FAILED' then now() end,
    case when d.status = 'FAILED' then 'malformed body' end
  from unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[], $9::text[], $10::text[])
    as d(shop, webhook_id, event_id, topic, api_version, triggered_at, body, order_ref, status, last_error)
  on conflict do nothing
  returning webhook_id as "webhookId"`;

function insertParameters(deliveries: readonly NewDelivery[]): string[][] {
  const column = (pick: (delivery: NewDelivery) => string | null) => deliveries.map(pick) as string[];
  return [
    column((d) => d.shop),
    column((d) => d.webhookId),
    column((d) => d.eventId),
    column((d) => d.topic),
    column((d) => d.apiVersion),
    column((d) => d.triggeredAt?.toISOString() ?? null),
    column((d) => d.body),
    column((d) => d.orderRef),
    column((d) => d.status),
    column((d) => d.lastError),
  ];
}

/**
 * The same event delivered twice under different webhook ids (two subscriptions to one topic,
 * say) shares `X-Shopify-Event-Id`. The topic is part of the key: one merchant action may raise
 * events of several topics, and each of them must be applied.
 */
function eventKeyOf(delivery: NewDelivery): string | null {
  return delivery.eventId ? `${delivery.shop}\u0000${delivery.topic}\u0000${delivery.eventId}` : null;
}

export function createWebhookInboxRepository(db: Db, limits: WebhookInboxQueueLimits = {}): WebhookInboxRepository {
  const maxQueued = limits.maxQueued ?? 2_000;
  const maxQueuedBytes = limits.maxQueuedBytes ?? 64 * 1024 * 1024;
  // Acknowledgements write through their own connections when the database has them, so they
  // never wait behind the pipeline's transactions for a pooled connection; one statement per
  // reserved connection may be in flight (a slow commit does not hold the deliveries behind it).
  const writer = acknowledgementStatements(db);
  const maxInFlight = writer.concurrency;
  type Waiting = { delivery: NewDelivery; keys: string[]; bytes: number; queuedAt: number; resolve: (stored: boolean) => void; reject: (error: unknown) => void };
  let waiting: Waiting[] = [];
  let queuedBytes = 0;
  let inFlight = 0;
  // Webhook ids and events of the statements in flight: a delivery naming one waits for that
  // statement (then it is a duplicate), so two statements in flight never insert the same key,
  // and never wait on each other's rows (no deadlock between them).
  const keysInFlight = new Set<string>();
  const idleWaiters = new Set<() => void>();
  const stats = { statements: 0, deliveries: 0, maxInFlight: 0, statementMs: 0, deliveryMs: 0 };

  async function insertMany(deliveries: readonly NewDelivery[]): Promise<Set<string>> {
    const started = performance.now();
    try {
      const inserted = await writer.run<{ webhookId: string }>(INSERT_DELIVERIES, insertParameters(deliveries));
      return new Set(inserted.map((row) => row.webhookId));
    } finally {
      stats.statements += 1;
      stats.statementMs += performance.now() - started;
    }
  }

  /** Takes the next statement's deliveries: the oldest waiting whose keys are not in flight. */
  function nextBatch(): Waiting[] {
    const batch: Waiting[] = [];
    const rest: Waiting[] = [];
    for (const entry of waiting) {
      if (batch.length < MAX_INSERT_BATCH && !entry.keys.some((key) => keysInFlight.has(key))) batch.push(entry);
      else rest.push(entry);
    }
    waiting = rest;
    return batch;
  }

  function pump(): void {
    while (inFlight < maxInFlight && waiting.length > 0) {
      const batch = nextBatch();
      if (batch.length === 0) return;
      inFlight += 1;
      stats.maxInFlight = Math.max(stats.maxInFlight, inFlight);
      void write(batch);
    }
  }

  async function write(batch: readonly Waiting[]): Promise<void> {
    const keys: string[] = [];
    // The same webhook id (or event) twice in one batch: the first is the delivery, the others duplicates.
    const first = new Map<string, Waiting>();
    const events = new Set<string>();
    for (const entry of batch) {
      queuedBytes -= entry.bytes;
      keys.push(...entry.keys);
      const eventKey = eventKeyOf(entry.delivery);
      if (first.has(entry.delivery.webhookId) || (eventKey && events.has(eventKey))) continue;
      first.set(entry.delivery.webhookId, entry);
      if (eventKey) events.add(eventKey);
    }
    for (const key of keys) keysInFlight.add(key);
    try {
      const stored = await insertMany([...first.values()].map((entry) => entry.delivery));
      for (const entry of batch) entry.resolve(first.get(entry.delivery.webhookId) === entry && stored.has(entry.delivery.webhookId));
    } catch (error) {
      for (const entry of batch) entry.reject(error);
    } finally {
      const settledAt = performance.now();
      stats.deliveries += batch.length;
      for (const entry of batch) stats.deliveryMs += settledAt - entry.queuedAt;
      for (const key of keys) keysInFlight.delete(key);
      inFlight -= 1;
      pump();
      if (inFlight === 0 && waiting.length === 0) {
        for (const resolve of idleWaiters) resolve();
        idleWaiters.clear();
      }
    }
  }

  return {
    insert(delivery) {
      const bytes = Buffer.byteLength(delivery.body);
      // Bounded, so a database that stalls under a flood cannot make this process hold every
      // body in memory; the refused deliveries wait at Shopify, which retries them for hours.
      if (waiting.length >= maxQueued || (waiting.length > 0 && queuedBytes + bytes > maxQueuedBytes)) {
        return Promise.reject(new WebhookInboxFullError(waiting.length, queuedBytes));
      }
      const eventKey = eventKeyOf(delivery);
      const keys = eventKey ? [`w\u0000${delivery.webhookId}`, `e\u0000${eventKey}`] : [`w\u0000${delivery.webhookId}`];
      return new Promise<boolean>((resolve, reject) => {
        waiting.push({ delivery, keys, bytes, queuedAt: performance.now(), resolve, reject });
        queuedBytes += bytes;
        pump();
      });
    },

    writeStats() {
      return { ...stats };
    },

    whenWritesIdle(maxWaitMs) {
      if (inFlight === 0 && waiting.length === 0) return Promise.resolve();
      return new Promise<void>((resolve) => {
        const done = () => {
          clearTimeout(timer);
          idleWaiters.delete(done);
          resolve();
        };
        const timer = setTimeout(done, Math.max(0, maxWaitMs));
        idleWaiters.add(done);
      });
    },

    async peekDue(limit) {
      return db
        .select({ id: webhookInbox.id, topic: webhookInbox.topic, body: webhookInbox.body })
        .from(webhookInbox)
        .where(and(eq(webhookInbox.status, 'PENDING'), sql`${webhookInbox.nextAttemptAt} <= now()`))
        .orderBy(asc(webhookInbox.nextAttemptAt), asc(webhookInbox.id))
        .limit(limit)
        .for('share', { skipLocked: true });
    },

    async claimDue(tx, ids) {
      if (ids.length === 0) return [];
      const rows = await tx
        .select()
        .from(webhookInbox)
        .where(and(inArray(webhookInbox.id, [...ids]), eq(webhookInbox.status, 'PENDING'), sql`${webhookInbox.nextAttemptAt} <= now()`))
        .orderBy(asc(webhookInbox.nextAttemptAt), asc(webhookInbox.id))
        .for('update', { skipLocked: true });
      return rows.map(toDelivery);
    },

    async complete(tx, id, result) {
      await tx
        .update(webhookInbox)
        .set({
          status: result.status,
          outcome: result.outcome,
          lastError: result.lastError ?? null,
          attempts: sql`${webhookInbox.attempts} + 1`,
          nextAttemptAt: null,
          processedAt: sql`now()`,
        })
        .where(eq(webhookInbox.id, id));
    },

    async completeMany(tx, ids, result) {
      if (ids.length === 0) return;
      await tx
        .update(webhookInbox)
        .set({ status: result.status, outcome: result.outcome, lastError: null, attempts: sql`${webhookInbox.attempts} + 1`, nextAttemptAt: null, processedAt: sql`now()` })
        .where(inArray(webhookInbox.id, [...ids]));
    },

    async postpone(tx, id, delayMs, reason) {
      await tx
        .update(webhookInbox)
        .set({
          attempts: sql`${webhookInbox.attempts} + 1`,
          nextAttemptAt: sql`now() + ${Math.max(0, Math.round(delayMs))} * interval '1 millisecond'`,
          lastError: reason,
        })
        .where(eq(webhookInbox.id, id));
    },

    async nextDueAt() {
      const [row] = await db
        .select({ at: sql<Date | string | null>`min(${webhookInbox.nextAttemptAt})` })
        .from(webhookInbox)
        .where(eq(webhookInbox.status, 'PENDING'));
      return row?.at ? new Date(row.at) : null;
    },

    async find(id) {
      const [row] = await db.select().from(webhookInbox).where(eq(webhookInbox.id, id));
      return row ? toDelivery(row) : null;
    },

    async list(shop, filter, page) {
      const conditions = deliveryConditions(shop, filter);
      if (page.afterId !== null) conditions.push(lt(webhookInbox.id, page.afterId));
      const rows = await db
        .select()
        .from(webhookInbox)
        .where(and(...conditions))
        .orderBy(desc(webhookInbox.id))
        .limit(page.first);
      return rows.map(toDelivery);
    },

    async count(shop, filter) {
      const [row] = await db
        .select({ count: sql<number>`count(*)::int` })
        .from(webhookInbox)
        .where(and(...deliveryConditions(shop, filter)));
      return Number(row?.count ?? 0);
    },

    async queueReplay(shop, filter, limit) {
      const candidates = db
        .select({ id: webhookInbox.id })
        .from(webhookInbox)
        .where(and(...deliveryConditions(shop, { ...filter, replayable: true })))
        .orderBy(desc(webhookInbox.id))
        .limit(limit)
        .for('update', { skipLocked: true });
      const rows = await db
        .update(webhookInbox)
        .set({ status: 'PENDING', attempts: 0, nextAttemptAt: sql`now()`, lastError: null, outcome: null, processedAt: null })
        .where(and(inArray(webhookInbox.id, candidates), REPLAYABLE))
        .returning();
      return rows.map(toDelivery).sort((a, b) => b.id - a.id);
    },

    async hasPendingOrderFor(shop, orderRef) {
      const rows = await db
        .select({ id: webhookInbox.id })
        .from(webhookInbox)
        .where(and(eq(webhookInbox.shop, shop), eq(webhookInbox.orderRef, orderRef), eq(webhookInbox.status, 'PENDING'), sql`${webhookInbox.topic} like 'orders/%'`))
        .limit(1);
      return rows.length > 0;
    },

    async countByStatus(shop) {
      const rows = await db
        .select({ status: webhookInbox.status, count: sql<number>`count(*)::int` })
        .from(webhookInbox)
        .where(eq(webhookInbox.shop, shop))
        .groupBy(webhookInbox.status);
      const counts: Record<WebhookInboxStatus, number> = { PENDING: 0, DONE: 0, FAILED: 0, IGNORED: 0 };
      for (const row of rows) counts[row.status] = Number(row.count);
      return counts;
    },
  };
}
