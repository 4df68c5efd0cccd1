import type { Connection, DriftRecord, LocationView, PositionRecord, ProductFilter, ProductView, SkuMappingReport } from './inventory.models.js';
import type { Lot } from '../erp/erp-connector.js';

/**
 * What the GraphQL read API asks of the inventory domain. Everything but lots comes from the
 * read model and the catalogue tables, never from the ERP; every batch method costs one
 * database round trip (lots: a constant number of ERP round trips per page of SKUs).
 */
export interface InventoryReadService {
  findProduct(sku: string): Promise<ProductView | null>;
  /** Products of the ERP catalogue in SKU order; `after` is an opaque cursor from a previous page. */
  listProducts(args: { first?: number | null; after?: string | null; filter?: ProductFilter | null }): Promise<Connection<ProductView>>;
  /** Read-model positions of these SKUs, by SKU (one query): the availability loader's batch. */
  getAvailabilityBySkus(skus: readonly string[]): Promise<Map<string, PositionRecord[]>>;
  listLocations(): Promise<LocationView[]>;
  /** Locations by ERP code (one query): the location loader's batch; unknown codes are absent. */
  getLocationsByCodes(codes: readonly string[]): Promise<Map<string, LocationView>>;
  /** Lots from the ERP for these SKUs (all warehouses, or these locations): the lot loader's batch. */
  getLotsBySkus(skus: readonly string[], locations?: readonly string[]): Promise<readonly Lot[]>;
  /** Lots of one SKU, or of every active product when `sku` is absent; optionally at one location. */
  listLots(args: { sku?: string | null; location?: string | null }): Promise<readonly Lot[]>;
  getMappingReport(options?: { limit?: number }): Promise<SkuMappingReport>;
  /** Pushable positions whose ATP (Shopify units) differs from Shopify's last read `available`. */
  getDrift(args: { location?: string | null }): Promise<DriftRecord[]>;
}
