import { sql } from 'drizzle-orm';
import { rowsOf, type Db } from '../db/database.js';
import { timestamptz } from '../db/sql-lists.js';
import { HEALTH_WINDOWS, type HealthWindow } from './health.service.js';

/** How each window is cut for a chart: LAST_HOUR in 12 × 5 minutes, LAST_DAY in 24 × 1 hour, LAST_WEEK in 7 × 1 day. */
export const SERIES_BUCKETS: Readonly<Record<HealthWindow, number>> = { LAST_HOUR: 12, LAST_DAY: 24, LAST_WEEK: 7 };

/** One bucket of the health samples (an item push or an order sent to the ERP each). */
export interface HealthSeriesPoint {
  readonly from: Date;
  readonly to: Date;
  readonly itemsPushed: number;
  readonly itemPushFailures: number;
  readonly orderAttempts: number;
  readonly orderFailures: number;
  readonly latencyP50: number | null;
  readonly latencyP99: number | null;
  readonly latencySamples: number;
}

interface BucketRow {
  bucket: number | string;
  items_pushed: number | string;
  item_push_failures: number | string;
  order_attempts: number | string;
  order_failures: number | string;
  p50: number | string | null;
  p99: number | string | null;
  latency_samples: number | string;
}

const round = (value: number | string | null) => (value === null ? null : Math.round(Number(value) * 1000) / 1000);

/**
 * The success metrics' raw material over time, for the console's charts: push volume, errors and
 * sync latency per bucket of a window ending now, from `health_samples` (every instance's; kept
 * for the longest window). One grouped query per call; empty buckets are answered with zeros.
 */
export function createHealthSeries(db: Db, now: () => Date) {
  return {
    async series(window: HealthWindow): Promise<HealthSeriesPoint[]> {
      const count = SERIES_BUCKETS[window];
      const spanMs = HEALTH_WINDOWS[window] / count;
      const end = now().getTime();
      const start = end - HEALTH_WINDOWS[window];
      const rows = rowsOf<BucketRow>(
        await db.execute(sql`
          select
            floor(extract(epoch from (at - ${timestamptz(new Date(start))})) * 1000 / ${spanMs})::int as bucket,
            count(*) filter (where kind = 'push_item' and ok) as items_pushed,
            count(*) filter (where kind = 'push_item' and not ok) as item_push_failures,
            count(*) filter (where kind = 'order') as order_attempts,
            count(*) filter (where kind = 'order' and not ok) as order_failures,
            percentile_cont(0.5) within group (order by latency_seconds) filter (where latency_seconds is not null) as p50,
            percentile_cont(0.99) within group (order by latency_seconds) filter (where latency_seconds is not null) as p99,
            count(latency_seconds) as latency_samples
          from health_samples
          where at >= ${timestamptz(new Date(start))} and at < ${timestamptz(new Date(end))}
          group by 1`),
      );
      const byBucket = new Map(rows.map((row) => [Number(row.bucket), row]));
      return Array.from({ length: count }, (_, index): HealthSeriesPoint => {
        const row = byBucket.get(index);
        return {
          from: new Date(start + index * spanMs),
          to: new Date(start + (index + 1) * spanMs),
          itemsPushed: Number(row?.items_pushed ?? 0),
          itemPushFailures: Number(row?.item_push_failures ?? 0),
          orderAttempts: Number(row?.order_attempts ?? 0),
          orderFailures: Number(row?.order_failures ?? 0),
          latencyP50: round(row?.p50 ?? null),
          latencyP99: round(row?.p99 ?? null),
          latencySamples: Number(row?.latency_samples ?? 0),
        };
      });
    },
  };
}

export type HealthSeries = ReturnType<typeof createHealthSeries>;
