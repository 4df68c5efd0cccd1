/**
 * What a flood of API reads costs an order on its way into the ERP, with lanes and without.
 * A simulated ERP whose lot reads take `readMs` (Tryton: ~0.5 s for a page of stock) and a
 * limiter of two slots (the Tryton connector's); `reads` interactive `getLotsBySkus` calls arrive
 * at once, then `orders` orders are created one after another in the background lane. Printed:
 * how long each order's ERP calls waited in the queue in total (p50, max) and the order's
 * create latency, once with lanes (reads in the interactive lane) and once as it was before
 * them (every call in one lane, first come first served).
 *
 *   npx tsx bench/erp-lanes.bench.ts [reads=40] [readMs=100] [orders=10]
 */
import type { ErpConnector, ErpLane } from '../src/erp/erp-connector.js';
import { SimulatedErpConnector } from '../src/erp/simulated/simulated-erp-connector.js';
import { SimulatedErp } from '../src/erp/simulated/simulated-erp.js';

const reads = Number(process.argv[2] ?? 40);
const readMs = Number(process.argv[3] ?? 100);
const orders = Number(process.argv[4] ?? 10);

async function run(readLane: ErpLane): Promise<{ queued: number[]; latency: number[] }> {
  const erp = new SimulatedErp();
  erp.addWarehouse({ code: 'LDS', name: 'Leeds' });
  erp.addProduct({ sku: 'SEALANT', name: 'Sealant', lotTracked: true });
  erp.receiveStock({ sku: 'SEALANT', location: 'LDS', quantity: 1_000, lot: { number: 'L1', expiresOn: '2030-01-01' } });
  let queuedThisOrder = 0;
  const connector = new SimulatedErpConnector(erp, {
    policy: {
      maxConcurrent: 2,
      maxAttempts: 1,
      interactiveQueueLimit: reads,
      interactiveMaxWaitMs: 600_000,
      backgroundMaxWaitMs: 600_000,
      onDispatch: ({ operation, queuedMs }) => {
        // The order's own calls (the reads are the only lot reads).
        if (operation !== 'lot.read') queuedThisOrder += queuedMs;
      },
    },
  });
  await connector.listLocations();
  erp.fail({ mode: 'slow', methods: ['lot.read'], delayMs: readMs });
  const readers: ErpConnector = connector.forLane(readLane);
  const flood = Array.from({ length: reads }, () => readers.getLotsBySkus(['SEALANT'], ['LDS']));
  await new Promise((resolve) => setImmediate(resolve));
  const queued: number[] = [];
  const latency: number[] = [];
  for (let i = 0; i < orders; i++) {
    queuedThisOrder = 0;
    const started = performance.now();
    await connector.forLane('background').createSalesOrder({
      externalReference: `gid://shopify/Order/${i}`,
      name: `#${1000 + i}`,
      customer: { name: 'Ada', email: `ada${i}@example.com`, phone: null },
      shippingAddress: null,
      currency: 'EUR',
      lines: [{ sku: 'SEALANT', quantity: 1, location: 'LDS', unitPrice: '4.00' }],
    });
    latency.push(performance.now() - started);
    queued.push(queuedThisOrder);
  }
  erp.recover();
  await Promise.all(flood);
  await connector.close();
  return { queued, latency };
}

const p50 = (values: number[]): number => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;
const max = (values: number[]): number => Math.max(...values);
const ms = (value: number): string => `${value.toFixed(1).padStart(8)} ms`;

console.log(`${reads} live lot reads of ${readMs} ms each at once, then ${orders} orders; two ERP slots`);
for (const [label, lane] of [
  ['with lanes (reads interactive)', 'interactive'],
  ['one lane, first come first served', 'background'],
] as const) {
  const { queued, latency } = await run(lane);
  console.log(`${label.padEnd(36)} queued per order p50 ${ms(p50(queued))}, max ${ms(max(queued))}; createSalesOrder p50 ${ms(p50(latency))}, max ${ms(max(latency))}`);
}
