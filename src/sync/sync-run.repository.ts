import { and, asc, desc, eq, inArray, isNull, lt, or, sql } from 'drizzle-orm';
import type { Db } from '../db/database.js';
import { syncRunChanges, syncRunErrors, syncRuns, syncWatermarks, type SyncRunKind, type SyncRunStatus } from '../db/schema/index.js';
import { assertFenceHeld, leaseLostError, type JobFence } from '../scheduler/fence.js';
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

/** A condition on a run's own fence: none for unfenced work, else exactly the caller's token. */
function fencedBy(fence: JobFence | undefined) {
  return fence ? eq(syncRuns.fence, fence.token) : undefined;
}

export function createSyncRunRepository(db: Db, shop: string) {
  /**
   * Runs `write` for a fenced run only while the run still carries its token, with the run's row
   * locked in share mode until commit (a take-over waits, then clears what was written); a run
   * taken over records nothing (0). Unfenced: just the write.
   */
  const whileHeld = async (runId: string, fence: JobFence | undefined, write: (handle: Db) => Promise<number>): Promise<number> => {
    if (!fence) return write(db);
    return db.transaction(async (tx) => {
      const held = await tx
        .select({ id: syncRuns.id })
        .from(syncRuns)
        .where(and(eq(syncRuns.id, runId), eq(syncRuns.status, 'RUNNING'), eq(syncRuns.fence, fence.token)))
        .for('share');
      return held.length === 0 ? 0 : write(tx);
    });
  };

  return {
    async createRun(input: { kind: SyncRunKind; dryRun: boolean; full: boolean; request: Record<string, unknown>; at: Date; fence?: JobFence | undefined }): Promise<SyncRunRecord> {
      const values = { shop, kind: input.kind, status: 'RUNNING' as const, dryRun: input.dryRun, full: input.full, request: input.request, startedAt: input.at, heartbeatAt: input.at, fence: input.fence?.token ?? null };
      if (!input.fence) {
        const [row] = await db.insert(syncRuns).values(values).returning();
        return toRun(row!);
      }
      const fence = input.fence;
      return db.transaction(async (tx) => {
        await assertFenceHeld(tx, fence, 'starting a sync run');
        const [row] = await tx.insert(syncRuns).values(values).returning();
        return toRun(row!);
      });
    },

    /**
     * Starts a run that must be alone of its key (`reconcile`): the unique index on RUNNING runs
     * per key makes the insert do nothing when one runs already, on any instance. Returns the new
     * run, or the running one to join.
     */
    async startSingleFlightRun(
      key: string,
      input: { kind: SyncRunKind; dryRun: boolean; full: boolean; request: Record<string, unknown>; at: Date },
    ): Promise<{ run: SyncRunRecord; joined: boolean }> {
      // The running one may finish between the insert and the look-up: then insert again.
      for (let attempt = 0; ; attempt++) {
        const [row] = await db
          .insert(syncRuns)
          .values({ shop, kind: input.kind, status: 'RUNNING', dryRun: input.dryRun, full: input.full, request: input.request, startedAt: input.at, heartbeatAt: input.at, singleFlight: key })
          .onConflictDoNothing()
          .returning();
        if (row) return { run: toRun(row), joined: false };
        const [running] = await db
          .select()
          .from(syncRuns)
          .where(and(eq(syncRuns.shop, shop), eq(syncRuns.singleFlight, key), eq(syncRuns.status, 'RUNNING')));
        if (running) return { run: toRun(running), joined: true };
        if (attempt >= 5) throw new Error(`could not start or find the running ${key} run`);
      }
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

    /**
     * Takes over a RUNNING run a stopped holder left behind: `resume` keeps its id (so its
     * Shopify writes reuse their idempotency keys) and clears the items it recorded; `fail`
     * records it FAILED. With a fence, only a run of an older token (or none) is taken, and only
     * while the fence still holds the job's lease: a stale holder never takes over its successor's
     * run. Without one (a direct call), only unfenced runs are taken. Null when not taken.
     */
    async takeOverRun(id: string, how: 'resume' | 'fail', at: Date, fence: JobFence | undefined): Promise<SyncRunRecord | null> {
      return db.transaction(async (tx) => {
        if (fence) await assertFenceHeld(tx, fence, 'taking over a sync run');
        const olderHolder = fence ? or(isNull(syncRuns.fence), lt(syncRuns.fence, fence.token)) : isNull(syncRuns.fence);
        const [row] = await tx
          .update(syncRuns)
          .set(
            how === 'resume'
              ? { attempts: sql`${syncRuns.attempts} + 1`, heartbeatAt: at, fence: fence?.token ?? null, itemsConsidered: 0, itemsPushed: 0, itemsUnchanged: 0, itemsFailed: 0, driftFound: null }
              : { status: 'FAILED', finishedAt: at, failure: { code: 'SYNC_RUN_ABANDONED', message: 'the process running it stopped before it finished' } },
          )
          .where(and(eq(syncRuns.shop, shop), eq(syncRuns.id, id), eq(syncRuns.status, 'RUNNING'), olderHolder))
          .returning();
        if (!row) return null;
        if (how === 'resume') {
          await tx.delete(syncRunErrors).where(eq(syncRunErrors.runId, id));
          await tx.delete(syncRunChanges).where(eq(syncRunChanges.runId, id));
        }
        return toRun(row);
      });
    },

    /** Progress of a running run, and proof it is alive (a fenced run: only by its own token). */
    async heartbeat(id: string, tally: RunTally, full: boolean, at: Date, fence?: JobFence): Promise<void> {
      await db
        .update(syncRuns)
        .set({ heartbeatAt: at, ...countsOf(tally, full) })
        .where(and(eq(syncRuns.id, id), eq(syncRuns.status, 'RUNNING'), fencedBy(fence)));
    },

    /** Records how a run ended; with a fence, only while the run is still this token's (null otherwise). */
    async finishRun(
      id: string,
      outcome: { status: SyncRunStatus; tally: RunTally; full: boolean; failure?: { code: string; message: string } | null; at: Date },
      fence?: JobFence,
    ): Promise<SyncRunRecord | null> {
      const [row] = await db
        .update(syncRuns)
        .set({ status: outcome.status, finishedAt: outcome.at, heartbeatAt: outcome.at, failure: outcome.failure ?? null, ...countsOf(outcome.tally, outcome.full) })
        .where(and(eq(syncRuns.id, id), fencedBy(fence), fence ? eq(syncRuns.status, 'RUNNING') : undefined))
        .returning();
      return row ? toRun(row) : null;
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

    /** A fenced run's items are recorded only while the run is still its token's (0 recorded otherwise). */
    async addErrors(runId: string, errors: readonly SyncRunErrorRecord[], alreadyRecorded: number, fence?: JobFence): Promise<number> {
      const room = Math.max(0, MAX_ERRORS_PER_RUN - alreadyRecorded);
      const kept = errors.slice(0, room);
      if (kept.length === 0) return 0;
      return whileHeld(runId, fence, async (handle) => {
        await handle.insert(syncRunErrors).values(kept.map((e) => ({ runId, ...e, message: e.message.slice(0, 2_000) })));
        return kept.length;
      });
    },

    async addChanges(runId: string, changes: readonly SyncRunChangeRecord[], alreadyRecorded: number, fence?: JobFence): Promise<number> {
      const room = Math.max(0, MAX_CHANGES_PER_RUN - alreadyRecorded);
      const kept = changes.slice(0, room);
      if (kept.length === 0) return 0;
      return whileHeld(runId, fence, async (handle) => {
        for (let i = 0; i < kept.length; i += 1_000) await handle.insert(syncRunChanges).values(kept.slice(i, i + 1_000).map((c) => ({ runId, ...c })));
        return kept.length;
      });
    },

    async findRun(id: string): Promise<SyncRunRecord | null> {
      if (!UUID.test(id)) return null;
      const [row] = await db.select().from(syncRuns).where(and(eq(syncRuns.shop, shop), eq(syncRuns.id, id)));
      return row ? toRun(row) : null;
    },

    /**
     * Up to `limit` runs, newest first by `seq` (an identity: unique, in creation order, so runs
     * started in one instant keep one order); `afterSeq` continues after a page's last run.
     */
    async listRuns(limit: number, afterSeq: number | null): Promise<Array<{ run: SyncRunRecord; seq: number }>> {
      const rows = await db
        .select()
        .from(syncRuns)
        .where(and(eq(syncRuns.shop, shop), afterSeq === null ? undefined : lt(syncRuns.seq, afterSeq)))
        .orderBy(desc(syncRuns.seq))
        .limit(limit);
      return rows.map((row) => ({ run: toRun(row), seq: row.seq }));
    },

    async countRuns(): Promise<number> {
      const [row] = await db
        .select({ count: sql<number>`count(*)::int` })
        .from(syncRuns)
        .where(eq(syncRuns.shop, shop));
      return Number(row?.count ?? 0);
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

    /**
     * Moves a feed's watermark. With a fence (a scheduled run), only while the fence holds the
     * job's lease and no newer token wrote it: a holder frozen past its lease cannot move the
     * watermark over its successor's (`JOB_LEASE_LOST`).
     */
    async setWatermark(feed: string, watermark: string, at: Date, fence?: JobFence): Promise<void> {
      const write = (handle: Db) =>
        handle
          .insert(syncWatermarks)
          .values({ shop, feed, watermark, updatedAt: at, fence: fence?.token ?? null })
          .onConflictDoUpdate({
            target: [syncWatermarks.shop, syncWatermarks.feed],
            set: { watermark, updatedAt: at, fence: fence ? fence.token : sql`${syncWatermarks.fence}` },
            // Defence in depth: the lease check below already refuses a stale holder.
            setWhere: fence ? sql`${syncWatermarks.fence} is null or ${syncWatermarks.fence} <= ${fence.token}` : undefined,
          })
          .returning({ feed: syncWatermarks.feed });
      if (!fence) {
        await write(db);
        return;
      }
      await db.transaction(async (tx) => {
        await assertFenceHeld(tx, fence, 'moving the watermark');
        if ((await write(tx)).length === 0) throw leaseLostError(fence, 'moving the watermark over one a newer token wrote');
      });
    },
  };
}

export type SyncRunRepository = ReturnType<typeof createSyncRunRepository>;
