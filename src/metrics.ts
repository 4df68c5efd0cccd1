import { collectDefaultMetrics, Registry } from 'prom-client';

/**
 * The process's Prometheus registry. It is created once in the composition root and passed to
 * every component that counts something; components create their own counters and histograms
 * with `registers: [registry]`, so tests can use a private registry and read it back.
 */
export function createMetricsRegistry(options: { defaultMetrics?: boolean } = {}): Registry {
  const registry = new Registry();
  if (options.defaultMetrics !== false) collectDefaultMetrics({ register: registry, prefix: 'stockbridge_' });
  return registry;
}

export type { Registry as MetricsRegistry } from 'prom-client';
