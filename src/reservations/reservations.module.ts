import type { DomainModule, ModuleDeps } from '../domain-module.js';
import type { PushSignal, StoreTakePort } from '../inventory/inventory.port.js';
import { createReservationsJob, createReservedTermCheckJob } from './reservations.job.js';
import { createReservationLoaders, type ReservationLoaders } from './reservations.loaders.js';
import { createReservationsRepository } from './reservations.repository.js';
import { reservationResolvers } from './reservations.resolvers.js';
import { createReservationsService, type ReservationAtpPort, type ReservationsService } from './reservations.service.js';

export type ReservationsModule = DomainModule<'reservations', ReservationsService, ReservationLoaders>;

export interface ReservationsModuleOptions {
  /** The inventory domain's push signal, woken after each change. */
  readonly pushSignal?: PushSignal | undefined;
  /** The ATP engine (kits recomputed after changes; ERP re-reads for committed reservations). */
  readonly atp?: ReservationAtpPort | undefined;
  /** See DEFAULT_ERP_READ_MARGIN_MS. */
  readonly erpReadMarginMs?: number | undefined;
  /** Shopify's side of a grant, implemented by the sync domain (src/sync/store-take.ts); absent = decided locally. */
  readonly storeTake?: StoreTakePort | undefined;
}

/**
 * The reservations domain: the service the GraphQL resolvers delegate to and the jobs that
 * expire holds and check the reserved term. `pushSignal` wakes the event push after each change;
 * without it the positions are still marked durably and go out at the pusher's next poll.
 */
export function createReservationsModule(deps: ModuleDeps, options: ReservationsModuleOptions = {}): ReservationsModule {
  const reservations = createReservationsService({
    repository: createReservationsRepository(deps.database.db, deps.shop),
    log: deps.log.child({ component: 'reservations' }),
    now: deps.now,
    defaultTtlSeconds: deps.config.reservationDefaultTtlSeconds,
    metrics: deps.metrics,
    pushSignal: options.pushSignal,
    atp: options.atp,
    erpReadMarginMs: options.erpReadMarginMs,
    storeTake: options.storeTake,
  });
  return {
    name: 'reservations',
    services: reservations,
    createLoaders: () => createReservationLoaders(reservations),
    resolvers: reservationResolvers,
    jobs: [createReservationsJob(reservations), createReservedTermCheckJob(reservations)],
  };
}
