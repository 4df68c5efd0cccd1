import { AppError, NotFoundError, ValidationError } from '../../shared/errors.js';
import type { SimulatorClock } from './clock.js';
import { FulfillmentsState, type MerchantFulfillmentInput } from './fulfillments.state.js';
import { gid, idOfType, looseId } from './gid.js';
import { compareDigest, MetafieldsState, type MetafieldsSetInput } from './metafields.state.js';
import { shopSeedSchema, type ParsedShopSeed, type SeedResult, type ShopSeed } from './seed.schema.js';
import {
  QUANTITY_NAMES,
  type AdjustmentGroupRecord,
  type CancelReason,
  type FinancialStatus,
  type InventoryChangeRecord,
  type InventoryItemRecord,
  type LevelRecord,
  type LineItemRecord,
  type LocationRecord,
  type MetafieldRecord,
  type OrderRecord,
  type OversellRecord,
  type ProductRecord,
  type QuantityName,
  type RefundLineRecord,
  type RefundRecord,
  type RestockType,
  type ShopEvent,
  type StoredQuantityName,
  type VariantRecord,
  type WebhookSubscriptionRecord,
} from './shop-state.models.js';

/**
 * The simulated shop: catalogue, inventory levels, orders, webhook subscriptions and metafields,
 * held in Maps keyed for O(1) lookups, with the business rules Shopify applies to them
 * (`inventorySetQuantities` compare-and-set and atomicity, checkout commitments, restocking).
 * GraphQL resolvers and the control API both call these methods; changes are announced as
 * `ShopEvent`s for the webhook dispatcher.
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

/** Shopify's documented inventory reasons (manage-quantities-states). */
export const DEFAULT_INVENTORY_REASONS = [
  'correction',
  'cycle_count_available',
  'damaged',
  'movement_created',
  'movement_updated',
  'movement_received',
  'movement_canceled',
  'other',
  'promotion',
  'quality_control',
  'received',
  'reservation_created',
  'reservation_deleted',
  'reservation_updated',
  'restock',
  'safety_stock',
  'shrinkage',
] as const;

const SET_QUANTITY_LIMIT = 1_000_000_000;
const ADJUST_QUANTITY_LIMIT = 2_000_000_000;
const ADJUSTMENT_GROUPS_KEPT = 5_000;

