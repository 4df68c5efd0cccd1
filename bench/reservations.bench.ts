/**
 * Reservations on PostgreSQL: reservations per second and p50/p99 latency of `reserveInventory`
 * (the service, i.e. the database decision) on one hot SKU and spread over 1,000 SKUs, with a
 * fixed number of calls in flight. Targets: at least 500/s on one hot SKU, p99 under 50 ms.
 *
 *   DATABASE_URL=postgres://postgres@127.0.0.1:5432/test npx tsx bench/reservations.bench.ts [reservations] [in-flight,...]
 *
 * Each line also prints the machine's load average: on a shared two-core machine the figures
 * move a lot with what else runs.
 *
 * It creates and drops a private database next to DATABASE_URL's.
 */
import { randomBytes } from 'node:crypto';
import { cpus, loadavg } from 'node:os';
import postgres from 'postgres';
import { openDatabase, type Database } from '../src/db/database.js';
import { availableToPromise, inventoryLevels } from '../src/db/schema/index.js';
import { createLogger } from '../src/logger.js';
import { createMetricsRegistry } from '../src/metrics.js';
import { createReservationsRepository } from '../src/reservations/reservations.repository.js';
import { createReservationsService, type ReservationsService } from '../src/reservations/reservations.service.js';

const adminUrl = process.env.DATABASE_URL;
if (!adminUrl) {
  process.stderr.write('reservations bench: set DATABASE_URL (PostgreSQL)\n');
  process.exit(2);
}
const total = Number(process.argv[2] ?? 3000);
const inFlightLevels = (process.argv[3] ?? '8,32').split(',').map(Number);
const shop = 'bench.myshopify.com';
const actor = { id: 'bench-app', seesAll: false };

function percentile(sorted: readonly number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

async function run(label: string, service: ReservationsService, inFlight: number, skuFor: (i: number) => string): Promise<void> {
  const latencies: number[] = [];
  let next = 0;
  let granted = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: inFlight }, async () => {
      for (let i = next++; i < total; i = next++) {
        const t0 = performance.now();
        const outcome = await service.reserve(actor, {
          sku: skuFor(i),
          location: 'WH1',
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
  latencies.sort((a, b) => a - b);
  console.log(
    `${label.padEnd(24)} ${total} reservations (${granted} granted), ${String(inFlight).padStart(2)} in flight: ` +
      `${(total / seconds).toFixed(0).padStart(5)}/s  p50 ${percentile(latencies, 50).toFixed(1).padStart(5)} ms  p99 ${percentile(latencies, 99).toFixed(1).padStart(5)} ms  ` +
      `max ${latencies.at(-1)!.toFixed(1).padStart(5)} ms  (load average ${loadavg()[0]!.toFixed(1)} on ${cpus().length} cores)`,
  );
}

const name = `sb_bench_${randomBytes(6).toString('hex')}`;
const admin = postgres(adminUrl, { max: 1, onnotice: () => {} });
await admin.unsafe(`create database ${name}`);
const url = new URL(adminUrl);
url.pathname = `/${name}`;
let database: Database | undefined;
try {
  database = await openDatabase({ databaseUrl: url.toString(), maxConnections: 20 });
  await database.migrate();
  const terms = { onHand: 1_000_000, allocated: 0, safetyStock: 0, wholesaleCommitted: 0, reserved: 0, pendingOrders: 0, unexplainedShopifyDrop: 0 };
  const skus = Array.from({ length: 1000 }, (_, i) => `SPREAD-${String(i).padStart(4, '0')}`);
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
    await run('spread over 1,000 SKUs', service, inFlight, (i) => skus[(i * 7919) % skus.length]!);
  }
} finally {
  await database?.close();
  await admin.unsafe(`drop database if exists ${name} with (force)`);
  await admin.end();
}
