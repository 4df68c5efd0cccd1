import type { ShopifySimulator } from '../shopify/index.js';
import type { GatewayClient } from './instance-client.js';
import { percentile, type Ledger } from './ledger.js';

/**
 * The figures of a run besides the verdict: webhook acknowledgement times as the store saw them
 * (first attempts), order-to-ERP latency (the order's webhook acknowledged → its ERP sale
 * created, stamped by the ERP server), the gateways' own `health` figures (sync latency, error
 * rate, manual interventions, the order backlog where the gateway reports one) and the drift
 * between the ATP and Shopify's `available`.
 */
export interface Distribution {
  readonly samples: number;
  readonly p50: number | null;
  readonly p99: number | null;
  readonly max: number | null;
}

export function distribution(samples: readonly number[]): Distribution {
  // A loop, not Math.max(...samples): a long run has more samples than a call takes arguments.
  let max: number | null = null;
  for (const sample of samples) if (max === null || sample > max) max = sample;
  return { samples: samples.length, p50: percentile(samples, 0.5), p99: percentile(samples, 0.99), max };
}

export interface WebhookFigures {
  readonly ackMs: Distribution;
  readonly deliveries: number;
  readonly failedAttempts: number;
  readonly dropped: number;
  readonly duplicated: number;
  readonly reordered: number;
  /** When each order's `orders/create` was first acknowledged (epoch ms), by order reference. */
  readonly orderAckAt: Map<string, number>;
}

export function webhookFigures(simulator: ShopifySimulator): WebhookFigures {
  const ack: number[] = [];
  const orderAckAt = new Map<string, number>();
  let failedAttempts = 0;
  let dropped = 0;
  let duplicated = 0;
  let reordered = 0;
  const deliveries = simulator.state.webhookDeliveries();
  for (const delivery of deliveries) {
    if (delivery.state === 'dropped') dropped += 1;
    if (delivery.duplicated) duplicated += 1;
    if (delivery.reordered) reordered += 1;
    for (const attempt of delivery.attempts) {
      const ok = attempt.status !== null && attempt.status >= 200 && attempt.status < 300;
      if (!ok) failedAttempts += 1;
      if (ok) ack.push(attempt.durationMs);
      if (ok && delivery.topic === 'orders/create') {
        const id = orderIdOf(delivery.body);
        const at = Date.parse(attempt.at) + attempt.durationMs;
        if (id && !orderAckAt.has(id)) orderAckAt.set(id, at);
      }
      if (ok) break;
    }
  }
  return { ackMs: distribution(ack), deliveries: deliveries.length, failedAttempts, dropped, duplicated, reordered, orderAckAt };
}

function orderIdOf(body: string): string | undefined {
  try {
    const id = (JSON.parse(body) as { admin_graphql_api_id?: unknown }).admin_graphql_api_id;
    return typeof id === 'string' ? id : undefined;
  } catch {
    return undefined;
  }
}

/** Order-to-ERP latency: acknowledged (or placed, when no acknowledgement was seen: a lost webhook) → ERP sale created. */
export function orderToErp(ledger: Ledger, ackAt: Map<string, number>, saleCreatedAt: (reference: string) => number | undefined): Distribution & { readonly fromPlacement: number } {
  const samples: number[] = [];
  let fromPlacement = 0;
  for (const order of ledger.accepted) {
    const created = saleCreatedAt(order.reference);
    if (created === undefined) continue;
    const start = ackAt.get(order.reference);
    if (start === undefined) fromPlacement += 1;
    samples.push(Math.max(0, created - (start ?? order.placedAt)));
  }
  return { ...distribution(samples), fromPlacement };
}

export interface HealthFigures {
  readonly syncLatencySeconds: { p50: number | null; p99: number | null; samples: number } | null;
  readonly errorRate: number | null;
  readonly manualInterventions: number | null;
  readonly oversellIncidents: number | null;
  readonly orderBacklog: { waiting: number; oldestAgeSeconds: number | null; drainRatePerMinute: number | null } | null;
  readonly problem: string | null;
}

const HEALTH = 'syncLatencySeconds { p50 p99 samples } errorRate manualInterventions oversellIncidents';

/** The gateways' `health` figures; `orderBacklog` only where the schema has it. */
export async function healthFigures(client: GatewayClient): Promise<HealthFigures> {
  type Answer = { health: Omit<HealthFigures, 'problem' | 'orderBacklog'> & { orderBacklog?: HealthFigures['orderBacklog'] } };
  try {
    let answer: Answer;
    try {
      answer = await client.request<Answer>(`{ health { ${HEALTH} orderBacklog { waiting oldestAgeSeconds drainRatePerMinute } } }`);
    } catch {
      answer = await client.request<Answer>(`{ health { ${HEALTH} } }`);
    }
    return { ...answer.health, orderBacklog: answer.health.orderBacklog ?? null, problem: null };
  } catch (error) {
    return { syncLatencySeconds: null, errorRate: null, manualInterventions: null, oversellIncidents: null, orderBacklog: null, problem: error instanceof Error ? error.message : String(error) };
  }
}

export interface DriftPosition {
  readonly sku: string;
  readonly location: string;
  readonly atp: number;
  readonly shopify: number;
}

type ProductsPage = {
  products: { pageInfo: { hasNextPage: boolean; endCursor: string | null }; edges: { node: { sku: string; availability: { location: { code: string }; availableToPromise: number }[] } }[] };
};

/** Every (SKU, location) of the catalogue whose Shopify `available` differs from the ATP. */
export async function driftPositions(client: GatewayClient, simulator: ShopifySimulator, skus: readonly string[], locations: readonly string[]): Promise<DriftPosition[]> {
  const wanted = new Set(skus);
  const differences: DriftPosition[] = [];
  let after: string | null = null;
  do {
    const page: ProductsPage = await client.request<ProductsPage>(
      'query ($after: String) { products(first: 250, after: $after) { pageInfo { hasNextPage endCursor } edges { node { sku availability { location { code } availableToPromise } } } } }',
      { after },
    );
    for (const { node } of page.products.edges) {
      if (!wanted.has(node.sku)) continue;
      for (const level of node.availability) {
        if (!locations.includes(level.location.code)) continue;
        const shopify = simulator.state.level({ sku: node.sku, location: level.location.code })?.quantities.available ?? 0;
        if (shopify !== level.availableToPromise) differences.push({ sku: node.sku, location: level.location.code, atp: level.availableToPromise, shopify });
      }
    }
    after = page.products.pageInfo.hasNextPage ? page.products.pageInfo.endCursor : null;
  } while (after !== null);
  return differences;
}
