/**
 * Shared by the order benchmarks (webhooks, order-drain): a simulated ERP stocked for every SKU,
 * the inventory domain's mapping as a table (variant n <-> SKU n) and a Shopify client the
 * benchmark must not call.
 */
import { SimulatedErp } from '../../src/erp/simulated/simulated-erp.js';
import type { LocationMapping, SkuMapping } from '../../src/inventory/inventory.models.js';
import type { OrderMappingLookup } from '../../src/orders/order-line-mapper.js';
import type { ShopifyClient } from '../../src/shopify/shopify-client.js';

/** A simulated ERP with `warehouses`, and 1,000,000 units of every SKU in each. */
export function stockedErp(skus: readonly string[], warehouses: readonly string[]): SimulatedErp {
  const erp = new SimulatedErp();
  for (const code of warehouses) erp.addWarehouse({ code, name: code });
  for (const sku of skus) {
    erp.addProduct({ sku, name: sku });
    for (const code of warehouses) erp.seedStock({ sku, location: code, quantity: 1_000_000 });
  }
  return erp;
}

/** The inventory domain's mapping, as a table: variant 1000+n <-> SKU n, warehouse n <-> Location n+1. */
export function tableMapping(skus: readonly string[], warehouses: readonly string[]): OrderMappingLookup {
  const skuMappings = new Map<string, SkuMapping>(
    skus.map((sku, i) => {
      const variantId = `gid://shopify/ProductVariant/${1000 + i}`;
      return [variantId, { erpSku: sku, source: 'MANUAL', shopifySku: sku, shopifyVariantId: variantId, shopifyInventoryItemId: `gid://shopify/InventoryItem/${5000 + i}`, conversion: { erpUnits: 1, shopifyUnits: 1 }, tracked: true, variantExists: true, updatedAt: new Date() }];
    }),
  );
  return {
    findSkuMappingsByVariantIds: async (ids) => ids.flatMap((id) => (skuMappings.has(id) ? [skuMappings.get(id)!] : [])),
    listLocationMappings: async (): Promise<LocationMapping[]> => warehouses.map((code, i) => ({ erpLocation: code, shopifyLocationId: `gid://shopify/Location/${i + 1}`, source: 'MANUAL' })),
  };
}

/** A Shopify client whose every call fails: the benchmark does not call Shopify. */
export function noShopify(): ShopifyClient {
  return new Proxy({} as ShopifyClient, {
    get: (_target, property) => () => Promise.reject(new Error(`the benchmark does not call Shopify (${String(property)})`)),
  });
}
