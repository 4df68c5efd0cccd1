/**
 * How long an ERP stock change takes to show in Shopify with the default configuration (the
 * stock watch every 3 s, the delta every 60 s), and how many ERP calls the watch adds.
 *
 *   npx tsx bench/erp-to-shopify-latency.bench.ts              # simulated ERP, PGlite
 *   DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres npx tsx bench/erp-to-shopify-latency.bench.ts
 *   eval "$(bash scripts/tryton.sh env)"; npx tsx bench/erp-to-shopify-latency.bench.ts tryton   # the real Tryton
 *
 * The gateway's sync and inventory modules run in this process with the real scheduler (the
 * `sync.*` jobs, the default intervals); the store runs in its own process. `LATENCY_CHANGES`
 * (default 40) stock changes are made one after another at random moments (0.2–4 s apart), each
 * a receipt of one unit of a random SKU at a random warehouse; each is timed from the ERP write
 * to the moment the store answers with the new `available` (polled every 50 ms). Then, with the
 * ERP quiet, the ERP calls of one minute are counted (connector calls by method; the simulated
 * ERP's wire round trips too).
 *
 * `tryton` (or ERP_URL set): the ERP is a real trytond (ERP_URL, ERP_DATABASE, ERP_USER,
 * ERP_PASSWORD). The bench makes its own 200 products `LATENCY-0001…` there once (10 units at WH
 * and WH-EAST), and each change is a done supplier receipt made over JSON-RPC by another client
 * (scripts/lib/tryton-fixture.ts: `stock.move.create` then `do`), timed both from the start of
 * the write and from its commit (the answer to `do`). The gateway's JSON-RPC calls are counted
 * on the wire by method with their mean time, for the changes and for the quiet minute. The
 * trytond may be shared with other work: moves others make show as SKUs the feed named.
 */
import { cpus, loadavg } from 'node:os';
import { pino } from 'pino';
import { loadConfig } from '../src/config.js';
import type { ErpConnector } from '../src/erp/erp-connector.js';
import { createDemoErp } from '../src/erp/simulated/demo-catalogue.js';
import { SimulatedErpConnector } from '../src/erp/simulated/simulated-erp-connector.js';
import { createScheduler } from '../src/scheduler/scheduler.js';
import type { SeedProduct } from '../src/simulators/shopify/seed.schema.js';
import { createSyncModule } from '../src/sync/sync.module.js';
import { startBenchInventory } from './sync/bench-inventory.js';
import { startStoreProcess } from './sync/bench-store.js';
import { createWireCounter, wireLines, type WireCounter } from './support/tryton-wire.js';

const CHANGES = Number(process.env.LATENCY_CHANGES ?? 40);
const SKUS = 200;
const log = pino({ level: process.env.LOG_LEVEL ?? 'warn' });
const say = (line: string) => process.stdout.write(`${line}\n`);
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Counts the connector's calls by method (and the time they took), and passes them on. */
function counting(connector: ErpConnector): { connector: ErpConnector; calls: Map<string, { calls: number; ms: number }>; namedSkus: string[] } {
  const calls = new Map<string, { calls: number; ms: number }>();
  const namedSkus: string[] = [];
  const proxy = new Proxy(connector, {
    get(target, property, receiver) {
      const value = Reflect.get(target, property, receiver) as unknown;
      if (typeof value !== 'function') return value;
      return (...args: unknown[]) => {
        const result = (value as (...a: unknown[]) => unknown).apply(target, args);
        if (!(result instanceof Promise)) return result;
        const started = performance.now();
        return result.then((answer: unknown) => {
          const entry = calls.get(String(property)) ?? { calls: 0, ms: 0 };
          entry.calls += 1;
          entry.ms += performance.now() - started;
          calls.set(String(property), entry);
          if (property === 'getStockChangesSince') namedSkus.push(...(answer as { skus: string[] }).skus);
          return answer;
        });
      };
    },
  });
  return { connector: proxy, calls, namedSkus };
}

interface Source {
  readonly label: string;
  readonly connector: ErpConnector;
  readonly skus: readonly string[];
  readonly warehouses: readonly string[];
  receive(sku: string, location: string): Promise<void>;
  wireRoundTrips(): number | null;
  /** Tryton: the gateway's JSON-RPC calls on the wire. */
  readonly wire?: WireCounter;
}

