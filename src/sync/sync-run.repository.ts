import { and, asc, desc, eq, inArray, lt, sql } from 'drizzle-orm';
import type { Db } from '../db/database.js';
import { syncRunChanges, syncRunErrors, syncRuns, syncWatermarks, type SyncRunKind, type SyncRunStatus } from '../db/schema/index.js';
import type { RunTally, SyncRunChangeRecord, SyncRunErrorRecord, SyncRunRecord } from './sync.models.js';

/** Per-item rows kept per run: the counts hold the full figures, these the first examples. */
export const MAX_ERRORS_PER_RUN = 1_000;
export const MAX_CHANGES_PER_RUN = 2_000;

type RunRow = typeof syncRuns.$inferSelect;

function toRun(row: RunRow): SyncRunRecord {
  return {
    id: row.id,
    kind: row.kind,
    status: row.status,
    dryRun: row.dryRun,
    full: row.full,
    request: row.request,
    startedAt: row.startedAt,
    finishedAt: row.finishedAt,
    attempts: row.attempts,
    itemsConsidered: row.itemsConsidered,
    itemsPushed: row.itemsPushed,
    itemsUnchanged: row.itemsUnchanged,
    itemsFailed: row.itemsFailed,
    driftFound: row.driftFound,
    failure: row.failure ?? null,
  };
}

