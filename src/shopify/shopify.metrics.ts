import { Counter, Gauge, Histogram, type Registry } from 'prom-client';

/**
 * What the Shopify client counts in `/metrics`. Created once per registry: a second client on the
 * same registry (two shops, a test) reuses the same series.
 */
export interface ShopifyMetrics {
  calls: Counter<'operation' | 'outcome'>;
  costPoints: Counter<'operation'>;
  throttledWaits: Counter<'operation'>;
  throttledWaitSeconds: Counter<'operation'>;
  errors: Counter<'operation' | 'code'>;
  duration: Histogram<'operation'>;
  bucketAvailable: Gauge<'shop'>;
}

function reuse<T>(registry: Registry, name: string, create: () => T): T {
  return (registry.getSingleMetric(name) as T | undefined) ?? create();
}

export function createShopifyMetrics(registry: Registry): ShopifyMetrics {
  const registers = [registry];
  return {
    calls: reuse(registry, 'stockbridge_shopify_calls_total', () => new Counter({
      name: 'stockbridge_shopify_calls_total',
      help: 'Admin API calls sent, by operation and outcome (ok, throttled, http_error, network_error, graphql_error)',
      labelNames: ['operation', 'outcome'] as const,
      registers,
    })),
    costPoints: reuse(registry, 'stockbridge_shopify_cost_points_total', () => new Counter({
      name: 'stockbridge_shopify_cost_points_total',
      help: 'Admin API cost points actually charged (actualQueryCost), by operation',
      labelNames: ['operation'] as const,
      registers,
    })),
    throttledWaits: reuse(registry, 'stockbridge_shopify_throttled_waits_total', () => new Counter({
      name: 'stockbridge_shopify_throttled_waits_total',
      help: 'Times a call was answered THROTTLED or HTTP 429 and waited before retrying',
      labelNames: ['operation'] as const,
      registers,
    })),
    throttledWaitSeconds: reuse(registry, 'stockbridge_shopify_throttled_wait_seconds_total', () => new Counter({
      name: 'stockbridge_shopify_throttled_wait_seconds_total',
      help: 'Seconds spent waiting after THROTTLED or HTTP 429 answers',
      labelNames: ['operation'] as const,
      registers,
    })),
    errors: reuse(registry, 'stockbridge_shopify_errors_total', () => new Counter({
      name: 'stockbridge_shopify_errors_total',
      help: 'Admin API errors by operation and code (HTTP status, GraphQL extensions.code, userErrors code)',
      labelNames: ['operation', 'code'] as const,
      registers,
    })),
    duration: reuse(registry, 'stockbridge_shopify_call_duration_seconds', () => new Histogram({
      name: 'stockbridge_shopify_call_duration_seconds',
      help: 'Duration of one Admin API HTTP exchange, by operation',
      labelNames: ['operation'] as const,
      buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers,
    })),
    bucketAvailable: reuse(registry, 'stockbridge_shopify_bucket_available_points', () => new Gauge({
      name: 'stockbridge_shopify_bucket_available_points',
      help: 'Cost points available in the shop bucket, as last reported by Shopify',
      labelNames: ['shop'] as const,
      registers,
    })),
  };
}
