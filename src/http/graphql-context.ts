import type { ApiKeyService } from '../auth/api-key.service.js';
import type { Principal } from '../auth/api-key.models.js';
import type { Logger } from '../logger.js';

/**
 * The long-lived services GraphQL resolvers delegate to. Built once in src/main.ts; each domain
 * adds its service here.
 */
export interface AppServices {
  apiKeys: ApiKeyService;
  serverInfo: () => { name: string; version: string; database: string; erpConnector: string; shop: string };
}

/**
 * Per-request DataLoaders, made fresh for every request so caches never leak between callers.
 * Each domain adds its loaders in `createRequestLoaders`.
 */
// eslint-disable-next-line @typescript-eslint/no-empty-object-type
export interface RequestLoaders {}

export function createRequestLoaders(_services: AppServices): RequestLoaders {
  return {};
}

export interface GraphQLContext {
  requestId: string;
  log: Logger;
  principal: Principal;
  services: AppServices;
  loaders: RequestLoaders;
}
