import { createCatalogueResolvers } from './admin-api.catalogue.resolvers.js';
import { createFulfillmentResolvers } from './admin-api.fulfillments.resolvers.js';
import { createInventoryResolvers } from './admin-api.inventory.resolvers.js';
import { createMetafieldResolvers } from './admin-api.metafields.resolvers.js';
import { createOrderResolvers } from './admin-api.orders.resolvers.js';
import { mergeResolverMaps, type ResolverMap } from './admin-api.resolver-kit.js';
import { createShopResolvers } from './admin-api.shop.resolvers.js';
import { createWebhooksResolvers } from './admin-api.webhooks.resolvers.js';

/**
 * Field resolvers of the simulated Admin API over `ShopState`, one file per type family (shop
 * and locations, catalogue, inventory, orders, fulfilments, metafields, webhooks and bulk
 * operations) sharing admin-api.resolver-kit.ts. They only translate between GraphQL and the
 * shop's records; the rules live in the state modules. A field without a resolver reads the
 * same-named property of its source object; a field that has neither answers a
 * `NOT_IMPLEMENTED` error naming it, never a silent null.
 */
export function createAdminResolvers(): ResolverMap {
  return mergeResolverMaps(
    createShopResolvers(),
    createCatalogueResolvers(),
    createInventoryResolvers(),
    createOrderResolvers(),
    createFulfillmentResolvers(),
    createMetafieldResolvers(),
    createWebhooksResolvers(),
  );
}
