import DataLoader from 'dataloader';
import type { FulfilmentRecord } from './fulfilments.models.js';
import type { FulfilmentsService } from './fulfilments.service.js';

/** Per request: the fulfilments of every order on a page, in one query (keyed by numeric Shopify order id). */
export function createFulfilmentLoaders(service: FulfilmentsService) {
  return {
    fulfilmentsOfOrder: new DataLoader<string, FulfilmentRecord[]>(async (orderIds) => {
      const byOrder = new Map<string, FulfilmentRecord[]>(orderIds.map((id) => [id, []]));
      for (const record of await service.fulfilmentsOfOrders(orderIds)) {
        if (record.shopifyOrderId !== null) byOrder.get(record.shopifyOrderId)?.push(record);
      }
      return orderIds.map((id) => byOrder.get(id) ?? []);
    }),
  };
}

export type FulfilmentLoaders = ReturnType<typeof createFulfilmentLoaders>;
