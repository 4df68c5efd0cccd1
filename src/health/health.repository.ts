import { and, count, eq, gte, lt, sql } from 'drizzle-orm';
import { rowsOf, type Db } from '../db/database.js';
import { timestamptz } from '../db/sql-lists.js';
import { healthSamples, oversellIncidents } from '../db/schema/health.js';
import { inventoryLevels } from '../db/schema/inventory-levels.js';
import { unconfirmedTakeExpression } from '../inventory/read-model/inventory-levels.writer.js';

/** An attempt that counts in the error rate: one pushed position, or one order sent to the ERP. */
export interface HealthSample {
  readonly kind: 'push_item' | 'order';
  readonly ok: boolean;
  /** A successful push's sync latency (ERP change seen -> Shopify confirmed), when the change time is known. */
  readonly latencySeconds?: number | null;
  readonly at: Date;
}

export interface OversellIncident {
  readonly sku: string;
  readonly location: string;
  readonly orderId: string | null;
  readonly source: 'ORDER_BEYOND_ATP' | 'SHOPIFY_NEGATIVE_AVAILABLE';
  readonly units: number;
  readonly at: Date;
}

export interface WindowFigures {
  readonly latencyP50: number | null;
  readonly latencyP99: number | null;
  readonly latencySamples: number;
  readonly attempts: number;
  readonly failures: number;
}

/** The one writer of `health_samples` and `oversell_incidents`. */
export interface HealthRepository {
  addSamples(samples: readonly HealthSample[]): Promise<void>;
  /** Records an incident unless one with the same key is recorded; answers whether it is new. */
  addOversell(incident: OversellIncident & { readonly key: string }): Promise<boolean>;
  /** Latency percentiles and error counts of samples at or after `since`. */
  figuresSince(since: Date): Promise<WindowFigures>;
  countOversellsSince(since: Date): Promise<number>;
  /**
   * Positions whose Shopify `available`, as last read (a read, a reconcile, a webhook), is below
   * zero beyond what takes of our own explain; `available` is that unexplained value.
   */
  listNegativeAvailable(shop: string): Promise<Array<{ sku: string; location: string; available: number; readAt: Date | null }>>;
  /** Deletes samples and incidents older than `before` (retention). */
  prune(before: Date): Promise<void>;
}

export function createHealthRepository(db: Db): HealthRepository {
  return {
    async addSamples(samples) {
      if (samples.length === 0) return;
      await db.insert(healthSamples).values(samples.map((s) => ({ kind: s.kind, ok: s.ok, latencySeconds: s.latencySeconds ?? null, at: s.at })));
    },
    async addOversell(incident) {
      const rows = await db
        .insert(oversellIncidents)
        .values({ key: incident.key, sku: incident.sku, location: incident.location, orderId: incident.orderId, source: incident.source, units: incident.units, at: incident.at })
        .onConflictDoNothing({ target: oversellIncidents.key })
        .returning({ id: oversellIncidents.id });
      return rows.length > 0;
    },
    async figuresSince(since) {
      const [row] = rowsOf<{ p50: number | null; p99: number | null; latency_samples: number | string; attempts: number | string; failures: number | string }>(
        await db.execute(sql`
          select
            percentile_cont(0.5) within group (order by latency_seconds) filter (where latency_seconds is not null) as p50,
            percentile_cont(0.99) within group (order by latency_seconds) filter (where latency_seconds is not null) as p99,
            count(latency_seconds) as latency_samples,
            count(*) as attempts,
            count(*) filter (where not ok) as failures
          from health_samples where at >= ${timestamptz(since)}`),
      );
      return {
        latencyP50: row?.p50 === null || row?.p50 === undefined ? null : Number(row.p50),
        latencyP99: row?.p99 === null || row?.p99 === undefined ? null : Number(row.p99),
        latencySamples: Number(row?.latency_samples ?? 0),
        attempts: Number(row?.attempts ?? 0),
        failures: Number(row?.failures ?? 0),
      };
    },
    async countOversellsSince(since) {
      const [row] = await db.select({ n: count() }).from(oversellIncidents).where(gte(oversellIncidents.at, since));
      return row?.n ?? 0;
    },
    async listNegativeAvailable(shop) {
      // Below zero by no more than what takes of our own may have lowered Shopify by since the
      // last push (`unconfirmed_take`) is our take, not a sale beyond stock.
      const l = inventoryLevels;
      const beyond = sql<number>`(${l.shopifyAvailable} + ${unconfirmedTakeExpression})::int`;
      const rows = await db
        .select({ sku: l.sku, location: l.location, available: beyond, readAt: l.shopifyReadAt })
        .from(l)
        .where(and(eq(l.shop, shop), lt(l.shopifyAvailable, 0), sql`${beyond} < 0`))
        .limit(1_000);
      return rows.map((row) => ({ ...row, available: Number(row.available) }));
    },
    async prune(before) {
      await db.delete(healthSamples).where(lt(healthSamples.at, before));
      await db.delete(oversellIncidents).where(lt(oversellIncidents.at, before));
    },
  };
}