async function simulatedSource(): Promise<Source> {
  const erp = createDemoErp({ skus: SKUS, locations: 3 });
  const connector = new SimulatedErpConnector(erp, { logger: log });
  const warehouses = (await connector.listLocations()).filter((l) => l.kind === 'warehouse').map((l) => l.code);
  const page = await connector.listProducts({ limit: 1_000 });
  const skus = page.items.filter((p) => p.components.length === 0 && p.stockTracked).map((p) => p.sku);
  return {
    label: 'simulated ERP (in process)',
    connector,
    skus,
    warehouses,
    receive: async (sku, location) => erp.receiveStock({ sku, location, quantity: 1 }),
    wireRoundTrips: () => erp.roundTrips(),
  };
}

async function trytonSource(url: string): Promise<Source> {
  const { TrytonErpConnector } = await import('../src/erp/tryton/tryton-erp-connector.js');
  const { TrytonRpcClient } = await import('../src/erp/tryton/tryton-rpc-client.js');
  const { TrytonErpFixture } = await import('../scripts/lib/tryton-fixture.js');
  const credentials = { url, database: process.env.ERP_DATABASE ?? '', user: process.env.ERP_USER ?? '', password: process.env.ERP_PASSWORD ?? '' };
  const wire = createWireCounter();
  // The connector as the gateway builds it (default timeouts, two calls in flight), its wire counted.
  const connector = new TrytonErpConnector({ ...credentials, logger: log, fetch: wire.fetch });
  const warehouses = ['WH', 'WH-EAST'];
  const seeder = new TrytonErpFixture(new TrytonRpcClient({ ...credentials, logger: log, timeoutMs: 300_000 }), { locations: ['WH', 'WH-EAST'] });
  const skus = Array.from({ length: SKUS }, (_, i) => `LATENCY-${String(i + 1).padStart(4, '0')}`);
  const existing = await seeder.existingSkus(skus);
  const missing = skus.filter((sku) => !existing.has(sku));
  if (missing.length > 0) {
    say(`making ${missing.length} LATENCY- products in Tryton (once per database)`);
    await seeder.createProducts(missing.map((sku) => ({ sku, name: `Latency bench ${sku}` })));
    for (const warehouse of warehouses) await seeder.receiveMany(warehouse, missing.map((sku) => ({ sku, quantity: 10 })));
  }
  return {
    label: `Tryton at ${new URL(url).host} (database ${credentials.database})`,
    connector,
    skus,
    warehouses,
    receive: (sku, location) => seeder.receiveMany(location, [{ sku, quantity: 1 }]),
    wireRoundTrips: () => wire.total(),
    wire,
  };
}

