import { and, asc, eq, gt, inArray, isNotNull, lte, sql } from 'drizzle-orm';
import { rowsOf, type Db } from '../db/database.js';
import { inventoryLevels, syncItemStates, syncPushIntents } from '../db/schema/index.js';
import { ROWS_PER_STATEMENT, valuesTable } from '../db/sql-lists.js';
import { chunk } from '../shared/collections.js';
import { createInventoryLevelsWriter } from '../inventory/read-model/inventory-levels.writer.js';
import type { PushPosition } from './push-plan.js';

/**
 * The push's reads of the read model, and its own push state (intents, item states). It changes
 * only what the sync owns in the read model, through the read model's one writer
 * (src/inventory/read-model/inventory-levels.writer.ts): `unexplained_shopify_drop`
 * (relatively, so an order's handshake that lands meanwhile is kept; ATP recomputed in the same
 * statement), Shopify's last read and last set values, and `push_requested_at` (cleared only for
 * what was sent, moved to a retry time after a failure, or brought forward).
 */

export interface PositionRef {
  readonly sku: string;
  readonly location: string;
}

export interface ItemRef {
  readonly inventoryItemId: string;
  readonly shopifyLocationId: string;
}

export interface ItemState {
  readonly inventoryItemId: string;
  readonly shopifyLocationId: string;
  readonly consecutiveFailures: number;
  readonly lastUnexplainedDropAt: Date | null;
}

const chunks = <T>(items: readonly T[], size = ROWS_PER_STATEMENT): T[][] => chunk(items, size);

const itemKey = (ref: ItemRef) => `${ref.inventoryItemId}|${ref.shopifyLocationId}`;