const ID_BASES = {
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

type IdKind = keyof typeof ID_BASES;

export interface SetQuantitiesInput {
  name: string;
  reason: string;
  referenceDocumentUri?: string | null;
  quantities: { inventoryItemId: string; locationId: string; quantity: number; changeFromQuantity: number | null }[];
}

export interface AdjustQuantitiesInput {
  name: string;
  reason: string;
  referenceDocumentUri?: string | null;
  changes: { inventoryItemId: string; locationId: string; delta: number; changeFromQuantity: number | null; ledgerDocumentUri?: string | null }[];
}

export interface InventoryResult {
  group: AdjustmentGroupRecord | null;
  userErrors: UserError[];
}

export interface PlaceOrderLine {
  /** One of sku, variantId or inventoryItemId identifies what is bought. */
  sku?: string;
  variantId?: string | number;
  inventoryItemId?: string | number;
  quantity: number;
  /** Unit price; defaults to the variant's price. */
  price?: string | number;
  /** Fulfilling location (gid, id, key or name); defaults to the order's or the best stocked one. */
  location?: string | number;
}

export interface PlaceOrderInput {
  lines: PlaceOrderLine[];
  location?: string | number;
  email?: string | null;
  customer?: { firstName?: string | null; lastName?: string | null; email?: string | null; phone?: string | null } | null;
  financialStatus?: FinancialStatus;
  test?: boolean;
  tags?: string[];
  note?: string | null;
  sourceName?: string;
  poNumber?: string | null;
}

export type PlaceOrderResult =
  | { placed: true; order: OrderRecord; oversoldUnits: number }
  | { placed: false; code: 'INSUFFICIENT_STOCK'; message: string; lines: { sku: string | null; requested: number; available: number; locationId: string }[] };

export interface RefundLineInput {
  lineItemId?: string | number;
  sku?: string;
  quantity: number;
  /** Defaults to `CANCEL` for unfulfilled units and `RETURN` for fulfilled ones. */
  restockType?: RestockType;
}

function money(value: number): string {
  return (Math.round(value * 100) / 100).toFixed(2);
}

function handleize(title: string): string {
  return (
    title
      .toLowerCase()
      .replace(/[^a-z0-9]+/g, '-')
      .replace(/^-|-$/g, '') || 'product'
  );
}

const URI_PATTERN = /^[a-z][a-z0-9+.-]*:\/\/?\S+$/i;

export class ShopState {
  readonly locations = new Map<number, LocationRecord>();
  readonly products = new Map<number, ProductRecord>();
  readonly variants = new Map<number, VariantRecord>();
  readonly items = new Map<number, InventoryItemRecord>();
  readonly orders = new Map<number, OrderRecord>();
  readonly webhookSubscriptions = new Map<number, WebhookSubscriptionRecord>();
  readonly adjustmentGroups = new Map<number, AdjustmentGroupRecord>();
  readonly oversells: OversellRecord[] = [];
  readonly fulfillments: FulfillmentsState;
  readonly metafields: MetafieldsState;
  shopName: string;
  currency: string;

  private readonly clock: SimulatorClock;
  private readonly reasons: Set<string>;
  private readonly counters = new Map<IdKind, number>();
  private readonly locationKeys = new Map<string, number>();
  private readonly skuIndex = new Map<string, number[]>();
  private readonly variantOrder: VariantRecord[] = [];
  private readonly itemOrder: InventoryItemRecord[] = [];
  private readonly productOrder: ProductRecord[] = [];
  private readonly levelsByLocation = new Map<number, { levels: LevelRecord[]; sorted: boolean; inactive: number }>();
  private readonly listeners: ((event: ShopEvent) => void)[] = [];
  private nextOrderNumber = 1001;

  constructor(options: ShopStateOptions) {
    this.clock = options.clock;
    this.shopName = options.shopName;
    this.currency = options.currency;
    this.reasons = new Set(options.reasons ?? DEFAULT_INVENTORY_REASONS);
    this.fulfillments = new FulfillmentsState({
      now: () => this.now(),
      nextId: (kind) => this.nextId(kind),
      emit: (event) => this.emit(event),
      findOrder: (id) => this.orders.get(id),
      releaseCommitment: (line, units, restock) => this.releaseCommitment(line, units, restock),
    });
    this.metafields = new MetafieldsState({
      now: () => this.now(),
      nextId: (kind) => this.nextId(kind),
      ownerExists: (ownerType, ownerId) =>
        ownerType === 'PRODUCTVARIANT' ? this.variants.has(ownerId) : ownerType === 'PRODUCT' ? this.products.has(ownerId) : ownerType === 'ORDER' ? this.orders.has(ownerId) : this.locations.has(ownerId),
    });
  }

  // ---------------------------------------------------------------- events and ids

  /** Registers a listener for every change the shop announces (webhook topics). */
  onEvent(listener: (event: ShopEvent) => void): void {
    this.listeners.push(listener);
  }

  /** Announces a finished bulk operation (`bulk_operations/finish`). */
  announceBulkOperationFinished(bulkOperation: Extract<ShopEvent, { topic: 'bulk_operations/finish' }>['bulkOperation']): void {
    this.emit({ topic: 'bulk_operations/finish', bulkOperation });
  }

  private emit(event: ShopEvent): void {
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

  // ---------------------------------------------------------------- catalogue

  /** Adds a catalogue (see seed.schema.ts); it adds to what is there, it does not replace it. */
  seed(input: ShopSeed | ParsedShopSeed): SeedResult {
    const parsed = shopSeedSchema.parse(input);
    if (parsed.shop?.name) this.shopName = parsed.shop.name;
    if (parsed.shop?.currency) this.currency = parsed.shop.currency;
    const result: SeedResult = { locations: [], variants: [] };
    for (const location of parsed.locations) {
      const record = this.createLocation(location);
      const key = location.key ?? location.name;
      this.locationKeys.set(key, record.id);
      result.locations.push({ key, name: record.name, id: gid('Location', record.id) });
    }
    for (const product of parsed.products) {
      const created = this.createProduct(product);
      for (const variant of created.variants) {
        result.variants.push({ sku: variant.sku, productId: gid('Product', created.product.id), variantId: gid('ProductVariant', variant.id), inventoryItemId: gid('InventoryItem', variant.inventoryItemId) });
      }
    }
    if (parsed.generate) {
      const generate = parsed.generate;
      const locationRefs = generate.locations ?? parsed.locations.map((location) => location.key ?? location.name);
      const levels: Record<string, number> = {};
      for (const ref of locationRefs) levels[ref] = generate.available;
      let counter = 0;
      for (let productIndex = 0; productIndex < generate.products; productIndex++) {
        const variants = [];
        for (let variantIndex = 0; variantIndex < generate.variantsPerProduct; variantIndex++) {
          counter++;
          variants.push({
            sku: `${generate.skuPrefix}${String(counter).padStart(6, '0')}`,
            title: generate.variantsPerProduct === 1 ? 'Default Title' : `Variant ${variantIndex + 1}`,
            price: '10.00',
            barcode: null,
            inventoryPolicy: generate.inventoryPolicy,
            tracked: true,
            bundle: false,
            requiresShipping: true,
            levels,
            metafields: [],
          });
        }
        const created = this.createProduct({ title: `Generated product ${productIndex + 1}`, vendor: 'Stockbridge Simulated', productType: '', status: 'ACTIVE', tags: [], variants });
        for (const variant of created.variants) {
          result.variants.push({ sku: variant.sku, productId: gid('Product', created.product.id), variantId: gid('ProductVariant', variant.id), inventoryItemId: gid('InventoryItem', variant.inventoryItemId) });
        }
      }
    }
    return result;
  }

  private createLocation(input: ParsedShopSeed['locations'][number]): LocationRecord {
    const now = this.now();
    const record: LocationRecord = {
      __typename: 'Location',
      id: this.nextId('Location'),
      name: input.name,
      isActive: input.isActive,
      fulfillsOnlineOrders: input.fulfillsOnlineOrders,
      shipsInventory: input.shipsInventory,
      address: { address1: null, address2: null, city: input.city, province: null, provinceCode: null, zip: null, country: null, countryCode: input.countryCode, phone: null },
      createdAt: now,
      updatedAt: now,
      deactivatedAt: input.isActive ? null : now,
    };
    this.locations.set(record.id, record);
    return record;
  }

  private createProduct(parsed: ParsedShopSeed['products'][number]): { product: ProductRecord; variants: VariantRecord[] } {
    const now = this.now();
    const product: ProductRecord = {
      __typename: 'Product',
      id: this.nextId('Product'),
      title: parsed.title,
      handle: parsed.handle ?? handleize(parsed.title),
      status: parsed.status,
      vendor: parsed.vendor,
      productType: parsed.productType,
      tags: parsed.tags,
      createdAt: now,
      updatedAt: now,
      variantIds: [],
    };
    this.products.set(product.id, product);
    this.productOrder.push(product);
    const variants: VariantRecord[] = [];
    parsed.variants.forEach((variantInput, index) => {
      const variantId = this.nextId('ProductVariant');
      const item: InventoryItemRecord = {
        __typename: 'InventoryItem',
        id: this.nextId('InventoryItem'),
        sku: variantInput.sku,
        tracked: variantInput.tracked,
        requiresShipping: variantInput.requiresShipping,
        nonMutable: variantInput.bundle,
        variantId,
        createdAt: now,
        updatedAt: now,
        unitCost: null,
        levels: new Map(),
      };
      const variant: VariantRecord = {
        __typename: 'ProductVariant',
        id: variantId,
        productId: product.id,
        title: variantInput.title,
        sku: variantInput.sku,
        barcode: variantInput.barcode,
        price: variantInput.price,
        compareAtPrice: null,
        inventoryPolicy: variantInput.inventoryPolicy,
        inventoryItemId: item.id,
        position: index + 1,
        taxable: true,
        createdAt: now,
        updatedAt: now,
      };
      this.items.set(item.id, item);
      this.itemOrder.push(item);
      this.variants.set(variant.id, variant);
      this.variantOrder.push(variant);
      product.variantIds.push(variant.id);
      this.indexSku(item);
      for (const [locationRef, quantities] of Object.entries(variantInput.levels)) {
        const location = this.findLocation(locationRef);
        if (!location) throw new ValidationError(`seed: variant ${variantInput.sku ?? variantInput.title} names unknown location "${locationRef}"`);
        const level = this.ensureLevel(item, location.id);
        const values = typeof quantities === 'number' ? { available: quantities } : quantities;
        for (const [name, value] of Object.entries(values)) {
          if (value !== undefined) level[name as StoredQuantityName] = value;
        }
      }
      for (const metafield of variantInput.metafields) {
        this.metafields.upsertMetafield('PRODUCTVARIANT', variant.id, metafield.namespace, metafield.key, metafield.type, metafield.value);
      }
      variants.push(variant);
    });
    return { product, variants };
  }

  private indexSku(item: InventoryItemRecord): void {
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

  static onHand(level: LevelRecord): number {
    return level.available + level.committed + level.reserved + level.damaged + level.safety_stock + level.quality_control;
  }

  static quantity(level: LevelRecord | undefined, name: QuantityName): number {
    if (!level) return 0;
    return name === 'on_hand' ? ShopState.onHand(level) : level[name];
  }

  /** Resolves a quantity-input's ids; the user error names the input path when one is unknown. */
  private resolveItemAndLocation(
    itemRef: string,
    locationRef: string,
    path: string[],
    codes: { item: string; location: string },
  ): { item: InventoryItemRecord; location: LocationRecord } | UserError {
    const itemId = idOfType(itemRef, 'InventoryItem');
    const item = itemId === null ? undefined : this.items.get(itemId);
    if (!item) return { field: [...path, 'inventoryItemId'], message: 'The specified inventory item could not be found.', code: codes.item };
    const locationId = idOfType(locationRef, 'Location');
    const location = locationId === null ? undefined : this.locations.get(locationId);
    if (!location || !location.isActive) return { field: [...path, 'locationId'], message: 'The specified location could not be found.', code: codes.location };
    return { item, location };
  }

  private checkReasonAndReference(reason: string, referenceDocumentUri: string | null | undefined, errors: UserError[]): void {
    if (!this.reasons.has(reason)) errors.push({ field: ['input', 'reason'], message: 'The specified reason is invalid.', code: 'INVALID_REASON' });
    if (referenceDocumentUri !== null && referenceDocumentUri !== undefined && !URI_PATTERN.test(referenceDocumentUri)) {
      errors.push({ field: ['input', 'referenceDocumentUri'], message: 'The specified reference document is invalid.', code: 'INVALID_REFERENCE_DOCUMENT' });
    }
  }

  /**
   * `inventorySetQuantities` (2026-10): absolute values of `available` or `on_hand`, each with a
   * compare-and-set on `changeFromQuantity` (null skips it). Atomic: if any quantity has a user
   * error, nothing is applied. A call that changes nothing returns no adjustment group.
   */
  setQuantities(input: SetQuantitiesInput): InventoryResult {
    const errors: UserError[] = [];
    const name = input.name;
    if (name !== 'available' && name !== 'on_hand') {
      errors.push({ field: ['input', 'name'], message: "The quantity name must be either 'available' or 'on_hand'.", code: 'INVALID_NAME' });
    }
    this.checkReasonAndReference(input.reason, input.referenceDocumentUri, errors);
    const seen = new Set<string>();
    const planned: { item: InventoryItemRecord; location: LocationRecord; quantity: number }[] = [];
    input.quantities.forEach((quantity, index) => {
      const path = ['input', 'quantities', String(index)];
      const resolved = this.resolveItemAndLocation(quantity.inventoryItemId, quantity.locationId, path, { item: 'INVALID_INVENTORY_ITEM', location: 'INVALID_LOCATION' });
      if ('code' in resolved) {
        errors.push(resolved);
        return;
      }
      const { item, location } = resolved;
      const pair = `${item.id}:${location.id}`;
      if (seen.has(pair)) {
        errors.push({ field: path, message: 'The combination of inventoryItemId and locationId must be unique.', code: 'NO_DUPLICATE_INVENTORY_ITEM_ID_GROUP_ID_PAIR' });
        return;
      }
      seen.add(pair);
      if (item.nonMutable) {
        errors.push({ field: [...path, 'inventoryItemId'], message: 'The specified inventory item is not allowed to be adjusted via API. Example: if the inventory item is a parent bundle.', code: 'NON_MUTABLE_INVENTORY_ITEM' });
        return;
      }
      if (!item.tracked) {
        errors.push({ field: [...path, 'inventoryItemId'], message: "The specified inventory item doesn't track inventory, so its quantities can't be set.", code: 'NON_MUTABLE_INVENTORY_ITEM' });
        return;
      }
      if (quantity.quantity > SET_QUANTITY_LIMIT) {
        errors.push({ field: [...path, 'quantity'], message: "The total quantity can't be higher than 1,000,000,000.", code: 'INVALID_QUANTITY_TOO_HIGH' });
        return;
      }
      if (quantity.quantity < -SET_QUANTITY_LIMIT) {
        errors.push({ field: [...path, 'quantity'], message: "The total quantity can't be lower than -1,000,000,000.", code: 'INVALID_QUANTITY_TOO_LOW' });
        return;
      }
      if (name === 'on_hand' && quantity.quantity < 0) {
        errors.push({ field: [...path, 'quantity'], message: "The quantity can't be negative.", code: 'INVALID_QUANTITY_NEGATIVE' });
        return;
      }
      if (name === 'available' || name === 'on_hand') {
        const current = ShopState.quantity(item.levels.get(location.id), name);
        if (quantity.changeFromQuantity !== null && quantity.changeFromQuantity !== current) {
          errors.push({ field: [...path, 'changeFromQuantity'], message: 'The changeFromQuantity value does not match persisted value.', code: 'CHANGE_FROM_QUANTITY_STALE' });
          return;
        }
      }
      planned.push({ item, location, quantity: quantity.quantity });
    });
    if (errors.length > 0) return { group: null, userErrors: errors };

    const changes: InventoryChangeRecord[] = [];
    const changedLevels: LevelRecord[] = [];
    const now = this.now();
    for (const { item, location, quantity } of planned) {
      const level = this.ensureLevel(item, location.id);
      const before = ShopState.quantity(level, name as QuantityName);
      const delta = quantity - before;
      if (delta === 0) continue;
      level.available += delta;
      level.updatedAt = now;
      item.updatedAt = now;
      changes.push({ name: 'available', delta, quantityAfterChange: level.available, itemId: item.id, locationId: location.id, ledgerDocumentUri: null });
      changes.push({ name: 'on_hand', delta, quantityAfterChange: ShopState.onHand(level), itemId: item.id, locationId: location.id, ledgerDocumentUri: null });
      changedLevels.push(level);
    }
    if (changes.length === 0) return { group: null, userErrors: [] };
    const group = this.recordAdjustment(input.reason, input.referenceDocumentUri ?? null, changes);
    for (const level of changedLevels) this.emit({ topic: 'inventory_levels/update', level });
    return { group, userErrors: [] };
  }

  /**
   * `inventoryAdjustQuantities` (2026-10): deltas on one quantity name, with compare-and-set on
   * `changeFromQuantity` and Shopify's ledger-document rules. Atomic like `setQuantities`.
   */
  adjustQuantities(input: AdjustQuantitiesInput): InventoryResult {
    const errors: UserError[] = [];
    const adjustable = new Set<string>(['available', 'on_hand', 'damaged', 'incoming', 'quality_control', 'reserved', 'safety_stock']);
    const name = input.name;
    if (!adjustable.has(name)) {
      errors.push({ field: ['input', 'name'], message: 'The quantity name must be one of the adjustable quantity names.', code: 'INVALID_QUANTITY_NAME' });
    }
    this.checkReasonAndReference(input.reason, input.referenceDocumentUri, errors);
    const ledgers = new Set<string>();
    const planned: { item: InventoryItemRecord; location: LocationRecord; delta: number; ledger: string | null }[] = [];
    const pending = new Map<string, number>();
    input.changes.forEach((change, index) => {
      const path = ['input', 'changes', String(index)];
      const ledger = change.ledgerDocumentUri ?? null;
      if (ledger !== null) {
        if (name === 'available') {
          errors.push({ field: [...path, 'ledgerDocumentUri'], message: 'A ledger document URI is not allowed when adjusting available.', code: 'INVALID_AVAILABLE_DOCUMENT' });
          return;
        }
        if (ledger.startsWith('gid://shopify/')) {
          errors.push({ field: [...path, 'ledgerDocumentUri'], message: 'Internal (gid://shopify/) ledger documents are not allowed to be adjusted via API.', code: 'INTERNAL_LEDGER_DOCUMENT' });
          return;
        }
        if (!URI_PATTERN.test(ledger)) {
          errors.push({ field: [...path, 'ledgerDocumentUri'], message: 'The specified ledger document is invalid.', code: 'INVALID_LEDGER_DOCUMENT' });
          return;
        }
        ledgers.add(ledger);
      } else if (name !== 'available' && adjustable.has(name)) {
        errors.push({ field: [...path, 'ledgerDocumentUri'], message: 'A ledger document URI is required for this quantity name.', code: 'INVALID_QUANTITY_DOCUMENT' });
        return;
      }
      const resolved = this.resolveItemAndLocation(change.inventoryItemId, change.locationId, path, { item: 'INVALID_INVENTORY_ITEM', location: 'INVALID_LOCATION' });
      if ('code' in resolved) {
        errors.push(resolved);
        return;
      }
      const { item, location } = resolved;
      if (item.nonMutable || !item.tracked) {
        errors.push({ field: [...path, 'inventoryItemId'], message: 'The specified inventory item is not allowed to be adjusted via API.', code: 'NON_MUTABLE_INVENTORY_ITEM' });
        return;
      }
      const pair = `${item.id}:${location.id}`;
      const current = (pending.get(pair) ?? 0) + ShopState.quantity(item.levels.get(location.id), adjustable.has(name) ? (name as QuantityName) : 'available');
      if (change.changeFromQuantity !== null && change.changeFromQuantity !== current) {
        errors.push({ field: [...path, 'changeFromQuantity'], message: 'The changeFromQuantity argument no longer matches the persisted quantity.', code: 'CHANGE_FROM_QUANTITY_STALE' });
        return;
      }
      const after = current + change.delta;
      if (after > ADJUST_QUANTITY_LIMIT) {
        errors.push({ field: [...path, 'delta'], message: "The quantity can't be higher than 2,000,000,000.", code: 'INVALID_QUANTITY_TOO_HIGH' });
        return;
      }
      if (after < -ADJUST_QUANTITY_LIMIT) {
        errors.push({ field: [...path, 'delta'], message: "The quantity can't be lower than -2,000,000,000.", code: 'INVALID_QUANTITY_TOO_LOW' });
        return;
      }
      pending.set(pair, after - ShopState.quantity(item.levels.get(location.id), adjustable.has(name) ? (name as QuantityName) : 'available'));
      planned.push({ item, location, delta: change.delta, ledger });
    });
    if (ledgers.size > 1) errors.push({ field: ['input', 'changes'], message: 'Only one ledger document is allowed per call.', code: 'MAX_ONE_LEDGER_DOCUMENT' });
    if (errors.length > 0) return { group: null, userErrors: errors };

    const changes: InventoryChangeRecord[] = [];
    const changedAvailable = new Set<LevelRecord>();
    const now = this.now();
    for (const { item, location, delta, ledger } of planned) {
      const level = this.ensureLevel(item, location.id);
      if (name === 'available' || name === 'on_hand') {
        level.available += delta;
        changedAvailable.add(level);
        if (name === 'available') {
          changes.push({ name: 'available', delta, quantityAfterChange: level.available, itemId: item.id, locationId: location.id, ledgerDocumentUri: null });
          changes.push({ name: 'on_hand', delta, quantityAfterChange: ShopState.onHand(level), itemId: item.id, locationId: location.id, ledgerDocumentUri: null });
        } else {
          changes.push({ name: 'on_hand', delta, quantityAfterChange: ShopState.onHand(level), itemId: item.id, locationId: location.id, ledgerDocumentUri: ledger });
          changes.push({ name: 'available', delta, quantityAfterChange: level.available, itemId: item.id, locationId: location.id, ledgerDocumentUri: null });
        }
      } else {
        const stored = name as StoredQuantityName;
        level[stored] += delta;
        changes.push({ name: stored, delta, quantityAfterChange: level[stored], itemId: item.id, locationId: location.id, ledgerDocumentUri: ledger });
        if (stored !== 'incoming') changes.push({ name: 'on_hand', delta, quantityAfterChange: ShopState.onHand(level), itemId: item.id, locationId: location.id, ledgerDocumentUri: null });
      }
      level.updatedAt = now;
      item.updatedAt = now;
    }
    const group = this.recordAdjustment(input.reason, input.referenceDocumentUri ?? null, changes);
    for (const level of changedAvailable) this.emit({ topic: 'inventory_levels/update', level });
    return { group, userErrors: [] };
  }

  /** `inventoryActivate`: makes a location stock an item, optionally with starting quantities. */
  activateInventory(itemRef: string, locationRef: string, available: number | null, onHand: number | null): { level: LevelRecord | null; userErrors: UserError[] } {
    const resolved = this.resolveItemAndLocation(itemRef, locationRef, [], { item: 'INVALID_INVENTORY_ITEM', location: 'INVALID_LOCATION' });
    if ('code' in resolved) return { level: null, userErrors: [{ field: resolved.field?.slice(-1) ?? null, message: resolved.message, code: null }] };
    const existed = resolved.item.levels.get(resolved.location.id);
    const level = this.ensureLevel(resolved.item, resolved.location.id);
    const before = level.available;
    if (!existed || available !== null || onHand !== null) {
      if (available !== null) level.available = available;
      else if (onHand !== null) level.available += onHand - ShopState.onHand(level);
      level.updatedAt = this.now();
    }
    if (level.available !== before) this.emit({ topic: 'inventory_levels/update', level });
    return { level, userErrors: [] };
  }

  /**
   * A merchant's manual edit in the Shopify admin: sets one quantity with no compare-and-set,
   * so the next compare-and-set from an integration sees it as a concurrent change.
   */
  setQuantityByMerchant(input: { inventoryItemId?: string | number; sku?: string; location: string | number; name?: 'available' | 'on_hand'; quantity: number }): LevelRecord {
    const variant = this.findVariant({ inventoryItemId: input.inventoryItemId, sku: input.sku });
    if (!variant) throw new NotFoundError('Inventory item', String(input.inventoryItemId ?? input.sku));
    const item = this.items.get(variant.inventoryItemId)!;
    const location = this.getLocation(input.location);
    if (!Number.isInteger(input.quantity) || Math.abs(input.quantity) > SET_QUANTITY_LIMIT) throw new ValidationError('quantity must be an integer within ±1,000,000,000');
    const level = this.ensureLevel(item, location.id);
    const name = input.name ?? 'available';
    const delta = input.quantity - ShopState.quantity(level, name);
    if (delta !== 0) {
      level.available += delta;
      level.updatedAt = this.now();
      item.updatedAt = level.updatedAt;
      this.recordAdjustment('correction', null, [
        { name: 'available', delta, quantityAfterChange: level.available, itemId: item.id, locationId: location.id, ledgerDocumentUri: null },
        { name: 'on_hand', delta, quantityAfterChange: ShopState.onHand(level), itemId: item.id, locationId: location.id, ledgerDocumentUri: null },
      ]);
      this.emit({ topic: 'inventory_levels/update', level });
    }
    return level;
  }

  private recordAdjustment(reason: string, referenceDocumentUri: string | null, changes: InventoryChangeRecord[]): AdjustmentGroupRecord {
    const group: AdjustmentGroupRecord = { __typename: 'InventoryAdjustmentGroup', id: this.nextId('InventoryAdjustmentGroup'), createdAt: this.now(), reason, referenceDocumentUri, changes };
    this.adjustmentGroups.set(group.id, group);
    if (this.adjustmentGroups.size > ADJUSTMENT_GROUPS_KEPT) {
      const oldest = this.adjustmentGroups.keys().next().value;
      if (oldest !== undefined) this.adjustmentGroups.delete(oldest);
    }
    return group;
  }

  // ---------------------------------------------------------------- checkout and orders

  /** The location a line is fulfilled from when none is named: the best stocked one. */
  private chooseLocation(item: InventoryItemRecord, quantity: number): LocationRecord {
    const active = [...this.locations.values()].filter((location) => location.isActive && location.fulfillsOnlineOrders);
    const stocked = active.filter((location) => item.levels.has(location.id));
    const enough = stocked.find((location) => item.levels.get(location.id)!.available >= quantity);
    const chosen = enough ?? stocked[0] ?? active[0] ?? [...this.locations.values()].find((location) => location.isActive);
    if (!chosen) throw new AppError('NO_LOCATION', 'the shop has no active location to fulfil the order from');
    return chosen;
  }

  /**
   * A customer's checkout. Each line commits its units at a location (`available` down,
   * `committed` up). The whole order is refused when a line asks for more than is available and
   * its variant does not continue selling when out of stock; units sold beyond stock by a
   * variant that continues selling are recorded as oversells.
   */
  placeOrder(input: PlaceOrderInput): PlaceOrderResult {
    if (input.lines.length === 0) throw new ValidationError('an order needs at least one line');
    const orderLocation = input.location !== undefined ? this.getLocation(input.location) : undefined;
    const resolved = input.lines.map((line) => {
      if (!Number.isInteger(line.quantity) || line.quantity < 1) throw new ValidationError('Quantity must be greater than or equal to 1');
      const variant = this.findVariant(line);
      if (!variant) throw new NotFoundError('Variant', String(line.variantId ?? line.inventoryItemId ?? line.sku));
      const item = this.items.get(variant.inventoryItemId)!;
      const location = line.location !== undefined ? this.getLocation(line.location) : (orderLocation ?? this.chooseLocation(item, line.quantity));
      return { line, variant, item, location };
    });
    const shortages: { sku: string | null; requested: number; available: number; locationId: string }[] = [];
    const demand = new Map<string, number>();
    for (const { line, variant, item, location } of resolved) {
      if (!item.tracked) continue;
      const key = `${item.id}:${location.id}`;
      const requested = (demand.get(key) ?? 0) + line.quantity;
      demand.set(key, requested);
      const available = item.levels.get(location.id)?.available ?? 0;
      if (variant.inventoryPolicy === 'DENY' && requested > available) {
        shortages.push({ sku: variant.sku, requested, available, locationId: gid('Location', location.id) });
      }
    }
    if (shortages.length > 0) {
      return { placed: false, code: 'INSUFFICIENT_STOCK', message: `Not enough stock for ${shortages.map((shortage) => shortage.sku ?? 'a variant').join(', ')}`, lines: shortages };
    }

    const now = this.now();
    const orderId = this.nextId('Order');
    const number = this.nextOrderNumber++;
    const email = input.email ?? input.customer?.email ?? null;
    const order: OrderRecord = {
      __typename: 'Order',
      id: orderId,
      number: number - 1000,
      name: `#${number}`,
      email,
      createdAt: now,
      updatedAt: now,
      processedAt: now,
      cancelledAt: null,
      cancelReason: null,
      closedAt: null,
      financialStatus: input.financialStatus ?? 'PAID',
      fulfillmentStatus: 'UNFULFILLED',
      currency: this.currency,
      test: input.test ?? false,
      tags: input.tags ?? [],
      note: input.note ?? null,
      sourceName: input.sourceName ?? 'web',
      poNumber: input.poNumber ?? null,
      locationId: orderLocation?.id ?? null,
      customer: input.customer
        ? { id: this.nextId('Customer'), email, firstName: input.customer.firstName ?? null, lastName: input.customer.lastName ?? null, phone: input.customer.phone ?? null }
        : null,
      shippingAddress: null,
      lineItems: [],
      refunds: [],
      fulfillmentOrders: [],
      fulfillments: [],
    };
    let oversoldUnits = 0;
    const touched = new Set<LevelRecord>();
    for (const { line, variant, item, location } of resolved) {
      const product = this.products.get(variant.productId)!;
      const lineItem: LineItemRecord = {
        __typename: 'LineItem',
        id: this.nextId('LineItem'),
        orderId,
        variantId: variant.id,
        productId: product.id,
        inventoryItemId: item.id,
        sku: variant.sku,
        title: product.title,
        variantTitle: variant.title === 'Default Title' ? null : variant.title,
        name: variant.title === 'Default Title' ? product.title : `${product.title} - ${variant.title}`,
        quantity: line.quantity,
        price: line.price !== undefined ? money(Number(line.price)) : variant.price,
        locationId: location.id,
        fulfilledQuantity: 0,
        removedQuantity: 0,
        requiresShipping: item.requiresShipping,
        taxable: variant.taxable,
        vendor: product.vendor,
      };
      order.lineItems.push(lineItem);
      if (!item.tracked) continue;
      const level = this.ensureLevel(item, location.id);
      const availableBefore = level.available;
      const oversold = line.quantity - Math.min(line.quantity, Math.max(0, availableBefore));
      level.available -= line.quantity;
      level.committed += line.quantity;
      level.updatedAt = now;
      touched.add(level);
      if (oversold > 0) {
        oversoldUnits += oversold;
        this.oversells.push({ orderId, lineItemId: lineItem.id, sku: variant.sku, inventoryItemId: item.id, locationId: location.id, units: oversold, availableBefore, at: now });
      }
    }
    this.fulfillments.openFulfillmentOrders(order);
    this.orders.set(order.id, order);
    this.emit({ topic: 'orders/create', order });
    if (order.financialStatus === 'PAID') this.emit({ topic: 'orders/paid', order });
    for (const level of touched) this.emit({ topic: 'inventory_levels/update', level });
    return { placed: true, order, oversoldUnits };
  }

  getOrder(ref: string | number): OrderRecord {
    const id = looseId(ref, 'Order');
    const order = id === null ? undefined : this.orders.get(id);
    if (!order) throw new NotFoundError('Order', String(ref));
    return order;
  }

  /**
   * Cancels an order. With `restock`, every unit not yet fulfilled or removed returns to
   * `available` at its location (and leaves `committed`).
   */
  cancelOrder(ref: string | number, options: { reason?: CancelReason; restock?: boolean; staffNote?: string | null } = {}): OrderRecord {
    const order = this.getOrder(ref);
    if (order.cancelledAt !== null) throw new AppError('ORDER_ALREADY_CANCELLED', `order ${order.name} is already cancelled`, { orderId: gid('Order', order.id) });
    const now = this.now();
    const restock = options.restock ?? true;
    const touched = new Set<LevelRecord>();
    const refundLines: RefundLineRecord[] = [];
    for (const line of order.lineItems) {
      const open = line.quantity - line.fulfilledQuantity - line.removedQuantity;
      if (open <= 0) continue;
      line.removedQuantity += open;
      refundLines.push({ id: this.nextId('RefundLineItem'), lineItemId: line.id, quantity: open, restockType: restock ? 'CANCEL' : 'NO_RESTOCK', locationId: restock ? line.locationId : null, subtotal: money(Number(line.price) * open) });
      const level = this.releaseCommitment(line, open, restock);
      if (level) touched.add(level);
    }
    order.cancelledAt = now;
    order.cancelReason = options.reason ?? 'OTHER';
    order.closedAt = now;
    order.updatedAt = now;
    if (order.financialStatus === 'PAID' || order.financialStatus === 'PARTIALLY_REFUNDED') order.financialStatus = 'REFUNDED';
    else if (order.financialStatus === 'AUTHORIZED' || order.financialStatus === 'PENDING') order.financialStatus = 'VOIDED';
    if (restock && order.lineItems.every((line) => line.fulfilledQuantity === 0)) order.fulfillmentStatus = 'RESTOCKED';
    let refund: RefundRecord | undefined;
    if (refundLines.length > 0) {
      refund = { __typename: 'Refund', id: this.nextId('Refund'), orderId: order.id, createdAt: now, note: options.staffNote ?? null, restock, lines: refundLines };
      order.refunds.push(refund);
    }
    this.fulfillments.syncOrder(order);
    this.emit({ topic: 'orders/cancelled', order });
    this.emit({ topic: 'orders/updated', order });
    if (refund) this.emit({ topic: 'refunds/create', order, refund });
    for (const level of touched) this.emit({ topic: 'inventory_levels/update', level });
    return order;
  }

  /** Releases units a line committed; with `restock` they become available again. */
  private releaseCommitment(line: LineItemRecord, units: number, restock: boolean): LevelRecord | undefined {
    if (line.inventoryItemId === null || line.locationId === null) return undefined;
    const item = this.items.get(line.inventoryItemId);
    if (!item || !item.tracked) return undefined;
    const level = this.ensureLevel(item, line.locationId);
    level.committed -= units;
    if (restock) level.available += units;
    level.updatedAt = this.now();
    return restock ? level : undefined;
  }

  /** Refunds units of an order's lines, restocking unfulfilled (`CANCEL`) or returned (`RETURN`) units. */
  refundOrder(ref: string | number, input: { lines: RefundLineInput[]; note?: string | null }): RefundRecord {
    const order = this.getOrder(ref);
    if (input.lines.length === 0) throw new ValidationError('a refund needs at least one line');
    const now = this.now();
    const lines: RefundLineRecord[] = [];
    const touched = new Set<LevelRecord>();
    for (const requested of input.lines) {
      const line =
        requested.lineItemId !== undefined
          ? order.lineItems.find((candidate) => candidate.id === looseId(requested.lineItemId!, 'LineItem'))
          : order.lineItems.find((candidate) => candidate.sku !== null && requested.sku !== undefined && candidate.sku.toLowerCase() === requested.sku.toLowerCase());
      if (!line) throw new NotFoundError('Line item', String(requested.lineItemId ?? requested.sku));
      const refundable = line.quantity - line.removedQuantity;
      if (!Number.isInteger(requested.quantity) || requested.quantity < 1 || requested.quantity > refundable) {
        throw new ValidationError(`line ${line.sku ?? line.id}: can refund 1 to ${refundable} units`);
      }
      const unfulfilled = line.quantity - line.fulfilledQuantity - line.removedQuantity;
      const restockType = requested.restockType ?? (unfulfilled >= requested.quantity ? 'CANCEL' : 'RETURN');
      line.removedQuantity += requested.quantity;
      if (restockType === 'CANCEL' || (restockType === 'NO_RESTOCK' && unfulfilled > 0)) {
        const released = Math.min(requested.quantity, Math.max(0, unfulfilled));
        const level = this.releaseCommitment(line, released, restockType === 'CANCEL');
        if (level) touched.add(level);
      } else if (restockType === 'RETURN' && line.inventoryItemId !== null && line.locationId !== null) {
        const item = this.items.get(line.inventoryItemId);
        if (item?.tracked) {
          const level = this.ensureLevel(item, line.locationId);
          level.available += requested.quantity;
          level.updatedAt = now;
          touched.add(level);
        }
      }
      lines.push({ id: this.nextId('RefundLineItem'), lineItemId: line.id, quantity: requested.quantity, restockType, locationId: restockType === 'NO_RESTOCK' ? null : line.locationId, subtotal: money(Number(line.price) * requested.quantity) });
    }
    const refund: RefundRecord = { __typename: 'Refund', id: this.nextId('Refund'), orderId: order.id, createdAt: now, note: input.note ?? null, restock: lines.some((line) => line.restockType !== 'NO_RESTOCK'), lines };
    order.refunds.push(refund);
    order.updatedAt = now;
    const allRemoved = order.lineItems.every((line) => line.removedQuantity >= line.quantity);
    order.financialStatus = allRemoved ? 'REFUNDED' : 'PARTIALLY_REFUNDED';
    this.fulfillments.syncOrder(order);
    this.emit({ topic: 'refunds/create', order, refund });
    this.emit({ topic: 'orders/updated', order });
    for (const level of touched) this.emit({ topic: 'inventory_levels/update', level });
    return refund;
  }

  /**
   * A merchant marking an order fulfilled in the admin: every open unit (or the lines named)
   * ships, one fulfilment per fulfilment order; `committed` and `on_hand` go down, `available`
   * is unchanged.
   */
  fulfillOrder(ref: string | number, input: MerchantFulfillmentInput = {}): OrderRecord {
    const order = this.getOrder(ref);
    this.fulfillments.fulfillByMerchant(order, input);
    return order;
  }

  /** Units sold beyond stock, in total. */
  oversoldUnits(): number {
    return this.oversells.reduce((sum, record) => sum + record.units, 0);
  }

  static orderTotal(order: OrderRecord): number {
    return order.lineItems.reduce((sum, line) => sum + Number(line.price) * line.quantity, 0);
  }

  static currentOrderTotal(order: OrderRecord): number {
    return order.lineItems.reduce((sum, line) => sum + Number(line.price) * (line.quantity - line.removedQuantity), 0);
  }

  // ---------------------------------------------------------------- webhook subscriptions

  createWebhookSubscription(input: {
    topic: string;
    uri: string | null | undefined;
    format?: 'JSON' | 'XML' | null;
    includeFields?: string[] | null;
    metafieldNamespaces?: string[] | null;
    filter?: string | null;
    name?: string | null;
    apiVersion: string;
  }): { subscription: WebhookSubscriptionRecord | null; userErrors: UserError[] } {
    const errors = this.checkSubscription(input, null);
    if (errors.length > 0) return { subscription: null, userErrors: errors };
    const now = this.now();
    const subscription: WebhookSubscriptionRecord = {
      __typename: 'WebhookSubscription',
      id: this.nextId('WebhookSubscription'),
      topic: input.topic,
      uri: input.uri!,
      format: input.format ?? 'JSON',
      includeFields: input.includeFields ?? [],
      metafieldNamespaces: input.metafieldNamespaces ?? [],
      filter: input.filter ?? null,
      name: input.name ?? null,
      apiVersion: input.apiVersion,
      createdAt: now,
      updatedAt: now,
    };
    this.webhookSubscriptions.set(subscription.id, subscription);
    return { subscription, userErrors: [] };
  }

  updateWebhookSubscription(
    ref: string,
    input: { uri?: string | null; format?: 'JSON' | 'XML' | null; includeFields?: string[] | null; metafieldNamespaces?: string[] | null; filter?: string | null; name?: string | null },
  ): { subscription: WebhookSubscriptionRecord | null; userErrors: UserError[] } {
    const id = idOfType(ref, 'WebhookSubscription');
    const existing = id === null ? undefined : this.webhookSubscriptions.get(id);
    if (!existing) return { subscription: null, userErrors: [{ field: ['id'], message: 'Webhook subscription does not exist', code: null }] };
    const merged = { ...existing, ...Object.fromEntries(Object.entries(input).filter(([, value]) => value !== undefined)) } as WebhookSubscriptionRecord;
    const errors = this.checkSubscription(merged, existing.id);
    if (errors.length > 0) return { subscription: null, userErrors: errors };
    Object.assign(existing, merged, { updatedAt: this.now() });
    return { subscription: existing, userErrors: [] };
  }

  deleteWebhookSubscription(ref: string | number): number | null {
    const id = looseId(ref, 'WebhookSubscription');
    if (id === null || !this.webhookSubscriptions.has(id)) return null;
    this.webhookSubscriptions.delete(id);
    return id;
  }

  private checkSubscription(input: { topic: string; uri?: string | null; format?: string | null; name?: string | null }, existingId: number | null): UserError[] {
    const errors: UserError[] = [];
    const uri = input.uri ?? '';
    let valid = false;
    try {
      const parsed = new URL(uri);
      valid = ['https:', 'http:'].includes(parsed.protocol) || parsed.protocol === 'pubsub:' || uri.startsWith('arn:aws:events:');
    } catch {
      valid = uri.startsWith('arn:aws:events:');
    }
    if (!valid) errors.push({ field: ['webhookSubscription', 'uri'], message: 'Address is invalid', code: null });
    if (input.format === 'XML') errors.push({ field: ['webhookSubscription', 'format'], message: 'The simulator delivers JSON only; XML subscriptions are not supported', code: null });
    if (input.name !== null && input.name !== undefined && !/^[A-Za-z0-9_-]{1,50}$/.test(input.name)) {
      errors.push({ field: ['webhookSubscription', 'name'], message: 'Name can only contain alphanumeric characters, hyphens and underscores, and must be 50 characters or fewer', code: null });
    }
    for (const existing of this.webhookSubscriptions.values()) {
      if (existing.id !== existingId && existing.topic === input.topic && existing.uri === uri) {
        errors.push({ field: ['webhookSubscription', 'callbackUrl'], message: 'Address for this topic has already been taken', code: null });
        break;
      }
    }
    return errors;
  }

  // ---------------------------------------------------------------- metafields

  metafieldsOf(ownerType: MetafieldRecord['ownerType'], ownerId: number): MetafieldRecord[] {
    return this.metafields.metafieldsOf(ownerType, ownerId);
  }

  findMetafield(ownerType: MetafieldRecord['ownerType'], ownerId: number, namespace: string, key: string): MetafieldRecord | undefined {
    return this.metafields.findMetafield(ownerType, ownerId, namespace, key);
  }

  static compareDigest(metafield: MetafieldRecord): string {
    return compareDigest(metafield);
  }

  /** `metafieldsSet` (see metafields.state.ts). */
  setMetafields(inputs: MetafieldsSetInput[]): { metafields: MetafieldRecord[] | null; userErrors: (UserError & { elementIndex: number | null })[] } {
    return this.metafields.setMetafields(inputs);
  }

  // ---------------------------------------------------------------- summaries

  static quantitiesOf(level: LevelRecord | undefined): Record<QuantityName, number> {
    const result = {} as Record<QuantityName, number>;
    for (const name of QUANTITY_NAMES) result[name] = ShopState.quantity(level, name);
    return result;
  }
}
