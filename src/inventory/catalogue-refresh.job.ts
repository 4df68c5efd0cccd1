import type { JobDefinition } from '../scheduler/job.js';
import type { MappingService } from './mapping.service.js';

/** Hourly: new Shopify variants and ERP products find their mapping within the hour. */
const INTERVAL_MS = 60 * 60 * 1_000;

/**
 * Re-reads the ERP's products and locations and the shop's variants and locations, then re-runs
 * SKU matching (and, while nothing is mapped, the automatic location mapping). Safe to re-run:
 * every step is an upsert, and nothing is removed from the catalogue until a complete listing
 * has arrived. One side failing does not stop the other; the run then fails with both causes.
 */
export function createCatalogueRefreshJob(mapping: MappingService, options: { autoMapLocations: boolean }): JobDefinition {
  return {
    name: 'inventory.catalogue-refresh',
    intervalMs: INTERVAL_MS,
    timeoutMs: 20 * 60 * 1_000,
    // The module's first start fills empty catalogues; the job keeps them fresh.
    runOnStart: false,
    async run({ signal }) {
      const [erp, shopify] = await Promise.allSettled([mapping.refreshErpCatalogue({ signal }), mapping.refreshShopifyCatalogue({ signal })]);
      if (erp.status === 'rejected' || shopify.status === 'rejected') {
        const failures = [erp, shopify].flatMap((result) => (result.status === 'rejected' ? [result.reason as unknown] : []));
        throw failures.length === 1 ? failures[0] : new AggregateError(failures, 'ERP and Shopify catalogue refreshes both failed');
      }
      const autoMapped = options.autoMapLocations ? await mapping.autoMapLocations() : [];
      return {
        erpProducts: erp.value.products,
        erpLocations: erp.value.locations,
        shopifyVariants: shopify.value.variants,
        ...shopify.value.matching,
        newlyMapped: shopify.value.matching.newlyMapped.length,
        locationsAutoMapped: autoMapped.length,
      };
    },
  };
}
