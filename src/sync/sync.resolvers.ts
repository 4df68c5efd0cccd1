import type { Resolvers } from '../__generated__/graphql.js';
import { decodeCursor, invalidCursor, pageSize, selectsTotalCount, toConnection } from '../shared/pagination.js';

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
  InventoryDrift: {
    source: async (drift, _args, { loaders }) => (await loaders.sync.latestDrift.load(drift))?.source ?? null,
    detectedAt: async (drift, _args, { loaders }) => (await loaders.sync.latestDrift.load(drift))?.detectedAt ?? null,
  },
  Query: {
    driftHistory: async (_parent, { sku, location, source, first, after }, { services }) => {
      // The shared pagination: newest first, keyed by the event's id (unique, increasing).
      const size = pageSize(first);
      let beforeId: number | null = null;
      if (after) {
        const [id] = decodeCursor('driftHistory', after, 1);
        if (typeof id !== 'number' || !Number.isSafeInteger(id)) invalidCursor('driftHistory', after);
        beforeId = id;
      }
      const events = size === 0 ? [] : await services.sync.listDrift({ sku, location, source }, size + 1, beforeId);
      return toConnection('driftHistory', events, {
        first: size,
        after,
        keyOf: (event) => [event.id],
        nodeOf: (event) => ({ ...event, id: String(event.id), shopifyInventoryItemId: event.inventoryItemId }),
        totalCount: null,
      });
    },
    syncRun: (_parent, { id }, { services }) => services.sync.findRun(id),
    syncRuns: (_parent, { first, after }, { services }, info) => services.sync.listRuns(first, after, selectsTotalCount(info)),
  },
  Mutation: {
    pushInventory: (_parent, { input }, { services }) => services.sync.pushInventory(input),
    setLocationPolicy: (_parent, { input }, { services }) => services.sync.setLocationPolicy(input),
  },
};
