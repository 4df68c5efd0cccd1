import { and, desc, eq, gt, inArray, isNotNull, lt, or, sql } from 'drizzle-orm';
import { rowsOf, type Db } from '../db/database.js';
import {
  inventoryLevels,
  syncDriftEvents,
  syncLevelEvents,
  syncLocationPolicies,
  type DriftAction,
  type DriftSource,
  type LevelEventOutcome,
  type LocationPolicy,
} from '../db/schema/index.js';

/**
 * The merchant-edit side of the sync: the inbox of `inventory_levels/update` deliveries, the
 * drift found (by those deliveries and by the full reconcile) and the per-position policies.
 * These tables are written only here; the read model is read here and changed only through the
 * push repository (its one writer).
 */

export interface LevelEventRecord {
  readonly id: number;
  readonly webhookId: string;
  readonly inventoryItemId: string;
  readonly shopifyLocationId: string;
  readonly available: number;
  readonly shopifyUpdatedAt: Date | null;
  readonly receivedAt: Date;
  readonly outcome: LevelEventOutcome;
  readonly before: number | null;
  readonly attempts: number;
}

export interface NewDriftEvent {
  readonly sku: string;
  readonly location: string;
  readonly inventoryItemId: string;
  readonly shopifyLocationId: string;
  readonly source: DriftSource;
  readonly before: number | null;
  readonly after: number;
  readonly expected: number;
  readonly action: DriftAction;
}

export interface DriftEventRecord extends NewDriftEvent {
  readonly id: number;
  readonly detectedAt: Date;
  readonly alertedAt: Date | null;
}

/** What the merchant-edit check needs of a read-model row beyond the push's view. */
export interface LastPushed {
  readonly sku: string;
  readonly location: string;
  readonly lastPushedQuantity: number | null;
  readonly lastPushedAt: Date | null;
}

/** Drift rows per insert statement (a reconcile may find thousands). */
const DRIFT_ROWS_PER_STATEMENT = 1_000;

