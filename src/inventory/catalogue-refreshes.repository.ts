import { and, eq, sql, type SQL } from 'drizzle-orm';
import type { Db } from '../db/database.js';
import { catalogueRefreshes, type CatalogueSource } from '../db/schema/index.js';

/**
 * Catalogue refreshes (`catalogue_refreshes`): one generation counter per listing (ERP
 * locations, ERP products, Shopify locations, Shopify variants), the one writer of that table.
 * Catalogue rows carry the generation of the refresh that saw them; `catalogueGenerations`
 * gives the catalogue repositories the SQL that compares with it, so an older listing never
 * overwrites or retires what a newer one saw.
 */

/** The ERP's catalogue is shared by the shops on one ERP: its refreshes are counted once. */
function scopeOf(shop: string, source: CatalogueSource): string {
  return source.startsWith('erp-') ? '*' : shop;
}

/** The generation arithmetic of one shop's listings, as SQL (reads of `catalogue_refreshes`). */
export function catalogueGenerations(shop: string) {
  /** The generation of the newest refresh of a listing (0 before any). */
  const currentGeneration = (source: CatalogueSource): SQL =>
    sql`coalesce((select ${catalogueRefreshes.generation} from ${catalogueRefreshes} where ${catalogueRefreshes.scope} = ${scopeOf(shop, source)} and ${catalogueRefreshes.source} = ${source}), 0)`;
  return {
    currentGeneration,
    /** True while `generation` is still the newest refresh of the listing (no later one started). */
    stillNewest: (source: CatalogueSource, generation: number): SQL => sql`${currentGeneration(source)} = ${generation}`,
    /** `generation`, or the newest refresh's when the caller has none (a row looked up on its own). */
    generationOrCurrent: (source: CatalogueSource, generation: number | undefined): SQL =>
      generation === undefined ? currentGeneration(source) : sql`${generation}::bigint`,
  };
}

export function createCatalogueRefreshesRepository(db: Db, shop: string) {
  return {
    /**
     * Starts a refresh of one listing: the next generation, drawn before anything is listed.
     * Rows it writes carry it; an older refresh never overwrites them, and only the newest may
     * retire rows it did not see.
     */
    async beginCatalogueRefresh(source: CatalogueSource): Promise<number> {
      const [row] = await db
        .insert(catalogueRefreshes)
        .values({ scope: scopeOf(shop, source), source, generation: 1, startedAt: sql`now()` })
        .onConflictDoUpdate({
          target: [catalogueRefreshes.scope, catalogueRefreshes.source],
          set: { generation: sql`${catalogueRefreshes.generation} + 1`, startedAt: sql`now()` },
        })
        .returning({ generation: catalogueRefreshes.generation });
      return row!.generation;
    },

    /** Records a complete listing (and, the first time, that the first fill is done). */
    async completeCatalogueRefresh(source: CatalogueSource, generation: number): Promise<void> {
      await db
        .update(catalogueRefreshes)
        .set({
          completedGeneration: sql`greatest(coalesce(${catalogueRefreshes.completedGeneration}, 0), ${generation}::bigint)`,
          completedAt: sql`now()`,
          firstCompletedAt: sql`coalesce(${catalogueRefreshes.firstCompletedAt}, now())`,
        })
        .where(and(eq(catalogueRefreshes.scope, scopeOf(shop, source)), eq(catalogueRefreshes.source, source)));
    },

    /** When each listing was first and last completely read (absent: never). */
    async listCatalogueRefreshes(): Promise<Array<{ source: CatalogueSource; firstCompletedAt: Date | null; completedAt: Date | null; generation: number }>> {
      const rows = await db
        .select({ source: catalogueRefreshes.source, firstCompletedAt: catalogueRefreshes.firstCompletedAt, completedAt: catalogueRefreshes.completedAt, generation: catalogueRefreshes.generation })
        .from(catalogueRefreshes)
        .where(sql`${catalogueRefreshes.scope} in ('*', ${shop})`);
      return rows;
    },
  };
}

export type CatalogueRefreshesRepository = ReturnType<typeof createCatalogueRefreshesRepository>;
