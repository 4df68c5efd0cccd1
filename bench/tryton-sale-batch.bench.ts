/**
 * What a sale costs a real trytond, and what batching would save: sales created, quoted and
 * confirmed one at a time (as the Tryton connector does today, one order per call), with
 * several in flight, and in batches (`sale.sale.create([...])`, `quote([ids])`, `confirm([ids])`
 * over many sales in one call, as Tryton's ModelView buttons accept). Also shows what a batch
 * does when one sale in it is refused: the whole call is one transaction, so either every sale
 * of the batch moves on or none does.
 *
 *   eval "$(bash scripts/tryton.sh env)"; npx tsx bench/tryton-sale-batch.bench.ts [sales per mode] [batch sizes] [in flight]
 *   npx tsx bench/tryton-sale-batch.bench.ts 40 10,40 1,4
 *
 * Each sale has one line of 1-3 units of one of 20 products stocked here (made once, `SALEBATCH-01…`),
 * for one customer party; the timing is of the three workflow calls only (what each order costs
 * the ERP whatever the connector reads around them). Prints per mode: sales/min, calls and wire
 * time per sale by method, and the load average (the machine is shared: compare within one run).
 */
import { cpus, loadavg } from 'node:os';
import { pino } from 'pino';
import { z } from 'zod';
import { TrytonErpFixture } from '../scripts/lib/tryton-fixture.js';
import { TrytonDecimal } from '../src/erp/tryton/tryton-codec.js';
import { TrytonRpcClient } from '../src/erp/tryton/tryton-rpc-client.js';
import { createWireCounter, wireLines } from './support/tryton-wire.js';

const perMode = Number(process.argv[2] ?? 40);
const batchSizes = (process.argv[3] ?? '10,40').split(',').map(Number);
const inFlight = (process.argv[4] ?? '1,4').split(',').map(Number);
const log = pino({ level: process.env.LOG_LEVEL ?? 'warn' });
const say = (line: string) => process.stdout.write(`${line}\n`);
const ids = z.array(z.number().int());
const { ERP_URL, ERP_DATABASE, ERP_USER, ERP_PASSWORD } = process.env;
if (!ERP_URL || !ERP_DATABASE || !ERP_USER || !ERP_PASSWORD) {
  process.stderr.write('tryton-sale-batch: set ERP_URL, ERP_DATABASE, ERP_USER and ERP_PASSWORD (eval "$(bash scripts/tryton.sh env)")\n');
  process.exit(2);
}
const credentials = { url: ERP_URL, database: ERP_DATABASE, user: ERP_USER, password: ERP_PASSWORD };
const wire = createWireCounter();
const client = new TrytonRpcClient({ ...credentials, logger: log, timeoutMs: 600_000, fetch: wire.fetch });
const fixture = new TrytonErpFixture(new TrytonRpcClient({ ...credentials, logger: log, timeoutMs: 600_000 }));
const run = Date.now().toString(36).toUpperCase();

const skus = Array.from({ length: 20 }, (_, i) => `SALEBATCH-${String(i + 1).padStart(2, '0')}`);
if ((await fixture.existingSkus(skus)).size < skus.length) {
  await fixture.createProducts(skus.map((sku) => ({ sku, name: `Sale batch bench ${sku}` })));
  await fixture.receiveMany('WH', skus.map((sku) => ({ sku, quantity: 1_000_000 })));
}
const products = await fixture.productsBySku(skus);
const party = await fixture.findOrCreateParty('Sale batch bench customer');
const warehouse = await fixture.warehouse('WH');
const [currency] = await client.model('currency.currency', 'search', [[['code', '=', 'EUR']], 0, 1, null], ids);
let counter = 0;

/** A sale as the connector writes one (without the `[Stockbridge]` mark: these are not the gateway's). */
function sale(address: number | null = party.address): Record<string, unknown> {
  const n = counter++;
  const product = products.get(skus[n % skus.length]!)!;
  return {
    party: party.id,
    invoice_address: address,
    shipment_address: address,
    currency,
    warehouse: warehouse.id,
    invoice_method: 'manual',
    shipment_method: 'order',
    reference: `SALEBATCH-${run}-${n}`,
    description: 'Sale batch bench',
    lines: [['create', [{ type: 'line', product: product.id, quantity: 1 + (n % 3), unit: product.uom, unit_price: new TrytonDecimal('19.90'), description: 'Sale batch bench line' }]]],
  };
}

async function workflow(batch: Record<string, unknown>[]): Promise<number[]> {
  const created = await client.model('sale.sale', 'create', [batch], ids);
  await client.model('sale.sale', 'quote', [created], z.unknown());
  await client.model('sale.sale', 'confirm', [created], z.unknown());
  return created;
}

async function mode(label: string, size: number, flight: number): Promise<void> {
  const batches = Array.from({ length: Math.ceil(perMode / size) }, (_, i) => Array.from({ length: Math.min(size, perMode - i * size) }, () => sale()));
  wire.reset();
  const cpu = process.cpuUsage();
  const started = performance.now();
  let next = 0;
  const done: number[] = [];
  await Promise.all(
    Array.from({ length: flight }, async () => {
      for (let i = next++; i < batches.length; i = next++) done.push(...(await workflow(batches[i]!)));
    }),
  );
  const ms = performance.now() - started;
  const used = process.cpuUsage(cpu);
  const states = await client.model('sale.sale', 'read', [done, ['state']], z.array(z.object({ state: z.string() })));
  const processing = states.filter((s) => s.state === 'processing').length;
  say(
    `${label}: ${done.length} sales in ${(ms / 1000).toFixed(1)} s = ${Math.round((done.length / ms) * 60_000)} sales/min, ${(wire.total() / done.length).toFixed(2)} calls and ` +
      `${([...wire.entries().values()].reduce((s, e) => s + e.ms, 0) / done.length / 1000).toFixed(3)} s of wire time per sale; ${processing}/${done.length} processing (shipments made); ` +
      `bench CPU ${((used.user + used.system) / 1000 / done.length).toFixed(1)} ms per sale  (load average ${loadavg()[0]!.toFixed(1)} on ${cpus().length} cores)`,
  );
  for (const line of wireLines(wire.entries(), { count: done.length, unit: 'sale' })) say(line);
}

say(`Tryton at ${new URL(ERP_URL).host}, database ${ERP_DATABASE}; ${perMode} sales per mode`);
await mode('warm-up, one at a time', 1, 1);
for (const flight of inFlight) await mode(`one sale per call, ${flight} in flight`, 1, flight);
for (const size of batchSizes) for (const flight of inFlight) await mode(`${size} sales per call, ${flight} in flight`, size, flight);

// One refused sale in a batch: the call is one transaction, so none of the batch moves on.
const good = sale();
const bad = sale(null); // no addresses: `quote` refuses it
const pair = await client.model('sale.sale', 'create', [[good, bad]], ids);
const refusal = await client.model('sale.sale', 'quote', [pair], z.unknown()).then(
  () => 'accepted',
  (error: unknown) => (error instanceof Error ? error.message : String(error)),
);
const after = await client.model('sale.sale', 'read', [pair, ['state']], z.array(z.object({ state: z.string() })));
say(`a batch quote of a good and a refused sale: ${refusal.slice(0, 120)}; states after: ${after.map((s) => s.state).join(', ')} (all-or-nothing per call)`);
await client.model('sale.sale', 'cancel', [pair], z.unknown());
