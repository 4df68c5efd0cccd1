import type { Resolvers } from '../__generated__/graphql.js';
import { ValidationError } from '../shared/errors.js';
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
  InventoryDrift: {
    source: async (drift, _args, { loaders }) => (await loaders.sync.latestDrift.load(drift))?.source ?? null,
    detectedAt: async (drift, _args, { loaders }) => (await loaders.sync.latestDrift.load(drift))?.detectedAt ?? null,
  },
  Query: {
    driftHistory: async (_parent, { sku, location, source, first, before }, { services }) => {
      const beforeId = before ? Number(before) : null;
      if (beforeId !== null && !Number.isSafeInteger(beforeId)) throw new ValidationError('before is not an id from driftHistory', { code: 'INVALID_CURSOR' });
      // One rule for lists (src/shared/pagination.ts): beyond the documented maximum an error, never a silent cap.
      const size = first ?? 50;
      if (!Number.isInteger(size) || size < 1 || size > 500) throw new ValidationError('first must be a whole number from 1 to 500', { field: 'first', first: size, max: 500 });
      const events = await services.sync.listDrift({ sku, location, source }, size, beforeId);
      return events.map((event) => ({ ...event, id: String(event.id), shopifyInventoryItemId: event.inventoryItemId }));
    },
    syncRun: (_parent, { id }, { services }) => services.sync.findRun(id),
    syncRuns: (_parent, { first, after }, { services }, info) => services.sync.listRuns(first, after, selectsTotalCount(info)),
  },
  Mutation: {
    pushInventory: (_parent, { input }, { services }) => services.sync.pushInventory(input),
    setLocationPolicy: (_parent, { input }, { services }) => services.sync.setLocationPolicy(input),
  },
};
