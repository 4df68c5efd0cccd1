import { and, eq, inArray, or, sql } from 'drizzle-orm';
import type { Db } from '../db/database.js';
import { inventoryLevels } from '../db/schema/index.js';

export interface PositionKey {
  sku: string;
  location: string;
}

/**
 * Marks positions for the event push, in the caller's transaction: the push that later sends
 * them clears the mark, so a crash between the change and the push loses nothing (the mark is
 * in PostgreSQL). The mark is the earliest time a push is wanted: an earlier mark stays, and a
 * later one (the sync's retry after a failure, or the release of a held drop) is brought forward. Positions without a read-model row yet are ignored: nothing was ever
 * computed for them, and the next sync creates and pushes them.
 */
export async function requestPush(db: Db, shop: string, positions: readonly PositionKey[], at: Date = new Date()): Promise<void> {
  if (positions.length === 0) return;
  const bySku = new Map<string, string[]>();
  for (const { sku, location } of positions) bySku.set(sku, [...(bySku.get(sku) ?? []), location]);
  const conditions = [...bySku].map(([sku, locations]) =>
    and(eq(inventoryLevels.sku, sku), inArray(inventoryLevels.location, [...new Set(locations)])),
  );
  await db
    .update(inventoryLevels)
    .set({ pushRequestedAt: sql`least(coalesce(${inventoryLevels.pushRequestedAt}, ${at.toISOString()}::timestamptz), ${at.toISOString()}::timestamptz)` })
    .where(and(eq(inventoryLevels.shop, shop), or(...conditions)));
}

/**
 * Wakes the event pusher so marked positions go out within seconds rather than at its next
 * poll. Best effort and in-process only: the marks themselves are the durable part.
 */
export interface PushSignal {
  wake(): void;
}
