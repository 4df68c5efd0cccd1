/**
 * Reservations on PostgreSQL: reservations per second and p50/p99 latency of `reserveInventory`
 * (the service, i.e. the database decision) on one hot SKU and spread over 100 SKUs, with a
 * fixed number of calls in flight. Targets: at least 500/s on one hot SKU, p99 under 50 ms. Then
 * the time from a reservation to the simulated store's `available` changing, through the whole
 * gateway on the demo (target: under 2 s).
 *
 *   DATABASE_URL=postgres://postgres@127.0.0.1:5432/test npx tsx bench/reservations.bench.ts [reservations=3000] [in-flight,...=16,32] [decisions-only]
 *
 * `decisions-only` skips the whole-gateway push latency. The same from outside, through HTTP:
 * bench/reservations-http.bench.ts.
 *
 * `take` (as the fourth argument) runs only the real path of a pushed position instead: the
 * whole gateway on the demo (INVENTORY_PUSH on, scheduler on), one hot SKU mapped to a Shopify
 * variant of the simulated store, so every grant first takes its units out of Shopify's
 * `available` (src/reservations/README.md, "No two channels sell the same unit"). It prints the
 * reservations per batch, Shopify calls and SQL statements per reservation (every statement the
 * gateway sent meanwhile, background included) and the Shopify call's own time.
 *
 * Each line also prints the Node process's CPU time per reservation (steadier than the rates)
 * and the machine's load average: on a shared two-core machine the figures move a lot with what
 * else runs.
 *
 * It creates and drops private databases next to DATABASE_URL's.
 */
import { randomBytes } from 'node:crypto';
import { cpus, loadavg } from 'node:os';
import postgres from 'postgres';
import { and, eq } from 'drizzle-orm';
import { loadConfig } from '../src/config.js';
import { openDatabase, type Database } from '../src/db/database.js';
import { startGateway } from '../src/gateway.js';
import type { PushTarget } from '../src/inventory/inventory.models.js';
import { groupPushTargets } from '../src/inventory/push-targets.js';
import { inventoryLevels } from '../src/db/schema/index.js';
import { availableToPromise } from '../src/inventory/read-model/atp-formula.js';
import { createLogger } from '../src/logger.js';
import { createMetricsRegistry } from '../src/metrics.js';
import { createReservationsRepository } from '../src/reservations/reservations.repository.js';
import { createReservationsService, type ReservationsService } from '../src/reservations/reservations.service.js';
import { countStatements } from './support/count-statements.js';

const adminUrl = process.env.DATABASE_URL;
if (!adminUrl) {
  process.stderr.write('reservations bench: set DATABASE_URL (PostgreSQL)\n');
  process.exit(2);
}
const total = Number(process.argv[2] ?? 3000);
const inFlightLevels = (process.argv[3] ?? '16,32').split(',').map(Number);
const shop = 'bench.myshopify.com';
const actor = { id: 'bench-app', seesAll: false };

