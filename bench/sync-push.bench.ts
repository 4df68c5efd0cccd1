/**
 * The push at catalogue scale: 100,000 SKUs × 3 warehouses (300,000 Shopify levels) on a
 * Standard-plan simulated store (bucket 2,000 points, 100 restored per second).
 *
 *   npx tsx bench/sync-push.bench.ts            # embedded PGlite
 *   DATABASE_URL=postgres://postgres@127.0.0.1:5432/test npx tsx bench/sync-push.bench.ts
 *
 * Setup (not measured): the simulated ERP (`createDemoErp({ skus: 100000 })`), a store whose
 * catalogue matches it SKU for SKU, the inventory module's first start (catalogues, mappings,
 * the read model) and one full reconcile to learn every Shopify level.
 *
 * Measured:
 * 1. delta: the ERP changes 1,000 SKUs (a receipt at each of the 3 warehouses); the delta run
 *    reads the change feed, refreshes those SKUs and pushes the 3,000 changed levels.
 * 2. reconcile: 1% of Shopify's levels (3,000) are made wrong behind Stockbridge's back (half
 *    raised, half lowered, as merchants' edits); a full reconcile reads everything and corrects.
 *    Lowered levels count as unexplained drops (they may be sales whose orders have not arrived)
 *    and are held for the order window: they are found (drift) and reported, not pushed back.
 * The simulated store runs in its own process (`npm run cli -- simulate-shopify`), as Shopify
 * would; the simulated ERP runs in this one (it has no wire of its own). Peak memory is sampled
 * every 50 ms: RSS of this process (Stockbridge, the simulated ERP and, without DATABASE_URL, the
 * embedded database) and its JavaScript heap, before and during each run.
 */
import { pino } from 'pino';
import { loadConfig } from '../src/config.js';
import { createDemoErp } from '../src/erp/simulated/demo-catalogue.js';
import { SimulatedErpConnector } from '../src/erp/simulated/simulated-erp-connector.js';
import type { AdminRequestLogEntry } from '../src/simulators/shopify/index.js';
import { createSyncModule } from '../src/sync/sync.module.js';
import { inventoryLevels } from '../src/db/schema/index.js';
import { and, eq } from 'drizzle-orm';
import { startBenchInventory } from './sync/bench-inventory.js';
import { startStoreProcess, storeProductsAtFreeStock } from './sync/bench-store.js';

interface LevelView {
  quantities: { available: number };
}

const SKUS = Number(process.env.BENCH_SKUS ?? 100_000);
const CHANGED_SKUS = 1_000;
const WRONG_SHARE = 0.01;

const log = pino({ level: process.env.LOG_LEVEL ?? 'warn' });
const mb = (bytes: number) => Math.round(bytes / 1024 / 1024);
const seconds = (ms: number) => Number((ms / 1000).toFixed(2));

/**
 * Peak RSS and heap, sampled every 50 ms. Run with `node --expose-gc` to sample the live heap
 * instead (a full collection before each sample, every 2 s: slower, but garbage not yet
 * collected no longer counts).
 */
const collect = (globalThis as { gc?: () => void }).gc;

function memorySampler() {
  let peakRss = process.memoryUsage().rss;
  let peakHeap = process.memoryUsage().heapUsed;
  const timer = setInterval(
    () => {
      collect?.();
      const usage = process.memoryUsage();
      peakRss = Math.max(peakRss, usage.rss);
      peakHeap = Math.max(peakHeap, usage.heapUsed);
    },
    collect ? 2_000 : 50,
  );
  return {
    stop() {
      clearInterval(timer);
      return { peakRss, peakHeap };
    },
  };
}

