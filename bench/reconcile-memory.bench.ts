/**
 * A full reconcile of 300,000 levels (100,000 SKUs × 3 warehouses): its time, and the peak RSS
 * of the gateway side alone. Three processes, as in production: this one serves the simulated
 * ERP over HTTP (`startSimulatedErpServer`), the simulated store runs in its own, and the gateway
 * side (the inventory and sync modules, and PGlite when no DATABASE_URL is given) runs in a
 * child that does nothing else, so `process.resourceUsage().maxRSS` there is the reconcile's.
 *
 *   DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres npx tsx bench/reconcile-memory.bench.ts
 *   npx tsx bench/reconcile-memory.bench.ts          # PGlite on disk, inside the gateway child
 *   RECONCILE_SKUS=10000 npx tsx bench/reconcile-memory.bench.ts    # a smaller catalogue
 *   RECONCILE_CPU_PROF=/tmp/prof RECONCILE_SKUS=10000 npx tsx bench/reconcile-memory.bench.ts  # the measured child under --cpu-prof
 *
 * Besides time and memory it reports the steadier figures: the gateway's CPU time, its SQL
 * statements (PostgreSQL; BEGIN and COMMIT counted) and ERP round trips, each per 1,000 levels,
 * and the reconcile's phases as its log lines time them.
 *
 * A first child fills the database (catalogue, read model, one reconcile learning every level:
 * minutes at full size), then the store is changed behind Stockbridge's back (0.1% of levels
 * raised), then a fresh child runs the measured reconcile and reports its time and peak RSS.
 */
import { fork } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import postgres from 'postgres';
import { pino } from 'pino';
import { loadConfig } from '../src/config.js';
import { openDatabase } from '../src/db/database.js';
import type { ModuleDeps } from '../src/domain-module.js';
import { createDemoErp } from '../src/erp/simulated/demo-catalogue.js';
import { SimulatedErpConnector } from '../src/erp/simulated/simulated-erp-connector.js';
import { remoteSimulatedErpWire } from '../src/erp/simulated/simulated-erp-remote.js';
import { startSimulatedErpServer } from '../src/erp/simulated/simulated-erp-server.js';
import { createInventoryModule } from '../src/inventory/inventory.module.js';
import { createPushSignal } from '../src/inventory/push-signal.js';
import { createMetricsRegistry } from '../src/metrics.js';
import { AdminApiShopifyClient } from '../src/shopify/admin-api-shopify-client.js';
import { createSyncModule } from '../src/sync/sync.module.js';
import { startStoreProcess, storeProductsAtFreeStock } from './sync/bench-store.js';
import { countStatements } from './support/count-statements.js';

const SKUS = Number(process.env.RECONCILE_SKUS ?? 100_000);
/** The reconcile's phase lines (`full reconcile: …`, info level) are kept for the report; other lines go to stderr at LOG_LEVEL. */
const phases: string[] = [];
const log = pino(
  { level: 'info' },
  {
    write(line: string) {
      const entry = JSON.parse(line) as { level: number; msg?: string; ms?: number; comparedDuringRefresh?: number; heldForRefresh?: number };
      if (entry.msg?.startsWith('full reconcile:')) {
        const overlap = entry.comparedDuringRefresh === undefined ? '' : ` (${entry.comparedDuringRefresh} levels compared while the ERP refresh ran, ${entry.heldForRefresh} held back for it)`;
        phases.push(`${entry.msg.slice('full reconcile: '.length)} at ${((entry.ms ?? 0) / 1000).toFixed(1)} s${overlap}`);
      }
      if (entry.level >= pino.levels.values[process.env.LOG_LEVEL ?? 'warn']!) process.stderr.write(line);
    },
  },
);
const say = (line: string) => process.stdout.write(`${line}\n`);
const mb = (bytes: number) => Math.round(bytes / 1024 / 1024);

interface ChildEnv {
  readonly BENCH_ERP_URL: string;
  readonly BENCH_STORE: string;
  readonly BENCH_DATABASE_URL?: string;
  readonly BENCH_PGLITE_DIR?: string;
}

