import type { Resolvers } from '../__generated__/graphql.js';

export const fulfilmentResolvers: Resolvers = {
  Order: {
    fulfilments: (order, _args, { loaders }) => loaders.fulfilments.fulfilmentsOfOrder.load(order.shopifyOrderId),
  },
  Fulfilment: {
    shopifyFulfillmentId: (fulfilment) => fulfilment.shopifyFulfillmentIds[0] ?? null,
    lines: (fulfilment) => [...fulfilment.lines],
  },
};
