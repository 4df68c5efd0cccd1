import { Counter, Gauge, Histogram, type Registry } from 'prom-client';

/**
 * What the push counts in `/metrics`. Created once per registry (a second module on the same
 * registry reuses the series). The age of the last successful sync is read from the database
 * at scrape time, so every instance reports successes of any instance.
 */
export interface SyncMetrics {
  runDuration: Histogram<'kind' | 'status'>;
  runs: Counter<'kind' | 'status'>;
  itemsPushed: Counter<'kind'>;
  itemErrors: Counter<'kind' | 'code'>;
  driftFound: Counter<'kind'>;
  lastDrift: Gauge;
  /** From a position's push mark to Shopify applying it: the event push's latency. */
  pushDelay: Histogram;
  unexplainedDrops: Counter;
  releasedDrops: Counter<'reason'>;
}

function reuse<T>(registry: Registry, name: string, create: () => T): T {
  return (registry.getSingleMetric(name) as T | undefined) ?? create();
}

export function createSyncMetrics(registry: Registry, lastSuccessAt: () => Promise<Date | null>): SyncMetrics {
  const registers = [registry];
  reuse(
    registry,
    'stockbridge_sync_last_success_age_seconds',
    () =>
      new Gauge({
        name: 'stockbridge_sync_last_success_age_seconds',
        help: 'Seconds since a delta or full sync run last finished without failing (any instance); -1 before the first',
        registers,
        async collect() {
          try {
            const at = await lastSuccessAt();
            this.set(at ? Math.max(0, (Date.now() - at.getTime()) / 1000) : -1);
          } catch {
            // The database is unreachable: /readyz says so; the last value stays.
          }
        },
      }),
  );
  return {
    runDuration: reuse(registry, 'stockbridge_sync_run_duration_seconds', () => new Histogram({
      name: 'stockbridge_sync_run_duration_seconds',
      help: 'Duration of sync runs, by kind (DELTA, FULL, MANUAL, EVENT) and status',
      labelNames: ['kind', 'status'] as const,
      buckets: [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 900],
      registers,
    })),
    runs: reuse(registry, 'stockbridge_sync_runs_total', () => new Counter({
      name: 'stockbridge_sync_runs_total',
      help: 'Sync runs finished, by kind and status',
      labelNames: ['kind', 'status'] as const,
      registers,
    })),
    itemsPushed: reuse(registry, 'stockbridge_sync_items_pushed_total', () => new Counter({
      name: 'stockbridge_sync_items_pushed_total',
      help: 'Shopify item-location quantities set, by run kind',
      labelNames: ['kind'] as const,
      registers,
    })),
    itemErrors: reuse(registry, 'stockbridge_sync_item_errors_total', () => new Counter({
      name: 'stockbridge_sync_item_errors_total',
      help: 'Item-location quantities that failed, by run kind and code (Shopify user-error code or ours)',
      labelNames: ['kind', 'code'] as const,
      registers,
    })),
    driftFound: reuse(registry, 'stockbridge_sync_drift_found_total', () => new Counter({
      name: 'stockbridge_sync_drift_found_total',
      help: 'Item-locations whose Shopify value differed from the ATP when read, by run kind',
      labelNames: ['kind'] as const,
      registers,
    })),
    lastDrift: reuse(registry, 'stockbridge_sync_last_reconcile_drift', () => new Gauge({
      name: 'stockbridge_sync_last_reconcile_drift',
      help: 'Item-locations found drifted by the last full reconcile on this instance',
      registers,
    })),
    pushDelay: reuse(registry, 'stockbridge_sync_push_delay_seconds', () => new Histogram({
      name: 'stockbridge_sync_push_delay_seconds',
      help: 'From a position being marked for push to Shopify applying the new value (sync latency)',
      buckets: [0.25, 0.5, 1, 2, 5, 10, 30, 60, 300, 900, 3600],
      registers,
    })),
    unexplainedDrops: reuse(registry, 'stockbridge_sync_unexplained_drop_units_total', () => new Counter({
      name: 'stockbridge_sync_unexplained_drop_units_total',
      help: "Shopify units that left Shopify's available without an order Stockbridge knew of (held back until explained)",
      registers,
    })),
    releasedDrops: reuse(registry, 'stockbridge_sync_released_drop_units_total', () => new Counter({
      name: 'stockbridge_sync_released_drop_units_total',
      help: 'ERP units of unexplained drops released: order window over (window) or orders never seen in Shopify (credit)',
      labelNames: ['reason'] as const,
      registers,
    })),
  };
}
