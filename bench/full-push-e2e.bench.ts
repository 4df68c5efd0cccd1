/**
 * A full push of 10,000 changed levels, end to end from the ERP, on an empty Shopify bucket: the
 * delta run reads the change feed, refreshes the SKUs from the ERP and writes every level, with
 * the ERP reads and the planning of each page overlapping the previous page's writes
 * (src/sync/push-pipeline.ts). Compared with the cost ceiling: on an empty bucket every point is
 * paid for by the restore rate, so the run cannot take less than `cost points / restore rate`.
 *
 *   npx tsx bench/full-push-e2e.bench.ts                 # simulated ERP, PGlite
 *   DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres npx tsx bench/full-push-e2e.bench.ts
 *   eval "$(bash scripts/tryton.sh env)"; npx tsx bench/full-push-e2e.bench.ts   # the real Tryton
 *
 * With ERP_URL set it uses the products bench/erp-stock.bench.ts seeds (BENCH-00001… stocked at
 * WH, WH-EAST, WH-WEST; run that bench first, on a trytond of its own) and receives one unit of
 * each of them at each warehouse in Tryton before the measured run. `FULL_PUSH_LEVELS` (default
 * 10,000) sets the number of changed levels. The store runs in its own process on the Standard
 * plan (restore 100 points/s; the simulator's bucket holds 2,000 points, emptied before the run).
 */
import { pino } from 'pino';
import { loadConfig } from '../src/config.js';
import type { ModuleDeps } from '../src/domain-module.js';
import type { ErpConnector } from '../src/erp/erp-connector.js';
import { createDemoErp } from '../src/erp/simulated/demo-catalogue.js';
import { SimulatedErpConnector } from '../src/erp/simulated/simulated-erp-connector.js';
import { createInventoryModule } from '../src/inventory/inventory.module.js';
import type { SeedProduct } from '../src/simulators/shopify/seed.schema.js';
import { createSyncModule } from '../src/sync/sync.module.js';
import { startBenchInventory } from './sync/bench-inventory.js';
import { costOf, startStoreProcess } from './sync/bench-store.js';

const LEVELS = Number(process.env.FULL_PUSH_LEVELS ?? 10_000);
const RESTORE_PER_SECOND = 100;
const log = pino({ level: process.env.LOG_LEVEL ?? 'warn' });
const say = (line: string) => process.stdout.write(`${line}\n`);

interface Source {
  readonly label: string;
  readonly connector: ErpConnector;
  readonly skus: readonly string[];
  readonly warehouses: readonly string[];
  /** Changes every level of `skus` at `warehouses` in the ERP. */
  changeAll(): Promise<void>;
  roundTrips(): number | null;
}

async function simulatedSource(): Promise<Source> {
  const skuCount = Math.ceil(LEVELS / 3);
  const erp = createDemoErp({ skus: skuCount, locations: 3 });
  const connector = new SimulatedErpConnector(erp, { logger: log });
  const warehouses = (await connector.listLocations()).filter((l) => l.kind === 'warehouse').map((l) => l.code);
  const skus: string[] = [];
  for (let cursor: string | null | undefined; ; ) {
    const page = await connector.listProducts({ cursor, limit: 1_000 });
    for (const product of page.items) if (product.components.length === 0 && product.stockTracked) skus.push(product.sku);
    if (!page.nextCursor) break;
    cursor = page.nextCursor;
  }
  const changed = skus.slice(0, Math.ceil(LEVELS / warehouses.length));
  return {
    label: 'simulated ERP (in process)',
    connector,
    skus: changed,
    warehouses,
    async changeAll() {
      for (const sku of changed) for (const location of warehouses) erp.receiveStock({ sku, location, quantity: 5 });
      erp.resetRoundTrips();
    },
    roundTrips: () => erp.roundTrips(),
  };
}

async function trytonSource(url: string): Promise<Source> {
  const { TrytonErpConnector } = await import('../src/erp/tryton/tryton-erp-connector.js');
  const { TrytonRpcClient } = await import('../src/erp/tryton/tryton-rpc-client.js');
  const { TrytonErpFixture } = await import('../scripts/lib/tryton-fixture.js');
  const credentials = { url, database: process.env.ERP_DATABASE ?? '', user: process.env.ERP_USER ?? '', password: process.env.ERP_PASSWORD ?? '' };
  const connector = new TrytonErpConnector({ ...credentials, logger: log, timeoutMs: 120_000 });
  const warehouses = ['WH', 'WH-EAST', 'WH-WEST'];
  const wanted = Array.from({ length: Math.ceil(LEVELS / warehouses.length) }, (_, i) => `BENCH-${String(i + 1).padStart(5, '0')}`);
  const seeder = new TrytonErpFixture(new TrytonRpcClient({ ...credentials, logger: log, timeoutMs: 300_000 }), { locations: ['WH', 'WH-EAST'] });
  const existing = await seeder.existingSkus(wanted);
  if (existing.size < wanted.length) throw new Error(`Tryton has ${existing.size} of the ${wanted.length} BENCH- products: run bench/erp-stock.bench.ts first`);
  return {
    label: `Tryton at ${new URL(url).host}`,
    connector,
    skus: wanted,
    warehouses,
    async changeAll() {
      for (const location of warehouses) await seeder.receiveMany(location, wanted.map((sku) => ({ sku, quantity: 1 })));
    },
    roundTrips: () => null,
  };
}

