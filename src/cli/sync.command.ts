import { loadConfig } from '../config.js';
import { openDatabase } from '../db/database.js';
import { composeModuleDeps } from '../gateway.js';
import { createInventoryModule } from '../inventory/inventory.module.js';
import { createLogger } from '../logger.js';
import { createSyncModule } from '../sync/sync.module.js';
import { parseFlags, type CliCommand, type CliIo } from './command.js';

const usage = 'sync [--full] [--sku S]... [--location L]... [--dry-run]';

/**
 * `sync`: one push to Shopify now, in this process, against the configured database, ERP and
 * store (the gateway need not run; if it does, the two push safely side by side). Prints the
 * run's counts, its per-item errors and, for a dry run, the changes it would make. Exit code 0
 * when the run succeeded, 1 when it failed or some items failed, 2 for a usage problem.
 */
export const syncCommand: CliCommand = {
  name: 'sync',
  usage,
  summary: 'push available-to-promise to Shopify now: the named SKUs, or everything (--full reads Shopify first); --dry-run writes nothing',
  async run(args, io) {
    const { flags, positional } = parseFlags(args);
    const unknown = [...flags.keys()].filter((name) => !['full', 'sku', 'location', 'dry-run'].includes(name));
    if (unknown.length > 0 || positional.length > 0) {
      io.stderr.write(`usage: ${usage}\n`);
      return 2;
    }
    const list = (name: string) => (flags.get(name) ?? []).flatMap((value) => value.split(',')).map((v) => v.trim()).filter((v) => v && v !== 'true');
    const skus = list('sku');
    const locations = list('location');
    if ((flags.has('sku') && skus.length === 0) || (flags.has('location') && locations.length === 0)) {
      io.stderr.write(`usage: ${usage}\n`);
      return 2;
    }
    return runSync(io, { skus: skus.length > 0 ? skus : null, locations: locations.length > 0 ? locations : null, full: flags.has('full'), dryRun: flags.has('dry-run') });
  },
};

async function runSync(io: CliIo, input: { skus: string[] | null; locations: string[] | null; full: boolean; dryRun: boolean }): Promise<number> {
  const config = loadConfig(io.env);
  if (!config.shopify.shop) {
    io.stderr.write(
      'sync needs a configured store (SHOPIFY_SHOP, SHOPIFY_ACCESS_TOKEN, SHOPIFY_API_SECRET) and ERP. ' +
        "The demo's simulated store and ERP live inside `npm start`: use the pushInventory mutation there.\n",
    );
    return 2;
  }
  // Logs go to stderr: stdout holds the run's summary.
  const log = createLogger(config.logLevel === 'info' ? 'warn' : config.logLevel, io.stderr);
  const database = await openDatabase({ databaseUrl: config.databaseUrl, dataDir: config.dataDir });
  try {
    await database.migrate();
    const composed = await composeModuleDeps(config, log, database);
    const inventory = createInventoryModule(composed.deps);
    const { mapping, atp, pushSignal } = inventory.services;
    const sync = createSyncModule(composed.deps, { mapping, atp, pushSignal, catalogue: inventory.services });
    try {
      // First use of this database: the catalogue, the mappings and the read model are filled first.
      await inventory.start();
      await inventory.services.whenReady();
      const started = await sync.services.pushInventory(input);
      await sync.services.settle();
      const run = (await sync.services.findRun(started.id)) ?? started;
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
      await composed.close();
    }
  } finally {
    await database.close();
  }
}
