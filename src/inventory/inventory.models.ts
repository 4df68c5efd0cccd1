import type { AtpTerms } from './read-model/atp-formula.js';

/**
 * The inventory domain's own terms: what the mapping, the ATP engine and the read API hand to
 * resolvers and to the other domains (sync, orders, reservations). Quantities are in the ERP's
 * stock unit unless a name says "Shopify".
 */

/** `erpUnits` ERP units are `shopifyUnits` Shopify units (both whole, positive). */
export interface UnitConversion {
  readonly erpUnits: number;
  readonly shopifyUnits: number;
}

export type SkuMappingSource = 'MANUAL' | 'RULE';

/** One ERP SKU feeding one Shopify variant. */
export interface SkuMapping {
  readonly erpSku: string;
  readonly source: SkuMappingSource;
  readonly shopifySku: string | null;
  readonly shopifyVariantId: string;
  readonly shopifyInventoryItemId: string;
  readonly conversion: UnitConversion;
  /** False when Shopify does not track the variant's inventory: mapped, but never pushed. */
  readonly tracked: boolean;
  /** False when the variant is no longer in the shop's catalogue (a manual mapping outlived it). */
  readonly variantExists: boolean;
  readonly updatedAt: Date;
}

export interface ShopifyVariantRef {
  readonly variantId: string;
  readonly sku: string | null;
  readonly inventoryItemId: string;
}

export type AmbiguityReason = 'SEVERAL_SHOPIFY_VARIANTS' | 'SEVERAL_ERP_SKUS';

/** An ERP SKU that matched more than one way: never pushed until mapped by hand. */
export interface AmbiguousSku {
  readonly erpSku: string;
  readonly reason: AmbiguityReason;
  readonly candidates: readonly ShopifyVariantRef[];
  readonly competingErpSkus: readonly string[];
}

export interface UnmappedShopifyVariant {
  readonly variantId: string;
  readonly sku: string | null;
  readonly productTitle: string;
  readonly variantTitle: string;
}

export interface SkuMappingReport {
  readonly mapped: readonly SkuMapping[];
  /** Active ERP products with no Shopify variant (and not ambiguous). */
  readonly unmappedErpSkus: readonly string[];
  /** Shopify variants no ERP SKU feeds (and no ambiguity names). */
  readonly unmappedShopifyVariants: readonly UnmappedShopifyVariant[];
  readonly ambiguous: readonly AmbiguousSku[];
  /** ERP locations with no Shopify location: never pushed. */
  readonly unmappedLocations: readonly string[];
  /** Full sizes of each list (the lists may be cut by `limit`). */
  readonly counts: { readonly mapped: number; readonly unmappedErpSkus: number; readonly unmappedShopifySkus: number; readonly ambiguous: number };
}

/** The operator's SKU normalization rules (defaults: ignore case, separators and whitespace). */
export interface NormalizationRules {
  readonly ignoreCase: boolean;
  readonly ignoreSeparators: boolean;
  /** Characters treated as one separator when `ignoreSeparators`. */
  readonly separators: string;
  readonly ignoreWhitespace: boolean;
  /** Words that mean the same: `{ BLU: 'blue' }` makes `BRACKET-BLU` match `bracket-blue`. */
  readonly abbreviations: Readonly<Record<string, string>>;
}

export type LocationMappingSource = 'MANUAL' | 'AUTO';

export interface LocationMapping {
  readonly erpLocation: string;
  readonly shopifyLocationId: string;
  readonly source: LocationMappingSource;
}

/** An ERP location as the API shows it, with its Shopify location (null = never pushed). */
export interface LocationView {
  readonly code: string;
  readonly name: string;
  readonly kind: 'warehouse' | 'storage';
  readonly warehouseCode: string;
  readonly active: boolean;
  readonly shopifyLocationId: string | null;
  readonly shopifyLocationName: string | null;
  readonly mappingSource: LocationMappingSource | null;
}

/**
 * Where one ERP SKU at one ERP location goes in Shopify. Several ERP locations may share a
 * Shopify location: the push sums their ATP (in ERP units) and converts the sum once
 * (`toShopifyUnits`), see `groupPushTargets` in ./push-targets.ts.
 */
export interface PushTarget {
  readonly sku: string;
  /** ERP location code. */
  readonly location: string;
  readonly shopifyLocationId: string;
  readonly inventoryItemId: string;
  readonly variantId: string;
  readonly shopifySku: string | null;
  readonly conversion: UnitConversion;
}