async function main() {
  const source = process.env.ERP_URL ? await trytonSource(process.env.ERP_URL) : await simulatedSource();
  const { connector } = source;
  // The store holds the changed SKUs at the ERP's warehouses, each level at the ERP's free stock.
  const free = new Map<string, number>();
  const snapshot = await connector.getStockBySkus(source.skus, source.warehouses);
  for (const level of snapshot.levels) free.set(`${level.sku}|${level.location}`, Math.max(0, Math.floor(level.onHand - level.allocated - level.wholesaleCommitted)));
  const products: SeedProduct[] = source.skus.map((sku) => ({ title: sku, variants: [{ sku, levels: Object.fromEntries(source.warehouses.map((w) => [w, free.get(`${sku}|${w}`) ?? 0])) }] }));
  const store = await startStoreProcess({ locations: source.warehouses.map((key) => ({ key, name: key })), products });
  await store.control('PUT', '/plan', { plan: { name: 'setup (unlimited)', maximumAvailable: 1_000_000_000, restoreRate: 1_000_000_000 } });
  const { database, deps, pushSignal, shopify, close } = await startBenchInventory(store, connector, log, loadConfig({ SCHEDULER: 'off' }));
  // Busy time of each side during the measured run: summed over calls, so a sum above the
  // run's wall time is the overlap the pipeline bought.
  const busy = { shopifyWrites: 0, erp: 0 };
  const timed = <T extends object>(target: T, key: 'shopifyWrites' | 'erp', only?: string): T =>
    new Proxy(target, {
      get(object, property, receiver) {
        const value = Reflect.get(object, property, receiver) as unknown;
        if (typeof value !== 'function' || (only && property !== only)) return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(object) : value;
        return async (...args: unknown[]) => {
          const started = performance.now();
          try {
            return await (value as (...a: unknown[]) => Promise<unknown>).apply(object, args);
          } finally {
            busy[key] += performance.now() - started;
          }
        };
      },
    });
  const syncDeps: ModuleDeps = { ...deps, shopify: timed(shopify, 'shopifyWrites', 'setAvailableQuantities'), erp: timed(connector, 'erp') };
  const inventoryForSync = createInventoryModule(syncDeps, { pushSignal });
  const sync = createSyncModule(syncDeps, { mapping: inventoryForSync.services.mapping, atp: inventoryForSync.services.atp, pushSignal });
  await sync.services.runDelta(); // starts the change feed
  const learn = await sync.services.runFullReconcile(); // every level's baseline
  say(`setup: ${source.label}, ${source.skus.length} SKUs × ${source.warehouses.length} warehouses, ${learn.itemsConsidered} Shopify levels learnt (database: ${database.kind})`);

  await source.changeAll();
  await store.control('PUT', '/plan', { plan: 'standard' });
  await store.control('PUT', '/bucket', { currentlyAvailable: 0 });
  await store.control('DELETE', '/requests');
  busy.shopifyWrites = 0;
  busy.erp = 0;
  const started = performance.now();
  const run = await sync.services.runDelta();
  const ms = performance.now() - started;
  const cost = costOf(await store.requests());
  const ceilingSeconds = cost.points / RESTORE_PER_SECOND;
  const levelsPerSecond = run.itemsPushed / (ms / 1000);
  say(
    `full push on an empty bucket: ${run.status}, ${run.itemsConsidered} levels considered, ${run.itemsPushed} pushed, ${run.itemsFailed} failed in ${(ms / 1000).toFixed(2)} s = ${Math.round(levelsPerSecond)} levels/s; ` +
      `Shopify: ${cost.writes} writes, ${cost.points} cost points, ${cost.throttled} throttled; cost ceiling ${ceilingSeconds.toFixed(2)} s (${cost.points} points at ${RESTORE_PER_SECOND}/s) -> ${Math.round((100 * ceilingSeconds) / (ms / 1000))}% of the ceiling` +
      (source.roundTrips() !== null ? `; ERP round trips ${source.roundTrips()}` : ''),
  );
  say(`busy during the run: Shopify writes ${(busy.shopifyWrites / 1000).toFixed(2)} s, ERP reads ${(busy.erp / 1000).toFixed(2)} s (wall ${(ms / 1000).toFixed(2)} s; the rest is the database and planning)`);

  await sync.stop();
  await close();
}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exit(1);
});
