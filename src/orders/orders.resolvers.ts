import type { Resolvers, ShopifyOrderFinancialStatus, ShopifyOrderFulfillmentStatus } from '../__generated__/graphql.js';
import { runInShopifyLane } from '../shopify/cost-bucket.js';
import { selectsTotalCount } from '../shared/pagination.js';
import { shopifyGid } from '../shopify/gid.js';

export const ordersResolvers: Resolvers = {
  Query: {
    order: (_parent, { id }, { services }) => services.orders.findOrder(id),
    orders: (_parent, args, { services }, info) => services.orders.listOrders({ ...args, withTotalCount: selectsTotalCount(info) }),
    webhookDeliveries: (_parent, args, { services }, info) => services.orders.listDeliveries({ ...args, withTotalCount: selectsTotalCount(info) }),
    // A live Shopify read on behalf of an API caller: it waits behind the sync and the orders.
    webhookSubscriptionHealth: (_parent, _args, { services }) => runInShopifyLane('interactive', () => services.orders.webhookHealth()),
  },

  Mutation: {
    // Every replay by hand is a manual intervention: recorded once it ran (a refusal throws first).
    replayOrder: async (_parent, { id }, { services, principal }) => {
      const order = await services.orders.replayOrder(id);
      await services.operatorActions.record({ action: 'replayOrder', actor: principal.keyId, target: order.id, details: { shopifyOrderId: order.shopifyOrderId, status: order.status } });
      return order;
    },
    replayOrders: async (_parent, { input }, { services, principal }) => {
      const result = await services.orders.replayOrders({
        ...input,
        receivedAfter: input.receivedAfter ? new Date(input.receivedAfter) : null,
        receivedBefore: input.receivedBefore ? new Date(input.receivedBefore) : null,
      });
      await services.operatorActions.recordMany(
        result.queued.map((order) => ({ action: 'replayOrder', actor: principal.keyId, target: order.id, details: { shopifyOrderId: order.shopifyOrderId, status: order.status, byFilter: true } })),
      );
      return { ...result, queued: [...result.queued], userErrors: result.userErrors.map((error) => ({ ...error })) };
    },
    replayWebhookDeliveries: async (_parent, { input }, { services, principal }) => {
      const filter = input.filter ?? {};
      const result = await services.orders.replayWebhookDeliveries({
        ids: input.ids,
        filter: {
          topic: filter.topic,
          status: filter.status,
          receivedAfter: filter.receivedAfter ? new Date(filter.receivedAfter) : null,
          receivedBefore: filter.receivedBefore ? new Date(filter.receivedBefore) : null,
        },
        dryRun: input.dryRun,
        limit: input.limit,
      });
      await services.operatorActions.recordMany(
        result.queued.map((delivery) => ({
          action: 'replayWebhookDelivery',
          actor: principal.keyId,
          target: delivery.webhookId,
          details: { deliveryId: delivery.id, topic: delivery.topic, byFilter: !input.ids?.length },
        })),
      );
      return { ...result, queued: [...result.queued], userErrors: result.userErrors.map((error) => ({ ...error })) };
    },
  },

  OrderShopify: {
    financialStatus: (order) => order.financialStatus as ShopifyOrderFinancialStatus | null,
    fulfillmentStatus: (order) => order.fulfillmentStatus as ShopifyOrderFulfillmentStatus,
    cancelledAt: (order) => (order.cancelledAt ? new Date(order.cancelledAt) : null),
  },

  Order: {
    shopifyOrderId: (order) => shopifyGid('Order', order.shopifyOrderId),
    shopifyLegacyId: (order) => order.shopifyOrderId,
    source: (order) => (order.source === 'poll' ? 'POLL' : 'WEBHOOK'),
    lines: (order, _args, { loaders }) => loaders.orders.orderLines.load(order.id),
    flags: (order) => [...order.flags],
    shopify: async (order, _args, { loaders }) => {
      const node = await loaders.orders.shopifyLive.load(shopifyGid('Order', order.shopifyOrderId));
      return node?.kind === 'order' ? node : null;
    },
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