interface ChildReport {
  readonly seconds: number;
  readonly maxRssBytes: number;
  readonly rssBeforeBytes: number;
  /** Of that RSS before the reconcile: V8's heap (used and reserved) and memory outside it (Buffers, the database driver). */
  readonly heapUsedBeforeBytes: number;
  readonly heapTotalBeforeBytes: number;
  readonly externalBeforeBytes: number;
  /** CPU time (user + system) of the gateway side during the reconcile. */
  readonly cpuSeconds: number;
  /** Sampled every 250 ms during the reconcile: the highest RSS and V8 heap, and when RSS peaked (s after the start). */
  readonly sampledPeakRssBytes: number;
  readonly sampledPeakHeapUsedBytes: number;
  readonly sampledPeakAtSeconds: number;
  /** Load average (1 min) when the reconcile ended: the machine is shared. */
  readonly loadAverage: number;
  readonly levels: number;
  readonly pushed: number;
  readonly drift: number | null;
  readonly status: string;
  /** SQL statements the reconcile sent (PostgreSQL only, else null) and its ERP round trips. */
  readonly statements: number | null;
  readonly erpCalls: number;
  readonly phases: readonly string[];
}

/** The gateway side: `setup` fills the database, `reconcile` runs the measured reconcile. */
async function child(mode: 'setup' | 'reconcile'): Promise<void> {
  const store = JSON.parse(process.env.BENCH_STORE!) as { adminUrl: string; shopDomain: string; accessToken: string; apiSecret: string };
  const opened = await openDatabase({ databaseUrl: process.env.BENCH_DATABASE_URL, dataDir: process.env.BENCH_PGLITE_DIR, maxConnections: 10 });
  const counted = opened.kind === 'postgres' ? countStatements(opened) : null;
  const timed = process.env.RECONCILE_STATEMENT_TIMES && opened.kind === 'postgres' ? timeStatements(opened) : null;
  const database = counted?.database ?? opened;
  if (mode === 'setup') await database.migrate();
  const metrics = createMetricsRegistry({ defaultMetrics: false });
  // The simulated store computes a bulk export in one go, its process busy for tens of seconds at
  // 300,000 levels on a loaded machine: the status reads that land meanwhile wait, not fail.
  const shopify = new AdminApiShopifyClient({ shopDomain: store.shopDomain, accessToken: store.accessToken, adminUrl: store.adminUrl, logger: log, metrics, requestTimeoutMs: 180_000 });
  const wire = remoteSimulatedErpWire(process.env.BENCH_ERP_URL!);
  let erpCalls = 0;
  const erp = new SimulatedErpConnector({ call: (method, params, signal) => ((erpCalls += 1), wire.call(method, params, signal)) }, { logger: log });
  const deps: ModuleDeps = { config: loadConfig({ SCHEDULER: 'off' }), log, database, metrics, erp, shopify, shop: store.shopDomain, webhookSecret: store.apiSecret, now: () => new Date() };
  const pushSignal = createPushSignal();
  const inventory = createInventoryModule(deps, { pushSignal });
  if (mode === 'setup') {
    await inventory.start();
    await inventory.services.whenReady();
  }
  const sync = createSyncModule(deps, { mapping: inventory.services.mapping, atp: inventory.services.atp, pushSignal });
  if (mode === 'setup') await sync.services.runDelta();
  const memoryBefore = process.memoryUsage();
  const rssBefore = memoryBefore.rss;
  const statementsBefore = counted?.statements() ?? 0;
  const erpCallsBefore = erpCalls;
  phases.length = 0;
  const cpuBefore = process.cpuUsage();
  const started = performance.now();
  const peak = { rss: 0, heapUsed: 0, at: 0 };
  const sampler = setInterval(() => {
    const { rss, heapUsed } = process.memoryUsage();
    if (rss > peak.rss) Object.assign(peak, { rss, at: (performance.now() - started) / 1000 });
    peak.heapUsed = Math.max(peak.heapUsed, heapUsed);
  }, 250);
  const run = await sync.services.runFullReconcile();
  clearInterval(sampler);
  const cpu = process.cpuUsage(cpuBefore);
  const report: ChildReport = {
    seconds: (performance.now() - started) / 1000,
    maxRssBytes: process.resourceUsage().maxRSS * 1024,
    rssBeforeBytes: rssBefore,
    heapUsedBeforeBytes: memoryBefore.heapUsed,
    heapTotalBeforeBytes: memoryBefore.heapTotal,
    externalBeforeBytes: memoryBefore.external,
    cpuSeconds: (cpu.user + cpu.system) / 1e6,
    loadAverage: loadavg()[0]!,
    sampledPeakRssBytes: peak.rss,
    sampledPeakHeapUsedBytes: peak.heapUsed,
    sampledPeakAtSeconds: peak.at,
    levels: run.itemsConsidered,
    pushed: run.itemsPushed,
    drift: run.driftFound,
    status: run.status,
    statements: counted ? counted.statements() - statementsBefore : null,
    erpCalls: erpCalls - erpCallsBefore,
    phases: [...phases, ...(timed?.top(12) ?? [])],
  };
  await sync.stop();
  if (mode === 'setup') await inventory.stop();
  await shopify.close();
  await database.close();
  process.send!(report);
}

