import { createHmac, randomUUID } from 'node:crypto';
import { Agent, request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { Logger } from 'pino';
import type { SimulatorClock, TimerHandle } from './clock.js';
import { gid } from './gid.js';
import type { Random } from './random.js';
import { restFulfillment, restInventoryLevel, restOrder, restRefund } from './rest-payloads.js';
import type { ShopEvent, WebhookSubscriptionRecord } from './shop-state.models.js';
import type { ShopState } from './shop-state.js';

/**
 * Sends the shop's events to webhook subscriptions the way Shopify does: a POST of the REST
 * resource, signed with the app's client secret, with every `X-Shopify-*` header. Delivery is at
 * least once: a non-2xx answer or no answer within the timeout is retried on Shopify's schedule
 * (8 retries over 4 hours, compressed by `timeScale`) with the original payload; a retry keeps
 * its delivery's Webhook-Id, and every delivery of one event shares its Event-Id. When the last
 * retry fails, the subscription is deleted, as Shopify does for API-created subscriptions.
 * Chaos faults (drop, duplicate, reorder, delay) exercise a receiver's idempotency.
 */

/** base64 HMAC-SHA256 of the raw body with the app's client secret: `X-Shopify-Hmac-Sha256`. */
/** Oldest deliveries looked at for one to forget when the history is full (see `remember`). */
const HISTORY_SCAN = 32;

export function signWebhookBody(secret: string, rawBody: string | Buffer | Uint8Array): string {
  return createHmac('sha256', secret).update(rawBody).digest('base64');
}

/** Seconds between attempts: 8 retries, exponential, 4 hours in total. */
export const SHOPIFY_RETRY_SCHEDULE_SECONDS = [60, 120, 240, 480, 960, 1920, 3600, 7020] as const;

export interface WebhookFaults {
  /** Share of events never delivered at all (forces the receiver to reconcile). */
  dropRate?: number;
  /** Only events of these topics are dropped; default every topic. */
  dropTopics?: string[];
  /** Share of deliveries sent twice with the same Webhook-Id. */
  duplicateRate?: number;
  /** Share of deliveries held back by `reorderDelayMs` so later events overtake them. */
  reorderRate?: number;
  /** Simulator-clock milliseconds a reordered delivery is held back. */
  reorderDelayMs?: number;
  /** Simulator-clock milliseconds every first attempt waits. */
  delayMs?: number;
}

export interface WebhookAttempt {
  at: string;
  status: number | null;
  error: string | null;
  durationMs: number;
}

export interface WebhookDelivery {
  webhookId: string;
  eventId: string;
  subscriptionId: string;
  topic: string;
  uri: string;
  name: string | null;
  apiVersion: string;
  triggeredAt: string;
  body: string;
  state: 'pending' | 'delivered' | 'failed' | 'dropped';
  attempts: WebhookAttempt[];
  /** Retries scheduled so far (0 to 8). */
  retries: number;
  nextAttemptAt: string | null;
  duplicated: boolean;
  reordered: boolean;
}

export interface WebhookDispatcherOptions {
  state: ShopState;
  clock: SimulatorClock;
  random: Random;
  logger: Logger;
  apiSecret: () => string;
  shopDomain: string;
  /** Multiplies Shopify's retry schedule (1 = real hours; 0.001 = 14 s in total). */
  timeScale: number;
  /** Real milliseconds a receiver has to answer (Shopify: 5 s). */
  timeoutMs: number;
  maxConcurrent?: number;
  /** Deliveries kept for inspection. */
  historyLimit?: number;
}

/** `orders/create` → `ORDERS_CREATE`, Shopify's `topicForStorage`. */
export function topicEnum(topic: string): string {
  return topic.toUpperCase().replace(/[/.]/g, '_');
}

export function topicPath(topicEnumValue: string): string {
  const known: Record<string, string> = {
    ORDERS_CREATE: 'orders/create',
    ORDERS_UPDATED: 'orders/updated',
    ORDERS_CANCELLED: 'orders/cancelled',
    ORDERS_PAID: 'orders/paid',
    ORDERS_FULFILLED: 'orders/fulfilled',
    ORDERS_PARTIALLY_FULFILLED: 'orders/partially_fulfilled',
    FULFILLMENTS_CREATE: 'fulfillments/create',
    REFUNDS_CREATE: 'refunds/create',
    INVENTORY_LEVELS_UPDATE: 'inventory_levels/update',
    BULK_OPERATIONS_FINISH: 'bulk_operations/finish',
  };
  return known[topicEnumValue] ?? topicEnumValue.toLowerCase().replace('_', '/');
}

export class WebhookDispatcher {
  private readonly deliveries = new Map<string, WebhookDelivery>();
  private readonly queue: (() => Promise<void>)[] = [];
  private readonly inFlight = new Set<Promise<void>>();
  private readonly timers = new Set<TimerHandle>();
  private faults: WebhookFaults = {};
  private closed = false;
  private readonly maxConcurrent: number;
  private readonly historyLimit: number;

  constructor(private readonly options: WebhookDispatcherOptions) {
    this.maxConcurrent = options.maxConcurrent ?? 10;
    this.historyLimit = options.historyLimit ?? 10_000;
    options.state.onEvent((event) => this.handle(event));
  }

  setFaults(faults: WebhookFaults): void {
    this.faults = { ...faults };
  }

  currentFaults(): WebhookFaults {
    return { ...this.faults };
  }

  setTimeScale(timeScale: number): void {
    this.options.timeScale = timeScale;
  }

  list(): WebhookDelivery[] {
    return [...this.deliveries.values()];
  }

  /** Resolves once no delivery is queued or in flight (retries scheduled for later are not awaited). */
  async settle(): Promise<void> {
    for (;;) {
      this.pump();
      if (this.inFlight.size === 0 && this.queue.length === 0) {
        await new Promise((resolve) => setImmediate(resolve));
        if (this.inFlight.size === 0 && this.queue.length === 0) return;
        continue;
      }
      await Promise.allSettled([...this.inFlight]);
    }
  }

  close(): void {
    this.closed = true;
    for (const timer of this.timers) this.options.clock.clearTimeout(timer);
    this.timers.clear();
    this.queue.length = 0;
  }

  private handle(event: ShopEvent): void {
    if (this.closed) return;
    const enumTopic = topicEnum(event.topic);
    const subscriptions = [...this.options.state.webhookSubscriptions.values()].filter((subscription) => subscription.topic === enumTopic);
    if (subscriptions.length === 0) return;
    // The payload is taken now: retries carry the resource as it was when the event happened.
    const payload = this.payloadOf(event);
    const eventId = randomUUID();
    const triggeredAt = new Date(this.options.clock.now()).toISOString();
    for (const subscription of subscriptions) this.enqueueDelivery(subscription, event.topic, payload, eventId, triggeredAt);
  }

  private payloadOf(event: ShopEvent): Record<string, unknown> {
    switch (event.topic) {
      case 'refunds/create':
        return restRefund(event.order, event.refund);
      case 'fulfillments/create':
        return restFulfillment(event.order, event.fulfillment);
      case 'inventory_levels/update':
        return restInventoryLevel(event.level);
      case 'bulk_operations/finish':
        return {
          admin_graphql_api_id: gid('BulkOperation', event.bulkOperation.id),
          completed_at: event.bulkOperation.completedAt === null ? null : new Date(event.bulkOperation.completedAt).toISOString(),
          created_at: new Date(event.bulkOperation.createdAt).toISOString(),
          error_code: event.bulkOperation.errorCode?.toLowerCase() ?? null,
          status: event.bulkOperation.status.toLowerCase(),
          type: event.bulkOperation.type.toLowerCase(),
        };
      default:
        return restOrder(event.order, this.options.shopDomain);
    }
  }

  private enqueueDelivery(subscription: WebhookSubscriptionRecord, topic: string, payload: Record<string, unknown>, eventId: string, triggeredAt: string): void {
    const body = JSON.stringify(subscription.includeFields.length > 0 ? Object.fromEntries(Object.entries(payload).filter(([key]) => subscription.includeFields.includes(key))) : payload);
    const delivery: WebhookDelivery = {
      webhookId: randomUUID(),
      eventId,
      subscriptionId: gid('WebhookSubscription', subscription.id),
      topic,
      uri: subscription.uri,
      name: subscription.name,
      apiVersion: subscription.apiVersion,
      triggeredAt,
      body,
      state: 'pending',
      attempts: [],
      retries: 0,
      nextAttemptAt: null,
      duplicated: false,
      reordered: false,
    };
    this.remember(delivery);
    const random = this.options.random;
    const dropped = random() < (this.faults.dropRate ?? 0);
    if (dropped && (!this.faults.dropTopics || this.faults.dropTopics.includes(topic))) {
      delivery.state = 'dropped';
      this.options.logger.debug({ topic, webhookId: delivery.webhookId }, 'webhook dropped by fault injection');
      return;
    }
    delivery.duplicated = random() < (this.faults.duplicateRate ?? 0);
    delivery.reordered = random() < (this.faults.reorderRate ?? 0);
    const wait = (this.faults.delayMs ?? 0) + (delivery.reordered ? (this.faults.reorderDelayMs ?? 1000) : 0);
    const send = () => this.attempt(delivery, subscription.id, true);
    if (wait > 0) this.schedule(wait, send);
    else this.enqueue(send);
  }

  private remember(delivery: WebhookDelivery): void {
    this.deliveries.set(delivery.webhookId, delivery);
    if (this.deliveries.size > this.historyLimit) {
      // The oldest settled delivery goes. Only the first few are looked at: under a backlog the
      // oldest are all still pending, and scanning past them on every new delivery made the
      // store spend most of its time here at 10,000 orders a minute. The history then overflows
      // for a while, and shrinks again as the backlog is delivered.
      let looked = 0;
      for (const [id, old] of this.deliveries) {
        if (old.state !== 'pending') {
          this.deliveries.delete(id);
          break;
        }
        if (++looked >= HISTORY_SCAN) break;
      }
    }
  }

  private schedule(ms: number, run: () => Promise<void>): void {
    const handle = this.options.clock.setTimeout(() => {
      this.timers.delete(handle);
      this.enqueue(run);
    }, ms);
    this.timers.add(handle);
  }

  private enqueue(run: () => Promise<void>): void {
    if (this.closed) return;
    this.queue.push(run);
    this.pump();
  }

  private pump(): void {
    while (this.inFlight.size < this.maxConcurrent && this.queue.length > 0) {
      const run = this.queue.shift()!;
      const promise: Promise<void> = run()
        .catch((error: unknown) => this.options.logger.error({ err: error }, 'webhook delivery crashed'))
        .finally(() => {
          this.inFlight.delete(promise);
          this.pump();
        });
      this.inFlight.add(promise);
    }
  }

  private async attempt(delivery: WebhookDelivery, subscriptionId: number, first: boolean): Promise<void> {
    if (this.closed) return;
    const subscription = this.options.state.webhookSubscriptions.get(subscriptionId);
    if (!subscription && delivery.state === 'pending') {
      delivery.state = 'failed';
      delivery.nextAttemptAt = null;
      return;
    }
    const status = await this.post(delivery);
    if (first && delivery.duplicated) this.enqueue(() => this.post(delivery).then(() => undefined));
    if (status.ok) {
      delivery.state = 'delivered';
      delivery.nextAttemptAt = null;
      return;
    }
    if (delivery.state === 'delivered') return;
    if (delivery.retries >= SHOPIFY_RETRY_SCHEDULE_SECONDS.length) {
      delivery.state = 'failed';
      delivery.nextAttemptAt = null;
      if (this.options.state.deleteWebhookSubscription(subscriptionId) !== null) {
        this.options.logger.warn({ topic: delivery.topic, uri: delivery.uri }, 'webhook subscription deleted after its deliveries kept failing');
      }
      return;
    }
    const delayMs = SHOPIFY_RETRY_SCHEDULE_SECONDS[delivery.retries]! * 1000 * this.options.timeScale;
    delivery.retries++;
    delivery.nextAttemptAt = new Date(this.options.clock.now() + delayMs).toISOString();
    this.schedule(delayMs, () => this.attempt(delivery, subscriptionId, false));
  }

  private async post(delivery: WebhookDelivery): Promise<{ ok: boolean }> {
    const started = performance.now();
    const headers: Record<string, string> = {
      'Content-Type': 'application/json',
      'User-Agent': 'Shopify-Captain-Hook',
      'X-Shopify-Topic': delivery.topic,
      'X-Shopify-Hmac-Sha256': signWebhookBody(this.options.apiSecret(), delivery.body),
      'X-Shopify-Shop-Domain': this.options.shopDomain,
      'X-Shopify-API-Version': delivery.apiVersion,
      'X-Shopify-Webhook-Id': delivery.webhookId,
      'X-Shopify-Event-Id': delivery.eventId,
      'X-Shopify-Triggered-At': delivery.triggeredAt,
    };
    if (delivery.name) headers['X-Shopify-Name'] = delivery.name;
    const attempt: WebhookAttempt = { at: new Date(this.options.clock.now()).toISOString(), status: null, error: null, durationMs: 0 };
    delivery.attempts.push(attempt);
    try {
      const status = await postOnce(delivery.uri, headers, delivery.body, this.options.timeoutMs);
      attempt.status = status;
      attempt.durationMs = Math.round(performance.now() - started);
      this.options.logger.debug({ topic: delivery.topic, webhookId: delivery.webhookId, status }, 'webhook delivered');
      return { ok: status >= 200 && status < 300 };
    } catch (error) {
      attempt.durationMs = Math.round(performance.now() - started);
      attempt.error = error instanceof Error ? (error.name === 'TimeoutError' ? `no answer within ${this.options.timeoutMs} ms` : error.message) : String(error);
      this.options.logger.debug({ topic: delivery.topic, webhookId: delivery.webhookId, error: attempt.error }, 'webhook delivery failed');
      return { ok: false };
    }
  }
}

/** Kept-alive connections to the receivers, as Shopify keeps them. */
const keepAlive = new Agent({ keepAlive: true, maxSockets: 256 });

/**
 * One POST and its status (the body read and dropped; redirects not followed), failing with a
 * TimeoutError after `timeoutMs`. node:http rather than fetch: at a peak day's rate fetch's
 * streams were a quarter of the simulation's process time.
 */
function postOnce(uri: string, headers: Record<string, string>, body: string, timeoutMs: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const url = new URL(uri);
    const payload = Buffer.from(body, 'utf8');
    const secure = url.protocol === 'https:';
    const request = (secure ? httpsRequest : httpRequest)(
      url,
      { method: 'POST', headers: { ...headers, 'Content-Length': String(payload.length) }, ...(secure ? {} : { agent: keepAlive }) },
      (response) => {
        response.resume();
        response.once('end', () => {
          clearTimeout(timer);
          resolve(response.statusCode ?? 0);
        });
        response.once('error', (error) => {
          clearTimeout(timer);
          reject(error);
        });
      },
    );
    const timer = setTimeout(() => {
      const timeout = new Error(`no answer within ${timeoutMs} ms`);
      timeout.name = 'TimeoutError';
      request.destroy(timeout);
    }, timeoutMs);
    request.once('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    request.end(payload);
  });
}
