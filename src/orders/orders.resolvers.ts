import type { Resolvers } from '../__generated__/graphql.js';
import { runInShopifyLane } from '../shopify/cost-bucket.js';
import { shopifyGid, type Connection } from './order.models.js';

function connection<T>(page: Connection<T>) {
  return { edges: [...page.edges], pageInfo: page.pageInfo };
}

export const ordersResolvers: Resolvers = {
  Query: {
    order: (_parent, { id }, { services }) => services.orders.findOrder(id),
    orders: async (_parent, args, { services }) => connection(await services.orders.listOrders(args)),
    webhookDeliveries: async (_parent, args, { services }) => connection(await services.orders.listDeliveries(args)),
    // A live Shopify read on behalf of an API caller: it waits behind the sync and the orders.
    webhookSubscriptionHealth: (_parent, _args, { services }) => runInShopifyLane('interactive', () => services.orders.webhookHealth()),
  },

  Mutation: {
    replayOrder: (_parent, { id }, { services }) => services.orders.replayOrder(id),
  },

  Order: {
    shopifyOrderId: (order) => shopifyGid('Order', order.shopifyOrderId),
    shopifyLegacyId: (order) => order.shopifyOrderId,
    source: (order) => (order.source === 'poll' ? 'POLL' : 'WEBHOOK'),
    lines: (order, _args, { loaders }) => loaders.orders.orderLines.load(order.id),
    flags: (order) => [...order.flags],
    needsAttention: (order) => order.flags.length > 0,
    inDoubt: (order) => order.status === 'IN_DOUBT' || order.lastErrorCode === 'ERP_IN_DOUBT',
    inDoubtSince: (order) => (order.erpSending !== null ? order.erpSentAt : null),
  },

  OrderLine: {
    sku: (line) => line.erpSku,
    quantity: (line) => line.quantity ?? line.shopifyQuantity,
  },

  OrderFlag: {
    raisedAt: (flag) => new Date(flag.raisedAt),
  },

  WebhookDelivery: {
    id: (delivery) => String(delivery.id),
    shopifyOrderId: (delivery) => (delivery.orderRef ? shopifyGid('Order', delivery.orderRef) : null),
  },

  WebhookSubscriptionHealth: {
    present: (health) => [...health.present],
    missing: (health) => [...health.missing],
    elsewhere: (health) => [...health.elsewhere],
  },
};
