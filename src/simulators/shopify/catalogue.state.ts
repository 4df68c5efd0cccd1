import { ValidationError } from '../../shared/errors.js';
import { gid } from './gid.js';
import type { MetafieldsState } from './metafields.state.js';
import { shopSeedSchema, type ParsedShopSeed, type SeedResult, type ShopSeed } from './seed.schema.js';
import type { ShopStore } from './shop-store.js';
import {
  type InventoryItemRecord,
  type LocationRecord,
  type ProductRecord,
  type StoredQuantityName,
  type VariantRecord,
} from './shop-state.models.js';

/**
 * The catalogue: locations, products, variants and their inventory items, added from a seed
 * (see seed.schema.ts) with the levels and metafields it names. Shopify assigns the ids; seed
 * keys name locations for the rest of the seed, orders and the control API.
 */

function handleize(title: string): string {
  return (
    title
      .toLowerCase()
      .replace(/[^a-z0-9]+/g, '-')
      .replace(/^-|-$/g, '') || 'product'
  );
}

export class CatalogueState {
  constructor(
    private readonly store: ShopStore,
    private readonly metafields: MetafieldsState,
  ) {}


  /** Adds a catalogue (see seed.schema.ts); it adds to what is there, it does not replace it. */
  seed(input: ShopSeed | ParsedShopSeed): SeedResult {
    const parsed = shopSeedSchema.parse(input);
    if (parsed.shop?.name) this.store.shopName = parsed.shop.name;
    if (parsed.shop?.currency) this.store.currency = parsed.shop.currency;
    const result: SeedResult = { locations: [], variants: [] };
    for (const location of parsed.locations) {
      const record = this.createLocation(location);
      const key = location.key ?? location.name;
      this.store.locationKeys.set(key, record.id);
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
    const now = this.store.now();
    const record: LocationRecord = {
      __typename: 'Location',
      id: this.store.nextId('Location'),
      name: input.name,
      isActive: input.isActive,
      fulfillsOnlineOrders: input.fulfillsOnlineOrders,
      shipsInventory: input.shipsInventory,
      address: { address1: null, address2: null, city: input.city, province: null, provinceCode: null, zip: null, country: null, countryCode: input.countryCode, phone: null },
      createdAt: now,
      updatedAt: now,
      deactivatedAt: input.isActive ? null : now,
    };
    this.store.locations.set(record.id, record);
    return record;
  }

  private createProduct(parsed: ParsedShopSeed['products'][number]): { product: ProductRecord; variants: VariantRecord[] } {
    const now = this.store.now();
    const product: ProductRecord = {
      __typename: 'Product',
      id: this.store.nextId('Product'),
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
    this.store.products.set(product.id, product);
    this.store.productOrder.push(product);
    const variants: VariantRecord[] = [];
    parsed.variants.forEach((variantInput, index) => {
      const variantId = this.store.nextId('ProductVariant');
      const item: InventoryItemRecord = {
        __typename: 'InventoryItem',
        id: this.store.nextId('InventoryItem'),
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
      this.store.items.set(item.id, item);
      this.store.itemOrder.push(item);
      this.store.variants.set(variant.id, variant);
      this.store.variantOrder.push(variant);
      product.variantIds.push(variant.id);
      this.store.indexSku(item);
      for (const [locationRef, quantities] of Object.entries(variantInput.levels)) {
        const location = this.store.findLocation(locationRef);
        if (!location) throw new ValidationError(`seed: variant ${variantInput.sku ?? variantInput.title} names unknown location "${locationRef}"`);
        const level = this.store.ensureLevel(item, location.id);
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
}
