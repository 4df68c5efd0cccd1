/**
 * How long the Tryton connector takes to read stock terms (onHand, allocated,
 * wholesaleCommitted) for 1,000 and 10,000 SKUs at 3 warehouses of a real trytond, and how many
 * round trips it uses. The first run seeds 10,000 products (BENCH-00001…) stocked at the three
 * warehouses, in batches, and 60 wholesale orders (half of them assigned) so that allocations
 * and commitments are read too; later runs reuse them.
 *
 * It writes 10,000 products: give it its own trytond, not the one the tests use (their paging
 * tests would then walk 10,000 more products):
 *
 *   TRYTON_DIR=.tryton/bench TRYTON_PORT=8001 bash scripts/tryton.sh start
 *   eval "$(TRYTON_DIR=.tryton/bench TRYTON_PORT=8001 bash scripts/tryton.sh env)"
 *   npx tsx bench/erp-stock.bench.ts [pageSize...]      # default: the connector's page, 1000
 *   TRYTON_DIR=.tryton/bench TRYTON_PORT=8001 bash scripts/tryton.sh stop
 */
import { pino } from 'pino';
import { z } from 'zod';
import { TrytonErpConnector } from '../src/erp/tryton/tryton-erp-connector.js';
import { TrytonRpcClient } from '../src/erp/tryton/tryton-rpc-client.js';
import { createLogger } from '../src/logger.js';
import { TrytonErpFixture } from '../scripts/lib/tryton-fixture.js';

const env = z
  .object({ ERP_URL: z.string().url(), ERP_DATABASE: z.string().min(1), ERP_USER: z.string().min(1), ERP_PASSWORD: z.string().min(1) })
  .safeParse(process.env);
if (!env.success) {
  process.stderr.write('Set ERP_URL, ERP_DATABASE, ERP_USER and ERP_PASSWORD (see the header of this file).\n');
  process.exit(2);
}
const credentials = { url: env.data.ERP_URL, database: env.data.ERP_DATABASE, user: env.data.ERP_USER, password: env.data.ERP_PASSWORD };
const logger = createLogger('warn', pino.destination(2));
const PRODUCTS = 10_000;
const LOCATIONS = ['WH', 'WH-EAST', 'WH-WEST'];
const pageSizes = process.argv.slice(2).map(Number).filter((n) => n > 0);
const skus = Array.from({ length: PRODUCTS }, (_, i) => `BENCH-${String(i + 1).padStart(5, '0')}`);
const say = (line: string) => process.stdout.write(`${line}\n`);
const seconds = (ms: number) => `${(ms / 1000).toFixed(2)} s`;

// Seeding, with a client of its own (its round trips are not the connector's).
const seedClient = new TrytonRpcClient({ ...credentials, logger, timeoutMs: 300_000 });
const fixture = new TrytonErpFixture(seedClient, { locations: ['WH', 'WH-EAST'] });
const existing = await fixture.existingSkus(skus);
const missing = skus.filter((sku) => !existing.has(sku));
if (missing.length > 0) {
  let started = performance.now();
  await fixture.createProducts(missing.map((sku) => ({ sku, name: `Bench product ${sku}` })));
  say(`seeded ${missing.length} products in ${seconds(performance.now() - started)}`);
  started = performance.now();
  for (const [index, location] of LOCATIONS.entries()) {
    await fixture.receiveMany(
      location,
      missing.map((sku, i) => ({ sku, quantity: ((i + index) % 40) + 1 })),
    );
  }
  say(`stocked them at ${LOCATIONS.join(', ')} (${missing.length * LOCATIONS.length} done moves) in ${seconds(performance.now() - started)}`);
}

// Open demand, so that the reads also carry allocations and commitments: 60 wholesale orders
// of 10 lines each, every other one assigned (its shipment reserved).
const ORDERS = 60;
const orderCount = await seedClient.model('sale.sale', 'search_count', [[['reference', 'like', 'BENCH-WS-%'], ['state', '!=', 'draft']]], z.number());
if (orderCount < ORDERS) {
  const started = performance.now();
  for (let order = orderCount; order < ORDERS; order++) {
    const reference = `BENCH-WS-${order}`;
    const location = LOCATIONS[order % LOCATIONS.length]!;
    const lines = Array.from({ length: 10 }, (_, line) => ({ sku: skus[(order * 197 + line * 13) % PRODUCTS]!, location, quantity: (line % 3) + 1 }));
    // A receipt first, so that the assignment never lacks stock.
    await fixture.receiveMany(location, lines.map((l) => ({ sku: l.sku, quantity: 5 })));
    await fixture.createOtherChannelOrder({ reference, lines });
    if (order % 2 === 0) await fixture.assignSalesOrder(reference);
  }
  say(`created ${ORDERS - orderCount} wholesale orders (half assigned) in ${seconds(performance.now() - started)}`);
}

async function measure(pageSize: number, count: number): Promise<void> {
  const connector = new TrytonErpConnector({ ...credentials, logger, maxSkusPerRequest: pageSize, timeoutMs: 120_000 });
  // Log in and load the location tree first: the figures are for the reads themselves.
  await connector.listLocations();
  const wanted = skus.slice(0, count);
  for (const round of ['cold', 'warm']) {
    const trips = connector.roundTrips;
    const started = performance.now();
    const snapshot = await connector.getStockBySkus(wanted, LOCATIONS);
    const elapsed = performance.now() - started;
    if (snapshot.levels.length !== count * LOCATIONS.length || snapshot.unknownSkus.length > 0) {
      throw new Error(`expected ${count * LOCATIONS.length} levels, got ${snapshot.levels.length} (${snapshot.unknownSkus.length} unknown)`);
    }
    const used = connector.roundTrips - trips;
    const pages = Math.ceil(count / pageSize);
    say(
      `| ${pageSize} | ${count.toLocaleString('en')} | ${round} | ${seconds(elapsed)} | ${used} | ${pages} | ${used / pages} | ${Math.round((count * LOCATIONS.length) / (elapsed / 1000)).toLocaleString('en')} |`,
    );
  }
  await connector.close();
}

say('');
say(`getStockBySkus at ${LOCATIONS.length} locations (${LOCATIONS.join(', ')}), trytond ${await seedClient.serverVersion()} on PostgreSQL`);
say('| SKUs per page | SKUs | run | elapsed | round trips | pages | round trips per page | levels per second |');
say('|---|---|---|---|---|---|---|---|');
for (const pageSize of pageSizes.length > 0 ? pageSizes : [1000]) {
  for (const count of [1_000, 10_000]) await measure(pageSize, count);
}

// The full reconciliation listing of the same catalogue.
{
  const connector = new TrytonErpConnector({ ...credentials, logger, timeoutMs: 120_000 });
  await connector.listLocations();
  const trips = connector.roundTrips;
  const started = performance.now();
  let cursor: string | null = null;
  let levels = 0;
  do {
    const page = await connector.listAllStock({ cursor, locationCodes: LOCATIONS });
    levels += page.items.length;
    cursor = page.nextCursor;
  } while (cursor !== null);
  say('');
  say(`listAllStock (every stock-tracked product, page ${connector.capabilities.maxSkusPerRequest}): ${levels.toLocaleString('en')} levels in ${seconds(performance.now() - started)}, ${connector.roundTrips - trips} round trips`);
  await connector.close();
}
