import { byId, countOf, iso, noSort, notImplemented, pageArgs, refuseSavedSearch, requireId, search, sortedBy, type ResolverMap } from './admin-api.resolver-kit.js';
import { metafieldResolvers } from './admin-api.metafields.resolvers.js';
import { gid } from './gid.js';
import { paginate, type SortValue } from './pagination.js';
import { requiredFieldValues, type compileSearch, type SearchField } from './search-query.js';
import type { ShopState } from './shop-state.js';
import type { ProductRecord, VariantRecord } from './shop-state.models.js';

/**
 * Admin API resolvers of the catalogue: products and variants, their queries, counts and search.
 * They translate between GraphQL and the shop's records; the rules live in the state modules.
 */

const variantSearchFields = (state: ShopState): Record<string, SearchField<VariantRecord>> => ({
  sku: { kind: 'string', read: (variant) => variant.sku },
  id: { kind: 'id', read: (variant) => variant.id },
  product_id: { kind: 'id', read: (variant) => variant.productId },
  barcode: { kind: 'string', read: (variant) => variant.barcode },
  title: { kind: 'string', read: (variant) => variant.title },
  created_at: { kind: 'date', read: (variant) => variant.createdAt },
  updated_at: { kind: 'date', read: (variant) => variant.updatedAt },
  inventory_quantity: { kind: 'number', read: (variant) => inventoryQuantity(state, variant) },
  product_status: { kind: 'string', read: (variant) => state.products.get(variant.productId)?.status ?? null },
});

const productSearchFields = (state: ShopState): Record<string, SearchField<ProductRecord>> => ({
  title: { kind: 'string', read: (product) => product.title },
  id: { kind: 'id', read: (product) => product.id },
  handle: { kind: 'string', read: (product) => product.handle },
  sku: { kind: 'string', read: (product) => product.variantIds.map((id) => state.variants.get(id)?.sku ?? '').filter(Boolean) },
  status: { kind: 'string', read: (product) => product.status },
  vendor: { kind: 'string', read: (product) => product.vendor },
  product_type: { kind: 'string', read: (product) => product.productType },
  tag: { kind: 'string', read: (product) => product.tags },
  created_at: { kind: 'date', read: (product) => product.createdAt },
  updated_at: { kind: 'date', read: (product) => product.updatedAt },
});

export function inventoryQuantity(state: ShopState, variant: VariantRecord): number {
  const item = state.items.get(variant.inventoryItemId);
  if (!item) return 0;
  let total = 0;
  for (const level of item.levels.values()) if (level.isActive) total += level.available;
  return total;
}

/** Variants a `productVariants` query can match, narrowed through the SKU index when it can. */
function variantCandidates(state: ShopState, root: ReturnType<typeof compileSearch>['root'], matches: (variant: VariantRecord) => boolean): readonly VariantRecord[] {
  const narrowed = requiredFieldValues(root, 'sku');
  if (narrowed) {
    const found = new Map<number, VariantRecord>();
    for (const { value, prefix } of narrowed) {
      for (const item of state.findItemsBySku(value, prefix)) {
        const variant = state.variants.get(item.variantId);
        if (variant) found.set(variant.id, variant);
      }
    }
    return [...found.values()].sort((a, b) => a.id - b.id).filter(matches);
  }
  return root ? state.variantsById().filter(matches) : state.variantsById();
}

