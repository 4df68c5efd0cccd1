import { setTimeout as sleep } from 'node:timers/promises';
import type { ForwardedExchange } from '../chaos/round-robin-proxy.js';
import type { Ledger, LedgerOrder } from './ledger.js';
import { balancerAckFigures, latencyFigures, type BalancerWebhook, type LatencyFigures, type TimedSample } from './probe-figures.js';

/**
 * What clients see of the gateways during the load, through the round-robin balancer: the
 * webhook acknowledgements the balancer timed, `products(first: 100)` with availability and lots
 * every ~2 s, and how soon an accepted order is visible with its pending units.
 */

/** Collects the balancer's webhook exchanges, and when each order's `orders/create` was first acknowledged. */
export function balancerWebhooks(): { onAnswer(exchange: ForwardedExchange): void; readonly exchanges: BalancerWebhook[]; readonly orderAckAt: Map<string, number>; figures(): ReturnType<typeof balancerAckFigures> } {
  const exchanges: BalancerWebhook[] = [];
  const orderAckAt = new Map<string, number>();
  return {
    exchanges,
    orderAckAt,
    onAnswer(exchange) {
      if (!exchange.path.startsWith('/webhooks')) return;
      exchanges.push({ status: exchange.status, ms: exchange.ms });
      if (exchange.status < 200 || exchange.status >= 300 || exchange.headers['x-shopify-topic'] !== 'orders/create') return;
      const id = orderGid(exchange.body);
      if (id && !orderAckAt.has(id)) orderAckAt.set(id, exchange.startedAt + exchange.ms);
    },
    figures: () => balancerAckFigures(exchanges),
  };
}

function orderGid(body: Buffer): string | undefined {
  try {
    const id = (JSON.parse(body.toString('utf8')) as { admin_graphql_api_id?: unknown }).admin_graphql_api_id;
    return typeof id === 'string' ? id : undefined;
  } catch {
    return undefined;
  }
}

type Answer<T> = { ok: true; data: T; ms: number; cost: number | null } | { ok: false; ms: number; problem: string };

async function graphql<T>(url: string, key: string, query: string, variables: Record<string, unknown> = {}): Promise<Answer<T>> {
  const started = performance.now();
  try {
    const response = await fetch(`${url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${key}` },
      body: JSON.stringify({ query, variables }),
      signal: AbortSignal.timeout(30_000),
    });
    const text = await response.text();
    const ms = performance.now() - started;
    let body: { data?: T; errors?: { message?: string; extensions?: { code?: string } }[]; extensions?: { cost?: { requestedQueryCost?: number } } };
    try {
      body = JSON.parse(text) as typeof body;
    } catch {
      // Not a gateway's answer (the balancer's own 502 when no instance answered).
      return { ok: false, ms, problem: `HTTP ${response.status} ${text.slice(0, 80)}`.trim() };
    }
    if (!response.ok || body.errors?.length || !body.data) return { ok: false, ms, problem: `HTTP ${response.status} ${body.errors?.map((e) => e.extensions?.code ?? e.message).join(', ') ?? ''}`.trim() };
    return { ok: true, data: body.data, ms, cost: body.extensions?.cost?.requestedQueryCost ?? null };
  } catch (error) {
    return { ok: false, ms: performance.now() - started, problem: error instanceof Error ? error.message : String(error) };
  }
}

export const PRODUCTS_PROBE = `{ products(first: 100) { edges { node { sku
  availability { location { code } onHand allocated reserved pendingShopifyOrders availableToPromise shopifyAvailable }
  lots { number location quantity expiresOn } } } } }`;

export interface ProductsProbeFigures extends LatencyFigures {
  readonly probes: number;
  readonly errors: number;
  readonly firstProblem: string | null;
  /** The probe's cost in the gateway's points (its bucket restores GRAPHQL_RESTORE_RATE a second). */
  readonly queryCost: number | null;
  /** Each answered probe: when it was sent (epoch ms) and its time in ms. */
  readonly timed: readonly TimedSample[];
}

/** `products(first: 100)` with availability and lots through the balancer every `everyMs`, one at a time, until `signal`. */
export async function probeProducts(options: { url: string; key: string; everyMs: number; signal: AbortSignal }): Promise<ProductsProbeFigures> {
  const timed: TimedSample[] = [];
  let probes = 0;
  let errors = 0;
  let firstProblem: string | null = null;
  let queryCost: number | null = null;
  while (!options.signal.aborted) {
    const at = Date.now();
    const answer = await graphql<unknown>(options.url, options.key, PRODUCTS_PROBE);
    probes += 1;
    if (answer.ok) {
      timed.push({ at, value: answer.ms });
      queryCost ??= answer.cost;
    } else {
      errors += 1;
      firstProblem ??= answer.problem;
    }
    await sleep(Math.max(0, options.everyMs - (Date.now() - at)), undefined, { signal: options.signal }).catch(() => {});
  }
  return { ...latencyFigures(timed.map((sample) => sample.value), 100), probes, errors, firstProblem, queryCost, timed };
}

