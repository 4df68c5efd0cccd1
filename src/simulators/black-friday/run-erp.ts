import { z } from 'zod';
import { startSimulatedErpServer } from '../../erp/simulated/simulated-erp-server.js';
import { SimulatedErp } from '../../erp/simulated/simulated-erp.js';
import { TrytonRpcClient } from '../../erp/tryton/tryton-rpc-client.js';
import { createLogger } from '../../logger.js';
import { addUnits, positionKey, type Ledger } from './ledger.js';
import { configuredErpRefusals } from './options.js';

/**
 * The ERP a run plays against, behind one interface: the simulated ERP served over HTTP (the
 * default), or the ERP the environment configures (`--erp configured`: ERP_CONNECTOR=tryton and
 * ERP_URL, ERP_DATABASE, ERP_USER, ERP_PASSWORD, e.g. the Tryton of `scripts/tryton.sh`). The run
 * seeds its catalogue and stock there, plays the ERP's own day on it (receipts, shipments, other
 * channels' sales, wholesale orders) and reads each order's sales back from the ERP's own records
 * (sale.sale by reference in Tryton). The gateways reach it through the run's chaos proxy
 * (`url` is what that proxy forwards to).
 */
export interface SaleRecord {
  /** Sales carrying the reference. */
  readonly sales: number;
  /** Whether the first (lowest id) of them is cancelled. */
  readonly cancelled: boolean;
  /** When the ERP created the first of them (epoch ms), where it says. */
  readonly createdAt: number | undefined;
}

export interface RunErp {
  readonly kind: 'simulated' | 'configured';
  /** One line for the log and the report: what the ERP is. */
  readonly description: string;
  /** Where the chaos proxy forwards the gateways' ERP calls. */
  readonly url: string;
  /** The gateways' ERP_* variables, given the proxy's URL. */
  gatewayEnv(proxyUrl: string): Record<string, string>;
  /** The ERP's two warehouse codes the run stocks and sells from (Shopify's locations are named alike). */
  readonly locations: readonly [string, string];
  /** Shipments the warehouse makes at most per round of the ERP's day (Tryton's take several calls each). */
  readonly shipmentsPerRound: number;
  /** Creates the products and receives their initial stock (entered in the ledger as existing). */
  seed(skus: readonly string[], initial: ReadonlyMap<string, number>, ledger: Ledger): Promise<void>;
  receiveStock(sku: string, location: string, quantity: number): Promise<void>;
  /** The warehouse assigns and ships the sale with that reference; false when it could not. */
  shipSale(reference: string, trackingNumber: string): Promise<boolean>;
  /** Units another channel may sell at a position now (estimated from the ledger where the ERP has no cheap read). */
  freeStock(sku: string, location: string, ledger: Ledger): Promise<number>;
  /** Another channel's sale, made in the ERP directly (allocated and shipped where the simulated ERP allows it). */
  otherChannelSale(reference: string, sku: string, location: string, quantity: number): Promise<void>;
  /** A wholesale app's order put into the ERP after its reservation. */
  wholesaleOrder(reference: string, lines: readonly { sku: string; location: string; quantity: number }[]): Promise<void>;
  /**
   * The ERP's sales by reference (references with none are absent). `cancelled` is read for the
   * references in `withState` at least (the simulated ERP reads it only there; Tryton always).
   */
  salesOf(references: readonly string[], withState?: ReadonlySet<string>): Promise<Map<string, SaleRecord>>;
  close(): Promise<void>;
}

export async function simulatedRunErp(locations: readonly [string, string]): Promise<RunErp> {
  const erp = new SimulatedErp();
  for (const code of locations) erp.addWarehouse({ code, name: `Black Friday ${code}` });
  const server = await startSimulatedErpServer({ erp });
  return {
    kind: 'simulated',
    description: `simulated ERP over HTTP (${server.url})`,
    url: server.url,
    gatewayEnv: (proxyUrl) => ({ ERP_CONNECTOR: 'simulated', ERP_URL: proxyUrl }),
    locations,
    shipmentsPerRound: Number.POSITIVE_INFINITY,
    async seed(skus, initial, ledger) {
      for (const sku of skus) erp.addProduct({ sku, name: `Black Friday ${sku}` });
      for (const [key, quantity] of initial) {
        const at = key.lastIndexOf('@');
        erp.receiveStock({ sku: key.slice(0, at), location: key.slice(at + 1), quantity });
        addUnits(ledger.existed, key, quantity);
      }
    },
    async receiveStock(sku, location, quantity) {
      erp.receiveStock({ sku, location, quantity });
    },
    async shipSale(reference, trackingNumber) {
      erp.assignSalesOrder(reference);
      return erp.shipSalesOrder(reference, { carrier: 'DemoPost', trackingNumber }).length > 0;
    },
    async freeStock(sku, location) {
      const answer = (await erp.call('stock.read', { skus: [sku], locations: [location] })) as { result?: { on_hand: number; allocated: number; committed: number }[] };
      const row = answer.result?.[0];
      return row ? row.on_hand - row.allocated - row.committed : 0;
    },
    async otherChannelSale(reference, sku, location, quantity) {
      erp.createWholesaleOrder({ reference, lines: [{ sku, location, quantity }] });
      erp.allocateWholesaleOrder(reference);
      erp.shipWholesaleOrder(reference);
    },
    async wholesaleOrder(reference, lines) {
      erp.createWholesaleOrder({ reference, lines });
    },
    async salesOf(references, withState) {
      const found = new Map<string, SaleRecord>();
      for (const reference of references) {
        const sales = erp.countSalesOrders(reference);
        if (sales === 0) continue;
        if (!withState?.has(reference)) {
          found.set(reference, { sales, cancelled: false, createdAt: server.saleCreatedAt(reference) });
          continue;
        }
        const answer = (await erp.call('sale.search', { reference })) as { result?: { id: number; state: string }[] };
        const first = [...(answer.result ?? [])].sort((a, b) => a.id - b.id)[0];
        found.set(reference, { sales, cancelled: first?.state === 'cancelled', createdAt: server.saleCreatedAt(reference) });
      }
      return found;
    },
    close: () => server.close(),
  };
}

