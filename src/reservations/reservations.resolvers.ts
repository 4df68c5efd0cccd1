import type { InsufficientStock, NotFound, Resolvers } from '../__generated__/graphql.js';
import { selectsTotalCount } from '../shared/pagination.js';
import { actorOf, type ReserveOutcome, type ShortLine } from './reservations.models.js';
import type { PayloadOutcome } from './reservations.service.js';

type ErrorResultShape = (InsufficientStock & { __typename: 'InsufficientStock' }) | (NotFound & { __typename: 'NotFound' });

function shortLines(lines: readonly ShortLine[]) {
  return lines.map((line) => ({ ...line }));
}

/** A payload mutation's answer: the reservation, or no reservation and the one user error. */
function toPayload<C extends string>(outcome: PayloadOutcome<C>) {
  return outcome.kind === 'done'
    ? { reservation: outcome.reservation, userErrors: [] }
    : { reservation: null, userErrors: [{ field: [...outcome.field], message: outcome.message, code: outcome.code }] };
}

function toGraphQL(outcome: ReserveOutcome) {
  switch (outcome.kind) {
    case 'reserved':
      return outcome.reservation;
    case 'insufficient-stock':
      return {
        __typename: 'InsufficientStock',
        errorCode: 'INSUFFICIENT_STOCK',
        message:
          outcome.lines.length > 1
            ? `${outcome.lines.length} lines cannot be held (first: only ${outcome.availableToPromise} of ${outcome.sku} available to promise at ${outcome.location}; ${outcome.requested} requested); nothing was held`
            : `only ${outcome.availableToPromise} of ${outcome.sku} available to promise at ${outcome.location}; ${outcome.requested} requested`,
        sku: outcome.sku,
        location: outcome.location,
        requested: outcome.requested,
        availableToPromise: outcome.availableToPromise,
        lines: shortLines(outcome.lines),
      } satisfies ErrorResultShape;
    case 'not-found':
      return {
        __typename: 'NotFound',
        errorCode: outcome.unknown === 'sku' ? 'SKU_NOT_FOUND' : 'LOCATION_NOT_FOUND',
        message:
          outcome.unknown === 'sku'
            ? `SKU ${outcome.sku} is not known to Stockbridge`
            : `SKU ${outcome.sku} has no stock figures at location ${outcome.location}`,
        sku: outcome.sku,
        location: outcome.location,
        lines: shortLines(outcome.lines),
      } satisfies ErrorResultShape;
  }
}

function errorTypeName(value: object): 'InsufficientStock' | 'NotFound' | 'Reservation' {
  if ('__typename' in value && (value.__typename === 'InsufficientStock' || value.__typename === 'NotFound')) return value.__typename;
  return 'Reservation';
}

export const reservationResolvers: Resolvers = {
  ReserveInventoryResult: { __resolveType: errorTypeName },
  ErrorResult: {
    __resolveType: (value) => (errorTypeName(value) === 'InsufficientStock' ? 'InsufficientStock' : 'NotFound'),
  },
  Reservation: {
    history: (reservation, _args, { loaders }) => loaders.reservations.reservationHistory.load(reservation.id),
    lines: (reservation, _args, { loaders }) => loaders.reservations.reservationLines.load(reservation.id),
  },
  ReservationEvent: {
    lines: (event) => (event.lines ? [...event.lines] : null),
  },
  Query: {
    reservations: (_parent, args, { services, principal }, info) =>
      services.reservations.list(
        actorOf(principal),
        { sku: args.sku, location: args.location, status: args.status, reference: args.reference, idempotencyKey: args.idempotencyKey, createdBy: args.createdBy },
        { first: args.first, after: args.after, withTotalCount: selectsTotalCount(info) },
      ),
    reservation: (_parent, { id }, { services, principal }) => services.reservations.findById(actorOf(principal), id),
  },
  Mutation: {
    reserveInventory: async (_parent, { input }, { services, principal }) =>
      toGraphQL(await services.reservations.reserve(actorOf(principal), input)),
    releaseReservation: (_parent, { id }, { services, principal }) => services.reservations.release(actorOf(principal), id),
    commitReservation: (_parent, { id }, { services, principal }) => services.reservations.commit(actorOf(principal), id),
    extendReservation: async (_parent, { input }, { services, principal }) => toPayload(await services.reservations.extend(actorOf(principal), input)),
    releaseReservationLines: async (_parent, { input }, { services, principal }) =>
      toPayload(await services.reservations.releaseLines(actorOf(principal), input)),
    commitReservationLines: async (_parent, { input }, { services, principal }) =>
      toPayload(await services.reservations.commitLines(actorOf(principal), input)),
  },
};
