/**
 * The order drain, end to end: `orders/create` deliveries stored in the inbox (as the webhook
 * route stores them) → orders with mapped lines and pending units → simulated ERP sales orders,
 * driven by the in-process worker (its real loops, woken by the stored deliveries; no timer, no
 * scheduler). Prints orders per minute from the first delivery stored to the last sale written
 * back as SUBMITTED, the ERP round trips and the database statements per order, on PGlite and,
 * with DATABASE_URL, on PostgreSQL. Target (issue #17): at least 10,000 orders/min.
 *
 *   npx tsx bench/order-drain.bench.ts [orders] [pglite|postgres|both|tryton|http]
 *
 * `http`: the same drain into the simulated ERP served over HTTP by `simulate-erp`'s server
 * (startSimulatedErpServer) in a process of its own, through the remote wire, as the Black
 * Friday simulation runs it (ERP_CONNECTOR=simulated with ERP_URL); on PostgreSQL when
 * DATABASE_URL is set, else PGlite. The gateway's CPU and the ERP server's are printed apart.
 *
 * BENCH_PRESTORED=1: every delivery is stored before the worker starts, and the time runs from
 * the worker's start: the drain alone, without the deliveries' storing (the webhook path, which
 * competes for the same two cores) running beside it.
 *
 * `tryton`: the same drain into a real trytond (ERP_URL, ERP_DATABASE, ERP_USER, ERP_PASSWORD:
 * `eval "$(bash scripts/tryton.sh env)"`), on PostgreSQL when DATABASE_URL is set, else PGlite;
 * 20 products are created and stocked there first. It also prints where the time goes: each
 * JSON-RPC method's calls per order and mean time, measured on the wire.
 *
 * Knobs to compare settings (defaults: the processor's and the connector's own):
 * BENCH_CONCURRENCY (orders worked on at once), BENCH_ERP_SLOTS (orders past the claim check
 * waiting for the ERP), BENCH_ERP_CONCURRENCY (the connector's calls in flight, simulated or Tryton).
 *
 * With DATABASE_URL it creates and drops a private database next to DATABASE_URL's. The
 * machine's load average is printed with each figure: on a shared two-core machine they move
 * with whatever else runs.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { cpus, loadavg } from 'node:os';
import { count, eq } from 'drizzle-orm';
import postgres from 'postgres';
import { Registry } from 'prom-client';
import { TrytonErpFixture } from '../scripts/lib/tryton-fixture.js';
import { createAlertSender } from '../src/alerts/alert-sender.js';
import { loadConfig } from '../src/config.js';
import { openDatabase, type Database } from '../src/db/database.js';
import { inventoryLevels, shopifyOrders } from '../src/db/schema/index.js';
import type { ModuleDeps } from '../src/domain-module.js';
import type { ErpConnector } from '../src/erp/erp-connector.js';
import { TrytonErpConnector } from '../src/erp/tryton/tryton-erp-connector.js';
import { TrytonRpcClient } from '../src/erp/tryton/tryton-rpc-client.js';
import { SimulatedErpConnector } from '../src/erp/simulated/simulated-erp-connector.js';
import { remoteSimulatedErpWire } from '../src/erp/simulated/simulated-erp-remote.js';
import { drizzle as drizzlePostgres } from 'drizzle-orm/postgres-js';
import { drizzle as drizzlePglite } from 'drizzle-orm/pglite';
import type { PGlite } from '@electric-sql/pglite';
import type { Db } from '../src/db/database.js';
import * as schema from '../src/db/schema/index.js';
import { createLogger } from '../src/logger.js';
import { createOrdersModule } from '../src/orders/orders.module.js';
import { noShopify, stockedErp, tableMapping } from './support/orders-bench.js';
import { startSimulatedErpProcess, type SimulatedErpProcess } from './support/simulated-erp-process.js';
import { createWireCounter, wireLines } from './support/tryton-wire.js';

const total = Number(process.argv[2] ?? 3_000);
const which = process.argv[3] ?? 'both';
const shop = 'bench-drain.myshopify.com';
const tryton = which === 'tryton';
const runId = randomBytes(3).toString('hex').toUpperCase();
const skus = tryton ? Array.from({ length: 20 }, (_, i) => `DR${runId}-${String(i + 1).padStart(2, '0')}`) : Array.from({ length: 200 }, (_, i) => `DRAIN-${String(i + 1).padStart(4, '0')}`);
const warehouses = tryton ? ['WH'] : ['WH-A', 'WH-B'];
/** Each order id is unique per run (a real ERP keeps earlier runs' sales). */
const orderBase = tryton ? 700_000_000 + (parseInt(runId, 16) % 1_000) * 100_000 : 900_000_000;

/** Tryton's JSON-RPC methods as seen on the wire: calls and total milliseconds per method. */
const wire = createWireCounter();

