import { loadConfig } from '../config.js';
import { createInventoryModule } from '../inventory/inventory.module.js';
import { createSyncModule } from '../sync/sync.module.js';
import { withModuleDeps } from './cli-modules.js';
import { booleanOption, defineCommand, listOption, startProgress, UsageError, type CliIo } from './command.js';

const usage = 'sync [--full] [--sku S]... [--location L]... [--dry-run] [--json]';

/**
 * `sync`: one push to Shopify now, in this process, against the configured database, ERP and
 * store (the gateway need not run; if it does, the two push safely side by side). Prints the
 * run's counts, its per-item errors and, for a dry run, the changes it would make. Exit code 0
 * when the run succeeded, 1 when it failed or some items failed, 2 for a usage problem.
 */
export const syncCommand = defineCommand({
  name: 'sync',
  usage,
  summary: 'push available-to-promise to Shopify now: the named SKUs, or everything (--full reads Shopify first); --dry-run writes nothing',
  description: `Runs in this process against the configured database, ERP and store (the gateway need not run;
if it does, the two push safely side by side). A full run prints its progress on stderr. Exit 0
when the run succeeded, 1 when it failed or some items failed, 2 for a usage problem. Ctrl-C
stops the run between batches (recorded as failed: nothing half-written).`,
  examples: ['sync --sku BOLT-M8X50-A2-PK10 --sku NUT-M8-A2-PK10', 'sync --full --dry-run', 'sync --full --location LDS --json'],
  options: {
    full: { type: 'boolean', description: 'read every level in Shopify first and correct every difference (a reconcile)' },
    sku: { type: 'string', multiple: true, valueName: 'SKU', description: 'push only these SKUs (comma-separated or repeated)' },
    location: { type: 'string', multiple: true, valueName: 'CODE', description: 'push only these ERP locations' },
    'dry-run': { type: 'boolean', description: 'compute and list the changes, write nothing' },
    json: { type: 'boolean', description: 'print the run as JSON' },
  },
  async run(args, io) {
    const skus = listOption(args, 'sku');
    const locations = listOption(args, 'location');
    if ((args.values.sku !== undefined && skus.length === 0) || (args.values.location !== undefined && locations.length === 0)) {
      throw new UsageError('--sku and --location need a value');
    }
    return runSync(io, {
      skus: skus.length > 0 ? skus : null,
      locations: locations.length > 0 ? locations : null,
      full: booleanOption(args, 'full'),
      dryRun: booleanOption(args, 'dry-run'),
      json: booleanOption(args, 'json'),
    });
  },
});

async function runSync(io: CliIo, options: { skus: string[] | null; locations: string[] | null; full: boolean; dryRun: boolean; json: boolean }): Promise<number> {
  const { json, ...input } = options;
  const config = loadConfig(io.env);
  if (!config.shopify.shop) {
    io.stderr.write(
      'sync needs a configured store (SHOPIFY_SHOP, SHOPIFY_ACCESS_TOKEN, SHOPIFY_API_SECRET) and ERP. ' +
        "The demo's simulated store and ERP live inside `npm start`: use the pushInventory mutation there.\n",
    );
    return 2;
  }
  // Logs go to stderr (withModuleDeps' logger): stdout holds the run's summary.
  return withModuleDeps(
    io,
    async ({ composed }) => {
      const inventory = createInventoryModule(composed.deps);
      const { mapping, atp, pushSignal } = inventory.services;
      const sync = createSyncModule(composed.deps, { mapping, atp, pushSignal, catalogue: inventory.services });
      try {
        // First use of this database: the catalogue, the mappings and the read model are filled first.
        await inventory.start();
        await inventory.services.whenReady();
        const started = await sync.services.pushInventory(input, { signal: io.signal });
        // Progress on stderr while the run goes on (a full reconcile takes minutes), from the run's
        // own record, which the run updates as it goes.
        const progress = startProgress(io, {
          unit: 'items considered',
          read: async () => {
            const current = await sync.services.findRun(started.id);
            if (!current || current.status !== 'RUNNING') return null;
            return { done: current.itemsConsidered, detail: `${current.itemsPushed} ${current.dryRun ? 'to push' : 'pushed'}, ${current.itemsUnchanged} unchanged, ${current.itemsFailed} failed` };
          },
        });
        try {
          await sync.services.settle();
        } finally {
          progress.stop();
        }
        const run = (await sync.services.findRun(started.id)) ?? started;
        if (json) {
          const errors = (await sync.services.getRunErrors([run.id], 100)).get(run.id) ?? [];
          const changes = run.dryRun ? ((await sync.services.getRunChanges([run.id], 2_000)).get(run.id) ?? []) : [];
          io.stdout.write(`${JSON.stringify({ ...run, errors, changes }, null, 2)}\n`);
          return run.status === 'SUCCEEDED' ? 0 : 1;
        }
        const seconds = run.finishedAt ? ((run.finishedAt.getTime() - run.startedAt.getTime()) / 1000).toFixed(1) : '?';
        io.stdout.write(
          `sync run ${run.id}: ${run.status}${run.dryRun ? ' (dry run: nothing written)' : ''} in ${seconds} s\n` +
            `  items considered ${run.itemsConsidered}, ${run.dryRun ? 'would push' : 'pushed'} ${run.itemsPushed}, unchanged ${run.itemsUnchanged}, failed ${run.itemsFailed}` +
            `${run.driftFound !== null ? `, drift found ${run.driftFound}` : ''}\n`,
        );
        if (run.failure) io.stdout.write(`  failure: ${run.failure.code} ${run.failure.message}\n`);
        const errors = (await sync.services.getRunErrors([run.id], 20)).get(run.id) ?? [];
        for (const error of errors) io.stdout.write(`  error ${error.sku} @ ${error.location}: ${error.code} ${error.message}\n`);
        if (run.dryRun) {
          const changes = (await sync.services.getRunChanges([run.id], 50)).get(run.id) ?? [];
          for (const change of changes) io.stdout.write(`  would set ${change.sku} @ ${change.location}: ${change.fromQuantity ?? '?'} -> ${change.toQuantity}\n`);
          if (run.itemsPushed > changes.length) io.stdout.write(`  … and ${run.itemsPushed - changes.length} more (syncRun(id: "${run.id}") lists up to 2,000)\n`);
        }
        return run.status === 'SUCCEEDED' ? 0 : 1;
      } finally {
        await sync.stop();
        await inventory.stop();
      }
    },
    config,
  );
}