async function main() {
  const setupStarted = performance.now();
  const erp = createDemoErp({ skus: SKUS, locations: 3 });
  const connector = new SimulatedErpConnector(erp, { logger: log });
  const warehouses = (await connector.listLocations()).filter((l) => l.kind === 'warehouse');
  // The store starts roughly where an established shop would: every level at the ERP's free
  // stock (kits, which the ATP engine derives, are set right by the first reconcile).
  const products = await storeProductsAtFreeStock(connector, warehouses);
  const store = await startStoreProcess({ locations: warehouses.map((w) => ({ key: w.code, name: w.name })), products });
  products.length = 0;
  await store.control('PUT', '/plan', { plan: { name: 'setup (unlimited)', maximumAvailable: 1_000_000_000, restoreRate: 1_000_000_000 } });
  const { database, deps, pushSignal, inventory, close } = await startBenchInventory(store, connector, log, loadConfig({ SCHEDULER: 'off' }));
  const sync = createSyncModule(deps, { mapping: inventory.services.mapping, atp: inventory.services.atp, pushSignal });
  await sync.services.runDelta(); // starts the ERP change feed

  // One reconcile learns every Shopify level (and sets the kits).
  const positions: Array<{ sku: string; location: string; atp: number }> = await database.db.select({ sku: inventoryLevels.sku, location: inventoryLevels.location, atp: inventoryLevels.availableToPromise }).from(inventoryLevels).where(eq(inventoryLevels.shop, deps.shop));
  const learn = await sync.services.runFullReconcile();
  const setupSeconds = seconds(performance.now() - setupStarted);
  process.stdout.write(
    `setup: ${SKUS.toLocaleString('en')} SKUs, ${positions.length.toLocaleString('en')} positions, ${learn.itemsConsidered.toLocaleString('en')} Shopify levels learnt (${learn.itemsPushed} pushed) in ${setupSeconds} s (database: ${database.kind})\n`,
  );

  // Standard plan from here on, bucket full.
  await store.control('PUT', '/plan', { plan: 'standard' });
  await store.control('PUT', '/bucket', { currentlyAvailable: 2_000 });

  // 1. Delta of 1,000 changed SKUs.
  const step = Math.floor(SKUS / CHANGED_SKUS);
  const skus = [...new Set(positions.map((p) => p.sku))].filter((sku) => !sku.startsWith('KIT-'));
  const changed = Array.from({ length: CHANGED_SKUS }, (_, i) => skus[(i * step) % skus.length]!);
  for (const sku of changed) for (const warehouse of warehouses) erp.receiveStock({ sku, location: warehouse.code, quantity: 5 });
  await store.control('DELETE', '/requests');
  erp.resetRoundTrips();
  collect?.();
  const deltaBefore = process.memoryUsage();
  const deltaMemory = memorySampler();
  const deltaStarted = performance.now();
  const delta = await sync.services.runDelta();
  const deltaSeconds = seconds(performance.now() - deltaStarted);
  const deltaPeak = deltaMemory.stop();
  const deltaLog = await store.control<AdminRequestLogEntry[]>('GET', '/requests');
  const deltaCheck = await database.db
    .select({ atp: inventoryLevels.availableToPromise })
    .from(inventoryLevels)
    .where(and(eq(inventoryLevels.shop, deps.shop), eq(inventoryLevels.sku, changed[0]!), eq(inventoryLevels.location, warehouses[0]!.code)));
  const [deltaLevel] = await store.control<LevelView[]>('GET', `/levels?sku=${encodeURIComponent(changed[0]!)}&location=${warehouses[0]!.code}`);
  const deltaShopify = deltaLevel?.quantities.available;
  process.stdout.write(
    `delta: ${CHANGED_SKUS} SKUs changed at ${warehouses.length} warehouses -> ${delta.status}, ${delta.itemsConsidered} levels considered, ${delta.itemsPushed} pushed, ${delta.itemsFailed} failed in ${deltaSeconds} s; ` +
      `Shopify requests ${deltaLog.length} (${deltaLog.filter((e) => e.operationName === 'SetInventoryQuantities').length} writes, ${deltaLog.filter((e) => e.throttled).length} throttled, ${deltaLog.reduce((s, e) => s + (e.actualCost ?? 0), 0)} cost points); ` +
      `ERP round trips ${erp.roundTrips()}; RSS before ${mb(deltaBefore.rss)} MB, peak ${mb(deltaPeak.peakRss)} MB; heap before ${mb(deltaBefore.heapUsed)} MB, peak ${mb(deltaPeak.peakHeap)} MB; check ${changed[0]}: ATP ${deltaCheck[0]?.atp}, Shopify ${deltaShopify}\n`,
  );

  // 2. Full reconcile with 1% of levels wrong.
  const wrongCount = Math.round(positions.length * WRONG_SHARE);
  const wrongStep = Math.floor(positions.length / wrongCount);
  let raised = 0;
  let lowered = 0;
  for (let i = 0; i < wrongCount; i++) {
    const position = positions[(i * wrongStep + 1) % positions.length]!;
    const [level] = await store.control<LevelView[]>('GET', `/levels?sku=${encodeURIComponent(position.sku)}&location=${position.location}`);
    const current = level!.quantities.available;
    if (i % 2 === 0 || current === 0) {
      await store.control('POST', '/levels', { sku: position.sku, location: position.location, quantity: current + 7 });
      raised += 1;
    } else {
      await store.control('POST', '/levels', { sku: position.sku, location: position.location, quantity: current - 1 });
      lowered += 1;
    }
  }
  await store.control('DELETE', '/requests');
  erp.resetRoundTrips();
  await store.control('PUT', '/bucket', { currentlyAvailable: 2_000 });
  const positionCount = positions.length;
  positions.length = 0;
  collect?.();
  const before = process.memoryUsage();
  const reconcileMemory = memorySampler();
  const reconcileStarted = performance.now();
  const reconcile = await sync.services.runFullReconcile();
  const reconcileSeconds = seconds(performance.now() - reconcileStarted);
  const reconcilePeak = reconcileMemory.stop();
  const reconcileLog = await store.control<AdminRequestLogEntry[]>('GET', '/requests');
  process.stdout.write(
    `reconcile: ${positionCount.toLocaleString('en')} levels, ${wrongCount} made wrong (${raised} raised, ${lowered} lowered) -> ${reconcile.status}, drift found ${reconcile.driftFound}, pushed ${reconcile.itemsPushed}, failed ${reconcile.itemsFailed} in ${reconcileSeconds} s; ` +
      `Shopify requests ${reconcileLog.length} (${reconcileLog.filter((e) => e.operationName === 'SetInventoryQuantities').length} writes, ${reconcileLog.filter((e) => e.throttled).length} throttled, ${reconcileLog.reduce((s, e) => s + (e.actualCost ?? 0), 0)} cost points); ` +
      `ERP round trips ${erp.roundTrips()}; ${collect ? 'live memory (collected before each sample)' : 'memory'}: RSS before ${mb(before.rss)} MB, peak ${mb(reconcilePeak.peakRss)} MB (+${mb(reconcilePeak.peakRss - before.rss)} MB); heap before ${mb(before.heapUsed)} MB, peak ${mb(reconcilePeak.peakHeap)} MB\n`,
  );

  await sync.stop();
  await close();
}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exit(1);
});
