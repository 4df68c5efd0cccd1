import { GraphQLError } from 'graphql';
import { byId, countOf, iso, noSort, notImplemented, pageArgs, requireId, search, sortedBy, type ResolverMap } from './admin-api.resolver-kit.js';
import { findFulfillmentNode } from './admin-api.fulfillments.resolvers.js';
import { levelConnection } from './admin-api.inventory.resolvers.js';
import { metafieldResolvers } from './admin-api.metafields.resolvers.js';
import { gid, parseGid } from './gid.js';
import { paginate } from './pagination.js';
import type { SearchField } from './search-query.js';
import type { ShopState } from './shop-state.js';
import type { LocationRecord } from './shop-state.models.js';

/**
 * Admin API resolvers of the shop itself: `shop`, the calling app's installation, locations, and
 * `node`/`nodes` over every type the simulator holds. They translate between GraphQL and the
 * shop's records; the rules live in the state modules.
 */

const locationSearchFields: Record<string, SearchField<LocationRecord>> = {
  id: { kind: 'id', read: (location) => location.id },
  name: { kind: 'string', read: (location) => location.name },
  active: { kind: 'boolean', read: (location) => location.isActive },
  created_at: { kind: 'date', read: (location) => location.createdAt },
  updated_at: { kind: 'date', read: (location) => location.updatedAt },
};

/** Resolves `node(id:)` for the types the simulator holds. */
function resolveNode(state: ShopState, value: string): unknown {
  const parsed = parseGid(value);
  if (!parsed) throw new GraphQLError(`Invalid global id '${value}'`, { extensions: { code: 'argumentLiteralsIncompatible' } });
  switch (parsed.type) {
    case 'Location':
      return state.locations.get(parsed.id) ?? null;
    case 'Product':
      return state.products.get(parsed.id) ?? null;
    case 'ProductVariant':
      return state.variants.get(parsed.id) ?? null;
    case 'InventoryItem':
      return state.items.get(parsed.id) ?? null;
    case 'InventoryLevel': {
      const itemId = Number(parsed.params.get('inventory_item_id'));
      return state.findLevel(itemId, parsed.id) ?? null;
    }
    case 'Order':
      return state.orders.get(parsed.id) ?? null;
    case 'WebhookSubscription':
      return state.webhookSubscriptions.get(parsed.id) ?? null;
    case 'InventoryAdjustmentGroup':
      return state.adjustmentGroups.get(parsed.id) ?? null;
    case 'MetafieldDefinition':
      return state.metafields.definitions.get(parsed.id) ?? null;
    default:
      return findFulfillmentNode(state, parsed.type, parsed.id) ?? null;
  }
}

