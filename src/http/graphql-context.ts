import type { ApiKeyService } from '../auth/api-key.service.js';
import type { Principal } from '../auth/api-key.models.js';
import type { Logger } from '../logger.js';
import { createInventoryLoaders, type InventoryLoaders } from '../inventory/inventory.loaders.js';
import type { InventoryServices } from '../inventory/inventory.module.js';
import { createReservationLoaders, type ReservationLoaders } from '../reservations/reservations.loaders.js';
import type { ReservationsService } from '../reservations/reservations.service.js';
import { createSyncLoaders, type SyncLoaders } from '../sync/sync.loaders.js';
import type { SwitchesService } from '../switches/switches.service.js';
import type { SyncService } from '../sync/sync.service.js';
import { createOrdersLoaders, type OrdersLoaders } from '../orders/orders.loaders.js';
import type { OrdersService } from '../orders/orders.service.js';

/**
 * The long-lived services GraphQL resolvers delegate to. Built once in src/main.ts; each domain
 * adds its service here.
 */
export interface AppServices {
  apiKeys: ApiKeyService;
  inventory: InventoryServices;
  reservations: ReservationsService;
  sync: SyncService;
  orders: OrdersService;
  /** The go-live switches (health, setSwitches). */
  switches: SwitchesService;
  serverInfo: () => { name: string; version: string; database: string; erpConnector: string; shop: string };
}

/**
 * Per-request DataLoaders, made fresh for every request so caches never leak between callers.
 * Each domain adds its loaders in `createRequestLoaders`.
 */
export interface RequestLoaders extends ReservationLoaders, SyncLoaders {
  inventory: InventoryLoaders;
  orders: OrdersLoaders;
}

export function createRequestLoaders(services: AppServices): RequestLoaders {
  return {
    inventory: createInventoryLoaders(services.inventory.reads),
    ...createReservationLoaders(services.reservations),
    ...createSyncLoaders(services.sync),
    orders: createOrdersLoaders(services.orders),
  };
}

export interface GraphQLContext {
  requestId: string;
  log: Logger;
  principal: Principal;
  services: AppServices;
  loaders: RequestLoaders;
}
