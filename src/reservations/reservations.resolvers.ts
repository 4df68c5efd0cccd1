import type { InsufficientStock, NotFound, Resolvers } from '../__generated__/graphql.js';
import { selectsTotalCount } from '../shared/pagination.js';
import { actorOf, type ReserveOutcome } from './reservations.models.js';

type ErrorResultShape = (InsufficientStock & { __typename: 'InsufficientStock' }) | (NotFound & { __typename: 'NotFound' });

function toGraphQL(outcome: ReserveOutcome) {
  switch (outcome.kind) {
    case 'reserved':
      return outcome.reservation;
    case 'insufficient-stock':
      return {
        __typename: 'InsufficientStock',
        errorCode: 'INSUFFICIENT_STOCK',
        message: `only ${outcome.availableToPromise} of ${outcome.sku} available to promise at ${outcome.location}; ${outcome.requested} requested`,
        sku: outcome.sku,
        location: outcome.location,
        requested: outcome.requested,
        availableToPromise: outcome.availableToPromise,
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
  },
  Query: {
    reservations: (_parent, args, { services, principal }, info) =>
      services.reservations.list(
        actorOf(principal),
        { sku: args.sku, location: args.location, status: args.status },
        { first: args.first, after: args.after, withTotalCount: selectsTotalCount(info) },
      ),
    reservation: (_parent, { id }, { services, principal }) => services.reservations.findById(actorOf(principal), id),
  },
  Mutation: {
    reserveInventory: async (_parent, { input }, { services, principal }) =>
      toGraphQL(await services.reservations.reserve(actorOf(principal), input)),
    releaseReservation: (_parent, { id }, { services, principal }) => services.reservations.release(actorOf(principal), id),
    commitReservation: (_parent, { id }, { services, principal }) => services.reservations.commit(actorOf(principal), id),
  },
};
