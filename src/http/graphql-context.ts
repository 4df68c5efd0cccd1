import type { Principal } from '../auth/api-key.models.js';
import type { DomainModule, LoadersOf, ServicesOf } from '../domain-module.js';
import type { GatewayModules } from '../gateway.js';
import type { Logger } from '../logger.js';

/**
 * The long-lived services GraphQL resolvers delegate to, one entry per domain module, under its
 * name (`services.inventory`, `services.auth`, …): derived from the gateway's module list.
 */
export type AppServices = ServicesOf<GatewayModules>;

/**
 * Per-request DataLoaders, one entry per module that has some, under its name
 * (`loaders.reservations.reservationHistory`): made fresh for every request so caches never
 * leak between callers.
 */
export type RequestLoaders = LoadersOf<GatewayModules>;

/** What `serverInfo` answers: the gateway itself, not a domain. */
export interface ServerInfoView {
  readonly name: string;
  readonly version: string;
  readonly database: string;
  readonly erpConnector: string;
  readonly shop: string;
}

export interface GraphQLContext {
  requestId: string;
  log: Logger;
  principal: Principal;
  services: AppServices;
  loaders: RequestLoaders;
  serverInfo: () => ServerInfoView;
}

/** `{ [name]: services }` of a module list. */
export function servicesOf<const Modules extends readonly DomainModule[]>(modules: Modules): ServicesOf<Modules> {
  return Object.fromEntries(modules.map((module) => [module.name, module.services])) as ServicesOf<Modules>;
}

/** `{ [name]: fresh loaders }` of a module list, for one request. */
export function createRequestLoaders<const Modules extends readonly DomainModule[]>(modules: Modules): LoadersOf<Modules> {
  return Object.fromEntries(modules.flatMap((module) => (module.createLoaders ? [[module.name, module.createLoaders()]] : []))) as LoadersOf<Modules>;
}
