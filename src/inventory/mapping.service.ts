import type {
  ErpSource,
  LocationMapping,
  LocationView,
  NormalizationRules,
  PushTarget,
  SkuMapping,
  SkuMappingReport,
  UnitConversion,
} from './inventory.models.js';
import type { InventoryItemLocation } from '../shopify/shopify-client.js';

export interface CatalogueRefreshResult {
  readonly variants: number;
  readonly locations: number;
  readonly matching: MatchingSummary;
}

export interface MatchingSummary {
  readonly mapped: number;
  readonly manual: number;
  readonly byRule: number;
  readonly ambiguous: number;
  readonly unmappedErpSkus: number;
  /** ERP SKUs that gained (or changed) a pushable mapping in this run: their positions were marked for push. */
  readonly newlyMapped: readonly string[];
}

export interface MapSkuInput {
  readonly erpSku: string;
  /** One of the two names the variant: the SKU (must be unique in the shop) or the variant id. */
  readonly shopifySku?: string | null;
  readonly shopifyVariantId?: string | null;
  /** Default 1:1. */
  readonly conversion?: UnitConversion | null;
}

export interface MapLocationInput {
  readonly erpLocation: string;
  /** `gid://shopify/Location/…` or its numeric id; null removes the mapping (never pushed). */
  readonly shopifyLocationId: string | null;
}

/**
 * Which ERP SKU and location feed which Shopify variant and location, for one shop.
 *
 * Guarantee: a push target exists only for an ERP SKU with exactly one mapping (explicit, or one
 * unambiguous rule match) to a tracked variant that is in the shop's catalogue, at an ERP
 * location mapped to an active Shopify location. Ambiguous SKUs and unmapped locations are never
 * push targets; they are listed by `getMappingReport`. Every lookup is batched: one or two
 * database round trips whatever the number of SKUs.
 */
export interface MappingService {
  /** Reads the ERP's locations and every product (paged) into the catalogue tables, then re-runs matching. */
  refreshErpCatalogue(options?: { signal?: AbortSignal }): Promise<{ readonly products: number; readonly locations: number }>;

  /**
   * Reads the shop's locations and every variant (bulk export) into the catalogue tables, then
   * re-runs matching. Variants no longer in the shop are dropped (their manual mappings stay,
   * flagged `variantExists: false`, and are not pushed).
   */
  refreshShopifyCatalogue(options?: { signal?: AbortSignal }): Promise<CatalogueRefreshResult>;

  /** Re-runs SKU matching over the stored catalogues (explicit mappings first, then the rules). */
  rematch(): Promise<MatchingSummary>;

  /** Maps an ERP SKU by hand (`MANUAL`), replacing any rule match; marks its positions for push. */
  mapSku(input: MapSkuInput): Promise<SkuMapping>;

  /** Removes a manual mapping; the SKU goes back to rule matching. */
  unmapSku(erpSku: string): Promise<void>;

  /** Maps (or, with null, unmaps) an ERP location; marks its positions for push. */
  mapLocation(input: MapLocationInput): Promise<LocationView>;

  /**
   * When the shop has no location mapping at all, maps each ERP warehouse to the Shopify
   * location with the same name or code (compared ignoring case and spacing). Returns what it mapped.
   */
  autoMapLocations(): Promise<readonly LocationMapping[]>;

  getNormalizationRules(): Promise<NormalizationRules>;
  /** Stores the rules and re-runs matching. */
  setNormalizationRules(rules: NormalizationRules): Promise<MatchingSummary>;

  /** The lists may be cut at `limit` entries each (`counts` gives the full sizes). */
  getMappingReport(options?: { limit?: number }): Promise<SkuMappingReport>;

  /** Push targets of these ERP SKUs: one per pushable SKU × mapped ERP location. */
  getPushTargets(skus: readonly string[]): Promise<PushTarget[]>;

  /** Every push target, by ERP SKU, one page at a time (a full reconcile). */
  listPushTargets(page?: { after?: string | null; first?: number }): Promise<{ readonly items: PushTarget[]; readonly nextCursor: string | null }>;

  /** The reverse: the ERP SKU and ERP locations behind Shopify item×location pairs; unknown pairs are absent. */
  getErpSources(pairs: readonly InventoryItemLocation[]): Promise<ErpSource[]>;

  /** Mappings of these Shopify variants (orders: a line's variant → ERP SKU); unmapped ones are absent. */
  findSkuMappingsByVariantIds(variantIds: readonly string[]): Promise<SkuMapping[]>;

  /** Mappings of these ERP SKUs; unmapped ones are absent. */
  findSkuMappingsBySkus(erpSkus: readonly string[]): Promise<SkuMapping[]>;

  /** ERP locations (from the catalogue) with their Shopify location. */
  listLocations(): Promise<LocationView[]>;

  listLocationMappings(): Promise<LocationMapping[]>;
}