export function createMerchantEditsRepository(db: Db, shop: string) {
  return {
    // ------------------------------------------------------------ inbox

    /** Stores a delivery, due now; false when its webhook id (or event id) was stored before. */
    async storeLevelEvent(event: {
      webhookId: string;
      eventId: string | null;
      inventoryItemId: string;
      shopifyLocationId: string;
      available: number;
      shopifyUpdatedAt: Date | null;
      at: Date;
    }): Promise<boolean> {
      const inserted = await db
        .insert(syncLevelEvents)
        .values({
          shop,
          webhookId: event.webhookId,
          eventId: event.eventId,
          inventoryItemId: event.inventoryItemId,
          shopifyLocationId: event.shopifyLocationId,
          available: event.available,
          shopifyUpdatedAt: event.shopifyUpdatedAt,
          receivedAt: event.at,
          dueAt: event.at,
        })
        .onConflictDoNothing()
        .returning({ id: syncLevelEvents.id });
      return inserted.length > 0;
    },

    /**
     * Takes up to `limit` due deliveries, oldest first, and pushes their due time `leaseMs` on, so
     * another instance does not take them meanwhile; one that is not settled comes due again then.
     */
    async claimDue(now: Date, limit: number, leaseMs: number): Promise<LevelEventRecord[]> {
      const result = await db.execute(sql`
        update ${syncLevelEvents} e set due_at = ${new Date(now.getTime() + leaseMs).toISOString()}::timestamptz, attempts = e.attempts + 1
        where e.id in (
          select id from ${syncLevelEvents}
          where shop = ${shop} and due_at is not null and due_at <= ${now.toISOString()}::timestamptz
          order by id limit ${limit} for update skip locked)
        returning e.id, e.webhook_id, e.inventory_item_id, e.shopify_location_id, e.available, e.shopify_updated_at, e.received_at, e.outcome, e.before, e.attempts`);
      return rowsOf<Record<string, unknown>>(result)
        .map((row) => ({
          id: Number(row.id),
          webhookId: String(row.webhook_id),
          inventoryItemId: String(row.inventory_item_id),
          shopifyLocationId: String(row.shopify_location_id),
          available: Number(row.available),
          shopifyUpdatedAt: row.shopify_updated_at === null ? null : new Date(row.shopify_updated_at as string),
          receivedAt: new Date(row.received_at as string),
          outcome: row.outcome as LevelEventOutcome,
          before: row.before === null ? null : Number(row.before),
          attempts: Number(row.attempts),
        }))
        .sort((a, b) => a.id - b.id);
    },

    async settle(ids: readonly number[], outcome: LevelEventOutcome, at: Date): Promise<void> {
      if (ids.length === 0) return;
      await db.update(syncLevelEvents).set({ outcome, dueAt: null, settledAt: at }).where(and(eq(syncLevelEvents.shop, shop), inArray(syncLevelEvents.id, [...ids])));
    },

    /** A fall that waits for its order: looked at again at `dueAt`. */
    async hold(id: number, before: number | null, dueAt: Date): Promise<void> {
      await db.update(syncLevelEvents).set({ outcome: 'HELD', before, dueAt }).where(and(eq(syncLevelEvents.shop, shop), eq(syncLevelEvents.id, id)));
    },

    /** The earliest time a delivery comes due after `now` (a held fall), to sleep until then. */
    async findNextDue(now: Date): Promise<Date | null> {
      const [row] = await db
        .select({ at: sql<string | Date | null>`min(${syncLevelEvents.dueAt})` })
        .from(syncLevelEvents)
        .where(and(eq(syncLevelEvents.shop, shop), isNotNull(syncLevelEvents.dueAt), gt(syncLevelEvents.dueAt, now)));
      return row?.at ? new Date(row.at) : null;
    },

    /** Settled deliveries received before `before` are forgotten. */
    async deleteSettledBefore(before: Date): Promise<number> {
      const deleted = await db
        .delete(syncLevelEvents)
        .where(and(eq(syncLevelEvents.shop, shop), sql`${syncLevelEvents.dueAt} is null`, lt(syncLevelEvents.receivedAt, before)))
        .returning({ id: syncLevelEvents.id });
      return deleted.length;
    },

    /** Shopify's value Stockbridge last set at each position of these SKUs, and when. */
    async getLastPushed(skus: readonly string[]): Promise<Map<string, LastPushed>> {
      if (skus.length === 0) return new Map();
      const rows = await db
        .select({ sku: inventoryLevels.sku, location: inventoryLevels.location, lastPushedQuantity: inventoryLevels.lastPushedQuantity, lastPushedAt: inventoryLevels.lastPushedAt })
        .from(inventoryLevels)
        .where(and(eq(inventoryLevels.shop, shop), inArray(inventoryLevels.sku, [...new Set(skus)])));
      return new Map(rows.map((row) => [`${row.sku}|${row.location}`, row]));
    },

    // ------------------------------------------------------------ drift

    async recordDrift(events: readonly NewDriftEvent[], at: Date): Promise<DriftEventRecord[]> {
      const out: DriftEventRecord[] = [];
      for (let start = 0; start < events.length; start += DRIFT_ROWS_PER_STATEMENT) {
        const rows = await db
          .insert(syncDriftEvents)
          .values(events.slice(start, start + DRIFT_ROWS_PER_STATEMENT).map((event) => ({ shop, ...event, detectedAt: at })))
          .returning();
        out.push(...rows);
      }
      return out;
    },

    /** True when no drift of this item × location sent an alert since `since`; marks `id` as the one that does. */
    async claimAlert(id: number, item: { inventoryItemId: string; shopifyLocationId: string }, since: Date, at: Date): Promise<boolean> {
      const [recent] = await db
        .select({ id: syncDriftEvents.id })
        .from(syncDriftEvents)
        .where(
          and(
            eq(syncDriftEvents.shop, shop),
            eq(syncDriftEvents.inventoryItemId, item.inventoryItemId),
            eq(syncDriftEvents.shopifyLocationId, item.shopifyLocationId),
            gt(syncDriftEvents.alertedAt, since),
          ),
        )
        .limit(1);
      if (recent) return false;
      await db.update(syncDriftEvents).set({ alertedAt: at }).where(and(eq(syncDriftEvents.shop, shop), eq(syncDriftEvents.id, id)));
      return true;
    },

    /** The latest drift of each of these item × locations. */
    async findLatestDrift(items: readonly { inventoryItemId: string; shopifyLocationId: string }[]): Promise<Map<string, DriftEventRecord>> {
      if (items.length === 0) return new Map();
      const keys = items.map((item) => ({ item: item.inventoryItemId, location: item.shopifyLocationId }));
      const result = await db.execute(sql`
        select distinct on (d.inventory_item_id, d.shopify_location_id) d.id
        from ${syncDriftEvents} d
        join jsonb_to_recordset(${JSON.stringify(keys)}::jsonb) as k(item text, location text)
          on d.inventory_item_id = k.item and d.shopify_location_id = k.location
        where d.shop = ${shop}
        order by d.inventory_item_id, d.shopify_location_id, d.detected_at desc, d.id desc`);
      const ids = rowsOf<{ id: number | string }>(result).map((row) => Number(row.id));
      if (ids.length === 0) return new Map();
      const rows = await db.select().from(syncDriftEvents).where(inArray(syncDriftEvents.id, ids));
      return new Map(rows.map((row) => [`${row.inventoryItemId}|${row.shopifyLocationId}`, row]));
    },

    /** Drift found, newest first, optionally of one SKU and/or one ERP location; `before` is an id cursor. */
    async listDrift(filter: { sku?: string | null; location?: string | null; source?: DriftSource | null }, limit: number, beforeId: number | null): Promise<DriftEventRecord[]> {
      return db
        .select()
        .from(syncDriftEvents)
        .where(
          and(
            eq(syncDriftEvents.shop, shop),
            filter.sku ? eq(syncDriftEvents.sku, filter.sku) : undefined,
            filter.location ? or(eq(syncDriftEvents.location, filter.location), sql`${filter.location} = any(string_to_array(${syncDriftEvents.location}, '+'))`) : undefined,
            filter.source ? eq(syncDriftEvents.source, filter.source) : undefined,
            beforeId !== null ? lt(syncDriftEvents.id, beforeId) : undefined,
          ),
        )
        .orderBy(desc(syncDriftEvents.id))
        .limit(limit);
    },

    async deleteDriftBefore(before: Date): Promise<number> {
      const deleted = await db
        .delete(syncDriftEvents)
        .where(and(eq(syncDriftEvents.shop, shop), lt(syncDriftEvents.detectedAt, before)))
        .returning({ id: syncDriftEvents.id });
      return deleted.length;
    },

    // ------------------------------------------------------------ policies

    async setPolicy(sku: string, location: string, policy: LocationPolicy, at: Date): Promise<void> {
      if (policy === 'ERP_IS_TRUTH') {
        await db.delete(syncLocationPolicies).where(and(eq(syncLocationPolicies.shop, shop), eq(syncLocationPolicies.sku, sku), eq(syncLocationPolicies.location, location)));
        return;
      }
      await db
        .insert(syncLocationPolicies)
        .values({ shop, sku, location, policy, updatedAt: at })
        .onConflictDoUpdate({ target: [syncLocationPolicies.shop, syncLocationPolicies.sku, syncLocationPolicies.location], set: { policy, updatedAt: at } });
    },

    /** `sku|location` of the positions of these SKUs that follow Shopify. */
    async findFollowShopify(skus: readonly string[]): Promise<Set<string>> {
      if (skus.length === 0) return new Set();
      const rows = await db
        .select({ sku: syncLocationPolicies.sku, location: syncLocationPolicies.location })
        .from(syncLocationPolicies)
        .where(and(eq(syncLocationPolicies.shop, shop), eq(syncLocationPolicies.policy, 'FOLLOW_SHOPIFY'), inArray(syncLocationPolicies.sku, [...new Set(skus)])));
      return new Set(rows.map((row) => `${row.sku}|${row.location}`));
    },
  };
}

export type MerchantEditsRepository = ReturnType<typeof createMerchantEditsRepository>;
