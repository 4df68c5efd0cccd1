import type { JobDefinition } from '../scheduler/job.js';
import type { ReservationsService } from './reservations.service.js';

/**
 * Expires reservations past their `expiresAt` (freeing their units and marking their positions
 * for the event push), asks the ATP engine to re-read SKUs with commitments no ERP read has shown
 * yet, and stops counting committed reservations the ERP's figures now show.
 * Safe to re-run after a partial run: each batch is one transaction, and a reservation is
 * expired or confirmed at most once (both only from the state they leave).
 *
 * `expiresAt` is also enforced exactly when a caller touches a reservation: releasing or
 * committing one past its time expires it instead. The job's interval only bounds how long
 * untouched expired units stay held.
 */
export function createReservationsJob(service: ReservationsService, options: { intervalMs?: number } = {}): JobDefinition {
  return {
    name: 'reservations.expire',
    intervalMs: options.intervalMs ?? 10_000,
    timeoutMs: 60_000,
    runOnStart: true,
    async run({ signal, log }) {
      const expired = await service.expireDue({ signal });
      let refreshed = 0;
      try {
        refreshed = signal.aborted ? 0 : await service.refreshAwaitingErp({ signal });
      } catch (error) {
        // The ERP may be down: confirming what earlier reads showed still helps.
        log.warn({ err: error }, 'could not re-read the ERP for committed reservations');
      }
      const confirmed = signal.aborted ? 0 : await service.confirmCommitted();
      if (expired > 0 || confirmed > 0 || refreshed > 0) log.info({ expired, refreshed, confirmed }, 'reservations expired or confirmed by the ERP');
      return { expired, refreshed, confirmed };
    },
  };
}

/**
 * A safety net: every 10 minutes, checks that each position's `reserved` equals the units of the
 * reservations that count there, and corrects (and warns about) any that do not. It reads every
 * position of the shop once per run, hence the long interval.
 */
export function createReservedTermCheckJob(service: ReservationsService, options: { intervalMs?: number } = {}): JobDefinition {
  return {
    name: 'reservations.check-reserved',
    intervalMs: options.intervalMs ?? 10 * 60_000,
    timeoutMs: 5 * 60_000,
    runOnStart: true,
    async run() {
      return { repaired: await service.repairReservedTerms() };
    },
  };
}
