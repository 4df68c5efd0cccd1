import type { AlertSender } from '../alerts/alert-sender.js';
import type { Logger } from '../logger.js';
import type { HealthRepository, HealthSample } from './health.repository.js';

/** The windows the metrics are computed over. */
export const HEALTH_WINDOWS = { LAST_HOUR: 3_600_000, LAST_DAY: 86_400_000, LAST_WEEK: 7 * 86_400_000 } as const;
export type HealthWindow = keyof typeof HEALTH_WINDOWS;
const WINDOW_NAMES = Object.keys(HEALTH_WINDOWS) as HealthWindow[];

export type HealthStatus = 'OK' | 'BREACHED';

/** The seed's targets, configurable (HEALTH_* variables). */
export interface HealthThresholds {
  readonly syncLatencyP99Seconds: number;
  readonly errorRate: number;
  readonly oversellIncidents: number;
  readonly manualInterventionsPerWeek: number;
}

export interface LatencyWindow {
  readonly window: HealthWindow;
  readonly p50: number | null;
  readonly p99: number | null;
  readonly samples: number;
}
export interface ErrorRateWindow {
  readonly window: HealthWindow;
  readonly rate: number;
  readonly attempts: number;
  readonly failures: number;
}
export interface CountWindow {
  readonly window: HealthWindow;
  readonly count: number;
}

/**
 * The four success metrics, each judged over one window against its threshold: sync latency's
 * p99 and the error rate over the last hour, oversell incidents over the last day, manual
 * interventions over the last week.
 */
export interface HealthMetrics {
  readonly syncLatencySeconds: LatencyWindow & { readonly threshold: number; readonly status: HealthStatus; readonly windows: LatencyWindow[] };
  readonly errorRate: ErrorRateWindow & { readonly threshold: number; readonly status: HealthStatus; readonly windows: ErrorRateWindow[] };
  readonly oversellIncidents: CountWindow & { readonly threshold: number; readonly status: HealthStatus; readonly windows: CountWindow[] };
  readonly manualInterventions: CountWindow & { readonly threshold: number; readonly status: HealthStatus };
}

export type HealthMetricName = keyof HealthMetrics;

/** Narrow port: the manual interventions recorded (src/operator-actions/, counted across instances). */
export interface ManualInterventionsPort {
  countSince(since: Date): Promise<number>;
}

/** Narrow port: unmapped and ambiguous SKUs (the inventory mapping report). */
export interface MappingGapsPort {
  mappingGaps(): Promise<{ readonly unmappedErpSkus: number; readonly ambiguous: number; readonly samples: Readonly<Record<string, unknown>> }>;
}

/** What the sync records after each settled batch: one entry per pushed position. */
export interface PushOutcome {
  readonly ok: boolean;
  /** When the ERP change (or ATP change) that made the push due was seen; null when unknown. */
  readonly changeSeenAt: Date | null;
  readonly confirmedAt: Date;
}

/** What the orders domain reports when an order's units exceed what the ATP could cover. */
export interface OversellReport {
  readonly sku: string;
  readonly location: string;
  readonly orderId: string | null;
  readonly units: number;
  readonly source: 'ORDER_BEYOND_ATP' | 'SHOPIFY_NEGATIVE_AVAILABLE';
  /** Makes a sighting seen twice one incident (e.g. the read time of a negative `available`). */
  readonly occurrence?: string;
}

export interface HealthServiceOptions {
  readonly repository: HealthRepository;
  readonly alerts: AlertSender;
  readonly thresholds: HealthThresholds;
  readonly manualInterventions: ManualInterventionsPort;
  readonly mappingGaps?: MappingGapsPort;
  readonly log: Logger;
  readonly now: () => Date;
  /** The shop whose read model is looked at for a negative Shopify `available`. */
  readonly shop: string;
}

