import { Counter, Gauge, type Registry } from 'prom-client';

/** The orders pipeline's Prometheus metrics, registered on the process registry. */
export interface OrdersMetrics {
  readonly webhooks: Counter<'topic' | 'result'>;
  readonly orders: Counter<'event'>;
  readonly erpCalls: Counter<'operation' | 'result'>;
  readonly missedByWebhooks: Counter;
  readonly inboxPending: Gauge;
  readonly erpOutage: Gauge;
}

export function createOrdersMetrics(registry: Registry): OrdersMetrics {
  const existing = registry.getSingleMetric('stockbridge_webhook_deliveries_total');
  if (existing) {
    // A second module on the same registry (tests with two instances in one process) shares them.
    return {
      webhooks: existing as Counter<'topic' | 'result'>,
      orders: registry.getSingleMetric('stockbridge_orders_total') as Counter<'event'>,
      erpCalls: registry.getSingleMetric('stockbridge_order_erp_calls_total') as Counter<'operation' | 'result'>,
      missedByWebhooks: registry.getSingleMetric('stockbridge_orders_missed_by_webhooks_total') as Counter,
      inboxPending: registry.getSingleMetric('stockbridge_webhook_inbox_pending') as Gauge,
      erpOutage: registry.getSingleMetric('stockbridge_order_pipeline_erp_held_off') as Gauge,
    };
  }
  return {
    webhooks: new Counter({
      name: 'stockbridge_webhook_deliveries_total',
      help: 'Shopify webhook deliveries by topic (a handled topic, or other) and result (stored, recorded, duplicate, malformed, rejected, ignored, saturated, error)',
      labelNames: ['topic', 'result'] as const,
      registers: [registry],
    }),
    orders: new Counter({
      name: 'stockbridge_orders_total',
      help: 'Order pipeline events (received, submitted, failed, cancelled, conflict, retried, held-back, database-retry)',
      labelNames: ['event'] as const,
      registers: [registry],
    }),
    erpCalls: new Counter({
      name: 'stockbridge_order_erp_calls_total',
      help: 'ERP calls made by the order pipeline, by operation and result',
      labelNames: ['operation', 'result'] as const,
      registers: [registry],
    }),
    missedByWebhooks: new Counter({
      name: 'stockbridge_orders_missed_by_webhooks_total',
      help: 'Orders the reconciliation poll found that no webhook had delivered',
      registers: [registry],
    }),
    inboxPending: new Gauge({
      name: 'stockbridge_webhook_inbox_pending',
      help: 'Webhook deliveries stored and not yet applied, as last counted',
      registers: [registry],
    }),
    erpOutage: new Gauge({
      name: 'stockbridge_order_pipeline_erp_held_off',
      help: '1 while this instance found the ERP unavailable and holds orders back (one probe per pause), else 0',
      registers: [registry],
    }),
  };
}
