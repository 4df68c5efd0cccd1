import type { DomainModule, ModuleDeps } from '../domain-module.js';
import { createFulfilmentsJob } from './fulfilments.job.js';
import { createFulfilmentLoaders, type FulfilmentLoaders } from './fulfilments.loaders.js';
import type { FulfilmentMappingLookup } from './fulfilments.models.js';
import { createFulfilmentsRepository } from './fulfilments.repository.js';
import { fulfilmentResolvers } from './fulfilments.resolvers.js';
import { createFulfilmentsService, type FulfilmentsService, type FulfilmentsServiceOptions } from './fulfilments.service.js';

export type FulfilmentsModule = DomainModule<'fulfilments', FulfilmentsService, FulfilmentLoaders>;

export interface FulfilmentsModuleOptions
  extends Partial<Pick<FulfilmentsServiceOptions, 'claimMs' | 'settleMs' | 'retryBaseMs' | 'retryMaxMs' | 'failAfterAttempts' | 'batchSize' | 'notifyCustomer'>> {
  /** The inventory domain's mapping (ERP SKU to Shopify items, ERP to Shopify locations). */
  readonly mapping?: FulfilmentMappingLookup | undefined;
  /** Period of the shipment job (default 60 s). */
  readonly intervalMs?: number;
  /** See FulfilmentsServiceOptions.onShipped (the orders domain's allocation check of shipped orders). */
  readonly onShipped?: FulfilmentsServiceOptions['onShipped'];
}

/**
 * The fulfilments domain: ERP customer shipments written back to Shopify as fulfilments (with
 * carrier and tracking), each once, and shown on the order (`Order.fulfilments`). See
 * src/fulfilments/README.md.
 */
export function createFulfilmentsModule(deps: ModuleDeps, options: FulfilmentsModuleOptions = {}): FulfilmentsModule {
  const fulfilments = createFulfilmentsService({
    repository: createFulfilmentsRepository(deps.database.db, deps.shop),
    erp: deps.erp,
    shopify: deps.shopify,
    mapping: options.mapping,
    alerts: deps.alerts,
    log: deps.log.child({ component: 'fulfilments' }),
    now: deps.now,
    notifyCustomer: options.notifyCustomer ?? deps.config.fulfilmentNotifyCustomer,
    ...(options.onShipped ? { onShipped: options.onShipped } : {}),
    claimMs: options.claimMs,
    settleMs: options.settleMs,
    retryBaseMs: options.retryBaseMs,
    retryMaxMs: options.retryMaxMs,
    failAfterAttempts: options.failAfterAttempts,
    batchSize: options.batchSize,
  });
  return {
    name: 'fulfilments',
    services: fulfilments,
    createLoaders: () => createFulfilmentLoaders(fulfilments),
    resolvers: fulfilmentResolvers,
    jobs: [
      createFulfilmentsJob(fulfilments, {
        intervalMs: options.intervalMs,
        shopInstalled: deps.switches ? async () => (await deps.switches!.state()).shopInstalled : undefined,
      }),
    ],
  };
}