export function createCatalogueResolvers(): ResolverMap {
  return {
    QueryRoot: {
      product: (_source, args, context) => {
        const id = requireId(args.id, 'Product');
        return id === null ? null : (context.state.products.get(id) ?? null);
      },
      products: (_source, args, context, info) => {
        refuseSavedSearch(args, 'QueryRoot', 'products');
        const compiled = search(context, info, args.query, productSearchFields(context.state), ['title', 'sku']);
        const sortKey = (args.sortKey as string | undefined) ?? 'ID';
        const sortValues: Record<string, (product: ProductRecord) => SortValue> = {
          ID: noSort,
          TITLE: (product) => product.title,
          CREATED_AT: (product) => product.createdAt,
          UPDATED_AT: (product) => product.updatedAt,
          VENDOR: (product) => product.vendor,
          PRODUCT_TYPE: (product) => product.productType,
        };
        const sortValue = sortValues[sortKey];
        if (!sortValue) throw notImplemented('QueryRoot', 'products', `sortKey ${sortKey}`);
        const all = context.state.productsById();
        const candidates = compiled.root ? all.filter(compiled.matches) : all;
        return paginate(sortedBy(candidates, sortValue, sortKey === 'ID'), byId, sortValue, pageArgs(args, context));
      },
      productsCount: (_source, args, context, info) => {
        const compiled = search(context, info, args.query, productSearchFields(context.state), ['title', 'sku']);
        return countOf(context.state.productsById().filter(compiled.matches).length, args.limit);
      },
      productVariant: (_source, args, context) => {
        const id = requireId(args.id, 'ProductVariant');
        return id === null ? null : (context.state.variants.get(id) ?? null);
      },
      productVariants: (_source, args, context, info) => {
        refuseSavedSearch(args, 'QueryRoot', 'productVariants');
        const state = context.state;
        const compiled = search(context, info, args.query, variantSearchFields(state), ['sku', 'title']);
        const sortKey = (args.sortKey as string | undefined) ?? 'ID';
        const sortValues: Record<string, (variant: VariantRecord) => SortValue> = {
          ID: noSort,
          SKU: (variant) => variant.sku,
          TITLE: (variant) => variant.title,
          NAME: (variant) => variant.title,
          POSITION: (variant) => variant.position,
          INVENTORY_QUANTITY: (variant) => inventoryQuantity(state, variant),
        };
        const sortValue = sortValues[sortKey];
        if (!sortValue) throw notImplemented('QueryRoot', 'productVariants', `sortKey ${sortKey}`);
        const candidates = variantCandidates(state, compiled.root, compiled.matches);
        return paginate(sortedBy(candidates, sortValue, sortKey === 'ID'), byId, sortValue, pageArgs(args, context));
      },
      productVariantsCount: (_source, args, context, info) => {
        const compiled = search(context, info, args.query, variantSearchFields(context.state), ['sku', 'title']);
        return countOf(variantCandidates(context.state, compiled.root, compiled.matches).length, args.limit);
      },
    },

    Product: {
      id: (source) => gid('Product', source.id as number),
      legacyResourceId: (source) => String(source.id),
      createdAt: (source) => iso(source.createdAt as number),
      updatedAt: (source) => iso(source.updatedAt as number),
      publishedAt: (source) => ((source.status as string) === 'ACTIVE' ? iso(source.createdAt as number) : null),
      description: () => '',
      descriptionHtml: () => '',
      isGiftCard: () => false,
      onlineStoreUrl: () => null,
      templateSuffix: () => null,
      requiresSellingPlan: () => false,
      hasOnlyDefaultVariant: (source, _args, context) => {
        const ids = source.variantIds as number[];
        return ids.length === 1 && context.state.variants.get(ids[0]!)?.title === 'Default Title';
      },
      hasOutOfStockVariants: (source, _args, context) => (source.variantIds as number[]).some((id) => inventoryQuantity(context.state, context.state.variants.get(id)!) <= 0),
      tracksInventory: (source, _args, context) => (source.variantIds as number[]).some((id) => context.state.items.get(context.state.variants.get(id)!.inventoryItemId)?.tracked),
      totalInventory: (source, _args, context) => (source.variantIds as number[]).reduce((sum, id) => sum + inventoryQuantity(context.state, context.state.variants.get(id)!), 0),
      totalVariants: (source) => (source.variantIds as number[]).length,
      variantsCount: (source) => ({ count: (source.variantIds as number[]).length, precision: 'EXACT' }),
      variants: (source, args, context) => {
        const sortKey = (args.sortKey as string | undefined) ?? 'POSITION';
        if (sortKey !== 'POSITION' && sortKey !== 'ID') throw notImplemented('Product', 'variants', `sortKey ${sortKey}`);
        const variants = (source.variantIds as number[]).map((id) => context.state.variants.get(id)!);
        return paginate(variants, byId, noSort, pageArgs(args, context));
      },
      ...metafieldResolvers('PRODUCT'),
    },

    ProductVariant: {
      id: (source) => gid('ProductVariant', source.id as number),
      legacyResourceId: (source) => String(source.id),
      createdAt: (source) => iso(source.createdAt as number),
      updatedAt: (source) => iso(source.updatedAt as number),
      displayName: (source, _args, context) => `${context.state.products.get(source.productId as number)?.title ?? ''} - ${source.title as string}`,
      product: (source, _args, context) => context.state.products.get(source.productId as number),
      inventoryItem: (source, _args, context) => context.state.items.get(source.inventoryItemId as number),
      inventoryQuantity: (source, _args, context) => inventoryQuantity(context.state, source as unknown as VariantRecord),
      sellableOnlineQuantity: (source, _args, context) => Math.max(0, inventoryQuantity(context.state, source as unknown as VariantRecord)),
      availableForSale: (source, _args, context) => {
        const variant = source as unknown as VariantRecord;
        const item = context.state.items.get(variant.inventoryItemId);
        return !item?.tracked || variant.inventoryPolicy === 'CONTINUE' || inventoryQuantity(context.state, variant) > 0;
      },
      requiresComponents: (source, _args, context) => context.state.items.get(source.inventoryItemId as number)?.nonMutable === true,
      selectedOptions: (source) => ((source.title as string) === 'Default Title' ? [{ name: 'Title', value: 'Default Title' }] : [{ name: 'Title', value: source.title as string }]),
      defaultCursor: (source) => Buffer.from(JSON.stringify({ last_id: source.id, last_value: null })).toString('base64'),
      ...metafieldResolvers('PRODUCTVARIANT'),
    },

    SelectedOption: {
      optionValue: () => {
        throw notImplemented('SelectedOption', 'optionValue');
      },
    },
  };
}