function percentile(sorted: readonly number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

async function run(label: string, service: ReservationsService, inFlight: number, skuFor: (i: number) => string, location = 'WH1'): Promise<void> {
  const latencies: number[] = [];
  let next = 0;
  let granted = 0;
  const cpuBefore = process.cpuUsage();
  const started = performance.now();
  await Promise.all(
    Array.from({ length: inFlight }, async () => {
      for (let i = next++; i < total; i = next++) {
        const t0 = performance.now();
        const outcome = await service.reserve(actor, {
          sku: skuFor(i),
          location,
          quantity: 1,
          reference: `PO-${i}`,
          idempotencyKey: `${label}-${inFlight}-${i}`,
        });
        latencies.push(performance.now() - t0);
        if (outcome.kind === 'reserved') granted += 1;
      }
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  const cpu = process.cpuUsage(cpuBefore);
  latencies.sort((a, b) => a - b);
  console.log(
    `${label.padEnd(24)} ${total} reservations (${granted} granted), ${String(inFlight).padStart(2)} in flight: ` +
      `${(total / seconds).toFixed(0).padStart(5)}/s  p50 ${percentile(latencies, 50).toFixed(1).padStart(5)} ms  p99 ${percentile(latencies, 99).toFixed(1).padStart(5)} ms  ` +
      `max ${latencies.at(-1)!.toFixed(1).padStart(5)} ms  Node CPU ${((cpu.user + cpu.system) / 1000 / total).toFixed(2)} ms/reservation  (load average ${loadavg()[0]!.toFixed(1)} on ${cpus().length} cores)`,
  );
}

/**
 * The demo's pushed Shopify levels fed by one ERP position with no unit conversion and no kit:
 * where one reservation moves Shopify's `available` by exactly one unit.
 */
async function simplePushedLevels(gateway: Awaited<ReturnType<typeof startGateway>>) {
  const targets: PushTarget[] = [];
  for (let after: string | null = null; ; ) {
    const page = await gateway.services.inventory.mapping.listPushTargets({ after, first: 1_000 });
    targets.push(...page.items);
    if (!page.nextCursor) break;
    after = page.nextCursor;
  }
  return groupPushTargets(targets).filter(
    (g) => g.erpLocations.length === 1 && g.conversion.erpUnits === 1 && g.conversion.shopifyUnits === 1 && !g.sku.startsWith('KIT-'),
  );
}

/**
 * The whole gateway on the demo (simulated ERP and store, scheduler on): the time from a
 * reservation's decision to the simulated store's `available` changing, through the event push.
 */
async function pushLatency(databaseUrl: string, samples: number): Promise<void> {
  const gateway = await startGateway(loadConfig({ PORT: '0', SCHEDULER: 'on', DATABASE_URL: databaseUrl, LOG_LEVEL: 'silent' }), createLogger('silent'));
  try {
    await gateway.services.inventory.whenReady();
    const simple = await simplePushedLevels(gateway);
    const available = (g: (typeof simple)[number]) =>
      gateway.demo!.shopify.state.level({ inventoryItemId: g.inventoryItemId, location: g.shopifyLocationId })?.quantities.available;
    const atpOf = async (g: (typeof simple)[number]) => {
      const [row] = await gateway.database.db
        .select({ atp: inventoryLevels.availableToPromise })
        .from(inventoryLevels)
        .where(and(eq(inventoryLevels.shop, gateway.deps.shop), eq(inventoryLevels.sku, g.sku), eq(inventoryLevels.location, g.erpLocations[0]!)));
      return row?.atp ?? 0;
    };
    // Wait for the first reconcile: positions whose Shopify figure already shows the ATP.
    const chosen: typeof simple = [];
    const deadline = Date.now() + 60_000;
    while (chosen.length < samples + 1 && Date.now() < deadline) {
      for (const g of simple) {
        if (chosen.length > samples || chosen.some((c) => c.sku === g.sku && c.erpLocations[0] === g.erpLocations[0])) continue;
        const atp = await atpOf(g);
        if (atp >= 5 && available(g) === atp) chosen.push(g);
      }
      if (chosen.length <= samples) await sleep(500);
    }
    // With INVENTORY_PUSH on, each grant first takes its unit out of Shopify (one call): on the
    // demo's Standard plan the start-up reconcile may have spent the bucket, and a take that waits
    // longer than its budget is refused with STORE_UNAVAILABLE. The peak day is a Plus store; a
    // refusal is asked again under the same key, as the contract invites, and counted.
    gateway.demo!.shopify.state.setPlan(process.env.BENCH_SHOPIFY_PLAN ?? 'plus');
    const times: number[] = [];
    let missed = 0;
    let askedAgain = 0;
    for (const g of chosen) {
      const before = available(g);
      const started = performance.now();
      const input = { sku: g.sku, location: g.erpLocations[0]!, quantity: 1, reference: 'bench', idempotencyKey: `push-${g.sku}-${g.erpLocations[0]}` };
      for (let attempt = 1; ; attempt++) {
        try {
          await gateway.services.reservations.reserve(actor, input);
          break;
        } catch (error) {
          if ((error as { code?: string }).code !== 'STORE_UNAVAILABLE' || attempt >= 5) throw error;
          askedAgain += 1;
          await sleep(1_000);
        }
      }
      while (available(g) === before && performance.now() - started < 10_000) await sleep(2);
      if (available(g) === before) missed += 1;
      else times.push(performance.now() - started);
    }
    // The first push after start-up may queue behind the start-up reconcile: reported apart.
    const first = times.shift();
    if (first !== undefined) console.log(`reservation -> Shopify available, first after start-up: ${first.toFixed(0)} ms`);
    times.sort((a, b) => a - b);
    console.log(
      times.length === 0
        ? `reservation -> Shopify available: no change within 10 s for ${missed} reservations (is the event push running?)`
        : `reservation -> Shopify available (${times.length} reservations, one at a time): p50 ${percentile(times, 50).toFixed(0)} ms  ` +
            `max ${times.at(-1)!.toFixed(0)} ms${missed ? `  (${missed} not within 10 s)` : ''}${askedAgain ? `  (${askedAgain} asked again after STORE_UNAVAILABLE)` : ''}  (load average ${loadavg()[0]!.toFixed(1)})`,
    );
  } finally {
    await gateway.close();
  }
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function privateDatabase(admin: postgres.Sql): Promise<{ url: string; drop(): Promise<void> }> {
  const name = `sb_bench_${randomBytes(6).toString('hex')}`;
  await admin.unsafe(`create database ${name}`);
  const url = new URL(adminUrl!);
  url.pathname = `/${name}`;
  return { url: url.toString(), drop: async () => void (await admin.unsafe(`drop database if exists ${name} with (force)`)) };
}

/**
 * The real path of a pushed hot SKU: the demo gateway with INVENTORY_PUSH on, a mapped SKU with a
 * million units pushed to the simulated store, every reservation's take made in Shopify.
 */
async function takeRun(databaseUrl: string): Promise<void> {
  const opened = await openDatabase({ databaseUrl, maxConnections: 10 });
  const counted = countStatements(opened);
  const gateway = await startGateway(
    loadConfig({ PORT: '0', SCHEDULER: 'on', DATABASE_URL: databaseUrl, LOG_LEVEL: 'silent', INVENTORY_PUSH: 'on' }),
    createLogger('silent'),
    { database: counted.database },
  );
  try {
    await gateway.services.inventory.whenReady();
    const hot = (await simplePushedLevels(gateway))[0];
    if (!hot) throw new Error('no simple pushed SKU in the demo catalogue');
    const location = hot.erpLocations[0]!;
    const shopify = gateway.demo!.shopify.state;
    const available = () => shopify.level({ inventoryItemId: hot.inventoryItemId, location: hot.shopifyLocationId })?.quantities.available;
    gateway.demo!.erp.receiveStock({ sku: hot.sku, location, quantity: 1_000_000 });
    await gateway.services.inventory.atp.refreshPositions([hot.sku]);
    const atpOf = async () => {
      const [row] = await gateway.database.db
        .select({ atp: inventoryLevels.availableToPromise })
        .from(inventoryLevels)
        .where(and(eq(inventoryLevels.shop, gateway.deps.shop), eq(inventoryLevels.sku, hot.sku), eq(inventoryLevels.location, location)));
      return row?.atp ?? 0;
    };
    // Shopify must offer what the ATP says before the run: the take's baseline is then exact.
    for (const deadline = Date.now() + 60_000; Date.now() < deadline; await sleep(250)) {
      await gateway.services.sync.runEventPush().catch(() => null);
      if ((await atpOf()) >= 1_000_000 && available() === (await atpOf())) break;
    }
    if (available() !== (await atpOf())) throw new Error(`Shopify offers ${available()}, the ATP is ${await atpOf()}: the push did not land`);
    console.log(`pushed hot SKU ${hot.sku} at ${location}: ATP ${await atpOf()}, Shopify available ${available()}`);

    // Each take is an inventoryAdjustQuantities (10 points): on the demo's Standard plan (100
    // points/s) the cost limit alone allows 10 takes a second. The peak day is a Plus store.
    const plan = process.env.BENCH_SHOPIFY_PLAN ?? 'plus';
    const limits = shopify.setPlan(plan);
    console.log(`simulated store on the ${plan} plan: ${limits.restoreRate} points/s, bucket ${limits.maximumAvailable}`);
    const service = gateway.services.reservations;
    const adjustCalls = () => shopify.requestLog().filter((entry) => entry.rootFields.includes('inventoryAdjustQuantities'));
    await run('warm-up (take)', service, 16, () => hot.sku, location);
    for (const inFlight of inFlightLevels) {
      const callsBefore = adjustCalls();
      const statementsBefore = counted.statements();
      counted.texts.clear();
      await run('pushed hot SKU (take)', service, inFlight, () => hot.sku, location);
      const calls = adjustCalls().slice(callsBefore.length);
      if (process.env.BENCH_STATEMENTS === '1') {
        for (const [text, count] of [...counted.texts].sort((a, b) => b[1] - a[1]).slice(0, 25)) console.log(`  ${String(count).padStart(6)}  ${text.replace(/\s+/g, ' ')}`);
      }
      const statements = counted.statements() - statementsBefore;
      const callMs = calls.map((call) => call.durationMs).sort((a, b) => a - b);
      console.log(
        `  ${calls.length} takes: ${(total / Math.max(1, calls.length)).toFixed(1)} reservations a batch, ${(calls.length / total).toFixed(3)} Shopify calls and ` +
          `${(statements / total).toFixed(2)} SQL statements per reservation (${(statements / Math.max(1, calls.length)).toFixed(1)} a batch, background included); ` +
          `simulator's time per call p50 ${percentile(callMs, 50).toFixed(1)} ms, p99 ${percentile(callMs, 99).toFixed(1)} ms`,
      );
    }
    const atpAfter = await atpOf();
    if (available() !== atpAfter) console.log(`  after the run: Shopify available ${available()}, ATP ${atpAfter} (the event push catches up)`);
  } finally {
    await gateway.close();
  }
}

const admin = postgres(adminUrl, { max: 1, onnotice: () => {} });
if (process.argv[4] === 'take') {
  const whole = await privateDatabase(admin);
  try {
    await takeRun(whole.url);
  } finally {
    await whole.drop();
    await admin.end();
  }
  process.exit(0);
}
const decisions = await privateDatabase(admin);
let database: Database | undefined;
try {
  database = await openDatabase({ databaseUrl: decisions.url, maxConnections: 20 });
  await database.migrate();
  const terms = { onHand: 1_000_000, allocated: 0, safetyStock: 0, wholesaleCommitted: 0, reserved: 0, pendingOrders: 0, unexplainedShopifyDrop: 0, expiringLotUnits: 0 };
  const skus = Array.from({ length: 100 }, (_, i) => `SPREAD-${String(i).padStart(3, '0')}`);
  await database.db.insert(inventoryLevels).values(
    ['HOT-1', ...skus].map((sku) => ({ shop, sku, location: 'WH1', ...terms, availableToPromise: availableToPromise(terms) })),
  );
  const service = createReservationsService({
    repository: createReservationsRepository(database.db, shop),
    log: createLogger('silent'),
    now: () => new Date(),
    defaultTtlSeconds: 3600,
    metrics: createMetricsRegistry({ defaultMetrics: false }),
  });
  // Warm the pool and the plans.
  await run('warm-up', service, 32, (i) => skus[i % skus.length]!);
  for (const inFlight of inFlightLevels) {
    await run('one hot SKU', service, inFlight, () => 'HOT-1');
    await run('spread over 100 SKUs', service, inFlight, (i) => skus[(i * 7919) % skus.length]!);
  }
} finally {
  await database?.close();
  await decisions.drop();
}
if (process.argv[4] === 'decisions-only') {
  await admin.end();
} else {
  const whole = await privateDatabase(admin);
  try {
    await pushLatency(whole.url, 20);
  } finally {
    await whole.drop();
    await admin.end();
  }
}
