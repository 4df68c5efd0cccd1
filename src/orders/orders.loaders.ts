import DataLoader from 'dataloader';
import type { LiveNodeCache, LiveNodeLoader } from '../shopify/live-nodes.js';
import type { OrderLine } from './order.models.js';
import type { OrdersService } from './orders.service.js';

export interface OrdersLoaders {
  /** Lines by order id: a page of orders costs one query for all their lines. */
  readonly orderLines: DataLoader<string, OrderLine[]>;
  /** `Order.shopify`: a page of orders costs one Shopify call (through the instance's short cache). */
  readonly shopifyLive: LiveNodeLoader;
}

/** Per request (never shared between callers). */
export function createOrdersLoaders(orders: OrdersService, live: LiveNodeCache): OrdersLoaders {
  return {
    shopifyLive: live.loader(),
    orderLines: new DataLoader<string, OrderLine[]>(async (orderIds) => {
      const found = await orders.getLinesByOrderIds(orderIds);
      return orderIds.map((id) => found.get(id) ?? []);
    }),
  };
}
