import DataLoader from 'dataloader';
import type { OrderLine } from './order.models.js';
import type { OrdersService } from './orders.service.js';

export interface OrdersLoaders {
  /** Lines by order id: a page of orders costs one query for all their lines. */
  readonly orderLines: DataLoader<string, OrderLine[]>;
}

/** Per request (never shared between callers). */
export function createOrdersLoaders(orders: OrdersService): OrdersLoaders {
  return {
    orderLines: new DataLoader<string, OrderLine[]>(async (orderIds) => {
      const found = await orders.getLinesByOrderIds(orderIds);
      return orderIds.map((id) => found.get(id) ?? []);
    }),
  };
}