export function createPushRepository(db: Db, shop: string) {
  const levels = createInventoryLevelsWriter(db, shop);

  /** When a drop was last left unexplained, per item (the order window's clock). */
  async function recordDropTimes(tx: Db, dropTimes: readonly (ItemRef & { lastUnexplainedDropAt: Date | null })[]): Promise<void> {
    for (const page of chunks(dropTimes)) {
      await tx
        .insert(syncItemStates)
        .values(page.map((d) => ({ shop, inventoryItemId: d.inventoryItemId, shopifyLocationId: d.shopifyLocationId, lastUnexplainedDropAt: d.lastUnexplainedDropAt })))
        .onConflictDoUpdate({
          target: [syncItemStates.shop, syncItemStates.inventoryItemId, syncItemStates.shopifyLocationId],
          set: { lastUnexplainedDropAt: sql`excluded.last_unexplained_drop_at` },
        });
    }
  }

  return {
    /**
     * The positions of these SKUs. `waitForWriters` (the stale re-plan) reads them `FOR SHARE`:
     * the read waits for a reservation's transaction still holding their rows (its take out of
     * Shopify already made, its grant not yet committed), so the re-plan never sees the ATP from
     * before a grant whose take it is looking at in Shopify's value.
     */
    async getPositionsBySkus(skus: readonly string[], options: { waitForWriters?: boolean } = {}): Promise<PushPosition[]> {
      const out: PushPosition[] = [];
      for (const page of chunks([...new Set(skus)])) {
        const rows = db
          .select({
            sku: inventoryLevels.sku,
            location: inventoryLevels.location,
            onHand: inventoryLevels.onHand,
            allocated: inventoryLevels.allocated,
            safetyStock: inventoryLevels.safetyStock,
            wholesaleCommitted: inventoryLevels.wholesaleCommitted,
            reserved: inventoryLevels.reserved,
            pendingOrders: inventoryLevels.pendingOrders,
            unexplainedShopifyDrop: inventoryLevels.unexplainedShopifyDrop,
            expiringLotUnits: inventoryLevels.expiringLotUnits,
            availableToPromise: inventoryLevels.availableToPromise,
            shopifyAvailable: inventoryLevels.shopifyAvailable,
            shopifyReadAt: inventoryLevels.shopifyReadAt,
            pushRequestedAt: inventoryLevels.pushRequestedAt,
            pendingCountedAt: inventoryLevels.pendingCountedAt,
          })
          .from(inventoryLevels)
          .where(and(eq(inventoryLevels.shop, shop), inArray(inventoryLevels.sku, page)))
          .$dynamic();
        // In (sku, location) order, as every writer locks them.
        out.push(...(options.waitForWriters ? await rows.orderBy(inventoryLevels.sku, inventoryLevels.location).for('share') : await rows));
      }
      return out;
    },

    /** SKUs with a push mark that is due (`push_requested_at <= now`), oldest mark first. */
    async findSkusDueForPush(now: Date, limit: number): Promise<string[]> {
      const result = await db.execute<{ sku: string }>(sql`
        select sku from ${inventoryLevels}
        where ${inventoryLevels.shop} = ${shop} and ${inventoryLevels.pushRequestedAt} <= ${now.toISOString()}::timestamptz
        group by sku order by min(${inventoryLevels.pushRequestedAt}), sku limit ${limit}`);
      return rowsOf<{ sku: string }>(result).map((row) => row.sku);
    },

    /** The earliest push mark after `now` (a retry or a drop release), to sleep until then. */
    async findNextFutureMark(now: Date): Promise<Date | null> {
      const [row] = await db
        .select({ at: sql<string | Date | null>`min(${inventoryLevels.pushRequestedAt})` })
        .from(inventoryLevels)
        .where(and(eq(inventoryLevels.shop, shop), isNotNull(inventoryLevels.pushRequestedAt), gt(inventoryLevels.pushRequestedAt, now)));
      return row?.at ? new Date(row.at) : null;
    },

    /** Distinct SKUs of the read model in order, one page at a time (pushes of everything). */
    async listSkus(after: string | null, limit: number): Promise<string[]> {
      const rows = await db
        .selectDistinct({ sku: inventoryLevels.sku })
        .from(inventoryLevels)
        .where(and(eq(inventoryLevels.shop, shop), after === null ? undefined : gt(inventoryLevels.sku, after)))
        .orderBy(asc(inventoryLevels.sku))
        .limit(limit);
      return rows.map((row) => row.sku);
    },

    async getItemStates(items: readonly ItemRef[]): Promise<Map<string, ItemState>> {
      const states = new Map<string, ItemState>();
      const ids = [...new Set(items.map((item) => item.inventoryItemId))];
      for (const page of chunks(ids)) {
        const rows = await db
          .select({
            inventoryItemId: syncItemStates.inventoryItemId,
            shopifyLocationId: syncItemStates.shopifyLocationId,
            consecutiveFailures: syncItemStates.consecutiveFailures,
            lastUnexplainedDropAt: syncItemStates.lastUnexplainedDropAt,
          })
          .from(syncItemStates)
          .where(and(eq(syncItemStates.shop, shop), inArray(syncItemStates.inventoryItemId, page)));
        for (const row of rows) states.set(itemKey(row), row);
      }
      return states;
    },

    /** `to_quantity` of every write in flight, by item × location. */
    async getInFlight(items: readonly ItemRef[]): Promise<Map<string, number[]>> {
      const inFlight = new Map<string, number[]>();
      const ids = [...new Set(items.map((item) => item.inventoryItemId))];
      for (const page of chunks(ids)) {
        const rows = await db
          .select({ inventoryItemId: syncPushIntents.inventoryItemId, shopifyLocationId: syncPushIntents.shopifyLocationId, toQuantity: syncPushIntents.toQuantity })
          .from(syncPushIntents)
          .where(and(eq(syncPushIntents.shop, shop), inArray(syncPushIntents.inventoryItemId, page)));
        for (const row of rows) inFlight.set(itemKey(row), [...(inFlight.get(itemKey(row)) ?? []), row.toQuantity]);
      }
      return inFlight;
    },

    /**
     * Adds to the positions' unexplained drop and recomputes their ATP, in one transaction;
     * records when a drop was last left unexplained per item.
     */
    async applyDropChanges(
      changes: readonly { sku: string; location: string; delta: number }[],
      dropTimes: readonly (ItemRef & { lastUnexplainedDropAt: Date | null })[],
      at: Date,
    ): Promise<void> {
      if (changes.length === 0 && dropTimes.length === 0) return;
      await db.transaction(async (tx) => {
        await createInventoryLevelsWriter(tx, shop).addUnexplainedDrop(changes, at);
        await recordDropTimes(tx, dropTimes);
      });
    },

    /**
     * See the writer's `applyPlannedReadings`: a plan's drop changes and reading, only where its
     * baseline still holds; with them, in the same transaction, the intents the readings settle
     * (`settled`: each item's writes sent no later than `upTo`, whoever sent them).
     */
    async applyPlannedReadings(
      changes: readonly (PositionRef & { delta: number; baselineAt: Date | null; reading: { available: number; at: Date } | null })[],
      dropTimes: readonly (ItemRef & { lastUnexplainedDropAt: Date | null })[],
      at: Date,
      settled: readonly (ItemRef & { upTo: Date })[] = [],
    ): Promise<void> {
      if (changes.length === 0 && dropTimes.length === 0 && settled.length === 0) return;
      await db.transaction(async (tx) => {
        await createInventoryLevelsWriter(tx, shop).applyPlannedReadings(changes, at);
        await recordDropTimes(tx, dropTimes);
        for (const page of chunks(settled)) {
          const rows = page.map((s) => sql`(${s.inventoryItemId}::text, ${s.shopifyLocationId}::text, ${s.upTo.toISOString()}::timestamptz)`);
          await tx.execute(sql`
            delete from ${syncPushIntents} using ${valuesTable(rows, 'item, location, up_to')}
            where ${syncPushIntents.shop} = ${shop} and ${syncPushIntents.inventoryItemId} = v.item
              and ${syncPushIntents.shopifyLocationId} = v.location and ${syncPushIntents.createdAt} <= v.up_to`);
        }
      });
    },

    /** Shopify's `available` as read at `at`, unless a newer reading or write is already recorded. */
    async recordReadings(readings: readonly (PositionRef & { available: number; at: Date })[]): Promise<void> {
      await levels.recordShopifyReadings(readings);
    },

    /** Writes about to be sent: recorded before the request so their outcome is never unknown to a later reading. */
    async addIntents(runId: string, intents: readonly (ItemRef & { fromQuantity: number | null; toQuantity: number })[], at: Date): Promise<void> {
      for (const page of chunks(intents)) {
        await db
          .insert(syncPushIntents)
          .values(page.map((i) => ({ shop, runId, inventoryItemId: i.inventoryItemId, shopifyLocationId: i.shopifyLocationId, fromQuantity: i.fromQuantity, toQuantity: i.toQuantity, createdAt: at })))
          .onConflictDoUpdate({
            target: [syncPushIntents.shop, syncPushIntents.inventoryItemId, syncPushIntents.shopifyLocationId, syncPushIntents.runId],
            set: { fromQuantity: sql`excluded.from_quantity`, toQuantity: sql`excluded.to_quantity`, createdAt: sql`excluded.created_at` },
          });
      }
    },

    async deleteIntents(runId: string, items: readonly ItemRef[]): Promise<void> {
      for (const page of chunks(items)) {
        const rows = page.map((i) => sql`(${i.inventoryItemId}::text, ${i.shopifyLocationId}::text)`);
        await db.execute(sql`
          delete from ${syncPushIntents} using ${valuesTable(rows, 'item, location')}
          where ${syncPushIntents.shop} = ${shop} and ${syncPushIntents.runId} = ${runId}
            and ${syncPushIntents.inventoryItemId} = v.item and ${syncPushIntents.shopifyLocationId} = v.location`);
      }
    },

    /** Intents older than `before` (their runs are long over): forgotten, so they stop widening readings. */
    async deleteIntentsOlderThan(before: Date): Promise<number> {
      const deleted = await db
        .delete(syncPushIntents)
        .where(and(eq(syncPushIntents.shop, shop), lte(syncPushIntents.createdAt, before)))
        .returning({ runId: syncPushIntents.runId });
      return deleted.length;
    },

    /**
     * Writes Shopify applied: the value set becomes the baseline and the last pushed value; the
     * push mark is cleared where the ATP is still the one the push was computed from (a change
     * that landed meanwhile keeps its mark); the intent goes; failures are forgotten.
     */
    async recordApplied(
      runId: string,
      applied: readonly { item: ItemRef; quantity: number; replaced?: number | null; positions: readonly (PositionRef & { atp: number })[] }[],
      at: Date,
      sentAt?: Date,
    ): Promise<void> {
      if (applied.length === 0) return;
      await db.transaction(async (tx) => {
        const pushed = createInventoryLevelsWriter(tx, shop);
        for (const page of chunks(applied, 500)) {
          await pushed.recordPushed(
            page.flatMap((a) => a.positions.map((p) => ({ sku: p.sku, location: p.location, quantity: a.quantity, atp: p.atp, replaced: a.replaced ?? null }))),
            at,
            sentAt,
          );
          const items = page.map((a) => sql`(${a.item.inventoryItemId}::text, ${a.item.shopifyLocationId}::text)`);
          await tx.execute(sql`
            delete from ${syncPushIntents} using ${valuesTable(items, 'item, location')}
            where ${syncPushIntents.shop} = ${shop} and ${syncPushIntents.runId} = ${runId}
              and ${syncPushIntents.inventoryItemId} = v.item and ${syncPushIntents.shopifyLocationId} = v.location`);
          await tx.execute(sql`
            update ${syncItemStates} set consecutive_failures = 0
            from ${valuesTable(items, 'item, location')}
            where ${syncItemStates.shop} = ${shop} and ${syncItemStates.consecutiveFailures} > 0
              and ${syncItemStates.inventoryItemId} = v.item and ${syncItemStates.shopifyLocationId} = v.location`);
        }
      });
    },

    /** Positions whose Shopify value is already right: their marks are cleared where the ATP is unchanged. */
    async clearMarks(positions: readonly (PositionRef & { atp: number })[]): Promise<void> {
      await levels.clearPushMarks(positions);
    },

    /**
     * Clears due marks on these SKUs' positions that have no push target (`covered` holds
     * `sku|location` of those that do): unmapped or ambiguous, nothing can be sent for them.
     */
    async clearMarksWithout(skus: readonly string[], covered: ReadonlySet<string>, now: Date): Promise<void> {
      if (skus.length === 0) return;
      const marked = await db
        .select({ sku: inventoryLevels.sku, location: inventoryLevels.location })
        .from(inventoryLevels)
        .where(and(eq(inventoryLevels.shop, shop), inArray(inventoryLevels.sku, [...skus]), lte(inventoryLevels.pushRequestedAt, now)));
      await levels.clearDuePushMarks(
        marked.filter((p) => !covered.has(`${p.sku}|${p.location}`)),
        now,
      );
    },

    /**
     * Marks positions for the event push at `at`: `set` moves any mark there (a retry after a
     * failure waits, even for a change marked earlier; with `atp`, the ATP the failed write was
     * computed from, only where it is still the ATP: a change that landed meanwhile keeps its
     * push due; a change made later brings it forward again); `earliest` is "push no later than"
     * and keeps an earlier mark (a held drop's release time must not delay a change already
     * waiting).
     */
    async markForPushAt(positions: readonly (PositionRef & { at: Date; atp?: number })[], mode: 'set' | 'earliest' = 'set'): Promise<void> {
      if (mode === 'set') await levels.deferPush(positions);
      else await levels.requestPushAt(positions);
    },

    /** Counts a failure per item; returns the consecutive count after it (for backoff and alerts). */
    async recordFailures(failures: readonly (ItemRef & { code: string; message: string })[], at: Date): Promise<Map<string, number>> {
      const counts = new Map<string, number>();
      for (const page of chunks(failures)) {
        const rows = await db
          .insert(syncItemStates)
          .values(
            page.map((f) => ({
              shop,
              inventoryItemId: f.inventoryItemId,
              shopifyLocationId: f.shopifyLocationId,
              consecutiveFailures: 1,
              lastFailureCode: f.code,
              lastFailureMessage: f.message.slice(0, 1_000),
              lastFailedAt: at,
            })),
          )
          .onConflictDoUpdate({
            target: [syncItemStates.shop, syncItemStates.inventoryItemId, syncItemStates.shopifyLocationId],
            set: {
              consecutiveFailures: sql`${syncItemStates.consecutiveFailures} + 1`,
              lastFailureCode: sql`excluded.last_failure_code`,
              lastFailureMessage: sql`excluded.last_failure_message`,
              lastFailedAt: sql`excluded.last_failed_at`,
            },
          })
          .returning({ inventoryItemId: syncItemStates.inventoryItemId, shopifyLocationId: syncItemStates.shopifyLocationId, consecutiveFailures: syncItemStates.consecutiveFailures });
        for (const row of rows) counts.set(itemKey(row), row.consecutiveFailures);
      }
      return counts;
    },
  };
}

export type PushRepository = ReturnType<typeof createPushRepository>;
