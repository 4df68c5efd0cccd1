import { and, eq, inArray, sql } from 'drizzle-orm';
import type { Db } from '../db/database.js';
import { syncLotMetafields } from '../db/schema/index.js';

/**
 * What the lots push last wrote to each variant's metafield (`sync_lot_metafields`, written only
 * here). The lots themselves are read through the read model's lots reader.
 */

export interface LotMetafieldState {
  readonly variantId: string;
  readonly sku: string;
  readonly valueDigest: string;
  readonly lotsDigest: string | null;
  readonly compareDigest: string | null;
  readonly writtenAt: Date;
}

/** Variants per statement. */
const SKUS_PER_READ = 2_000;

export function createLotMetafieldsRepository(db: Db, shop: string) {
  return {
    async getStates(variantIds: readonly string[]): Promise<Map<string, LotMetafieldState>> {
      const out = new Map<string, LotMetafieldState>();
      const unique = [...new Set(variantIds)];
      for (let start = 0; start < unique.length; start += SKUS_PER_READ) {
        const rows = await db
          .select({
            variantId: syncLotMetafields.variantId,
            sku: syncLotMetafields.sku,
            valueDigest: syncLotMetafields.valueDigest,
            lotsDigest: syncLotMetafields.lotsDigest,
            compareDigest: syncLotMetafields.compareDigest,
            writtenAt: syncLotMetafields.writtenAt,
          })
          .from(syncLotMetafields)
          .where(and(eq(syncLotMetafields.shop, shop), inArray(syncLotMetafields.variantId, unique.slice(start, start + SKUS_PER_READ))));
        for (const row of rows) out.set(row.variantId, row);
      }
      return out;
    },

    /** Records what was written (one statement per call of the push: at most a few hundred rows). */
    async recordWritten(states: readonly Omit<LotMetafieldState, 'writtenAt'>[], at: Date): Promise<void> {
      if (states.length === 0) return;
      await db
        .insert(syncLotMetafields)
        .values(states.map((state) => ({ shop, ...state, writtenAt: at })))
        .onConflictDoUpdate({
          target: [syncLotMetafields.shop, syncLotMetafields.variantId],
          set: {
            sku: sql`excluded.sku`,
            valueDigest: sql`excluded.value_digest`,
            lotsDigest: sql`excluded.lots_digest`,
            compareDigest: sql`excluded.compare_digest`,
            writtenAt: sql`excluded.written_at`,
          },
        });
    },
  };
}

export type LotMetafieldsRepository = ReturnType<typeof createLotMetafieldsRepository>;
