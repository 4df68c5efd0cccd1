import type { PushSignal } from '../inventory/push-requests.js';
import type { JobDefinition } from '../scheduler/job.js';
import type { ModuleDeps } from '../shared/module.js';
import { createReservationsJob, createReservedTermCheckJob } from './reservations.job.js';
import { createReservationsRepository } from './reservations.repository.js';
import { createReservationsService, type ReservationAtpPort, type ReservationsService } from './reservations.service.js';

export interface ReservationsModule {
  readonly reservations: ReservationsService;
  readonly jobs: JobDefinition[];
}

export interface ReservationsModuleOptions {
  readonly pushSignal?: PushSignal | undefined;
  /** The ATP engine (kits recomputed after changes; ERP re-reads for committed reservations). */
  readonly atp?: ReservationAtpPort | undefined;
  /** See DEFAULT_ERP_READ_MARGIN_MS. */
  readonly erpReadMarginMs?: number | undefined;
}

/**
 * The reservations domain: the service the GraphQL resolvers delegate to and the job that
 * expires holds. `pushSignal` wakes the event push after each change; without it the positions
 * are still marked durably and go out at the pusher's next poll.
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
  });
  return { reservations, jobs: [createReservationsJob(reservations), createReservedTermCheckJob(reservations)] };
}
