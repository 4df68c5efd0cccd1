import { and, asc, eq, sql } from 'drizzle-orm';
import type { Db } from '../db/database.js';
import { erpLocations, locationMappings, shopifyLocations } from '../db/schema/index.js';
import { inList } from '../db/sql-lists.js';
import type { LocationMapping, LocationMappingSource, LocationView } from './inventory.models.js';

/** One shop's ERP location -> Shopify location mappings (`location_mappings`): their one writer. */
export function createLocationMappingRepository(db: Db, shop: string) {
  return {
    async listLocationMappings(): Promise<LocationMapping[]> {
      const rows = await db.select().from(locationMappings).where(eq(locationMappings.shop, shop)).orderBy(asc(locationMappings.erpLocation));
      return rows.map((row) => ({ erpLocation: row.erpLocation, shopifyLocationId: row.shopifyLocationId, source: row.source as LocationMappingSource }));
    },

    async upsertLocationMapping(erpLocation: string, shopifyLocationId: string, source: LocationMappingSource, at: Date): Promise<void> {
      const values = { shop, erpLocation, shopifyLocationId, source, updatedAt: at };
      await db
        .insert(locationMappings)
        .values(values)
        .onConflictDoUpdate({ target: [locationMappings.shop, locationMappings.erpLocation], set: values });
    },

    async deleteLocationMapping(erpLocation: string): Promise<void> {
      await db.delete(locationMappings).where(and(eq(locationMappings.shop, shop), eq(locationMappings.erpLocation, erpLocation)));
    },

    /** ERP locations with their mapping: these codes, or the active ones (and inactive ones still mapped), or all. */
    async listLocationViews(codes?: readonly string[] | 'all'): Promise<LocationView[]> {
      const rows = await db
        .select({
          code: erpLocations.code,
          name: erpLocations.name,
          kind: erpLocations.kind,
          warehouseCode: erpLocations.warehouseCode,
          active: erpLocations.active,
          shopifyLocationId: locationMappings.shopifyLocationId,
          source: locationMappings.source,
          shopifyLocationName: shopifyLocations.name,
        })
        .from(erpLocations)
        .leftJoin(locationMappings, and(eq(locationMappings.shop, shop), eq(locationMappings.erpLocation, erpLocations.code)))
        .leftJoin(shopifyLocations, and(eq(shopifyLocations.shop, shop), eq(shopifyLocations.locationId, locationMappings.shopifyLocationId)))
        .where(
          codes === 'all'
            ? undefined
            : codes
              ? inList(erpLocations.code, codes)
              : sql`(${erpLocations.active} or ${locationMappings.erpLocation} is not null)`,
        )
        .orderBy(asc(erpLocations.warehouseCode), sql`${erpLocations.kind} <> 'warehouse'`, asc(erpLocations.code));
      return rows.map((row) => ({
        code: row.code,
        name: row.name,
        kind: row.kind as LocationView['kind'],
        warehouseCode: row.warehouseCode,
        active: row.active,
        shopifyLocationId: row.shopifyLocationId,
        shopifyLocationName: row.shopifyLocationName,
        mappingSource: (row.source as LocationMappingSource | null) ?? null,
      }));
    },
  };
}

export type LocationMappingRepository = ReturnType<typeof createLocationMappingRepository>;
