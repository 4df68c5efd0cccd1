import { and, count, desc, eq, isNull, lt, or, sql, type SQL } from 'drizzle-orm';
import type { Db } from '../db/database.js';
import { alerts } from '../db/schema/health.js';
import type { Alert, AlertStore } from './alert-sender.js';

/** A stored alert: one per key, with how often and when it was seen. */
export interface AlertRecord {
  readonly id: number;
  readonly key: string;
  readonly code: string;
  readonly severity: 'warning' | 'critical';
  readonly message: string;
  readonly details: Record<string, unknown>;
  readonly firstSeenAt: Date;
  readonly lastSeenAt: Date;
  readonly count: number;
  readonly resolvedAt: Date | null;
  readonly acknowledgedAt: Date | null;
  readonly acknowledgedBy: string | null;
}

export interface AlertsRepository extends AlertStore {
  /** Newest first (by id: a stable order while alerts are seen again); `open`: neither acknowledged nor resolved. */
  list(options: { readonly open?: boolean | null; readonly limit: number; readonly beforeId?: number | null }): Promise<AlertRecord[]>;
  countAll(open?: boolean | null): Promise<number>;
  findById(id: number): Promise<AlertRecord | null>;
  /** Acknowledges an alert; answers it as now stored (null: no such alert). Acknowledging twice keeps the first. */
  acknowledge(id: number, by: string, at: Date): Promise<AlertRecord | null>;
}

const openCondition = and(isNull(alerts.acknowledgedAt), isNull(alerts.resolvedAt));

function filterOf(open: boolean | null | undefined): SQL | undefined {
  if (open === true) return openCondition;
  if (open === false) return or(sql`${alerts.acknowledgedAt} is not null`, sql`${alerts.resolvedAt} is not null`);
  return undefined;
}

/**
 * The one writer of `alerts`. `record` is one upsert, so two instances raising the same key at
 * once store one row and exactly one of them is told it is fresh (the insert, or the update that
 * found the row resolved).
 */
export function createAlertsRepository(db: Db): AlertsRepository {
  return {
    async record(alert: Alert & { readonly key: string }, at: Date) {
      return db.transaction(async (tx) => {
        // The lock orders two instances raising a resolved alert: the second sees it reopened.
        const [previous] = await tx.select({ resolvedAt: alerts.resolvedAt }).from(alerts).where(eq(alerts.key, alert.key)).for('update');
        const reopen = sql`${alerts.resolvedAt} is not null`;
        const [row] = await tx
          .insert(alerts)
          .values({ key: alert.key, code: alert.code, severity: alert.severity, message: alert.message, details: alert.details ?? {}, firstSeenAt: at, lastSeenAt: at, count: 1 })
          .onConflictDoUpdate({
            target: alerts.key,
            set: {
              count: sql`${alerts.count} + 1`,
              lastSeenAt: at,
              message: alert.message,
              details: alert.details ?? {},
              severity: alert.severity,
              firstSeenAt: sql`case when ${reopen} then excluded.first_seen_at else ${alerts.firstSeenAt} end`,
              acknowledgedAt: sql`case when ${reopen} then null else ${alerts.acknowledgedAt} end`,
              acknowledgedBy: sql`case when ${reopen} then null else ${alerts.acknowledgedBy} end`,
              resolvedAt: null,
            },
          })
          .returning({ inserted: sql<boolean>`(xmax = 0)` });
        return { fresh: Boolean(row?.inserted) || (previous !== undefined && previous.resolvedAt !== null) };
      });
    },
    async resolve(key, at) {
      const rows = await db.update(alerts).set({ resolvedAt: at }).where(and(eq(alerts.key, key), isNull(alerts.resolvedAt))).returning({ id: alerts.id });
      return rows.length > 0;
    },
    async list({ open, limit, beforeId }) {
      const conditions = [filterOf(open)];
      if (beforeId !== null && beforeId !== undefined) conditions.push(lt(alerts.id, beforeId));
      const rows = await db
        .select()
        .from(alerts)
        .where(and(...conditions))
        .orderBy(desc(alerts.id))
        .limit(limit);
      return rows.map(toRecord);
    },
    async countAll(open) {
      const [row] = await db.select({ n: count() }).from(alerts).where(filterOf(open));
      return row?.n ?? 0;
    },
    async findById(id) {
      const [row] = await db.select().from(alerts).where(eq(alerts.id, id));
      return row ? toRecord(row) : null;
    },
    async acknowledge(id, by, at) {
      await db
        .update(alerts)
        .set({ acknowledgedAt: at, acknowledgedBy: by })
        .where(and(eq(alerts.id, id), isNull(alerts.acknowledgedAt)));
      return this.findById(id);
    },
  };
}

function toRecord(row: typeof alerts.$inferSelect): AlertRecord {
  return {
    ...row,
    severity: row.severity === 'critical' ? 'critical' : 'warning',
    details: (row.details ?? {}) as Record<string, unknown>,
  };
}
