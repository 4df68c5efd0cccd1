import { AppError, NotFoundError } from '../../shared/errors.js';
import type { SimulatorClock } from './clock.js';
import { looseId } from './gid.js';
import {
  type AdjustmentGroupRecord,
  type InventoryItemRecord,
  type LevelRecord,
  type LocationRecord,
  type OrderRecord,
  type OversellRecord,
  type ProductRecord,
  type ShopEvent,
  type VariantRecord,
  type WebhookSubscriptionRecord,
} from './shop-state.models.js';

/**
 * One simulated shop's records and the indexes over them, shared by the aggregate modules
 * (catalogue, inventory, orders, fulfilments, metafields, webhook subscriptions): Maps keyed
 * for O(1) lookups, the SKU and location-key indexes, levels per location kept sortable for
 * paging, id counters per type and the event listeners. It holds no business rule: the modules
 * decide, the store remembers and announces.
 */

export interface UserError {
  field: string[] | null;
  message: string;
  code: string | null;
}

export interface ShopStateOptions {
  clock: SimulatorClock;
  shopName: string;
  currency: string;
  /** Accepted `reason` values of inventory mutations; anything else is `INVALID_REASON`. */
  reasons?: readonly string[];
}

export const ID_BASES = {
  Location: 70_000_000_000,
  Product: 80_000_000_000,
  ProductVariant: 40_000_000_000,
  InventoryItem: 50_000_000_000,
  Order: 60_000_000_000,
  LineItem: 13_000_000_000,
  Refund: 90_000_000_000,
  RefundLineItem: 91_000_000_000,
  WebhookSubscription: 11_000_000_000,
  InventoryAdjustmentGroup: 12_000_000_000,
  Metafield: 14_000_000_000,
  MetafieldDefinition: 15_000_000_000,
  FulfillmentOrder: 18_000_000_000,
  FulfillmentOrderLineItem: 19_000_000_000,
  Fulfillment: 20_000_000_000,
  FulfillmentLineItem: 21_000_000_000,
  Customer: 17_000_000_000,
  BulkOperation: 16_000_000_000,
} as const;

export type IdKind = keyof typeof ID_BASES;

export class ShopStore {
  readonly locations = new Map<number, LocationRecord>();
  readonly products = new Map<number, ProductRecord>();
  readonly variants = new Map<number, VariantRecord>();
  readonly items = new Map<number, InventoryItemRecord>();
  readonly orders = new Map<number, OrderRecord>();
  readonly webhookSubscriptions = new Map<number, WebhookSubscriptionRecord>();
  readonly adjustmentGroups = new Map<number, AdjustmentGroupRecord>();
  readonly oversells: OversellRecord[] = [];
  /** Location ids by seed key. */
  readonly locationKeys = new Map<string, number>();
  readonly variantOrder: VariantRecord[] = [];
  readonly itemOrder: InventoryItemRecord[] = [];
  readonly productOrder: ProductRecord[] = [];
  shopName: string;
  currency: string;

  private readonly clock: SimulatorClock;
  private readonly counters = new Map<IdKind, number>();
  private readonly skuIndex = new Map<string, number[]>();
  private readonly levelsByLocation = new Map<number, { levels: LevelRecord[]; sorted: boolean; inactive: number }>();
  private readonly listeners: ((event: ShopEvent) => void)[] = [];

  constructor(options: { clock: SimulatorClock; shopName: string; currency: string }) {
    this.clock = options.clock;
    this.shopName = options.shopName;
    this.currency = options.currency;
  }

  // ---------------------------------------------------------------- events and ids

  /** Registers a listener for every change the shop announces (webhook topics). */
  onEvent(listener: (event: ShopEvent) => void): void {
    this.listeners.push(listener);
  }

  emit(event: ShopEvent): void {
    for (const listener of this.listeners) listener(event);
  }

  nextId(kind: IdKind): number {
    const next = (this.counters.get(kind) ?? 0) + 1;
    this.counters.set(kind, next);
    return ID_BASES[kind] + next;
  }

  now(): number {
    return this.clock.now();
  }

  // ---------------------------------------------------------------- catalogue indexes

  indexSku(item: InventoryItemRecord): void {
    if (!item.sku) return;
    const key = item.sku.trim().toLowerCase();
    const list = this.skuIndex.get(key);
    if (list) list.push(item.id);
    else this.skuIndex.set(key, [item.id]);
  }