const countsOf = (tally: RunTally, full: boolean) => ({
  itemsConsidered: tally.considered,
  itemsPushed: tally.pushed,
  itemsUnchanged: tally.unchanged,
  itemsFailed: tally.failed,
  driftFound: full ? tally.drift : null,
});

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export function createSyncRunRepository(db: Db, shop: string) {
  return {
    async createRun(input: { kind: SyncRunKind; dryRun: boolean; full: boolean; request: Record<string, unknown>; at: Date }): Promise<SyncRunRecord> {
      const [row] = await db
        .insert(syncRuns)
        .values({ shop, kind: input.kind, status: 'RUNNING', dryRun: input.dryRun, full: input.full, request: input.request, startedAt: input.at, heartbeatAt: input.at })
        .returning();
      return toRun(row!);
    },

    /** RUNNING runs of a kind (for a job that runs once at a time: ones a dead process left behind). */
    async findRunning(kind: SyncRunKind): Promise<SyncRunRecord[]> {
      const rows = await db
        .select()
        .from(syncRuns)
        .where(and(eq(syncRuns.shop, shop), eq(syncRuns.kind, kind), eq(syncRuns.status, 'RUNNING')))
        .orderBy(asc(syncRuns.seq));
      return rows.map(toRun);
    },

    /** Takes over an abandoned run under the same id (so its Shopify writes reuse their idempotency keys). */
    async resumeRun(id: string, at: Date): Promise<SyncRunRecord> {
      const [row] = await db
        .update(syncRuns)
        .set({ attempts: sql`${syncRuns.attempts} + 1`, heartbeatAt: at, itemsConsidered: 0, itemsPushed: 0, itemsUnchanged: 0, itemsFailed: 0, driftFound: null })
        .where(and(eq(syncRuns.shop, shop), eq(syncRuns.id, id)))
        .returning();
      return toRun(row!);
    },

    /** Progress of a running run, and proof it is alive. */
    async heartbeat(id: string, tally: RunTally, full: boolean, at: Date): Promise<void> {
      await db
        .update(syncRuns)
        .set({ heartbeatAt: at, ...countsOf(tally, full) })
        .where(and(eq(syncRuns.id, id), eq(syncRuns.status, 'RUNNING')));
    },

    async finishRun(id: string, outcome: { status: SyncRunStatus; tally: RunTally; full: boolean; failure?: { code: string; message: string } | null; at: Date }): Promise<SyncRunRecord> {
      const [row] = await db
        .update(syncRuns)
        .set({ status: outcome.status, finishedAt: outcome.at, heartbeatAt: outcome.at, failure: outcome.failure ?? null, ...countsOf(outcome.tally, outcome.full) })
        .where(eq(syncRuns.id, id))
        .returning();
      return toRun(row!);
    },

    /** RUNNING runs that stopped beating before `before`: their process died; recorded as FAILED. */
    async failAbandoned(before: Date, at: Date, kinds?: readonly SyncRunKind[]): Promise<SyncRunRecord[]> {
      const rows = await db
        .update(syncRuns)
        .set({ status: 'FAILED', finishedAt: at, failure: { code: 'SYNC_RUN_ABANDONED', message: 'the process running it stopped before it finished' } })
        .where(
          and(
            eq(syncRuns.shop, shop),
            eq(syncRuns.status, 'RUNNING'),
            lt(syncRuns.heartbeatAt, before),
            kinds ? inArray(syncRuns.kind, [...kinds]) : undefined,
          ),
        )
        .returning();
      return rows.map(toRun);
    },

    /** Finished runs older than `before` go, with their errors and changes (event runs add up). */
    async deleteFinishedBefore(before: Date): Promise<number> {
      const deleted = await db
        .delete(syncRuns)
        .where(and(eq(syncRuns.shop, shop), lt(syncRuns.startedAt, before), inArray(syncRuns.status, ['SUCCEEDED', 'PARTIAL', 'FAILED'])))
        .returning({ id: syncRuns.id });
      return deleted.length;
    },

    async addErrors(runId: string, errors: readonly SyncRunErrorRecord[], alreadyRecorded: number): Promise<number> {
      const room = Math.max(0, MAX_ERRORS_PER_RUN - alreadyRecorded);
      const kept = errors.slice(0, room);
      if (kept.length > 0) await db.insert(syncRunErrors).values(kept.map((e) => ({ runId, ...e, message: e.message.slice(0, 2_000) })));
      return kept.length;
    },

    async addChanges(runId: string, changes: readonly SyncRunChangeRecord[], alreadyRecorded: number): Promise<number> {
      const room = Math.max(0, MAX_CHANGES_PER_RUN - alreadyRecorded);
      const kept = changes.slice(0, room);
      for (let i = 0; i < kept.length; i += 1_000) await db.insert(syncRunChanges).values(kept.slice(i, i + 1_000).map((c) => ({ runId, ...c })));
      return kept.length;
    },

    /** Errors and changes a run recorded before a crash, when it is taken over (they are recorded again). */
    async clearItems(runId: string): Promise<void> {
      await db.delete(syncRunErrors).where(eq(syncRunErrors.runId, runId));
      await db.delete(syncRunChanges).where(eq(syncRunChanges.runId, runId));
    },

    async findRun(id: string): Promise<SyncRunRecord | null> {
      if (!UUID.test(id)) return null;
      const [row] = await db.select().from(syncRuns).where(and(eq(syncRuns.shop, shop), eq(syncRuns.id, id)));
      return row ? toRun(row) : null;
    },

    /** Newest first; `afterSeq` continues after a page's last run. */
    async listRuns(first: number, afterSeq: number | null): Promise<{ runs: SyncRunRecord[]; seqs: number[]; hasNextPage: boolean }> {
      const rows = await db
        .select()
        .from(syncRuns)
        .where(and(eq(syncRuns.shop, shop), afterSeq === null ? undefined : lt(syncRuns.seq, afterSeq)))
        .orderBy(desc(syncRuns.seq))
        .limit(first + 1);
      const page = rows.slice(0, first);
      return { runs: page.map(toRun), seqs: page.map((row) => row.seq), hasNextPage: rows.length > first };
    },

    async getErrors(runIds: readonly string[], limit: number): Promise<Map<string, SyncRunErrorRecord[]>> {
      const byRun = new Map<string, SyncRunErrorRecord[]>(runIds.map((id) => [id, []]));
      if (runIds.length === 0) return byRun;
      const rows = await db.select().from(syncRunErrors).where(inArray(syncRunErrors.runId, [...runIds])).orderBy(asc(syncRunErrors.id));
      for (const row of rows) {
        const list = byRun.get(row.runId)!;
        if (list.length < limit)
          list.push({ sku: row.sku, location: row.location, inventoryItemId: row.inventoryItemId, shopifyLocationId: row.shopifyLocationId, code: row.code, message: row.message });
      }
      return byRun;
    },

    async getChanges(runIds: readonly string[], limit: number): Promise<Map<string, SyncRunChangeRecord[]>> {
      const byRun = new Map<string, SyncRunChangeRecord[]>(runIds.map((id) => [id, []]));
      if (runIds.length === 0) return byRun;
      const rows = await db.select().from(syncRunChanges).where(inArray(syncRunChanges.runId, [...runIds])).orderBy(asc(syncRunChanges.id));
      for (const row of rows) {
        const list = byRun.get(row.runId)!;
        if (list.length < limit)
          list.push({
            sku: row.sku,
            location: row.location,
            inventoryItemId: row.inventoryItemId,
            shopifyLocationId: row.shopifyLocationId,
            fromQuantity: row.fromQuantity,
            toQuantity: row.toQuantity,
            applied: row.applied,
          });
      }
      return byRun;
    },

    /** When a run of one of these kinds last finished without failing (SUCCEEDED or PARTIAL). */
    async lastSuccessAt(kinds: readonly SyncRunKind[]): Promise<Date | null> {
      const [row] = await db
        .select({ at: sql<string | Date | null>`max(${syncRuns.finishedAt})` })
        .from(syncRuns)
        .where(and(eq(syncRuns.shop, shop), inArray(syncRuns.kind, [...kinds]), inArray(syncRuns.status, ['SUCCEEDED', 'PARTIAL']), eq(syncRuns.dryRun, false)));
      return row?.at ? new Date(row.at) : null;
    },

    /** When a full reconcile (scheduled or manual, not dry) last finished without failing. */
    async lastFullSuccessAt(): Promise<Date | null> {
      const [row] = await db
        .select({ at: sql<string | Date | null>`max(${syncRuns.finishedAt})` })
        .from(syncRuns)
        .where(and(eq(syncRuns.shop, shop), eq(syncRuns.full, true), inArray(syncRuns.status, ['SUCCEEDED', 'PARTIAL']), eq(syncRuns.dryRun, false)));
      return row?.at ? new Date(row.at) : null;
    },

    async getWatermark(feed: string): Promise<string | null> {
      const [row] = await db.select({ watermark: syncWatermarks.watermark }).from(syncWatermarks).where(and(eq(syncWatermarks.shop, shop), eq(syncWatermarks.feed, feed)));
      return row?.watermark ?? null;
    },

    async setWatermark(feed: string, watermark: string, at: Date): Promise<void> {
      await db
        .insert(syncWatermarks)
        .values({ shop, feed, watermark, updatedAt: at })
        .onConflictDoUpdate({ target: [syncWatermarks.shop, syncWatermarks.feed], set: { watermark, updatedAt: at } });
    },
  };
}

export type SyncRunRepository = ReturnType<typeof createSyncRunRepository>;
