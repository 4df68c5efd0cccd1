import type { JobDefinition } from '../scheduler/job.js';
import type { SyncService } from './sync.service.js';

/**
 * The scheduled pushes. Both are safe to re-run after a partial run: the delta's watermark moves
 * only after its push is durable (a run a crash left behind is taken over under its id, by a
 * newer lease holder only), and a reconcile compares everything again. A reconcile asked for
 * while one runs (a manual `pushInventory(full: true)`, another instance) joins it.
 */
export function createSyncJobs(
  service: Pick<SyncService, 'runDelta' | 'runFullReconcile' | 'lastFullReconcileAt'> & Partial<Pick<SyncService, 'pushMode' | 'watchStock'>>,
  options: { syncIntervalSeconds: number; reconcileIntervalSeconds: number; stockWatchIntervalSeconds?: number; ready?: (() => Promise<void>) | undefined },
): JobDefinition[] {
  // The first runs after start-up wait for the mapping and the read model to be filled.
  const ready = async (signal: AbortSignal) => {
    if (!options.ready) return;
    await Promise.race([options.ready(), new Promise<void>((resolve) => signal.addEventListener('abort', () => resolve(), { once: true }))]);
    signal.throwIfAborted();
  };
  const deltaMs = options.syncIntervalSeconds * 1000;
  const reconcileMs = options.reconcileIntervalSeconds * 1000;
  const summary = (run: Awaited<ReturnType<SyncService['runDelta']>>) => ({
    syncRunId: run.id,
    status: run.status,
    considered: run.itemsConsidered,
    pushed: run.itemsPushed,
    unchanged: run.itemsUnchanged,
    failed: run.itemsFailed,
    drift: run.driftFound,
  });
  const watchMs = (options.stockWatchIntervalSeconds ?? 0) * 1000;
  const watch = service.watchStock?.bind(service);
  // The stock watch: one look at the ERP's change feed every few seconds, changes pushed at once
  // (one instance at a time, its watermark fenced like the delta's). 0 = off: the delta alone.
  const stockWatch: JobDefinition[] =
    watchMs > 0 && watch
      ? [
          {
            name: 'sync.stock-watch',
            intervalMs: watchMs,
            timeoutMs: Math.max(5 * 60_000, 10 * watchMs),
            runOnStart: true,
            async run({ signal, fence }) {
              await ready(signal);
              const { changedSkus, run } = await watch({ signal, fence });
              return run ? { changedSkus, ...summary(run) } : { changedSkus };
            },
          },
        ]
      : [];
  return [
    ...stockWatch,
    {
      name: 'sync.delta',
      intervalMs: deltaMs,
      timeoutMs: Math.max(15 * 60_000, 5 * deltaMs),
      runOnStart: true,
      // The fence makes the run's take-overs and its watermark conditional on still holding the lease.
      async run({ signal, fence }) {
        await ready(signal);
        // Switched off, the ERP changes wait behind the watermark: switched on, the next delta takes them all.
        if ((await service.pushMode?.()) === 'off') return { skipped: true, reason: 'INVENTORY_PUSH is off' };
        return summary(await service.runDelta({ signal, fence }));
      },
    },
    {
      name: 'sync.reconcile',
      intervalMs: reconcileMs,
      timeoutMs: 2 * 60 * 60_000,
      // At start-up only when no reconcile finished within the interval (a fresh database, or
      // one down for longer): a deploy must not cost a full reconcile each time.
      runOnStart: true,
      async run({ signal, log, scheduledAt }) {
        await ready(signal);
        if ((await service.pushMode?.()) === 'off') return { skipped: true, reason: 'INVENTORY_PUSH is off' };
        const last = await service.lastFullReconcileAt();
        if (last && scheduledAt.getTime() - last.getTime() < reconcileMs * 0.9) {
          log.debug({ last }, 'full reconcile skipped: one finished within the interval');
          return { skipped: true, lastFinishedAt: last.toISOString() };
        }
        return summary(await service.runFullReconcile({ signal }));
      },
    },
  ];
}
