import { and, asc, eq, inArray, ne, notInArray, sql } from 'drizzle-orm';
import type { Db } from '../db/database.js';
import { fulfilmentFeedPositions, fulfilments, type FulfilmentPlannedLine, type FulfilmentShipmentLine, type FulfilmentStatus } from '../db/schema/index.js';
import { timestamptz } from '../db/sql-lists.js';
import { assertFenceHeld, leaseLostError, type JobFence } from '../scheduler/fence.js';
import { fulfilmentErrorCodeOf, type ClaimedFulfilment, type FulfilmentErrorCode, type FulfilmentRecord } from './fulfilments.models.js';

/** A shipment as the feed records it. */
export interface ShipmentToRecord {
  readonly shipmentId: string;
  readonly shipmentReference: string;
  readonly salesOrderReference: string;
  readonly shopifyOrderId: string | null;
  readonly carrier: string | null;
  readonly trackingNumber: string | null;
  readonly trackingUrl: string | null;
  readonly shippedAt: Date;
  readonly lines: readonly FulfilmentShipmentLine[];
}

/** How a worker leaves a row it holds (the fields it changes; the rest stays). */
export interface FulfilmentUpdate {
  readonly status: FulfilmentStatus;
  readonly nextAttemptAt?: Date;
  readonly plannedLines?: readonly FulfilmentPlannedLine[] | null;
  readonly submittedAt?: Date | null;
  readonly shopifyFulfillmentIds?: readonly string[];
  readonly note?: string | null;
  readonly attempts?: number;
  readonly lastErrorCode?: FulfilmentErrorCode | null;
  readonly lastError?: string | null;
  readonly alertedAt?: Date;
  /** Keep the claim (a write before sending); otherwise the row is released. */
  readonly keepClaim?: boolean;
}

type Row = typeof fulfilments.$inferSelect;

function toRecord(row: Row): FulfilmentRecord {
  return {
    id: row.id,
    shop: row.shop,
    shipmentId: row.shipmentId,
    shipmentReference: row.shipmentReference,
    salesOrderReference: row.salesOrderReference,
    shopifyOrderId: row.shopifyOrderId,
    status: row.status,
    carrier: row.carrier,
    trackingNumber: row.trackingNumber,
    trackingUrl: row.trackingUrl,
    shippedAt: row.shippedAt,
    lines: row.lines,
    plannedLines: row.plannedLines,
    submittedAt: row.submittedAt,
    shopifyFulfillmentIds: row.shopifyFulfillmentIds,
    note: row.note,
    attempts: row.attempts,
    lastErrorCode: row.lastErrorCode === null ? null : fulfilmentErrorCodeOf(row.lastErrorCode),
    lastError: row.lastError,
    nextAttemptAt: row.nextAttemptAt,
    alertedAt: row.alertedAt,
    createdAt: row.createdAt,
    updatedAt: row.updatedAt,
  };
}

/**
 * The only writer of `fulfilments` and `fulfilment_feed_positions`. Recording a page of the feed
 * and moving its watermark is one transaction under the feed job's fence; every later write of a
 * row states the claim token its worker drew, so a worker that lost its claim writes nothing.
 */
export interface FulfilmentsRepository {
  getWatermark(): Promise<string | null>;
  /**
   * Records shipments (new ones PENDING; a shipment reported again is left as it is unless it is
   * still waiting, when its content is refreshed) and moves the watermark, in one transaction,
   * only while `fence` holds the feed job's lease. Returns how many were new.
   */
  recordShipments(shipments: readonly ShipmentToRecord[], watermark: string, at: Date, fence: JobFence): Promise<number>;
  /**
   * Claims up to `limit` due rows for `leaseMs`. Shipments of one Shopify order are written one
   * at a time, oldest first: a row is claimable only when no older row of its order is waiting
   * or in doubt, so a look-up after a lost answer never mistakes a sibling's fulfilment for its own.
   */
  claimDue(at: Date, leaseMs: number, limit: number, exclude?: readonly number[]): Promise<ClaimedFulfilment[]>;
  /** Applies `update` while the claim holds; false when it was lost (nothing written). */
  update(id: number, token: string, update: FulfilmentUpdate, at: Date, leaseMs: number): Promise<boolean>;
  /** Shopify fulfilment ids recorded by the shop's other rows of this order. */
  fulfillmentIdsOfOrder(shopifyOrderId: string, exceptId: number): Promise<Set<string>>;
  findByShopifyOrderIds(shopifyOrderIds: readonly string[]): Promise<FulfilmentRecord[]>;
  findByShipmentId(shipmentId: string): Promise<FulfilmentRecord | null>;
}

