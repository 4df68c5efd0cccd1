import type { Resolvers, ShopifyInventoryPolicy, ShopifyProductStatus } from '../__generated__/graphql.js';
import { selectsTotalCount } from '../shared/pagination.js';
import { ALL_LOCATIONS } from './inventory.loaders.js';
import type { LocationView, PositionRecord } from './inventory.models.js';
import { pageIncludeOf } from './page-selection.js';

/** A location the catalogue does not know (yet): shown by its code rather than failing the read. */
function unknownLocation(code: string): LocationView {
  return { code, name: code, kind: 'warehouse', warehouseCode: code, active: false, shopifyLocationId: null, shopifyLocationName: null, mappingSource: null };
}

export const inventoryResolvers: Resolvers = {
  ServerInfo: {
    catalogue: (_parent, _args, { services }) => services.inventory.catalogueStatus(),
  },
  Query: {
    product: (_parent, { sku }, { loaders }) => loaders.inventory.productBySku.load(sku),
    products: async (_parent, args, { services, loaders }, info) => {
      // The nodes' positions and lots come in the page's own statement, the locations beside it.
      const include = pageIncludeOf(info);
      const [page] = await Promise.all([
        services.inventory.reads.listProducts({ ...args, withTotalCount: selectsTotalCount(info), include }),
        // A failure here is answered where the locations are used, by their loader (as without this read).
        include.positions ? loaders.inventory.locations.load(ALL_LOCATIONS).catch(() => undefined) : undefined,
      ]);
      loaders.inventory.primePage(page);
      return page;
    },
    locations: (_parent, args, { services }) => services.inventory.reads.listLocations(args),
    lots: (_parent, args, { services }) => services.inventory.reads.listLots(args).then((lots) => [...lots]),
    lotsConnection: (_parent, args, { services }, info) => services.inventory.reads.listLotsPage({ ...args, withTotalCount: selectsTotalCount(info) }),
    skuMappingReport: (_parent, { limit }, { services }) => services.inventory.reads.getMappingReport(limit === null || limit === undefined ? {} : { limit }),
    inventoryDrift: (_parent, args, { services }) => services.inventory.reads.getDrift(args),
    inventoryDriftConnection: (_parent, args, { services }, info) => services.inventory.reads.listDrift({ ...args, withTotalCount: selectsTotalCount(info) }),
    safetyStockRules: (_parent, args, { services }) => services.inventory.reads.listSafetyStockRules(args),
    sellableShelfLifeRules: (_parent, args, { services }) => services.inventory.reads.listSellableShelfLifeRules(args),
  },

  Mutation: {
    // Mappings and safety stock set by hand are manual interventions: recorded once they took effect.
    mapSku: async (_parent, { input }, { services, loaders, principal }) => {
      const mapping = await services.inventory.mapping.mapSku({
        erpSku: input.erpSku,
        shopifySku: input.shopifySku,
        shopifyVariantId: input.shopifyVariantId,
        conversion: input.unitConversion,
      });
      await services.operatorActions.record({ action: 'mapSku', actor: principal.keyId, target: mapping.erpSku, details: { shopifyVariantId: mapping.shopifyVariantId } });
      return (await loaders.inventory.productBySku.load(mapping.erpSku))!;
    },
    mapLocation: async (_parent, { input }, { services, principal }) => {
      const location = await services.inventory.mapping.mapLocation({ erpLocation: input.erpLocation, shopifyLocationId: input.shopifyLocationId ?? null });
      await services.operatorActions.record({ action: 'mapLocation', actor: principal.keyId, target: input.erpLocation, details: { shopifyLocationId: input.shopifyLocationId ?? null } });
      return location;
    },
    setSafetyStock: async (_parent, { input }, { services, principal }) => {
      const rule = await services.inventory.atp.setSafetyStock({ sku: input.sku, location: input.location, quantity: input.quantity ?? null });
      await services.operatorActions.record({
        action: 'setSafetyStock',
        actor: principal.keyId,
        target: `${input.sku ?? '*'}@${input.location ?? '*'}`,
        details: { quantity: input.quantity ?? null },
      });
      return rule;
    },
    setSellableShelfLife: async (_parent, { input }, { services }) => {
      const result = await services.inventory.atp.setSellableShelfLife({ sku: input.sku, days: input.days ?? null });
      return {
        rule: result.rule,
        availability: [...result.positions],
        userErrors: result.userErrors.map((error) => ({ field: [...error.field], message: error.message, code: error.code })),
      };
    },
  },

  ProductShopify: {
    variantId: (variant) => variant.id,
    variantTitle: (variant) => variant.title,
    productStatus: (variant) => variant.productStatus as ShopifyProductStatus,
    inventoryPolicy: (variant) => variant.inventoryPolicy as ShopifyInventoryPolicy,
  },

  ProductErp: {
    components: (product) => [...product.components],
  },

  Product: {
    shopifySku: (product) => product.mapping?.shopifySku ?? null,
    shopifyVariantId: (product) => product.mapping?.shopifyVariantId ?? null,
    shopifyInventoryItemId: (product) => product.mapping?.shopifyInventoryItemId ?? null,
    mappingStatus: (product) => (product.mapping ? 'MAPPED' : product.ambiguous ? 'AMBIGUOUS' : 'UNMAPPED'),
    mappingSource: (product) => product.mapping?.source ?? null,
    unitConversion: (product) => product.mapping?.conversion ?? null,
    components: (product) => [...product.components],
    shopify: async (product, _args, { loaders }) => {
      if (!product.mapping) return null;
      const node = await loaders.inventory.shopifyLive.load(product.mapping.shopifyVariantId);
      return node?.kind === 'variant' ? node : null;
    },
    erp: (product) => product,
    availability: (product, { location }, { loaders }) => {
      const wanted = location ?? product.locationScope ?? null;
      const only = (positions: PositionRecord[]) => (wanted === null ? positions : positions.filter((position) => position.location === wanted));
      // Read already (a products page preloads them): answered without a promise.
      const read = loaders.inventory.positionsOf(product.sku);
      if (read && loaders.inventory.locationsByCode()) return only(read);
      // The locations are read beside the positions, so LocationAvailability.location finds them loaded.
      return Promise.all([loaders.inventory.availabilityBySku.load(product.sku), loaders.inventory.locations.load(ALL_LOCATIONS)]).then(([positions]) => only(positions));
    },
    lots: (product, { location }, { loaders }) => {
      const key = { sku: product.sku, location: location ?? product.locationScope ?? null };
      return loaders.inventory.lotsOf(key) ?? loaders.inventory.lots.load(key);
    },
  },

  LocationAvailability: {
    location: (position, _args, { loaders }) => {
      const read = loaders.inventory.locationsByCode();
      if (read) return read.get(position.location) ?? unknownLocation(position.location);
      return loaders.inventory.locations.load(ALL_LOCATIONS).then((all) => all.get(position.location) ?? unknownLocation(position.location));
    },
    pushPending: (position) => position.pushRequestedAt !== null,
  },

  Location: {
    kind: (location) => (location.kind === 'warehouse' ? 'WAREHOUSE' : 'STORAGE'),
  },

  SkuMapping: {
    unitConversion: (mapping) => mapping.conversion,
  },

  SkuMappingReport: {
    mapped: (report) => [...report.mapped],
    unmappedErpSkus: (report) => [...report.unmappedErpSkus],
    unmappedShopifySkus: (report) => [...new Set(report.unmappedShopifyVariants.flatMap((variant) => (variant.sku === null ? [] : [variant.sku])))],
    unmappedShopifyVariants: (report) => [...report.unmappedShopifyVariants],
    ambiguous: (report) => [...report.ambiguous],
    unmappedLocations: (report) => [...report.unmappedLocations],
  },

  AmbiguousSku: {
    candidates: (ambiguous) => [...ambiguous.candidates],
    competingErpSkus: (ambiguous) => [...ambiguous.competingErpSkus],
  },

  InventoryDrift: {
    shopifyInventoryItemId: (drift) => drift.inventoryItemId,
    erpLocations: (drift) => [...drift.erpLocations],
  },
};
