import type { JobDefinition } from '../scheduler/job.js';
import type { MappingService } from './mapping.service.js';

/** Hourly: new Shopify variants and ERP products find their mapping within the hour. */
const INTERVAL_MS = 60 * 60 * 1_000;

/**
 * Re-reads the ERP's products and locations and the shop's variants and locations, then re-runs
 * SKU matching. Safe to re-run: every step is an upsert, and nothing is removed from the
 * catalogue until a complete listing has arrived.
 */
export function createCatalogueRefreshJob(mapping: MappingService): JobDefinition {
  return {
    name: 'inventory.catalogue-refresh',
    intervalMs: INTERVAL_MS,
    timeoutMs: 20 * 60 * 1_000,
    // The module's first start fills empty catalogues; the job keeps them fresh.
    runOnStart: false,
    async run({ signal }) {
      const erp = await mapping.refreshErpCatalogue({ signal });
      const shopify = await mapping.refreshShopifyCatalogue({ signal });
      return { erpProducts: erp.products, erpLocations: erp.locations, shopifyVariants: shopify.variants, ...shopify.matching, newlyMapped: shopify.matching.newlyMapped.length };
    },
  };
}
