/**
 * Seeds a freshly created Tryton 6.0 database over JSON-RPC (called by scripts/tryton.sh, once
 * per template): the company and its currency (trytond-admin creates neither, P4), the sale
 * invoice method `manual` (P6), a few countries, three warehouses, customers, and a small
 * catalogue with stock and lots. Prints the ids it made as JSON on stdout.
 *
 *   tsx scripts/tryton-seed.ts --url http://127.0.0.1:8000/ --database stockbridge --user admin --password …
 */
import { parseArgs } from 'node:util';
import { pino } from 'pino';
import { z } from 'zod';
import { createLogger } from '../src/logger.js';
import { TrytonDecimal } from '../src/erp/tryton/tryton-codec.js';
import { TrytonRpcClient } from '../src/erp/tryton/tryton-rpc-client.js';
import { TrytonErpFixture } from './lib/tryton-fixture.js';

const { values } = parseArgs({
  options: {
    url: { type: 'string' },
    database: { type: 'string' },
    user: { type: 'string' },
    password: { type: 'string' },
  },
});
const args = z.object({ url: z.string().url(), database: z.string().min(1), user: z.string().min(1), password: z.string().min(1) }).parse(values);
const logger = createLogger('warn', pino.destination(2));
const client = new TrytonRpcClient({ ...args, logger, timeoutMs: 60_000 });
const ids = z.array(z.number().int());
const nothing = z.null();

async function search(model: string, domain: unknown[]): Promise<number[]> {
  return client.model(model, 'search', [domain, 0, null, null], ids);
}
async function create(model: string, records: unknown[]): Promise<number[]> {
  return client.model(model, 'create', [records], ids);
}

// Company and currencies.
const currencies: Record<string, number> = {};
for (const [code, name, symbol] of [
  ['EUR', 'Euro', '€'],
  ['USD', 'US Dollar', '$'],
  ['GBP', 'Pound Sterling', '£'],
] as const) {
  const [id] = await create('currency.currency', [{ name, code, symbol, rounding: new TrytonDecimal('0.01'), digits: 2 }]);
  currencies[code] = id!;
}
const [companyParty] = await create('party.party', [{ name: 'Acme Manufacturing' }]);
const [company] = await create('company.company', [{ party: companyParty, currency: currencies.EUR }]);
const [adminUser] = await search('res.user', [['login', '=', args.user]]);
await client.model('res.user', 'write', [[adminUser], { companies: [['add', [company]]], company }], nothing);
// The context now has to carry the company: log in again to pick it up.
client.resetSession();
await client.model('sale.configuration', 'write', [[1], { sale_invoice_method: 'manual' }], nothing);

// Debian's country module ships no countries; addresses of Shopify orders name a few.
const countries: [string, string][] = [
  ['GB', 'United Kingdom'],
  ['IE', 'Ireland'],
  ['US', 'United States'],
  ['CA', 'Canada'],
  ['DE', 'Germany'],
  ['FR', 'France'],
  ['NL', 'Netherlands'],
  ['BE', 'Belgium'],
  ['ES', 'Spain'],
  ['IT', 'Italy'],
];
await create(
  'country.country',
  countries.map(([code, name]) => ({ code, name })),
);

// Warehouses: the default WH (renamed), plus two more, each with input/output/storage zones.
const [wh] = await search('stock.location', [['code', '=', 'WH']]);
await client.model('stock.location', 'write', [[wh], { name: 'Leeds Factory' }], nothing);
const [sto] = await search('stock.location', [['code', '=', 'STO']]);
const [shelf] = await create('stock.location', [{ name: 'Shelf A', code: 'SHELF-A', type: 'storage', parent: sto }]);
const [production] = await search('stock.location', [['type', '=', 'production']]);
const warehouses: Record<string, number> = { WH: wh! };
for (const [code, name] of [
  ['WH-EAST', 'Hull Depot'],
  ['WH-WEST', 'Liverpool Depot'],
] as const) {
  const [input, output, storage] = await create('stock.location', [
    { name: `${name} Input`, code: `${code}-IN`, type: 'storage' },
    { name: `${name} Output`, code: `${code}-OUT`, type: 'storage' },
    { name: `${name} Storage`, code: `${code}-STO`, type: 'storage' },
  ]);
  const [warehouse] = await create('stock.location', [
    { name, code, type: 'warehouse', input_location: input, output_location: output, storage_location: storage, production_location: production },
  ]);
  await client.model('stock.location', 'write', [[input, output, storage], { parent: warehouse }], nothing);
  warehouses[code] = warehouse!;
}

// Customers.
const fixture = new TrytonErpFixture(client);
const shopifyCustomer = await fixture.findOrCreateParty('Shopify Customer');
const wholesaleCustomer = await fixture.findOrCreateParty('Wholesale Customer Ltd');

// Catalogue: a raw material, a product made from it (BOM), a lot-tracked product, one stocked
// everywhere, and a service.
await fixture.createProducts([
  { sku: 'RAW-1', name: 'Steel sheet', listPrice: '2.50' },
  { sku: 'SVC-1', name: 'Gift wrapping', type: 'service', listPrice: '3.00' },
  { sku: 'SKU-2', name: 'Gadget', lotTracked: true, listPrice: '24.50' },
  { sku: 'SKU-3', name: 'Bracket', listPrice: '4.90' },
]);
await fixture.createProducts([{ sku: 'SKU-1', name: 'Widget', components: [{ sku: 'RAW-1', quantity: 2 }], listPrice: '19.90' }]);
await fixture.receiveMany('WH', [
  { sku: 'RAW-1', quantity: 100 },
  { sku: 'SKU-1', quantity: 7 },
  { sku: 'SKU-3', quantity: 20 },
]);
await fixture.receiveMany('SHELF-A', [
  { sku: 'SKU-2', quantity: 5, lot: { number: 'L-001', expiresOn: '2027-06-30' } },
  { sku: 'SKU-2', quantity: 3, lot: { number: 'L-002', expiresOn: '2027-12-31' } },
]);
await fixture.receiveMany('WH-EAST', [
  { sku: 'SKU-1', quantity: 12 },
  { sku: 'SKU-3', quantity: 15 },
]);
await fixture.receiveMany('WH-WEST', [{ sku: 'SKU-3', quantity: 9 }]);

process.stdout.write(
  `${JSON.stringify(
    {
      company,
      currencies,
      warehouses,
      locations: { STO: sto, 'SHELF-A': shelf },
      parties: { shopifyCustomer: shopifyCustomer.id, wholesaleCustomer: wholesaleCustomer.id },
      roundTrips: client.roundTrips,
    },
    null,
    2,
  )}\n`,
);