export function createFulfilmentsRepository(db: Db, shop: string): FulfilmentsRepository {
  return {
    async getWatermark() {
      const [row] = await db.select({ watermark: fulfilmentFeedPositions.watermark }).from(fulfilmentFeedPositions).where(eq(fulfilmentFeedPositions.shop, shop));
      return row?.watermark ?? null;
    },

    async recordShipments(shipments, watermark, at, fence) {
      return db.transaction(async (tx) => {
        await assertFenceHeld(tx, fence, 'recording shipments');
        let created = 0;
        for (const shipment of shipments) {
          const inserted = await tx
            .insert(fulfilments)
            .values({ shop, status: 'PENDING', nextAttemptAt: at, createdAt: at, updatedAt: at, ...shipment, lines: [...shipment.lines] })
            .onConflictDoNothing({ target: [fulfilments.shop, fulfilments.shipmentId] })
            .returning({ id: fulfilments.id });
          if (inserted.length > 0) {
            created += 1;
            continue;
          }
          // Reported again (tracking added, lines corrected): only a shipment nothing was sent for takes it.
          await tx
            .update(fulfilments)
            .set({ carrier: shipment.carrier, trackingNumber: shipment.trackingNumber, trackingUrl: shipment.trackingUrl, lines: [...shipment.lines], updatedAt: at })
            .where(
              and(
                eq(fulfilments.shop, shop),
                eq(fulfilments.shipmentId, shipment.shipmentId),
                inArray(fulfilments.status, ['PENDING', 'FAILED']),
                sql`${fulfilments.submittedAt} is null`,
              ),
            );
        }
        const moved = await tx
          .insert(fulfilmentFeedPositions)
          .values({ shop, watermark, fence: fence.token, updatedAt: at })
          .onConflictDoUpdate({
            target: fulfilmentFeedPositions.shop,
            set: { watermark, fence: fence.token, updatedAt: at },
            setWhere: sql`${fulfilmentFeedPositions.fence} is null or ${fulfilmentFeedPositions.fence} <= ${fence.token}`,
          })
          .returning({ shop: fulfilmentFeedPositions.shop });
        if (moved.length === 0) throw leaseLostError(fence, 'moving the shipment watermark over one a newer token wrote');
        return created;
      });
    },

    async claimDue(at, leaseMs, limit, exclude = []) {
      const now = timestamptz(at);
      const until = timestamptz(new Date(at.getTime() + leaseMs));
      const rows = await db
        .update(fulfilments)
        // One token per row and claim: gen_random_uuid() is evaluated per row.
        .set({ claimToken: sql`gen_random_uuid()::text`, claimExpiresAt: sql`${until}` })
        .where(
          inArray(
            fulfilments.id,
            db
              .select({ id: fulfilments.id })
              .from(fulfilments)
              .where(
                and(
                  eq(fulfilments.shop, shop),
                  inArray(fulfilments.status, ['PENDING', 'SUBMITTING', 'FAILED']),
                  exclude.length > 0 ? notInArray(fulfilments.id, [...exclude]) : undefined,
                  sql`${fulfilments.nextAttemptAt} <= ${now}`,
                  sql`(${fulfilments.claimExpiresAt} is null or ${fulfilments.claimExpiresAt} < ${now})`,
                  sql`not exists (select 1 from fulfilments older where older.shop = ${fulfilments.shop}
                        and older.shopify_order_id = ${fulfilments.shopifyOrderId} and older.id < ${fulfilments.id}
                        and (older.status in ('PENDING', 'SUBMITTING') or older.submitted_at is not null))`,
                ),
              )
              .orderBy(asc(fulfilments.id))
              .limit(limit)
              .for('update', { skipLocked: true }),
          ),
        )
        .returning();
      return rows.map((row) => ({ ...toRecord(row), token: row.claimToken! }));
    },

    async update(id, token, change, at, leaseMs) {
      const rows = await db
        .update(fulfilments)
        .set({
          status: change.status,
          ...(change.nextAttemptAt !== undefined ? { nextAttemptAt: change.nextAttemptAt } : {}),
          ...(change.plannedLines !== undefined ? { plannedLines: change.plannedLines ? [...change.plannedLines] : null } : {}),
          ...(change.submittedAt !== undefined ? { submittedAt: change.submittedAt } : {}),
          ...(change.shopifyFulfillmentIds !== undefined ? { shopifyFulfillmentIds: [...change.shopifyFulfillmentIds] } : {}),
          ...(change.note !== undefined ? { note: change.note } : {}),
          ...(change.attempts !== undefined ? { attempts: change.attempts } : {}),
          ...(change.lastErrorCode !== undefined ? { lastErrorCode: change.lastErrorCode } : {}),
          ...(change.lastError !== undefined ? { lastError: change.lastError } : {}),
          ...(change.alertedAt !== undefined ? { alertedAt: change.alertedAt } : {}),
          ...(change.keepClaim
            ? { claimExpiresAt: new Date(at.getTime() + leaseMs) }
            : { claimToken: null, claimExpiresAt: null }),
          updatedAt: at,
        })
        .where(and(eq(fulfilments.id, id), eq(fulfilments.claimToken, token), sql`${fulfilments.claimExpiresAt} >= ${timestamptz(at)}`))
        .returning({ id: fulfilments.id });
      return rows.length > 0;
    },

    async fulfillmentIdsOfOrder(shopifyOrderId, exceptId) {
      const rows = await db
        .select({ ids: fulfilments.shopifyFulfillmentIds })
        .from(fulfilments)
        .where(and(eq(fulfilments.shop, shop), eq(fulfilments.shopifyOrderId, shopifyOrderId), ne(fulfilments.id, exceptId)));
      return new Set(rows.flatMap((row) => row.ids));
    },

    async findByShopifyOrderIds(shopifyOrderIds) {
      if (shopifyOrderIds.length === 0) return [];
      const rows = await db
        .select()
        .from(fulfilments)
        .where(and(eq(fulfilments.shop, shop), inArray(fulfilments.shopifyOrderId, [...new Set(shopifyOrderIds)])))
        .orderBy(asc(fulfilments.shippedAt), asc(fulfilments.id));
      return rows.map(toRecord);
    },

    async findByShipmentId(shipmentId) {
      const [row] = await db.select().from(fulfilments).where(and(eq(fulfilments.shop, shop), eq(fulfilments.shipmentId, shipmentId)));
      return row ? toRecord(row) : null;
    },
  };
}
