import { percentile } from './ledger.js';

/**
 * The arithmetic of the run's probes (pure, unit-tested): a latency distribution with how many
 * samples passed a limit, per-second series for the report's charts, when a goods receipt counts
 * as shown by the store, and the webhook acknowledgements the balancer timed.
 */

export interface LatencyFigures {
  readonly samples: number;
  readonly p50: number | null;
  readonly p99: number | null;
  readonly max: number | null;
  /** Samples above `limit` (null when no limit was given). */
  readonly overLimit: number | null;
  readonly limit: number | null;
}

export function latencyFigures(samples: readonly number[], limit: number | null = null): LatencyFigures {
  let max: number | null = null;
  for (const sample of samples) if (max === null || sample > max) max = sample;
  return {
    samples: samples.length,
    p50: percentile(samples, 0.5),
    p99: percentile(samples, 0.99),
    max,
    overLimit: limit === null ? null : samples.filter((sample) => sample > limit).length,
    limit,
  };
}

/** A timed sample: epoch ms and its value. */
export interface TimedSample {
  readonly at: number;
  readonly value: number;
}

/**
 * Per second since `startedAt`, the largest sample of that second; a second without a sample
 * repeats the last value seen (0 before the first), so a probe every few seconds draws a line,
 * not a comb. `seconds` fixes the length (default: up to the last sample's second).
 */
export function secondsSeries(samples: readonly TimedSample[], startedAt: number, seconds?: number): number[] {
  const peaks: (number | undefined)[] = [];
  for (const sample of samples) {
    const second = Math.floor((sample.at - startedAt) / 1000);
    if (second < 0) continue;
    const seen = peaks[second];
    peaks[second] = seen === undefined ? sample.value : Math.max(seen, sample.value);
  }
  const length = seconds ?? peaks.length;
  const series: number[] = [];
  let last = 0;
  for (let second = 0; second < length; second++) {
    const peak = peaks[second];
    if (peak !== undefined) last = peak;
    series.push(last);
  }
  return series;
}

/**
 * Whether the store shows a goods receipt of `units` at a position: Shopify's `available` there,
 * plus the units Shopify sold there since the receipt, has risen by the receipt's units over what
 * it showed at the receipt, less the units wholesale apps reserved there since (they lower the
 * ATP the gateway pushes), and by at least one unit. Only a push computed from the ERP's stock
 * after the receipt raises it that far (orders only lower Shopify's level).
 */
export function receiptShown(watch: { readonly before: number; readonly units: number }, now: { readonly available: number; readonly soldSince: number; readonly reservedSince: number }): boolean {
  const rise = now.available + now.soldSince - watch.before;
  return rise >= Math.max(1, watch.units - now.reservedSince);
}

/** A webhook exchange as the balancer timed it. */
export interface BalancerWebhook {
  readonly status: number;
  readonly ms: number;
}

/** Webhook acknowledgement times at the balancer: answers 2xx, and how many were not, by status (502: no instance answered). */
export function balancerAckFigures(exchanges: readonly BalancerWebhook[]): LatencyFigures & { readonly notAcknowledged: number; readonly notAcknowledgedByStatus: Readonly<Record<string, number>> } {
  const acked: number[] = [];
  const byStatus: Record<string, number> = {};
  for (const exchange of exchanges) {
    if (exchange.status >= 200 && exchange.status < 300) acked.push(exchange.ms);
    else byStatus[String(exchange.status)] = (byStatus[String(exchange.status)] ?? 0) + 1;
  }
  return { ...latencyFigures(acked), notAcknowledged: exchanges.length - acked.length, notAcknowledgedByStatus: byStatus };
}
