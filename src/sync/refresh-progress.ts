// How far the ERP refresh running beside a full reconcile has got, asked per page of the export:
// the reconcile compares the SKUs the refresh has already written and holds back the rest, so
// the refresh and the export's comparison overlap instead of following each other.
import { and, eq, inArray, sql } from 'drizzle-orm';
import type { Db } from '../db/database.js';
import { inventoryLevels } from '../db/schema/index.js';
import { chunk } from '../shared/collections.js';

/** A reconcile page's SKUs in one statement (5,000 levels name at most 5,000 SKUs). */
const SKUS_PER_STATEMENT = 10_000;

export interface RefreshProgress {
  /**
   * Of these SKUs, those the refresh has not written since `since`: a SKU with no position yet
   * (new in the ERP: the refresh creates it), or with a position whose `erp_read_at` is null or
   * not after `since`. A position written in the same millisecond as `since` counts as not
   * written: a page is never compared with a position older than the refresh.
   */
  staleSkus(skus: readonly string[], since: Date): Promise<Set<string>>;
}

export function createRefreshProgress(db: Db, shop: string): RefreshProgress {
  return {
    async staleSkus(skus, since) {
      const stale = new Set(skus);
      for (const page of chunk([...stale], SKUS_PER_STATEMENT)) {
        const fresh = await db
          .select({ sku: inventoryLevels.sku })
          .from(inventoryLevels)
          .where(and(eq(inventoryLevels.shop, shop), inArray(inventoryLevels.sku, page)))
          .groupBy(inventoryLevels.sku)
          .having(sql`bool_and(${inventoryLevels.erpReadAt} is not null and ${inventoryLevels.erpReadAt} > ${since.toISOString()}::timestamptz)`);
        for (const row of fresh) stale.delete(row.sku);
      }
      return stale;
    },
  };
}
