import type { Resolvers } from '../__generated__/graphql.js';
import { selectsTotalCount } from '../shared/pagination.js';

const listOf = (value: unknown): string[] | null => (Array.isArray(value) ? value.map(String) : null);

export const syncResolvers: Resolvers = {
  SyncRun: {
    skus: (run) => listOf(run.request.skus),
    locations: (run) => listOf(run.request.locations),
    errors: (run, { first }, { loaders }) => loaders.sync.syncRunErrors.load({ runId: run.id, first: Math.min(Math.max(first ?? 100, 0), 1_000) }),
    changes: (run, { first }, { loaders }) => loaders.sync.syncRunChanges.load({ runId: run.id, first: Math.min(Math.max(first ?? 100, 0), 2_000) }),
  },
  SyncRunError: {
    shopifyInventoryItemId: (error) => error.inventoryItemId,
  },
  SyncRunChange: {
    shopifyInventoryItemId: (change) => change.inventoryItemId,
    from: (change) => change.fromQuantity,
    to: (change) => change.toQuantity,
  },
  Query: {
    syncRun: (_parent, { id }, { services }) => services.sync.findRun(id),
    syncRuns: (_parent, { first, after }, { services }, info) => services.sync.listRuns(first, after, selectsTotalCount(info)),
  },
  Mutation: {
    pushInventory: (_parent, { input }, { services }) => services.sync.pushInventory(input),
  },
};
