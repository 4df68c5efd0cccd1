import DataLoader from 'dataloader';
import type { Lot } from '../erp/erp-connector.js';
import type { LiveNodeCache } from '../shopify/live-nodes.js';
import type { InventoryReadService } from './inventory-read.service.js';
import type { LocationView, PositionRecord, ProductView } from './inventory.models.js';

export const ALL_LOCATIONS = 'all';

export interface LotKey {
  readonly sku: string;
  /** Null: every warehouse. */
  readonly location: string | null;
}

/**
 * Per request: products, their availability, locations and lots, each batched so a page of N
 * products costs one database query per kind (lots: one per distinct location asked for), never
 * one per product, and no ERP call. `shopifyLive` reads the page's live Shopify fields in one
 * Shopify call (through the instance's short cache).
 */
export function createInventoryLoaders(reads: InventoryReadService, live: LiveNodeCache) {
  return {
    shopifyLive: live.loader(),

    productBySku: new DataLoader<string, ProductView | null>(async (skus) => {
      const found = await reads.getProductsBySkus(skus);
      return skus.map((sku) => found.get(sku) ?? null);
    }),

    availabilityBySku: new DataLoader<string, PositionRecord[]>(async (skus) => {
      const found = await reads.getAvailabilityBySkus(skus);
      return skus.map((sku) => found.get(sku) ?? []);
    }),

    /**
     * Every location, by code, under the one key `ALL_LOCATIONS`: there are few, and loading
     * them all lets the availability resolver start this read beside its own instead of after it.
     */
    locations: new DataLoader<typeof ALL_LOCATIONS, Map<string, LocationView>>(async (keys) => {
      const all = await reads.getLocationsByCode();
      return keys.map(() => all);
    }),

    lots: new DataLoader<LotKey, Lot[], string>(
      async (keys) => {
        // One read-model query per distinct location argument (usually one for a whole page).
        const byLocation = new Map<string | null, string[]>();
        for (const key of keys) byLocation.set(key.location, [...(byLocation.get(key.location) ?? []), key.sku]);
        const lots = new Map<string, Lot[]>();
        for (const [location, skus] of byLocation) {
          const read = await reads.getLotsBySkus([...new Set(skus)], location === null ? undefined : [location]);
          for (const lot of read) {
            const key = `${lot.sku}|${location ?? ''}`;
            lots.set(key, [...(lots.get(key) ?? []), lot]);
          }
        }
        return keys.map((key) => lots.get(`${key.sku}|${key.location ?? ''}`) ?? []);
      },
      { cacheKeyFn: (key) => `${key.sku}|${key.location ?? ''}` },
    ),
  };
}

export type InventoryLoaders = ReturnType<typeof createInventoryLoaders>;
