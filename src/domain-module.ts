import type { FastifyInstance } from 'fastify';
import type { Registry } from 'prom-client';
import type { Resolvers } from './__generated__/graphql.js';
import type { AlertSender } from './alerts/alert-sender.js';
import type { Config } from './config.js';
import type { Database } from './db/database.js';
import type { ErpConnector } from './erp/erp-connector.js';
import type { WebhookTopicHandler } from './http/webhook-topics.js';
import type { Logger } from './logger.js';
import type { JobDefinition } from './scheduler/job.js';
import type { ShopifyCredentials } from './shopify/credentials/credentials.js';
import type { ShopifyClient } from './shopify/shopify-client.js';
import type { SwitchesService } from './switches/switches.service.js';

/**
 * The composition types, beside the composition root (src/gateway.ts): what every domain module
 * is built from (`ModuleDeps`) and what it gives back (`DomainModule`). The gateway composes a
 * list of modules; the GraphQL context, the resolver map, the job list, the HTTP routes and the
 * webhook topics are all derived from that list, never listed by hand.
 */

/**
 * What every domain module is built from. Modules get ports (ErpConnector, ShopifyClient),
 * never implementations.
 */
export interface ModuleDeps {
  readonly config: Config;
  readonly log: Logger;
  readonly database: Database;
  readonly metrics: Registry;
  readonly erp: ErpConnector;
  readonly shopify: ShopifyClient;
  /** The shop domain this gateway serves; every Shopify-side row carries it. */
  readonly shop: string;
  /** The secret that signs this shop's webhooks (SHOPIFY_API_SECRET, or the simulator's). */
  readonly webhookSecret: string | undefined;
  readonly now: () => Date;
  /**
   * The go-live switches (INVENTORY_PUSH, ORDERS_TO_ERP, and the app's install state) that
   * pushes and order submission read before each run; absent in tests that build modules alone
   * (everything on).
   */
  readonly switches?: SwitchesService;
  /** How the Shopify token is obtained and stored (the composition root's choice). */
  readonly credentials?: ShopifyCredentials;
  /** One alert sender for the process (one rate limit per code); absent in tests that build modules alone. */
  readonly alerts?: AlertSender;
}

/** An HTTP route a module serves (registered on the gateway's fastify instance). */
export type HttpRoute = (app: FastifyInstance) => void | Promise<void>;

/**
 * One domain, as the composition root sees it. Every domain implements it (auth included), with
 * the same member names, so adding a domain is writing one module and adding it to the list in
 * src/gateway.ts.
 *
 * - `name` keys the module's services and loaders in the GraphQL context
 *   (`context.services[name]`, `context.loaders[name]`).
 * - `services`: the long-lived object the module's resolvers delegate to.
 * - `createLoaders`: per-request DataLoaders, made fresh for every request so caches never leak
 *   between callers.
 * - `resolvers`: the module's part of the resolver map (merged type by type).
 * - `jobs`, `routes`, `webhookTopics`: registered with the scheduler, the HTTP server and the
 *   webhook route.
 * - `start()` runs once the HTTP server listens, in list order; `stop()` in reverse order on
 *   shutdown, before the database closes. `startWithScheduler()` runs only where SCHEDULER=on
 *   (background loops that belong with the scheduled jobs).
 */
export interface DomainModule<Name extends string = string, Services = unknown, Loaders = unknown> {
  readonly name: Name;
  readonly services: Services;
  readonly createLoaders?: () => Loaders;
  readonly resolvers?: Resolvers;
  readonly jobs?: readonly JobDefinition[];
  readonly routes?: readonly HttpRoute[];
  readonly webhookTopics?: Readonly<Record<string, WebhookTopicHandler>>;
  start?(): Promise<void>;
  startWithScheduler?(): Promise<void>;
  stop?(): Promise<void>;
}

/** `{ [module name]: module services }` of a module list: the GraphQL context's `services`. */
export type ServicesOf<Modules extends readonly DomainModule[]> = {
  [M in Modules[number] as M['name']]: M['services'];
};

/** The loaders a module's `createLoaders` makes; `unknown` for a module without loaders. */
type LoadersOfModule<M extends DomainModule> = NonNullable<M['createLoaders']> extends () => infer L ? L : unknown;

/**
 * `{ [module name]: module loaders }` of a module list: the GraphQL context's `loaders`. Modules
 * without loaders have no key.
 */
export type LoadersOf<Modules extends readonly DomainModule[]> = {
  [M in Modules[number] as unknown extends LoadersOfModule<M> ? never : M['name']]: LoadersOfModule<M>;
};