/** The part of scripts/lib/tryton-fixture.ts the run uses (loaded at run time: it lives outside src/). */
interface TrytonFixture {
  createProducts(products: readonly { sku: string; name: string }[]): Promise<void>;
  receiveMany(location: string, lines: readonly { sku: string; quantity: number }[]): Promise<void>;
  shipSalesOrder(externalReference: string, options?: { trackingNumber?: string | null }): Promise<unknown>;
  createOtherChannelOrder(input: { reference: string; lines: readonly { sku: string; location: string; quantity: number }[] }): Promise<void>;
}

const saleRows = z.array(z.object({ id: z.number().int(), reference: z.string().nullable(), state: z.string(), create_date: z.string().nullable().optional() }));

/** Tryton's naive UTC datetime (`YYYY-MM-DDTHH:MM:SS[.ffffff]`, as the codec decodes it) in epoch ms. */
export function trytonUtcMs(text: string | null | undefined): number | undefined {
  if (!text) return undefined;
  const ms = Date.parse(`${text.replace(' ', 'T').slice(0, 23)}Z`);
  return Number.isNaN(ms) ? undefined : ms;
}

export async function configuredRunErp(env: Readonly<Record<string, string | undefined>>, locations: readonly [string, string] = ['WH', 'WH-EAST']): Promise<RunErp> {
  const refused = configuredErpRefusals(env);
  if (refused.length > 0) throw new Error(refused.join('; '));
  const credentials = { url: env.ERP_URL!, database: env.ERP_DATABASE!, user: env.ERP_USER!, password: env.ERP_PASSWORD! };
  const client = new TrytonRpcClient({ ...credentials, logger: createLogger('warn'), timeoutMs: 120_000 });
  const version = await client.serverVersion();
  const fixturePath = new URL('../../../scripts/lib/tryton-fixture.ts', import.meta.url).href;
  const { TrytonErpFixture } = (await import(fixturePath)) as { TrytonErpFixture: new (client: TrytonRpcClient, options: { locations: readonly [string, string] }) => TrytonFixture };
  const fixture = new TrytonErpFixture(client, { locations });
  return {
    kind: 'configured',
    description: `Tryton ${version} at ${credentials.url} (database ${credentials.database})`,
    url: credentials.url,
    gatewayEnv: (proxyUrl) => ({ ERP_CONNECTOR: 'tryton', ERP_URL: proxyUrl, ERP_DATABASE: credentials.database, ERP_USER: credentials.user, ERP_PASSWORD: credentials.password }),
    locations,
    shipmentsPerRound: 3,
    async seed(skus, initial, ledger) {
      await fixture.createProducts(skus.map((sku) => ({ sku, name: `Black Friday ${sku}` })));
      for (const location of locations) {
        const lines = [...initial].filter(([key]) => key.endsWith(`@${location}`)).map(([key, quantity]) => ({ sku: key.slice(0, key.lastIndexOf('@')), quantity }));
        await fixture.receiveMany(location, lines);
        for (const line of lines) addUnits(ledger.existed, positionKey(line.sku, location), line.quantity);
      }
    },
    receiveStock: (sku, location, quantity) => fixture.receiveMany(location, [{ sku, quantity }]),
    async shipSale(reference, trackingNumber) {
      try {
        await fixture.shipSalesOrder(reference, { trackingNumber });
        return true;
      } catch {
        return false;
      }
    },
    async freeStock(sku, location, ledger) {
      // No cheap stock read in the fixture: what existed less what the run knows was consumed there.
      const key = positionKey(sku, location);
      let used = (ledger.wholesale.get(key) ?? 0) + (ledger.erpSales.get(key) ?? 0);
      for (const order of ledger.accepted) if (!order.cancelled) for (const line of order.lines) if (line.sku === sku && line.location === location) used += line.quantity;
      return (ledger.existed.get(key) ?? 0) - used;
    },
    otherChannelSale: (reference, sku, location, quantity) => fixture.createOtherChannelOrder({ reference, lines: [{ sku, location, quantity }] }),
    wholesaleOrder: (reference, lines) => fixture.createOtherChannelOrder({ reference, lines }),
    async salesOf(references) {
      const rows: z.output<typeof saleRows> = [];
      for (let start = 0; start < references.length; start += 500) {
        const chunk = references.slice(start, start + 500);
        rows.push(...(await client.model('sale.sale', 'search_read', [[['reference', 'in', chunk]], 0, null, [['id', 'ASC']], ['reference', 'state', 'create_date']], saleRows)));
      }
      const found = new Map<string, SaleRecord>();
      for (const row of rows) {
        if (!row.reference) continue;
        const seen = found.get(row.reference);
        found.set(row.reference, seen ? { ...seen, sales: seen.sales + 1 } : { sales: 1, cancelled: row.state === 'cancel' || row.state === 'cancelled', createdAt: trytonUtcMs(row.create_date) });
      }
      return found;
    },
    close: async () => {},
  };
}
