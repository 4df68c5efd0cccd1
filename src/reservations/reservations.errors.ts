import { AppError } from '../shared/errors.js';
import type { ReservationStatus } from './reservations.models.js';

/** The reservation does not exist, or belongs to another API key (indistinguishable on purpose). */
export class ReservationNotFoundError extends AppError {
  constructor(id: string) {
    super('RESERVATION_NOT_FOUND', `reservation ${id} was not found`, { id });
  }
}

/** A release or commit of a reservation that is no longer ACTIVE (transitions start only from ACTIVE). */
export class ReservationNotActiveError extends AppError {
  constructor(id: string, status: ReservationStatus, attempted: 'release' | 'commit') {
    super(
      'RESERVATION_NOT_ACTIVE',
      `reservation ${id} is ${status}; only an ACTIVE reservation can be ${attempted === 'release' ? 'released' : 'committed'}`,
      { id, status },
    );
  }
}

/** The same idempotency key was sent again with other arguments: a client bug, never a new reservation. */
export class IdempotencyKeyReusedError extends AppError {
  constructor(idempotencyKey: string, reservationId: string) {
    super(
      'IDEMPOTENCY_KEY_REUSED',
      `idempotency key "${idempotencyKey}" was already used for reservation ${reservationId} with other arguments; use a new key for a new reservation`,
      { idempotencyKey, reservationId },
    );
  }
}
