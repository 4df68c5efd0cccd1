import type { ApolloServerPlugin } from '@apollo/server';
import { LiveNodeLoader, type ShopifyCostUsage } from '../shopify/live-nodes.js';
import type { GraphQLContext } from './graphql-context.js';

/**
 * Adds `extensions.shopifyCost` to every answer that read live Shopify fields (`Product.shopify`,
 * `Order.shopify`): the Shopify calls made for it, what Shopify charged (requested and actual
 * query cost, summed over the calls) and how many ids the short cache answered without a call.
 * Absent when the answer read no live field. Our own cost stays in `extensions.cost`.
 */
export function shopifyCostPlugin(): ApolloServerPlugin<GraphQLContext> {
  return {
    async requestDidStart() {
      return {
        async willSendResponse({ response, contextValue }) {
          if (response.body.kind !== 'single') return;
          const usage: ShopifyCostUsage = { calls: 0, requestedQueryCost: 0, actualQueryCost: 0, cacheHits: 0 };
          let used = false;
          for (const moduleLoaders of Object.values(contextValue.loaders ?? {})) {
            for (const loader of Object.values(moduleLoaders as object)) {
              if (!(loader instanceof LiveNodeLoader)) continue;
              if (loader.usage.calls === 0 && loader.usage.cacheHits === 0) continue;
              used = true;
              usage.calls += loader.usage.calls;
              usage.requestedQueryCost += loader.usage.requestedQueryCost;
              usage.actualQueryCost += loader.usage.actualQueryCost;
              usage.cacheHits += loader.usage.cacheHits;
            }
          }
          if (!used) return;
          response.body.singleResult.extensions = { ...response.body.singleResult.extensions, shopifyCost: usage };
        },
      };
    },
  };
}