/** One Shopify item at one Shopify location, and the ERP positions that feed it. */
export interface ShopifyPushGroup {
  readonly sku: string;
  readonly inventoryItemId: string;
  readonly variantId: string;
  readonly shopifySku: string | null;
  readonly shopifyLocationId: string;
  /** ERP location codes whose ATP is summed into this Shopify level, sorted. */
  readonly erpLocations: readonly string[];
  readonly conversion: UnitConversion;
}

/** The reverse lookup: a Shopify item at a Shopify location → the ERP SKU and locations. */
export interface ErpSource {
  readonly inventoryItemId: string;
  readonly shopifyLocationId: string;
  readonly sku: string;
  readonly variantId: string;
  /** ERP locations mapped to this Shopify location, sorted (the first is the default to ship from). */
  readonly erpLocations: readonly string[];
  readonly conversion: UnitConversion;
}

export interface ProductView {
  readonly sku: string;
  readonly name: string;
  readonly stockTracked: boolean;
  readonly active: boolean;
  readonly components: readonly { readonly sku: string; readonly quantity: number }[];
  /** The ERP's name of the stock unit of measure, or null. */
  readonly unit: string | null;
  readonly mapping: SkuMapping | null;
  readonly ambiguous: AmbiguousSku | null;
  /** Set by `products(filter: {location})`: the product's availability then shows that location only. */
  readonly locationScope?: string | null;
}

/** One read-model row: every ATP term of one SKU at one ERP location. */
export interface PositionRecord extends Readonly<AtpTerms> {
  readonly sku: string;
  readonly location: string;
  /** `pendingOrders + unexplainedShopifyDrop`, as the API shows it. */
  readonly pendingShopifyOrders: number;
  /** The expiring lot units the formula subtracts: `min(expiringLotUnits, max(0, onHand − allocated))`. */
  readonly expiringSoon: number;
  readonly availableToPromise: number;
  readonly erpReadAt: Date | null;
  readonly computedAt: Date;
  readonly shopifyAvailable: number | null;
  readonly shopifyReadAt: Date | null;
  readonly lastPushedQuantity: number | null;
  readonly lastPushedAt: Date | null;
  readonly pushRequestedAt: Date | null;
}

export interface PositionChange {
  readonly sku: string;
  readonly location: string;
  /** Null when the position is new. */
  readonly previousAvailableToPromise: number | null;
  readonly availableToPromise: number;
}

export interface RefreshPositionsResult {
  /** Positions written (new or updated, changed or not). */
  readonly positionsRead: number;
  /** Positions whose ATP or any ERP term changed (new positions included). */
  readonly changed: readonly PositionChange[];
  /** Requested SKUs the ERP does not know: their positions were zeroed. */
  readonly unknownSkus: readonly string[];
}

/** A SKU's sellable shelf life: its lots expiring before today + `days` do not count in the ATP. */
export interface SellableShelfLifeRule {
  readonly sku: string;
  readonly days: number;
  readonly updatedAt: Date;
}

export type SetSellableShelfLifeErrorCode = 'UNKNOWN_SKU' | 'INVALID_DAYS';

/** An expected refusal of `setSellableShelfLife`, for the payload's `userErrors`. */
export interface SetSellableShelfLifeUserError {
  /** The input field at fault, as a path (`['input', 'days']`). */
  readonly field: readonly string[];
  readonly message: string;
  readonly code: SetSellableShelfLifeErrorCode;
}

/** What `setSellableShelfLife` did: the rule now in force (null: removed or refused) and the SKU's positions. */
export interface SetSellableShelfLifeResult {
  readonly rule: SellableShelfLifeRule | null;
  readonly positions: readonly PositionRecord[];
  readonly userErrors: readonly SetSellableShelfLifeUserError[];
}

export interface SafetyStockRule {
  /** Null = any SKU. */
  readonly sku: string | null;
  /** Null = any location. */
  readonly location: string | null;
  readonly quantity: number;
  readonly updatedAt: Date;
}

export interface SetSafetyStockInput {
  readonly sku?: string | null;
  readonly location?: string | null;
  /** Units in the ERP's stock unit; null removes the rule. */
  readonly quantity: number | null;
}

/** ATP against Shopify's last read `available`, both in Shopify units. */
export interface DriftRecord {
  readonly sku: string;
  /** The ERP location, or several joined with `+` when they feed one Shopify location. */
  readonly location: string;
  readonly erpLocations: readonly string[];
  readonly shopifyLocationId: string;
  readonly inventoryItemId: string;
  readonly availableToPromise: number;
  readonly shopifyAvailable: number;
  /** `shopifyAvailable − availableToPromise`: positive = Shopify offers more than can be promised. */
  readonly difference: number;
}

export interface ProductFilter {
  readonly skus?: readonly string[] | null;
  readonly location?: string | null;
  readonly mapped?: boolean | null;
}
