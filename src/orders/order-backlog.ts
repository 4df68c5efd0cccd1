import { sql } from 'drizzle-orm';
import { Gauge, type Registry } from 'prom-client';
import { rowsOf, type Db } from '../db/database.js';
import { timestamptz } from '../db/sql-lists.js';

/**
 * The backlog toward the ERP: how far the pipeline is behind what Shopify was told (every
 * acknowledged order), across every instance, read from the shared tables.
 *
 * - `waiting`: orders acknowledged and not yet in the ERP: `orders/create` deliveries stored and
 *   not yet applied, plus orders RECEIVED or IN_DOUBT (not cancelled). FAILED orders wait for a
 *   person, not for the pipeline, and are not counted.
 * - `oldestAgeSeconds`: the age of the oldest of them (since its acknowledgement), null when none.
 * - `drainRatePerMinute`: orders the ERP took (submitted) over the last `windowMinutes`, per minute.
 */
export interface OrderBacklog {
  readonly waiting: number;
  readonly oldestAgeSeconds: number | null;
  readonly drainRatePerMinute: number;
}

/** The window the drain rate is averaged over (minutes). */
export const DRAIN_RATE_WINDOW_MINUTES = 5;

export async function readOrderBacklog(db: Db, shop: string, now: Date): Promise<OrderBacklog> {
  const since = new Date(now.getTime() - DRAIN_RATE_WINDOW_MINUTES * 60_000);
  // Each part is an index range (webhook_inbox_status_idx, shopify_orders_status_idx,
  // shopify_orders_submitted_idx), never a scan of settled history.
  const result = await db.execute(sql`
    select
      (select count(*) from webhook_inbox where shop = ${shop} and status = 'PENDING' and topic = 'orders/create')::int as inbox_waiting,
      (select min(received_at) from webhook_inbox where shop = ${shop} and status = 'PENDING' and topic = 'orders/create') as inbox_oldest,
      (select count(*) from shopify_orders where shop = ${shop} and status in ('RECEIVED', 'IN_DOUBT') and shopify_cancelled_at is null)::int as orders_waiting,
      (select min(received_at) from shopify_orders where shop = ${shop} and status in ('RECEIVED', 'IN_DOUBT') and shopify_cancelled_at is null) as orders_oldest,
      (select count(*) from shopify_orders where shop = ${shop} and submitted_at > ${timestamptz(since)})::int as submitted
  `);
  const row = rowsOf<{ inbox_waiting: number; inbox_oldest: Date | string | null; orders_waiting: number; orders_oldest: Date | string | null; submitted: number }>(result)[0]!;
  const oldest = [row.inbox_oldest, row.orders_oldest]
    .filter((value): value is Date | string => value !== null)
    .map((value) => new Date(value).getTime())
    .reduce<number | null>((min, value) => (min === null || value < min ? value : min), null);
  return {
    waiting: Number(row.inbox_waiting) + Number(row.orders_waiting),
    oldestAgeSeconds: oldest === null ? null : Math.max(0, (now.getTime() - oldest) / 1000),
    drainRatePerMinute: Number(row.submitted) / DRAIN_RATE_WINDOW_MINUTES,
  };
}

/**
 * The backlog as /metrics gauges, read at each scrape (one read shared by the three gauges; the
 * same numbers on every instance). A failed read leaves the last values.
 */
export function registerOrderBacklogGauges(registry: Registry, read: () => Promise<OrderBacklog>): void {
  if (registry.getSingleMetric('stockbridge_order_backlog_waiting')) return;
  let pending: Promise<OrderBacklog | null> | null = null;
  const current = () => {
    pending ??= read()
      .catch(() => null)
      .finally(() => setTimeout(() => (pending = null), 1_000).unref());
    return pending;
  };
  const gauge = (name: string, help: string, value: (backlog: OrderBacklog) => number) =>
    new Gauge({
      name,
      help,
      registers: [registry],
      async collect() {
        const backlog = await current();
        if (backlog) this.set(value(backlog));
      },
    });
  gauge('stockbridge_order_backlog_waiting', 'Orders acknowledged to Shopify and not yet in the ERP (stored deliveries not applied, orders received or in doubt), all instances', (b) => b.waiting);
  gauge('stockbridge_order_backlog_oldest_age_seconds', 'Age of the oldest order waiting for the ERP since its acknowledgement (0 when none waits)', (b) => b.oldestAgeSeconds ?? 0);
  gauge('stockbridge_order_drain_rate_per_minute', `Orders the ERP took per minute, averaged over the last ${DRAIN_RATE_WINDOW_MINUTES} minutes, all instances`, (b) => b.drainRatePerMinute);
}