function percentile(sorted: readonly number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

async function main() {
  const wantTryton = process.argv[2] === 'tryton';
  if (wantTryton && !process.env.ERP_URL) throw new Error('tryton: set ERP_URL, ERP_DATABASE, ERP_USER, ERP_PASSWORD (eval "$(bash scripts/tryton.sh env)")');
  const source = process.env.ERP_URL ? await trytonSource(process.env.ERP_URL) : await simulatedSource();
  const { connector, calls, namedSkus } = counting(source.connector);
  const snapshot = await connector.getStockBySkus(source.skus, source.warehouses);
  const free = new Map(snapshot.levels.map((l) => [`${l.sku}|${l.location}`, Math.max(0, Math.floor(l.onHand - l.allocated - l.wholesaleCommitted))]));
  const products: SeedProduct[] = source.skus.map((sku) => ({ title: sku, variants: [{ sku, levels: Object.fromEntries(source.warehouses.map((w) => [w, free.get(`${sku}|${w}`) ?? 0])) }] }));
  const store = await startStoreProcess({ locations: source.warehouses.map((key) => ({ key, name: key })), products });
  // The default configuration: the intervals are whatever loadConfig gives without overrides.
  const config = loadConfig({});
  const { database, deps, pushSignal, inventory, close } = await startBenchInventory(store, connector, log, config);
  const sync = createSyncModule(deps, { mapping: inventory.services.mapping, atp: inventory.services.atp, pushSignal, ready: () => inventory.services.whenReady() });
  await sync.services.runDelta();
  await sync.services.runFullReconcile();
  const scheduler = createScheduler({ database, log, metrics: deps.metrics });
  for (const job of sync.jobs ?? []) scheduler.register(job);
  await scheduler.start();
  await sync.startWithScheduler();
  say(`setup: ${source.label}, ${source.skus.length} SKUs × ${source.warehouses.length} warehouses; stock watch every ${config.stockWatchIntervalSeconds} s, delta every ${config.syncIntervalSeconds} s (database: ${database.kind})`);
  await sleep(5_000); // the start-up runs of the jobs

  const shopifyAvailable = async (sku: string, location: string) => {
    const [level] = await store.control<Array<{ quantities: { available: number } }>>('GET', `/levels?sku=${encodeURIComponent(sku)}&location=${encodeURIComponent(location)}`);
    return level?.quantities.available ?? 0;
  };
  const fromWrite: number[] = [];
  const fromCommit: number[] = [];
  const writes: number[] = [];
  let random = 7;
  const next = () => (random = (random * 48_271) % 2_147_483_647) / 2_147_483_647;
  calls.clear();
  source.wire?.reset();
  const changesStarted = performance.now();
  for (let i = 0; i < CHANGES; i++) {
    await sleep(200 + next() * 3_800);
    const sku = source.skus[Math.floor(next() * source.skus.length)]!;
    const location = source.warehouses[Math.floor(next() * source.warehouses.length)]!;
    const before = await shopifyAvailable(sku, location);
    const changedAt = performance.now();
    await source.receive(sku, location);
    const committedAt = performance.now();
    for (;;) {
      if ((await shopifyAvailable(sku, location)) === before + 1) break;
      if (performance.now() - changedAt > 120_000) throw new Error(`${sku} at ${location} did not reach Shopify in 2 minutes`);
      await sleep(50);
    }
    const seenAt = performance.now();
    fromWrite.push((seenAt - changedAt) / 1000);
    fromCommit.push((seenAt - committedAt) / 1000);
    writes.push((committedAt - changedAt) / 1000);
  }
  const changesMinutes = (performance.now() - changesStarted) / 60_000;
  const figures = (values: number[]) => {
    const sorted = [...values].sort((a, b) => a - b);
    return `p50 ${percentile(sorted, 50).toFixed(2)} s, p99 ${percentile(sorted, 99).toFixed(2)} s, max ${sorted.at(-1)!.toFixed(2)} s`;
  };
  say(`ERP change -> Shopify confirmed, ${fromWrite.length} changes, from the start of the ERP write: ${figures(fromWrite)}  (load average ${loadavg()[0]!.toFixed(1)} on ${cpus().length} cores)`);
  if (source.wire) {
    say(`  from the write's commit (the answer to stock.move.do): ${figures(fromCommit)}; the write itself (another client, 4-6 calls): ${figures(writes)}`);
    say(`  the gateway's JSON-RPC calls meanwhile (${changesMinutes.toFixed(1)} min, ${Math.round(source.wire.total() / changesMinutes)} calls/min):`);
    for (const line of wireLines(source.wire.entries())) say(line);
  }

  // A quiet minute: what the watch costs the ERP.
  calls.clear();
  namedSkus.length = 0;
  source.wire?.reset();
  const wireBefore = source.wireRoundTrips();
  const cpuBefore = process.cpuUsage();
  await sleep(60_000);
  const cpu = process.cpuUsage(cpuBefore);
  const perMethod = [...calls.entries()].map(([method, entry]) => `${method} ${entry.calls} (mean ${(entry.ms / entry.calls).toFixed(0)} ms)`).join(', ') || 'none';
  const wire = source.wireRoundTrips();
  say(
    `quiet ERP, one minute: connector calls ${[...calls.values()].reduce((a, b) => a + b.calls, 0)} (${perMethod})${wire !== null && wireBefore !== null ? `, wire round trips ${wire - wireBefore}` : ''}; ` +
      `the feed named ${namedSkus.length} SKUs (${namedSkus.filter((sku) => !source.skus.includes(sku)).length} not the bench's); gateway CPU ${((cpu.user + cpu.system) / 1000).toFixed(0)} ms  (load average ${loadavg()[0]!.toFixed(1)})`,
  );
  if (source.wire) for (const line of wireLines(source.wire.entries())) say(line);

  await scheduler.stop();
  await sync.stop();
  await close();
  await (source.connector as { close?: () => Promise<void> }).close?.();
}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exit(1);
});
