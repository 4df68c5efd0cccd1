import DataLoader from 'dataloader';
import type { DriftEventRecord } from './merchant-edits.repository.js';
import type { SyncRunChangeRecord, SyncRunErrorRecord } from './sync.models.js';
import type { SyncService } from './sync.service.js';

/** Keys carry the page size so that `errors(first: 5)` and `errors(first: 50)` never share an answer. */
interface RunItemsKey {
  readonly runId: string;
  readonly first: number;
}

/**
 * Per-request loaders: the errors and changes of every run on a `syncRuns` page in one query
 * each, whatever the page size.
 */
export function createSyncLoaders(sync: Pick<SyncService, 'getRunErrors' | 'getRunChanges' | 'findLatestDrift'>) {
  const batched = <T>(fetch: (runIds: readonly string[], limit: number) => Promise<Map<string, T[]>>) =>
    new DataLoader<RunItemsKey, T[], string>(
      async (keys) => {
        const limit = Math.max(...keys.map((key) => key.first));
        const byRun = await fetch([...new Set(keys.map((key) => key.runId))], limit);
        return keys.map((key) => (byRun.get(key.runId) ?? []).slice(0, key.first));
      },
      { cacheKeyFn: (key) => `${key.runId}:${key.first}` },
    );
  return {
    syncRunErrors: batched<SyncRunErrorRecord>((ids, limit) => sync.getRunErrors(ids, limit)),
    syncRunChanges: batched<SyncRunChangeRecord>((ids, limit) => sync.getRunChanges(ids, limit)),
    /** The latest drift of each `inventoryDrift` row (its source and when): one query per page. */
    latestDrift: new DataLoader<{ inventoryItemId: string; shopifyLocationId: string }, DriftEventRecord | null, string>(
      async (keys) => {
        const found = await sync.findLatestDrift(keys);
        return keys.map((key) => found.get(`${key.inventoryItemId}|${key.shopifyLocationId}`) ?? null);
      },
      { cacheKeyFn: (key) => `${key.inventoryItemId}|${key.shopifyLocationId}` },
    ),
  };
}

export type SyncLoaders = ReturnType<typeof createSyncLoaders>;