export interface HealthService {
  metrics(): Promise<HealthMetrics>;
  /** Sync port: the outcome of each pushed position (latency of the successful ones). */
  recordPushOutcomes(outcomes: readonly PushOutcome[]): Promise<void>;
  /** Orders port: one order attempt towards the ERP (sent, or failed/retried). */
  recordOrderAttempt(ok: boolean): Promise<void>;
  /** Orders/sync port: an oversell incident; alerted once per incident. Answers whether it is new. */
  recordOversell(report: OversellReport): Promise<boolean>;
  /**
   * Judges each metric against its threshold and raises an alert for each one that crossed it
   * (once per crossing: the alert is resolved when the metric is back under), and the daily
   * digest of unmapped and ambiguous SKUs while any remain. Run by the `health.evaluate` job.
   */
  evaluate(): Promise<HealthMetrics>;
  /** Records an incident for each position whose Shopify `available` was read below zero (once per reading). */
  detectNegativeAvailable(): Promise<number>;
  /** Deletes samples older than the longest window. */
  prune(): Promise<void>;
}

const round = (value: number | null) => (value === null ? null : Math.round(value * 1000) / 1000);

export function createHealthService(options: HealthServiceOptions): HealthService {
  const { repository, alerts, thresholds, now } = options;
  const log = options.log.child({ component: 'health' });

  const metrics = async (): Promise<HealthMetrics> => {
    const at = now().getTime();
    const since = (window: HealthWindow) => new Date(at - HEALTH_WINDOWS[window]);
    const figures = await Promise.all(WINDOW_NAMES.map(async (window) => ({ window, ...(await repository.figuresSince(since(window))) })));
    const oversells = await Promise.all(WINDOW_NAMES.map(async (window) => ({ window, count: await repository.countOversellsSince(since(window)) })));
    const latency: LatencyWindow[] = figures.map((f) => ({ window: f.window, p50: round(f.latencyP50), p99: round(f.latencyP99), samples: f.latencySamples }));
    const errors: ErrorRateWindow[] = figures.map((f) => ({ window: f.window, rate: f.attempts === 0 ? 0 : f.failures / f.attempts, attempts: f.attempts, failures: f.failures }));
    const manual = await options.manualInterventions.countSince(since('LAST_WEEK'));
    const latencyHour = latency[0]!;
    const errorsHour = errors[0]!;
    const oversellsDay = oversells[1]!;
    return {
      syncLatencySeconds: {
        ...latencyHour,
        threshold: thresholds.syncLatencyP99Seconds,
        status: latencyHour.p99 !== null && latencyHour.p99 > thresholds.syncLatencyP99Seconds ? 'BREACHED' : 'OK',
        windows: latency,
      },
      errorRate: { ...errorsHour, threshold: thresholds.errorRate, status: errorsHour.rate > thresholds.errorRate ? 'BREACHED' : 'OK', windows: errors },
      oversellIncidents: { ...oversellsDay, threshold: thresholds.oversellIncidents, status: oversellsDay.count > thresholds.oversellIncidents ? 'BREACHED' : 'OK', windows: oversells },
      manualInterventions: {
        window: 'LAST_WEEK',
        count: manual,
        threshold: thresholds.manualInterventionsPerWeek,
        status: manual > thresholds.manualInterventionsPerWeek ? 'BREACHED' : 'OK',
      },
    };
  };

  const describe: Record<HealthMetricName, (m: HealthMetrics) => { message: string; query: string }> = {
    syncLatencySeconds: (m) => ({
      message: `Sync latency p99 ${m.syncLatencySeconds.p99} s over the last hour (threshold ${m.syncLatencySeconds.threshold} s)`,
      query: '{ syncRuns(first: 20) { edges { node { id kind status startedAt itemsFailed } } } }',
    }),
    errorRate: (m) => ({
      message: `Error rate ${(m.errorRate.rate * 100).toFixed(2)} % over the last hour: ${m.errorRate.failures} of ${m.errorRate.attempts} attempts failed (threshold ${(m.errorRate.threshold * 100).toFixed(2)} %)`,
      query: '{ syncRuns(first: 20) { edges { node { id status errors { sku location code message } } } } orders(first: 50, status: FAILED) { edges { node { id name lastErrorCode } } } }',
    }),
    oversellIncidents: (m) => ({
      message: `${m.oversellIncidents.count} oversell incident(s) in the last day (threshold ${m.oversellIncidents.threshold})`,
      query: '{ alerts(open: true, first: 50) { edges { node { code message details } } } }',
    }),
    manualInterventions: (m) => ({
      message: `${m.manualInterventions.count} manual interventions in the last week (threshold ${m.manualInterventions.threshold})`,
      query: 'operator_actions rows of the last 7 days (replays, mappings, overrides)',
    }),
  };

  return {
    metrics,
    async recordPushOutcomes(outcomes) {
      const samples: HealthSample[] = outcomes.map((o) => ({
        kind: 'push_item',
        ok: o.ok,
        latencySeconds: o.ok && o.changeSeenAt && o.changeSeenAt <= o.confirmedAt ? (o.confirmedAt.getTime() - o.changeSeenAt.getTime()) / 1000 : null,
        at: o.confirmedAt,
      }));
      await repository.addSamples(samples);
    },
    async recordOrderAttempt(ok) {
      await repository.addSamples([{ kind: 'order', ok, at: now() }]);
    },
    async recordOversell(report) {
      const key = `${report.source}:${report.sku}:${report.location}:${report.orderId ?? ''}:${report.occurrence ?? ''}`;
      const fresh = await repository.addOversell({ ...report, key, at: now() });
      if (!fresh) return false;
      log.warn({ sku: report.sku, location: report.location, orderId: report.orderId, units: report.units }, 'oversell incident');
      await alerts.raise({
        key: `OVERSELL:${key}`,
        code: 'OVERSELL',
        severity: 'critical',
        message:
          report.source === 'ORDER_BEYOND_ATP'
            ? `Order ${report.orderId} was accepted by Shopify for ${report.units} unit(s) of ${report.sku} at ${report.location} beyond the ATP`
            : `Shopify's available for ${report.sku} at ${report.location} is ${-report.units} (below zero)`,
        details: {
          sku: report.sku,
          location: report.location,
          orderId: report.orderId,
          units: report.units,
          source: report.source,
          query: `{ product(sku: ${JSON.stringify(report.sku)}) { sku availability(location: ${JSON.stringify(report.location)}) { availableToPromise pendingShopifyOrders } } }`,
        },
      });
      return true;
    },
    async evaluate() {
      const current = await metrics();
      for (const name of Object.keys(describe) as HealthMetricName[]) {
        const key = `HEALTH_THRESHOLD:${name}`;
        if (current[name].status === 'BREACHED') {
          const { message, query } = describe[name](current);
          await alerts.raise({ key, code: 'HEALTH_THRESHOLD_BREACHED', severity: 'critical', message, details: { metric: name, threshold: current[name].threshold, query } });
        } else await alerts.resolve(key);
      }
      if (options.mappingGaps) {
        const gaps = await options.mappingGaps.mappingGaps();
        if (gaps.unmappedErpSkus + gaps.ambiguous > 0) {
          const day = now().toISOString().slice(0, 10);
          await alerts.raise({
            key: `MAPPING_GAPS:${day}`,
            code: 'SKUS_UNMAPPED',
            severity: 'warning',
            message: `${gaps.unmappedErpSkus} ERP SKU(s) unmapped and ${gaps.ambiguous} ambiguous: they are not pushed to Shopify`,
            details: { ...gaps, query: '{ skuMappingReport(limit: 100) { unmappedErpSkus ambiguous { erpSku } counts { unmappedErpSkus ambiguous } } }' },
          });
        }
      }
      return current;
    },
    async detectNegativeAvailable() {
      let recorded = 0;
      for (const row of await repository.listNegativeAvailable(options.shop)) {
        const fresh = await this.recordOversell({
          sku: row.sku,
          location: row.location,
          orderId: null,
          units: -row.available,
          source: 'SHOPIFY_NEGATIVE_AVAILABLE',
          occurrence: row.readAt?.toISOString() ?? '',
        });
        if (fresh) recorded += 1;
      }
      return recorded;
    },
    async prune() {
      await repository.prune(new Date(now().getTime() - HEALTH_WINDOWS.LAST_WEEK));
    },
  };
}
