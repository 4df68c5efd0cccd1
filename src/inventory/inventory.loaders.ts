import DataLoader from 'dataloader';
import type { Lot } from '../erp/erp-connector.js';
import type { LiveNodeCache } from '../shopify/live-nodes.js';
import type { InventoryReadService, ProductPage } from './inventory-read.service.js';
import type { LocationView, PositionRecord, ProductView } from './inventory.models.js';

export const ALL_LOCATIONS = 'all';

export interface LotKey {
  readonly sku: string;
  /** Null: every warehouse. */
  readonly location: string | null;
}

const lotKeyOf = (key: LotKey): string => `${key.sku}|${key.location ?? ''}`;

/**
 * Per request: products, their availability, locations and lots, each batched so a page of N
 * products costs one database query per kind (lots: one per distinct location asked for), never
 * one per product, and no ERP call. `shopifyLive` reads the page's live Shopify fields in one
 * Shopify call (through the instance's short cache).
 *
 * Besides the DataLoaders, what is already read is kept in plain maps the field resolvers read
 * synchronously (`positionsOf`, `lotsOf`, `locationsByCode`): `products` reads a page's
 * positions and lots in the page's own statement and the locations beside it (`primePage`),
 * so a page's thousands of fields resolve without a promise each (graphql-js completes a
 * synchronous subtree without `Promise.all` per object).
 */
export function createInventoryLoaders(reads: InventoryReadService, live: LiveNodeCache) {
  const positionsRead = new Map<string, PositionRecord[]>();
  const lotsRead = new Map<string, Lot[]>();
  let locationsRead: Map<string, LocationView> | undefined;

  const availabilityBySku = new DataLoader<string, PositionRecord[]>(async (skus) => {
    const found = await reads.getAvailabilityBySkus(skus);
    return skus.map((sku) => {
      const positions = found.get(sku) ?? [];
      positionsRead.set(sku, positions);
      return positions;
    });
  });

  /**
   * Every location, by code, under the one key `ALL_LOCATIONS`: there are few, and loading
   * them all lets the availability resolver start this read beside its own instead of after it.
   */
  const locations = new DataLoader<typeof ALL_LOCATIONS, Map<string, LocationView>>(async (keys) => {
    const all = await reads.getLocationsByCode();
    locationsRead = all;
    return keys.map(() => all);
  });

  const lots = new DataLoader<LotKey, Lot[], string>(
    async (keys) => {
      // One read-model query per distinct location argument (usually one for a whole page).
      const byLocation = new Map<string | null, Set<string>>();
      for (const key of keys) {
        const skus = byLocation.get(key.location);
        if (skus) skus.add(key.sku);
        else byLocation.set(key.location, new Set([key.sku]));
      }
      const found = new Map<string, Lot[]>();
      await Promise.all(
        [...byLocation].map(async ([location, skus]) => {
          for (const lot of await reads.getLotsBySkus([...skus], location === null ? undefined : [location])) {
            const key = lotKeyOf({ sku: lot.sku, location });
            const list = found.get(key);
            if (list) list.push(lot);
            else found.set(key, [lot]);
          }
        }),
      );
      return keys.map((key) => {
        const list = found.get(lotKeyOf(key)) ?? [];
        lotsRead.set(lotKeyOf(key), list);
        return list;
      });
    },
    { cacheKeyFn: lotKeyOf },
  );

  return {
    shopifyLive: live.loader(),

    productBySku: new DataLoader<string, ProductView | null>(async (skus) => {
      const found = await reads.getProductsBySkus(skus);
      return skus.map((sku) => found.get(sku) ?? null);
    }),

    availabilityBySku,
    locations,
    lots,

    /** A SKU's positions when this request already read them, else undefined (then `availabilityBySku`). */
    positionsOf: (sku: string): PositionRecord[] | undefined => positionsRead.get(sku),
    /** The locations by code when this request already read them, else undefined (then `locations`). */
    locationsByCode: (): ReadonlyMap<string, LocationView> | undefined => locationsRead,
    /** A SKU's lots at a location when this request already read them, else undefined (then `lots`). */
    lotsOf: (key: LotKey): Lot[] | undefined => lotsRead.get(lotKeyOf(key)),

    /**
     * Keeps what a products page's statement read beside its products (`included`, by SKU),
     * so their `availability` and `lots` answer from memory; the DataLoaders are primed too.
     */
    primePage(page: ProductPage): void {
      if (!page.included) return;
      for (const { node } of page.edges) {
        const terms = page.included.get(node.sku);
        if (terms?.positions) {
          positionsRead.set(node.sku, terms.positions);
          availabilityBySku.prime(node.sku, terms.positions);
        }
        if (terms?.lots) {
          const key = { sku: node.sku, location: node.locationScope ?? null };
          lotsRead.set(lotKeyOf(key), terms.lots);
          lots.prime(key, terms.lots);
        }
      }
    },
  };
}

export type InventoryLoaders = ReturnType<typeof createInventoryLoaders>;
