import DataLoader from 'dataloader';
import type { ReservationEventRecord, ReservationLineRecord } from './reservations.models.js';
import type { ReservationsService } from './reservations.service.js';

/** Per request: the audit trails and the lines of every reservation on a page, one query each. */
export function createReservationLoaders(service: ReservationsService) {
  return {
    reservationHistory: new DataLoader<string, ReservationEventRecord[]>(async (ids) => {
      const events = await service.getEventsByReservationIds(ids);
      const byId = new Map<string, ReservationEventRecord[]>(ids.map((id) => [id, []]));
      for (const event of events) byId.get(event.reservationId)?.push(event);
      return ids.map((id) => byId.get(id) ?? []);
    }),
    reservationLines: new DataLoader<string, ReservationLineRecord[]>(async (ids) => {
      const lines = await service.getLinesByReservationIds(ids);
      const byId = new Map<string, ReservationLineRecord[]>(ids.map((id) => [id, []]));
      for (const line of lines) byId.get(line.reservationId)?.push(line);
      return ids.map((id) => byId.get(id) ?? []);
    }),
  };
}

export type ReservationLoaders = ReturnType<typeof createReservationLoaders>;