async function trytonConnector(log: ReturnType<typeof createLogger>): Promise<ErpConnector> {
  const { ERP_URL, ERP_DATABASE, ERP_USER, ERP_PASSWORD } = process.env;
  if (!ERP_URL || !ERP_DATABASE || !ERP_USER || !ERP_PASSWORD) {
    process.stderr.write('order-drain bench (tryton): set ERP_URL, ERP_DATABASE, ERP_USER and ERP_PASSWORD\n');
    process.exit(2);
  }
  const credentials = { url: ERP_URL, database: ERP_DATABASE, user: ERP_USER, password: ERP_PASSWORD };
  const fixture = new TrytonErpFixture(new TrytonRpcClient({ ...credentials, logger: log }));
  await fixture.createProducts(skus.map((sku) => ({ sku, name: `Drain bench ${sku}` })));
  await fixture.receiveMany('WH', skus.map((sku) => ({ sku, quantity: 100_000 })));
  // BENCH_ERP_CONCURRENCY: the connector's calls in flight (its default is 2; trytond serves
  // each request on a thread of its one process).
  const slots = process.env.BENCH_ERP_CONCURRENCY ? Number(process.env.BENCH_ERP_CONCURRENCY) : undefined;
  return new TrytonErpConnector({ ...credentials, logger: log, fetch: wire.fetch, ...(slots ? { policy: { maxConcurrent: slots } } : {}) });
}

function body(orderId: number, i: number): string {
  const now = new Date().toISOString();
  return JSON.stringify({
    id: orderId,
    admin_graphql_api_id: `gid://shopify/Order/${orderId}`,
    name: `#${orderId}`,
    email: `buyer${i % 500}@example.com`,
    created_at: now,
    updated_at: now,
    cancelled_at: null,
    currency: 'EUR',
    financial_status: 'paid',
    taxes_included: false,
    test: false,
    customer: { id: 100 + (i % 500), first_name: 'Bench', last_name: `Buyer ${i % 500}`, email: `buyer${i % 500}@example.com` },
    shipping_address: { first_name: 'Bench', last_name: `Buyer ${i}`, name: `Bench Buyer ${i}`, address1: '1 Quay Street', city: 'Bristol', zip: 'BS1 4XE', country: 'United Kingdom', country_code: 'GB', phone: null, company: null, address2: null, province_code: null },
    line_items: Array.from({ length: 1 + (i % 3) }, (_, l) => {
      const n = (i * 7 + l * 13) % skus.length;
      return { id: orderId * 10 + l, admin_graphql_api_id: `gid://shopify/LineItem/${orderId * 10 + l}`, variant_id: 1000 + n, sku: skus[n], title: `Product ${n}`, name: `Product ${n}`, quantity: 1 + (l % 2), current_quantity: 1 + (l % 2), price: '19.90', gift_card: false, tax_lines: [], discount_allocations: [] };
    }),
    refunds: [],
  });
}

/**
 * The database with every statement counted: Drizzle's query log (one per statement sent) plus
 * BEGIN and COMMIT of each transaction, which the log does not show.
 */
function countStatements(database: Database): { database: Database; statements: () => number } {
  let count = 0;
  const logger = { logQuery: () => void count++ };
  const client = (database.db as unknown as { $client: unknown }).$client;
  const db = (database.kind === 'pglite' ? drizzlePglite(client as PGlite, { schema, logger }) : drizzlePostgres(client as postgres.Sql, { schema, logger })) as unknown as Db;
  const transaction = db.transaction.bind(db);
  (db as { transaction: Db['transaction'] }).transaction = ((work, config) => {
    count += 2;
    return transaction(work, config);
  }) as Db['transaction'];
  return { database: { ...database, db, migrate: () => database.migrate(), close: () => database.close() }, statements: () => count };
}