/**
 * RECONCILE_STATEMENT_TIMES=1: each statement's time from send to answer, summed by its first
 * words (statements outside transactions only: postgres.js's `unsafe` on the pool), to see where
 * the database time goes.
 */
function timeStatements(database: Awaited<ReturnType<typeof openDatabase>>): { top(count: number): string[] } {
  const pool = (database.db as unknown as { $client: { unsafe: (...args: unknown[]) => Promise<unknown> } }).$client;
  const unsafe = pool.unsafe.bind(pool);
  const totals = new Map<string, { ms: number; count: number }>();
  pool.unsafe = (...args: unknown[]) => {
    const query = unsafe(...args);
    const started = performance.now();
    const key = String(args[0]).replace(/\s+/g, ' ').slice(0, 90);
    void query.then(
      () => {
        const entry = totals.get(key) ?? { ms: 0, count: 0 };
        entry.ms += performance.now() - started;
        entry.count += 1;
        totals.set(key, entry);
      },
      () => undefined,
    );
    return query;
  };
  return {
    top: (count) =>
      [...totals.entries()]
        .sort((a, b) => b[1].ms - a[1].ms)
        .slice(0, count)
        .map(([key, { ms, count: n }]) => `${(ms / 1000).toFixed(1)} s in ${n} × ${key}`),
  };
}