  /** Finds a location by gid, numeric id, seed key or name. */
  findLocation(ref: string | number): LocationRecord | undefined {
    if (typeof ref === 'string') {
      const keyed = this.locationKeys.get(ref);
      if (keyed !== undefined) return this.locations.get(keyed);
    }
    const id = looseId(ref, 'Location');
    if (id !== null) return this.locations.get(id);
    for (const location of this.locations.values()) if (location.name === ref) return location;
    return undefined;
  }

  getLocation(ref: string | number): LocationRecord {
    const location = this.findLocation(ref);
    if (!location) throw new NotFoundError('Location', String(ref));
    return location;
  }

  /** Inventory items whose SKU equals `sku` ignoring case (or starts with it, for `prefix`). */
  findItemsBySku(sku: string, prefix = false): InventoryItemRecord[] {
    const key = sku.trim().toLowerCase();
    if (!prefix) return (this.skuIndex.get(key) ?? []).map((id) => this.items.get(id)!);
    const found: InventoryItemRecord[] = [];
    for (const [indexed, ids] of this.skuIndex) if (indexed.startsWith(key)) for (const id of ids) found.push(this.items.get(id)!);
    return found.sort((a, b) => a.id - b.id);
  }

  /** How many other inventory items share this item's SKU (Shopify's `duplicateSkuCount`). */
  duplicateSkuCount(item: InventoryItemRecord): number {
    if (!item.sku) return 0;
    return Math.max(0, (this.skuIndex.get(item.sku.trim().toLowerCase())?.length ?? 1) - 1);
  }

  /** Finds a variant by gid or numeric id, or by SKU when exactly one variant has it. */
  findVariant(ref: { variantId?: string | number; inventoryItemId?: string | number; sku?: string }): VariantRecord | undefined {
    if (ref.variantId !== undefined) {
      const id = looseId(ref.variantId, 'ProductVariant');
      return id === null ? undefined : this.variants.get(id);
    }
    if (ref.inventoryItemId !== undefined) {
      const id = looseId(ref.inventoryItemId, 'InventoryItem');
      const item = id === null ? undefined : this.items.get(id);
      return item ? this.variants.get(item.variantId) : undefined;
    }
    if (ref.sku !== undefined) {
      const matches = this.findItemsBySku(ref.sku);
      if (matches.length > 1) throw new AppError('AMBIGUOUS_SKU', `${matches.length} variants have SKU ${ref.sku}; name the variantId`, { sku: ref.sku });
      return matches[0] ? this.variants.get(matches[0].variantId) : undefined;
    }
    return undefined;
  }

  variantsById(): readonly VariantRecord[] {
    return this.variantOrder;
  }

  itemsById(): readonly InventoryItemRecord[] {
    return this.itemOrder;
  }

  productsById(): readonly ProductRecord[] {
    return this.productOrder;
  }

  // ---------------------------------------------------------------- inventory levels


  /** The level of an item at a location, creating it (active, all zero) when absent. */
  ensureLevel(item: InventoryItemRecord, locationId: number): LevelRecord {
    const existing = item.levels.get(locationId);
    if (existing) {
      if (!existing.isActive) {
        existing.isActive = true;
        this.levelsByLocation.get(locationId)!.inactive--;
      }
      return existing;
    }
    const now = this.now();
    const level: LevelRecord = {
      __typename: 'InventoryLevel',
      itemId: item.id,
      locationId,
      available: 0,
      committed: 0,
      reserved: 0,
      incoming: 0,
      damaged: 0,
      safety_stock: 0,
      quality_control: 0,
      isActive: true,
      createdAt: now,
      updatedAt: now,
    };
    item.levels.set(locationId, level);
    let atLocation = this.levelsByLocation.get(locationId);
    if (!atLocation) {
      atLocation = { levels: [], sorted: true, inactive: 0 };
      this.levelsByLocation.set(locationId, atLocation);
    }
    const last = atLocation.levels.at(-1);
    if (last && last.itemId > item.id) atLocation.sorted = false;
    atLocation.levels.push(level);
    return level;
  }

  findLevel(itemId: number, locationId: number): LevelRecord | undefined {
    return this.items.get(itemId)?.levels.get(locationId);
  }

  /** Levels at a location ordered by inventory item id (the order `location.inventoryLevels` pages in). */
  levelsAtLocation(locationId: number, includeInactive = false): readonly LevelRecord[] {
    const atLocation = this.levelsByLocation.get(locationId);
    if (!atLocation) return [];
    if (!atLocation.sorted) {
      atLocation.levels.sort((a, b) => a.itemId - b.itemId);
      atLocation.sorted = true;
    }
    if (includeInactive || atLocation.inactive === 0) return atLocation.levels;
    return atLocation.levels.filter((level) => level.isActive);
  }
}
