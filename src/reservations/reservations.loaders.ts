import DataLoader from 'dataloader';
import type { ReservationEventRecord } from './reservations.models.js';
import type { ReservationsService } from './reservations.service.js';

/** Per request: the audit trails of every reservation on a page, in one query. */
export function createReservationLoaders(service: ReservationsService) {
  return {
    reservationHistory: new DataLoader<string, ReservationEventRecord[]>(async (ids) => {
      const events = await service.getEventsByReservationIds(ids);
      const byId = new Map<string, ReservationEventRecord[]>(ids.map((id) => [id, []]));
      for (const event of events) byId.get(event.reservationId)?.push(event);
      return ids.map((id) => byId.get(id) ?? []);
    }),
  };
}

export type ReservationLoaders = ReturnType<typeof createReservationLoaders>;
