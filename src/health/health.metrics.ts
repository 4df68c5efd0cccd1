import { Gauge, Histogram, type Registry } from 'prom-client';
import type { HealthMetrics, HealthMetricName } from './health.service.js';

export interface HealthPromMetrics {
  /** Sync latency per pushed position (ERP change seen -> Shopify confirmed), this instance's pushes. */
  readonly syncLatency: Histogram;
}

function reuse<T>(registry: Registry, name: string, create: () => T): T {
  return (registry.getSingleMetric(name) as T | undefined) ?? create();
}

const METRIC_NAMES: readonly HealthMetricName[] = ['syncLatencySeconds', 'errorRate', 'oversellIncidents', 'manualInterventions'];

/**
 * The success metrics as gauges, computed at each scrape from the shared tables (so every
 * instance exports the same numbers), each beside its threshold, plus a histogram of this
 * instance's sync latency. `read` may cache; a failed read leaves the last values.
 */
export function createHealthMetrics(registry: Registry, read: () => Promise<HealthMetrics>): HealthPromMetrics {
  const registers = [registry];
  let pending: Promise<HealthMetrics | null> | null = null;
  // One read per scrape, shared by every gauge's collect.
  const current = () => {
    pending ??= read()
      .catch(() => null)
      .finally(() => setTimeout(() => (pending = null), 1_000).unref());
    return pending;
  };
  const gauge = (name: string, help: string, labelNames: readonly string[], fill: (gauge: Gauge, metrics: HealthMetrics) => void) =>
    reuse(
      registry,
      name,
      () =>
        new Gauge({
          name,
          help,
          labelNames: [...labelNames],
          registers,
          async collect() {
            const metrics = await current();
            if (metrics) fill(this, metrics);
          },
        }),
    );

  gauge('stockbridge_health_sync_latency_seconds', 'Sync latency (ERP change seen -> Shopify available confirmed) p50/p99 per window, all instances', ['quantile', 'window'], (g, m) => {
    for (const w of m.syncLatencySeconds.windows) {
      g.set({ quantile: '0.5', window: w.window }, w.p50 ?? 0);
      g.set({ quantile: '0.99', window: w.window }, w.p99 ?? 0);
    }
  });
  gauge('stockbridge_health_error_rate', 'Failed item pushes and orders over attempts, per window', ['window'], (g, m) => {
    for (const w of m.errorRate.windows) g.set({ window: w.window }, w.rate);
  });
  gauge('stockbridge_health_oversell_incidents', 'Oversell incidents recorded, per window', ['window'], (g, m) => {
    for (const w of m.oversellIncidents.windows) g.set({ window: w.window }, w.count);
  });
  gauge('stockbridge_health_manual_interventions', 'Manual interventions (replays, manual mappings, overrides) in the last 7 days', [], (g, m) => {
    g.set(m.manualInterventions.count);
  });
  gauge('stockbridge_health_threshold', 'Threshold of each success metric (sync latency: p99 seconds over the last hour)', ['metric'], (g, m) => {
    for (const name of METRIC_NAMES) g.set({ metric: name }, m[name].threshold);
  });
  gauge('stockbridge_health_breached', '1 when the success metric is over its threshold, else 0', ['metric'], (g, m) => {
    for (const name of METRIC_NAMES) g.set({ metric: name }, m[name].status === 'BREACHED' ? 1 : 0);
  });

  return {
    syncLatency: reuse(
      registry,
      'stockbridge_health_sync_latency_observed_seconds',
      () =>
        new Histogram({
          name: 'stockbridge_health_sync_latency_observed_seconds',
          help: "From the ERP change being seen to Shopify's available confirmed, per pushed position (this instance)",
          buckets: [1, 5, 15, 30, 60, 120, 300, 600, 1800, 3600],
          registers,
        }),
    ),
  };
}