async function run(kind: 'pglite' | 'postgres', erpKind: 'simulated' | 'tryton' | 'http' = 'simulated'): Promise<void> {
  let database: Database;
  let drop: (() => Promise<void>) | null = null;
  if (kind === 'postgres') {
    const adminUrl = process.env.DATABASE_URL!;
    const name = `sb_bench_${randomBytes(5).toString('hex')}`;
    const admin = postgres(adminUrl, { max: 1, onnotice: () => {} });
    await admin.unsafe(`create database ${name}`);
    const url = new URL(adminUrl);
    url.pathname = `/${name}`;
    database = await openDatabase({ databaseUrl: url.toString(), maxConnections: 20 });
    drop = async () => {
      await admin.unsafe(`drop database if exists ${name} with (force)`);
      await admin.end();
    };
  } else {
    database = await openDatabase({});
  }
  const counted = countStatements(database);
  database = counted.database;
  const log = createLogger(process.env.LOG_LEVEL ?? 'warn');
  const erp = stockedErp(skus, warehouses);
  const erpConcurrency = process.env.BENCH_ERP_CONCURRENCY ? Number(process.env.BENCH_ERP_CONCURRENCY) : undefined;
  const simulatedOptions = { logger: log, ...(erpConcurrency ? { policy: { maxConcurrent: erpConcurrency } } : {}) };
  let server: SimulatedErpProcess | null = null;
  if (erpKind === 'http') server = await startSimulatedErpProcess(skus, warehouses);
  const connector: ErpConnector =
    erpKind === 'tryton'
      ? await trytonConnector(log)
      : new SimulatedErpConnector(server ? remoteSimulatedErpWire(server.url) : erp, simulatedOptions);
  const mapping = tableMapping(skus, warehouses);
  const shopify = noShopify();
  const config = loadConfig({ PORT: '0', LOG_LEVEL: 'warn', SCHEDULER: 'off' });
  const deps: ModuleDeps = { config, log, database, metrics: new Registry(), erp: connector, shopify, shop, webhookSecret: 'bench', now: () => new Date() };
  const alerts = createAlertSender({ log });
  const processor = {
    ...(process.env.BENCH_CONCURRENCY ? { concurrency: Number(process.env.BENCH_CONCURRENCY) } : {}),
    ...(process.env.BENCH_ERP_SLOTS ? { erpSlots: Number(process.env.BENCH_ERP_SLOTS) } : {}),
  };
  const module = createOrdersModule(deps, { mapping, alerts, worker: false, defaultLocation: warehouses[0], processor });
  try {
    await database.migrate();
    await database.db.insert(inventoryLevels).values(skus.flatMap((sku) => warehouses.map((location) => ({ shop, sku, location, onHand: 1_000_000, availableToPromise: 1_000_000 }))));
    await module.start();
    const deliveries = Array.from({ length: total }, (_, i) => ({
      topic: 'orders/create',
      shopDomain: shop,
      webhookId: randomUUID(),
      eventId: randomUUID(),
      apiVersion: '2026-10',
      triggeredAt: new Date().toISOString(),
      body: Buffer.from(body(orderBase + i, i)),
    }));
    const prestored = process.env.BENCH_PRESTORED === '1';
    // Stored as the route stores them, 32 at a time (while the worker drains alongside, unless prestored).
    const store = async () => {
      let next = 0;
      await Promise.all(
        Array.from({ length: 32 }, async () => {
          for (let i = next++; i < deliveries.length; i = next++) await module.inbox.receive(deliveries[i]!);
        }),
      );
    };
    if (prestored) await store();
    const serverBefore = server ? await server.stats() : null;
    const tripsBefore = erp.roundTrips();
    const statementsBefore = counted.statements();
    wire.reset();
    const cpuBefore = process.cpuUsage();
    const started = performance.now();
    module.worker.start();
    if (!prestored) await store();
    const storedMs = performance.now() - started;
    for (;;) {
      const [row] = await database.db.select({ n: count() }).from(shopifyOrders).where(eq(shopifyOrders.status, 'SUBMITTED'));
      if (Number(row!.n) >= total) break;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    const ms = performance.now() - started;
    const cpu = process.cpuUsage(cpuBefore);
    const statements = counted.statements() - statementsBefore;
    const serverAfter = server ? await server.stats() : null;
    const trips = erpKind === 'tryton' ? wire.total() : serverAfter ? serverAfter.roundTrips - serverBefore!.roundTrips : erp.roundTrips() - tripsBefore;
    const serverCpu = serverAfter ? `; the ERP server's own process ${((serverAfter.cpuMicros - serverBefore!.cpuMicros) / 1000 / total).toFixed(3)} ms CPU per order` : '';
    process.stdout.write(
      `${kind.padEnd(8)} ${total} orders ${prestored ? 'stored first, then' : `stored (in ${(storedMs / 1000).toFixed(1)} s) and`} drained into the ${erpKind === 'tryton' ? 'real Tryton' : erpKind === 'http' ? 'simulated ERP over HTTP' : 'simulated ERP'} in ${(ms / 1000).toFixed(1)} s: ` +
        `${Math.round((total / ms) * 60_000)} orders/min, ${(trips / total).toFixed(2)} ERP round trips and ${(statements / total).toFixed(2)} SQL statements per order (inbox included), ` +
        `gateway CPU ${((cpu.user + cpu.system) / 1000 / total).toFixed(2)} ms per order${serverCpu}  (load average ${loadavg()[0]!.toFixed(1)} on ${cpus().length} cores)\n`,
    );
    if (erpKind === 'tryton') {
      process.stdout.write(`  the connector's calls in flight: ${process.env.BENCH_ERP_CONCURRENCY ?? '2 (default)'}\n`);
      for (const line of wireLines(wire.entries(), { count: total, unit: 'order' })) process.stdout.write(`${line}\n`);
    }
  } finally {
    await module.stop();
    await alerts.close();
    await (connector as { close?: () => Promise<void> }).close?.();
    await server?.close();
    await database.close();
    await drop?.();
  }
}

if (tryton) await run(process.env.DATABASE_URL ? 'postgres' : 'pglite', 'tryton');
if (which === 'http') await run(process.env.DATABASE_URL ? 'postgres' : 'pglite', 'http');
if (which === 'both' || which === 'pglite') await run('pglite');
if (which === 'both' || which === 'postgres') {
  if (process.env.DATABASE_URL) await run('postgres');
  else process.stdout.write('postgres: skipped (set DATABASE_URL)\n');
}