export function createShopResolvers(): ResolverMap {
  return {
    QueryRoot: {
      shop: () => ({ __typename: 'Shop' }),
      // The calling token's scopes (every scope the simulator knows when it was given none).
      currentAppInstallation: (_source, _args, context) => ({
        accessScopes: [...(context.grantedScopes ?? new Set([...context.adminSchema.typeScopes.values(), ...context.adminSchema.fieldScopes.values()].flatMap((requirement) => requirement.scopes)))].sort().map((handle) => ({ handle, description: handle })),
      }),
      location: (_source, args, context) => {
        if (args.id === undefined || args.id === null) {
          return [...context.state.locations.values()].find((location) => location.isActive) ?? null;
        }
        const id = requireId(args.id, 'Location');
        return id === null ? null : (context.state.locations.get(id) ?? null);
      },
      locations: (_source, args, context, info) => {
        if (args.includeLegacy === true) {
          // Fulfillment-service locations do not exist in the simulator; the flag changes nothing.
        }
        const compiled = search(context, info, args.query, locationSearchFields, ['name']);
        const sortKey = (args.sortKey as string | undefined) ?? 'NAME';
        if (sortKey !== 'NAME' && sortKey !== 'ID') throw notImplemented('QueryRoot', 'locations', `sortKey ${sortKey}`);
        const candidates = [...context.state.locations.values()].filter((location) => (args.includeInactive === true || location.isActive) && compiled.matches(location));
        const sortValue = sortKey === 'NAME' ? (location: LocationRecord) => location.name : noSort;
        return paginate(sortedBy(candidates, sortValue, false), byId, sortValue, pageArgs(args, context));
      },
      locationsCount: (_source, args, context, info) => {
        const compiled = search(context, info, args.query, locationSearchFields, ['name']);
        return countOf([...context.state.locations.values()].filter((location) => location.isActive && compiled.matches(location)).length, args.limit);
      },
      node: (_source, args, context) => resolveNode(context.state, args.id as string),
      nodes: (_source, args, context) => (args.ids as string[]).map((value) => resolveNode(context.state, value)),
    },

    Shop: {
      id: () => gid('Shop', 1),
      name: (_source, _args, context) => context.shop.name(),
      myshopifyDomain: (_source, _args, context) => context.shop.domain,
      email: (_source, _args, context) => context.shop.email,
      contactEmail: (_source, _args, context) => context.shop.email,
      currencyCode: (_source, _args, context) => context.state.currency,
      ianaTimezone: () => 'UTC',
      timezoneAbbreviation: () => 'UTC',
      timezoneOffset: () => '+0000',
      timezoneOffsetMinutes: () => 0,
      url: (_source, _args, context) => `https://${context.shop.domain}`,
      primaryDomain: (_source, _args, context) => ({ id: gid('Domain', 1), host: context.shop.domain, url: `https://${context.shop.domain}`, sslEnabled: true, localization: null, marketWebPresence: null }),
      plan: (_source, _args, context) => {
        const plan = context.shop.plan();
        const names: Record<string, string> = { standard: 'Basic', advanced: 'Advanced', plus: 'Shopify Plus', enterprise: 'Commerce Components' };
        return { publicDisplayName: names[plan.name] ?? plan.name, shopifyPlus: plan.name === 'plus' || plan.name === 'enterprise', partnerDevelopment: false };
      },
    },

    Location: {
      id: (source) => gid('Location', source.id as number),
      legacyResourceId: (source) => String(source.id),
      createdAt: (source) => iso(source.createdAt as number),
      updatedAt: (source) => iso(source.updatedAt as number),
      deactivatedAt: (source) => iso(source.deactivatedAt as number | null),
      isFulfillmentService: () => false,
      fulfillmentService: () => null,
      isPrimary: (source, _args, context) => [...context.state.locations.values()].find((location) => location.isActive)?.id === source.id,
      activatable: (source) => !(source.isActive as boolean),
      deactivatable: (source) => source.isActive as boolean,
      deletable: (source) => !(source.isActive as boolean),
      addressVerified: () => false,
      hasUnfulfilledOrders: (source, _args, context) =>
        [...context.state.orders.values()].some((order) => order.cancelledAt === null && order.lineItems.some((line) => line.locationId === source.id && line.quantity - line.fulfilledQuantity - line.removedQuantity > 0)),
      hasActiveInventory: (source, _args, context) => context.state.levelsAtLocation(source.id as number).length > 0,
      address: (source) => {
        const address = (source as unknown as LocationRecord).address;
        return { ...address, formatted: [address.address1, address.city, address.countryCode].filter((part): part is string => Boolean(part)), latitude: null, longitude: null };
      },
      inventoryLevel: (source, args, context) => {
        const itemId = requireId(args.inventoryItemId, 'InventoryItem');
        const level = itemId === null ? undefined : context.state.findLevel(itemId, source.id as number);
        return level && (level.isActive || args.includeInactive === true) ? level : null;
      },
      inventoryLevels: (source, args, context, info) => {
        return levelConnection(context.state.levelsAtLocation(source.id as number, args.includeInactive === true), (level) => level.itemId, args, context, info);
      },
      ...metafieldResolvers('LOCATION'),
    },
  };
}