function runChild(mode: 'setup' | 'reconcile', env: ChildEnv): Promise<ChildReport> {
  return new Promise((resolve, reject) => {
    const profile = mode === 'reconcile' && process.env.RECONCILE_CPU_PROF ? ['--cpu-prof', `--cpu-prof-dir=${process.env.RECONCILE_CPU_PROF}`] : [];
    const worker = fork(fileURLToPath(import.meta.url), ['--child', mode], { execArgv: ['--import', 'tsx', ...profile], env: { ...process.env, ...env }, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    let report: ChildReport | undefined;
    worker.on('message', (message) => (report = message as ChildReport));
    worker.once('exit', (code) => (report && code === 0 ? resolve(report) : reject(new Error(`the ${mode} child exited with ${code}`))));
  });
}

async function parent(): Promise<void> {
  const erp = createDemoErp({ skus: SKUS, locations: 3 });
  const server = await startSimulatedErpServer({ erp });
  const connector = new SimulatedErpConnector(erp, { logger: log });
  const warehouses = (await connector.listLocations()).filter((l) => l.kind === 'warehouse');
  const products = await storeProductsAtFreeStock(connector, warehouses);
  const store = await startStoreProcess({ locations: warehouses.map((w) => ({ key: w.code, name: w.name })), products });
  const skus = products.map((p) => p.variants[0]!.sku!).filter((sku) => !sku.startsWith('KIT-'));
  products.length = 0;
  await store.control('PUT', '/plan', { plan: { name: 'setup (unlimited)', maximumAvailable: 1_000_000_000, restoreRate: 1_000_000_000 } });

  let dropDatabase = async () => {};
  const env: ChildEnv = await (async () => {
    const base = { BENCH_ERP_URL: server.url, BENCH_STORE: JSON.stringify({ adminUrl: store.adminUrl, shopDomain: store.shopDomain, accessToken: store.accessToken, apiSecret: store.apiSecret }) };
    const adminUrl = process.env.DATABASE_URL;
    if (!adminUrl) return { ...base, BENCH_PGLITE_DIR: await mkdtemp(join(tmpdir(), 'reconcile-bench-pglite-')) };
    const name = `sb_bench_${randomBytes(4).toString('hex')}`;
    const admin = postgres(adminUrl, { max: 1, onnotice: () => {} });
    await admin.unsafe(`create database ${name}`);
    dropDatabase = async () => {
      await admin.unsafe(`drop database if exists ${name} with (force)`);
      await admin.end();
    };
    const url = new URL(adminUrl);
    url.pathname = `/${name}`;
    return { ...base, BENCH_DATABASE_URL: url.toString() };
  })();

  const setup = await runChild('setup', env);
  say(`setup: ${SKUS.toLocaleString('en')} SKUs × ${warehouses.length} warehouses, ${setup.levels.toLocaleString('en')} levels learnt in ${setup.seconds.toFixed(1)} s (first reconcile; its child's peak RSS ${mb(setup.maxRssBytes)} MB) (database: ${env.BENCH_DATABASE_URL ? 'postgres' : 'pglite'})`);

  // Behind Stockbridge's back: 0.1% of the levels raised in the store.
  const wrong = Math.max(1, Math.round(skus.length / 1_000));
  for (let i = 0; i < wrong; i++) {
    const sku = skus[(i * 997) % skus.length]!;
    const location = warehouses[i % warehouses.length]!.code;
    const [level] = await store.control<Array<{ quantities: { available: number } }>>('GET', `/levels?sku=${encodeURIComponent(sku)}&location=${location}`);
    await store.control('POST', '/levels', { sku, location, quantity: (level?.quantities.available ?? 0) + 7 });
  }
  await store.control('PUT', '/plan', { plan: 'standard' });

  const requestsBefore = (await store.requests()).length;
  const measured = await runChild('reconcile', env);
  const storeRequests = (await store.requests()).length - requestsBefore;
  const perThousand = (count: number) => ((count * 1000) / Math.max(1, measured.levels)).toFixed(1);
  say(
    `reconcile: ${measured.levels.toLocaleString('en')} levels, ${wrong} made wrong -> ${measured.status}, drift ${measured.drift}, pushed ${measured.pushed} in ${measured.seconds.toFixed(1)} s ` +
      `(gateway CPU ${measured.cpuSeconds.toFixed(1)} s, ${((measured.cpuSeconds * 1e6) / Math.max(1, measured.levels)).toFixed(0)} µs per level; load average ${measured.loadAverage.toFixed(1)}); ` +
      `${measured.statements === null ? 'SQL statements not counted (PGlite)' : `${measured.statements.toLocaleString('en')} SQL statements (${perThousand(measured.statements)} per 1,000 levels)`}, ` +
      `${measured.erpCalls.toLocaleString('en')} ERP round trips (${perThousand(measured.erpCalls)} per 1,000 levels), ${storeRequests} Shopify Admin API requests; ` +
      `gateway side peak RSS ${mb(measured.maxRssBytes)} MB (RSS ${mb(measured.rssBeforeBytes)} MB before the reconcile, of which V8 heap ${mb(measured.heapUsedBeforeBytes)} MB used of ${mb(measured.heapTotalBeforeBytes)} MB reserved, external ${mb(measured.externalBeforeBytes)} MB; sampled: RSS peak ${mb(measured.sampledPeakRssBytes)} MB at ${measured.sampledPeakAtSeconds.toFixed(0)} s, V8 heap used at most ${mb(measured.sampledPeakHeapUsedBytes)} MB); ERP process RSS ${mb(process.memoryUsage().rss)} MB`,
  );
  for (const phase of measured.phases) say(`  ${phase}`);
  await store.close();
  await server.close();
  await dropDatabase();
}

const mode = process.argv[2] === '--child' ? (process.argv[3] as 'setup' | 'reconcile') : null;
(mode ? child(mode) : parent()).catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exit(1);
});
