/**
 * How fast the simulated ERP is at the scale the other benchmarks use (100,000 SKUs × 3
 * warehouses), and how many round trips the connector makes: building the demo catalogue,
 * a full stock listing, batched stock and lot reads, and a change-feed step after activity.
 *
 *   npx tsx bench/simulated-erp.bench.ts [skus]
 */
import { createDemoErp, seededRandom } from '../src/erp/simulated/demo-catalogue.js';
import { SimulatedErpConnector } from '../src/erp/simulated/simulated-erp-connector.js';

const skuCount = Number(process.argv[2] ?? 100_000);

async function timed<T>(label: string, work: () => Promise<T> | T, roundTrips?: () => number): Promise<T> {
  const before = roundTrips?.() ?? 0;
  const started = performance.now();
  const result = await work();
  const ms = performance.now() - started;
  const trips = roundTrips ? `, ${roundTrips() - before} round trips` : '';
  console.log(`${label.padEnd(52)} ${ms.toFixed(0).padStart(6)} ms${trips}`);
  return result;
}

const erp = await timed(`createDemoErp(${skuCount} SKUs × 3 locations)`, () => createDemoErp({ skus: skuCount, locations: 3, seed: 1 }));
const connector = new SimulatedErpConnector(erp);
const trips = (): number => erp.roundTrips();

const skus = await timed(
  'listProducts, every page',
  async () => {
    const all: string[] = [];
    let cursor: string | null = null;
    do {
      const page = await connector.listProducts({ cursor });
      all.push(...page.items.map((p) => p.sku));
      cursor = page.nextCursor;
    } while (cursor !== null);
    return all;
  },
  trips,
);

const levels = await timed(
  'listAllStock, every page',
  async () => {
    let count = 0;
    let cursor: string | null = null;
    do {
      const page = await connector.listAllStock({ cursor });
      count += page.items.length;
      cursor = page.nextCursor;
    } while (cursor !== null);
    return count;
  },
  trips,
);
console.log(`${''.padEnd(52)} ${levels} stock levels`);

for (const n of [1_000, 10_000]) {
  const batch = skus.slice(0, n);
  await timed(`getStockBySkus(${n} SKUs) at every warehouse`, () => connector.getStockBySkus(batch), trips);
  await timed(`getLotsBySkus(${n} SKUs) at every warehouse`, () => connector.getLotsBySkus(batch), trips);
}

const start = await connector.getStockChangesSince(null);
const changed = await timed('simulateActivity(5,000 events)', () => erp.simulateActivity(5_000, seededRandom(2)));
const feed = await timed('getStockChangesSince after the activity', () => connector.getStockChangesSince(start.nextWatermark), trips);
console.log(`${''.padEnd(52)} ${feed.skus.length} SKUs reported, ${changed.length} changed`);
