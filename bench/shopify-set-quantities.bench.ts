/**
 * How fast the Shopify client sets 20,000 item-location quantities on a Standard-plan store
 * (100 points/s restored, bucket 2,000), against the simulator over loopback HTTP.
 *
 *   npx tsx bench/shopify-set-quantities.bench.ts
 *
 * Two runs, each on a fresh simulator and a fresh client (which must learn the plan):
 * - "full bucket": the shop was idle, the bucket starts at 2,000 points;
 * - "empty bucket": the bucket starts at 0, so the whole run is paid for by the restore rate.
 *   This is the steady state of a large sync and the figure compared with the ceiling.
 * The ceiling is what 100 points/s allows at the batch size used: restoreRate / cost per call ×
 * quantities per call (items per second).
 */
import { pino } from 'pino';
import { Registry } from 'prom-client';
import { AdminApiShopifyClient } from '../src/shopify/admin-api-shopify-client.js';
import { MAX_QUANTITIES_PER_CALL } from '../src/shopify/set-available-quantities.js';
import type { SetAvailableQuantity } from '../src/shopify/shopify-client.js';
import { startShopifySimulator } from '../src/simulators/shopify/index.js';

const PRODUCTS = 10_000;
const LOCATIONS = ['wh', 'shop'];

async function run(label: string, startingBucket: number | null) {
  const simulator = await startShopifySimulator({ plan: 'standard' });
  const seeded = simulator.state.seed({
    locations: LOCATIONS.map((key) => ({ key, name: key })),
    generate: { products: PRODUCTS, skuPrefix: 'BENCH-', available: 0 },
  });
  const items: SetAvailableQuantity[] = seeded.variants.flatMap((variant, index) =>
    seeded.locations.map((location) => ({
      inventoryItemId: variant.inventoryItemId,
      locationId: location.id,
      quantity: (index % 50) + 1,
      changeFromQuantity: 0,
    })),
  );
  const client = new AdminApiShopifyClient({
    shopDomain: simulator.shopDomain,
    accessToken: simulator.accessToken,
    adminUrl: simulator.adminUrl,
    logger: pino({ level: 'silent' }),
    metrics: new Registry(),
  });
  if (startingBucket !== null) simulator.state.setBucketAvailable(startingBucket);
  simulator.state.clearRequestLog();

  const started = performance.now();
  const outcomes = await client.setAvailableQuantities(items, {
    batchId: `bench-${label}`,
    reason: 'correction',
    referenceDocumentUri: 'gid://stockbridge/Benchmark/1',
  });
  const seconds = (performance.now() - started) / 1000;

  const log = simulator.state.requestLog();
  const writes = log.filter((entry) => entry.operationName === 'SetInventoryQuantities');
  const applied = outcomes.filter((outcome) => outcome.status === 'applied').length;
  const pointsUsed = log.reduce((sum, entry) => sum + (entry.actualCost ?? 0), 0);
  const okWrites = writes.filter((entry) => entry.outcome === 'ok');
  const costPerCall = okWrites.length > 0 ? okWrites.reduce((sum, entry) => sum + (entry.requestedCost ?? 0), 0) / okWrites.length : 10;
  const restoreRate = log[log.length - 1]?.restoreRate ?? 100;
  const ceilingItemsPerSecond = (restoreRate / costPerCall) * MAX_QUANTITIES_PER_CALL;
  const itemsPerSecond = applied / seconds;
  const throttled = log.filter((entry) => entry.throttled).length;
  const check = simulator.state.level({ sku: 'BENCH-010000', location: 'shop' })?.quantities.available;

  await client.close();
  await simulator.close();
  return {
    run: label,
    items: items.length,
    applied,
    seconds: Number(seconds.toFixed(2)),
    itemsPerSecond: Math.round(itemsPerSecond),
    requests: log.length,
    throttled,
    costPointsUsed: pointsUsed,
    costPerCall,
    ceilingItemsPerSecond: Math.round(ceilingItemsPerSecond),
    // From a full bucket the 800 points of the run fit in the 2,000 held: no restore-rate ceiling applies.
    ratioToCeiling: startingBucket === null ? 'n/a (fits in bucket)' : `${((itemsPerSecond / ceilingItemsPerSecond) * 100).toFixed(1)}%`,
    lastItemAvailable: check,
  };
}

const results = [await run('full-bucket', null), await run('empty-bucket', 0)];
console.log('Shopify client: set 20,000 available quantities on a Standard-plan simulator (100 points/s, bucket 2,000)');
console.table(results);
const steady = results[1]!;
console.log(
  `steady state (empty bucket): ${steady.itemsPerSecond} items/s, ${steady.requests} requests, ${steady.costPointsUsed} cost points, ` +
    `${steady.ratioToCeiling} of the ${steady.ceilingItemsPerSecond} items/s ceiling at ${MAX_QUANTITIES_PER_CALL} per call`,
);