export interface VisibilitySample {
  readonly reference: string;
  readonly placedAt: number;
  /** Epoch ms of the first answer showing the order with its pending units; null: never within the wait. */
  readonly visibleAt: number | null;
  /** Polls that got no answer or an error (not "not there yet"), and the first one's cause. */
  readonly failedPolls: number;
  readonly problem: string | null;
}

const ORDER = 'query ($id: ID!) { order(id: $id) { status allocatedAt lines { quantity pendingQuantity } } }';
type OrderAnswer = { order: { status: string; allocatedAt: string | null; lines: { quantity: number; pendingQuantity: number }[] } | null };

/**
 * Every `everyMs` during the load, the newest accepted order (not cancelled) is polled through
 * the balancer every `pollMs` until the gateway shows it with its lines' units pending (or
 * already allocated by the ERP), for at most `giveUpMs`; at most `maxPending` at a time. Resolves
 * when the load is over and every sample is settled.
 */
export async function probeOrderVisibility(options: { url: string; key: string; ledger: Ledger; everyMs: number; pollMs: number; giveUpMs: number; maxPending: number; signal: AbortSignal }): Promise<VisibilitySample[]> {
  const samples: VisibilitySample[] = [];
  const pending = new Set<Promise<void>>();
  const sampled = new Set<string>();
  const follow = async (order: LedgerOrder) => {
    const deadline = order.placedAt + options.giveUpMs;
    let failedPolls = 0;
    let problem: string | null = null;
    while (Date.now() < deadline) {
      const answer = await graphql<OrderAnswer>(options.url, options.key, ORDER, { id: order.reference });
      if (!answer.ok && !/NOT_FOUND/.test(answer.problem)) {
        failedPolls += 1;
        problem ??= answer.problem;
      }
      const found = answer.ok ? answer.data.order : null;
      if (found && found.lines.length > 0 && (found.lines.some((line) => line.pendingQuantity > 0) || found.allocatedAt !== null)) {
        samples.push({ reference: order.reference, placedAt: order.placedAt, visibleAt: Date.now(), failedPolls, problem });
        return;
      }
      await sleep(options.pollMs);
    }
    samples.push({ reference: order.reference, placedAt: order.placedAt, visibleAt: null, failedPolls, problem });
  };
  while (!options.signal.aborted) {
    const newest = options.ledger.accepted.at(-1);
    if (newest && !newest.cancelled && !sampled.has(newest.reference) && pending.size < options.maxPending) {
      sampled.add(newest.reference);
      const job = follow(newest);
      pending.add(job);
      void job.finally(() => pending.delete(job));
    }
    await sleep(options.everyMs, undefined, { signal: options.signal }).catch(() => {});
  }
  await Promise.all([...pending]);
  return samples;
}

export interface VisibilityFigures extends LatencyFigures {
  readonly sampled: number;
  /** Never visible within the wait. */
  readonly notVisible: number;
  /** Visible later than the limit, or never: the "within 5 s" misses. */
  readonly exceeded: number;
  /** Samples timed from placement: no acknowledgement of their `orders/create` reached the balancer (a lost webhook). */
  readonly fromPlacement: number;
  /** Polls that failed (not "not there yet"), over every sample, and the first cause. */
  readonly failedPolls: number;
  readonly firstProblem: string | null;
}

/** Acknowledgement (at the balancer) → visible, per sample; from placement when no acknowledgement was seen. */
export function visibilityFigures(samples: readonly VisibilitySample[], ackAt: ReadonlyMap<string, number>, limitMs: number): VisibilityFigures {
  const latencies: number[] = [];
  let fromPlacement = 0;
  let notVisible = 0;
  let failedPolls = 0;
  let firstProblem: string | null = null;
  for (const sample of samples) {
    failedPolls += sample.failedPolls;
    firstProblem ??= sample.problem;
    if (sample.visibleAt === null) {
      notVisible += 1;
      continue;
    }
    const ack = ackAt.get(sample.reference);
    if (ack === undefined) fromPlacement += 1;
    latencies.push(Math.max(0, sample.visibleAt - (ack ?? sample.placedAt)));
  }
  const figures = latencyFigures(latencies, limitMs);
  return { ...figures, sampled: samples.length, notVisible, exceeded: (figures.overLimit ?? 0) + notVisible, fromPlacement, failedPolls, firstProblem };
}
