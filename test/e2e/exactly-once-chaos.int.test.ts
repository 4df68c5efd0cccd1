import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { TrytonErpConnector } from '../../src/erp/tryton/tryton-erp-connector.js';
import { TrytonRpcClient } from '../../src/erp/tryton/tryton-rpc-client.js';
import { createLogger } from '../../src/logger.js';
import { gatewayProcess, type GatewayProcess } from '../../src/simulators/chaos/gateway-process.js';
import { startHttpChaosProxy, type HttpChaosProxy } from '../../src/simulators/chaos/http-chaos-proxy.js';
import { startRoundRobinProxy, type RoundRobinProxy } from '../../src/simulators/chaos/round-robin-proxy.js';
import { startShopifySimulator, type ShopifySimulator } from '../../src/simulators/shopify/index.js';
import { seededRandom } from '../../src/simulators/shopify/random.js';
import { TrytonErpFixture } from '../../scripts/lib/tryton-fixture.js';
import { createTestDatabase, type TestDatabase } from '../support/database.js';

/**
 * The exactly-once promise under the failures a real back office sees, with the real Tryton on
 * PostgreSQL: 200 Shopify orders (some cancelled, some refunded) arrive through webhooks that are
 * lost, duplicated and reordered, and through the order poll, at two gateway instances behind a
 * round-robin proxy; instances are killed with SIGKILL at random moments and restarted; the ERP
 * answers slowly, and some of its answers to writes are lost after Tryton committed them (the
 * gateway cannot know whether the write happened). In the end every order is exactly one Tryton
 * sale, every cancellation cancels it, every refund is exactly one customer return, and every
 * item-location's Shopify `available` equals its ATP.
 *
 * Needs DATABASE_URL (several instances share one PostgreSQL), a Tryton (ERP_*) and
 * STOCKBRIDGE_CHAOS=1; skipped otherwise.
 */
const { DATABASE_URL, ERP_URL, ERP_DATABASE, ERP_USER, ERP_PASSWORD, STOCKBRIDGE_CHAOS } = process.env;
/**
 * It takes minutes and loads both cores (two gateways, a Tryton, the simulator), so it runs on
 * its own, not beside the other suites: `STOCKBRIDGE_CHAOS=1` (CI does, as a step of its own).
 */
const describeChaos = STOCKBRIDGE_CHAOS === '1' && DATABASE_URL && ERP_URL && ERP_DATABASE && ERP_USER && ERP_PASSWORD ? describe : describe.skip;

const ORDERS = 200;
const WAREHOUSES = ['WH', 'WH-EAST', 'WH-WEST'];
/** Tryton JSON-RPC writes: the calls whose lost answer leaves the gateway in doubt. */
const ERP_WRITES = /"method":\s*"model\.[a-z_.]+\.(create|write|quote|confirm|cancel|draft|delete|process)"/;

describeChaos('exactly once under chaos, with the real Tryton', () => {
  const run = randomBytes(3).toString('hex').toUpperCase();
  const skus = Array.from({ length: 8 }, (_, i) => `CH${run}-${String(i).padStart(2, '0')}`);
  const draw = seededRandom(Number.parseInt(run, 16));
  const credentials = { url: ERP_URL!, database: ERP_DATABASE!, user: ERP_USER!, password: ERP_PASSWORD! };
  let rpc: TrytonRpcClient;
  let connector: TrytonErpConnector;
  let simulator: ShopifySimulator;
  let erpProxy: HttpChaosProxy;
  let balancer: RoundRobinProxy;
  let database: TestDatabase;
  let instances: GatewayProcess[] = [];
  let key = '';

  async function graphql<T>(query: string, variables: Record<string, unknown> = {}): Promise<T> {
    for (let attempt = 0; ; attempt++) {
      const live = instances.filter((instance) => instance.running());
      if (live.length === 0) {
        throw new Error(`no gateway instance is running:\n${instances.map((instance) => `--- ${instance.name}\n${instance.output().slice(-4_000)}`).join('\n')}`);
      }
      const target = live[attempt % live.length];
      try {
        const answer = await fetch(`${target!.url}/graphql`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', authorization: `Bearer ${key}` },
          body: JSON.stringify({ query, variables }),
        });
        const body = (await answer.json()) as { data?: T; errors?: unknown[] };
        if (body.errors?.length) throw new Error(JSON.stringify(body.errors));
        return body.data!;
      } catch (error) {
        if (attempt >= 5) throw error;
        await sleep(500);
      }
    }
  }

  /** What each side believed of a SKU when the store refused it: for a failure to explain itself. */
  async function explainShortage(sku: string): Promise<string> {
    const gateway = await graphql<{ product: unknown }>(
      `query ($sku: String!) { product(sku: $sku) { availability(location: "WH") { onHand allocated wholesaleCommitted reserved pendingShopifyOrders availableToPromise shopifyAvailable lastPushedQuantity lastPushedAt erpReadAt pushPending } } }`,
      { sku },
    ).catch((error: unknown) => String(error));
    const level = simulator.state.level({ sku, location: 'WH' })?.quantities;
    const logs = instances.map((instance) => `--- ${instance.name}\n${instance.output().slice(-6_000)}`).join('\n');
    return `gateway: ${JSON.stringify(gateway)}\nstore: ${JSON.stringify(level)}\n${logs}`;
  }

  beforeAll(async () => {
    rpc = new TrytonRpcClient({ ...credentials, logger: createLogger('silent') });
    // Judges a sale's state as the gateway's port does (a processing sale whose shipments were
    // all cancelled ends "done" in Tryton, and is cancelled in the port's terms).
    connector = new TrytonErpConnector({ ...credentials, logger: createLogger('silent') });
    const fixture = new TrytonErpFixture(rpc);
    await fixture.createProducts(skus.map((sku) => ({ sku, name: `Chaos ${sku}`, listPrice: '12.00' })));
    await fixture.receiveMany('WH', skus.map((sku) => ({ sku, quantity: 5_000 })));

    simulator = await startShopifySimulator({
      plan: 'plus',
      seed: Number.parseInt(run, 16),
      webhookTimeScale: 0.0005,
      catalogue: {
        locations: WAREHOUSES.map((code) => ({ key: code, name: code })),
        products: skus.map((sku) => ({ title: sku, variants: [{ sku, price: '12.00', levels: { WH: 0 } }] })),
      },
    });
    // Tryton keeps its sales from run to run and a new simulator numbers orders from the same
    // base: skip ahead to order ids this Tryton has not seen.
    for (let skip = Number.parseInt(run, 16) % 500_000; skip > 0; skip--) simulator.state.shop.nextId('Order');

    erpProxy = await startHttpChaosProxy({ target: ERP_URL!, seed: Number.parseInt(run, 16) });
    database = await createTestDatabase();
    balancer = await startRoundRobinProxy();
    const env = {
      DATABASE_URL: database.url!,
      ERP_CONNECTOR: 'tryton',
      ERP_URL: erpProxy.url,
      ERP_DATABASE: ERP_DATABASE!,
      ERP_USER: ERP_USER!,
      ERP_PASSWORD: ERP_PASSWORD!,
      SHOPIFY_SHOP: simulator.shopDomain,
      SHOPIFY_ACCESS_TOKEN: simulator.accessToken,
      SHOPIFY_API_SECRET: simulator.apiSecret,
      SHOPIFY_ADMIN_URL: simulator.adminUrl,
      PUBLIC_URL: balancer.url,
      ORDER_POLL_INTERVAL_SECONDS: '5',
      SYNC_INTERVAL_SECONDS: '5',
      LOG_LEVEL: 'warn',
      NODE_ENV: 'test',
    };
    instances = [await gatewayProcess('a', env), await gatewayProcess('b', env)];
    balancer.setTargets(instances.map((instance) => `${instance.url}`));
    for (const instance of instances) await instance.start();

    const { apiKeysCommandOutput } = await createKeyThroughCli(database.url!);
    key = apiKeysCommandOutput;
  }, 300_000);

  afterAll(async () => {
    for (const instance of instances) await instance.kill('SIGTERM').catch(() => {});
    await balancer?.close();
    await erpProxy?.close();
    await simulator?.close();
    await database?.close();
    await connector?.close();
  });

  it('makes every order exactly one Tryton sale, every cancellation and refund exactly one document, and Shopify equal to ATP', { timeout: 900_000 }, async () => {
    // The first full push gives the store its numbers before anyone buys.
    await graphql('mutation { pushInventory(input: { full: true }) { id status } }');
    await expect.poll(() => simulator.state.level({ sku: skus[0]!, location: 'WH' })?.quantities.available, { timeout: 60_000 }).toBeGreaterThan(0);

    // Lost order events are found again by the order poll. (A lost refunds/create is not: the
    // poll reads orders and cancellations, not refunds, so refund events are only duplicated and
    // reordered here.)
    simulator.state.setWebhookFaults({
      dropRate: 0.1,
      dropTopics: ['orders/create', 'orders/updated', 'orders/cancelled', 'orders/paid'],
      duplicateRate: 0.1,
      reorderRate: 0.1,
      reorderDelayMs: 300,
    });
    erpProxy.setFaults({ slowRate: 0.15, slowMs: 2_500, loseAnswerRate: 0.04, only: ERP_WRITES });

    const placed: Array<{ id: string; legacyId: string; quantity: number }> = [];
    const cancelled = new Set<string>();
    const refunded = new Map<string, string>();
    let killer = Promise.resolve();
    let nextKillAt = 6_000 + draw() * 8_000;
    const started = Date.now();
    for (let i = 0; i < ORDERS; i++) {
      const sku = skus[Math.floor(draw() * skus.length)]!;
      const customer = Math.floor(draw() * 30);
      const result = simulator.state.placeOrder({
        lines: [{ sku, quantity: 1 + Math.floor(draw() * 3) }],
        location: 'WH',
        customer: { firstName: 'Chaos', lastName: `Customer ${customer}`, email: `chaos-${run.toLowerCase()}-${customer}@example.com` },
      });
      if (!result.placed) throw new Error(`the store refused order ${i}: ${result.message}\n${await explainShortage(sku)}`);
      placed.push({ id: result.order.id, legacyId: String(result.order.legacyId), quantity: result.order.lines[0]!.quantity });

      if (i % 10 === 9) {
        const victim = placed[Math.floor(draw() * placed.length)]!;
        if (!cancelled.has(victim.id) && !refunded.has(victim.id)) {
          simulator.state.cancelOrder(victim.id);
          cancelled.add(victim.id);
        }
      }
      if (i % 12 === 11) {
        // Goods shipped and one unit sent back: a customer return in the ERP. (An order of one
        // unit refunded whole would leave nothing for the ERP, so only larger ones are picked.)
        const victim = placed[Math.floor(draw() * placed.length)]!;
        if (!cancelled.has(victim.id) && !refunded.has(victim.id) && victim.quantity > 1) {
          simulator.state.fulfillOrder(victim.id);
          const refund = simulator.state.shop.refundOrder(victim.id, { lines: [{ sku: simulator.state.order(victim.id)!.lines[0]!.sku!, quantity: 1, restockType: 'RETURN' }] });
          refunded.set(victim.id, `gid://shopify/Refund/${refund.id}`);
        }
      }
      // An instance dies with SIGKILL at random moments and comes back a moment later.
      if (Date.now() - started > nextKillAt) {
        const victim = instances[Math.floor(draw() * instances.length)]!;
        killer = killer.then(async () => {
          await victim.kill('SIGKILL');
          await sleep(500 + draw() * 1_500);
          await victim.start();
        });
        nextKillAt = Date.now() - started + 8_000 + draw() * 8_000;
      }
      // One ERP outage of a few seconds in the middle of the run.
      if (i === Math.floor(ORDERS / 2)) {
        erpProxy.setFaults({ outage: true });
        setTimeout(() => erpProxy.setFaults({ slowRate: 0.15, slowMs: 2_500, loseAnswerRate: 0.04, only: ERP_WRITES }), 4_000);
      }
      await sleep(150 + draw() * 150);
    }
    await killer;
    await sleep(4_500);
    erpProxy.setFaults({});
    simulator.state.clearFaults();
    for (const instance of instances) await instance.start();

    // Settle: every order in the ERP (or cancelled), every refund returned.
    const references = placed.map((order) => order.id);
    const salesOf = async () => {
      const rows = await rpc.model(
        'sale.sale',
        'search_read',
        [[['reference', 'like', 'gid://shopify/Order/%']], 0, null, null, ['reference', 'state']],
        z.array(z.object({ id: z.number(), reference: z.string().nullable(), state: z.string() })),
      );
      const ours = new Set(references);
      return rows.filter((row) => row.reference && ours.has(row.reference.split('@')[0]!));
    };
    const returnsOf = async () => {
      const rows = await rpc.model(
        'stock.shipment.out.return',
        'search_read',
        [[['reference', 'in', [...refunded.values()]]], 0, null, null, ['reference']],
        z.array(z.object({ id: z.number(), reference: z.string().nullable() })),
      );
      return rows;
    };
    // An order cancelled before the gateway heard of it never reaches the ERP; one cancelled
    // after it did has its one sale cancelled. Every other order has exactly one live sale.
    const live = references.filter((reference) => !cancelled.has(reference));
    await expect
      .poll(
        async () => {
          const sales = await salesOf();
          const withSale = new Set(sales.map((sale) => sale.reference!.split('@')[0]!));
          let cancelledOrdersWithLiveSale = 0;
          for (const sale of sales.filter((row) => cancelled.has(row.reference!.split('@')[0]!))) {
            if ((await connector.findSalesOrder(sale.reference!))?.status !== 'cancelled') cancelledOrdersWithLiveSale += 1;
          }
          return {
            liveOrdersWithoutSale: live.filter((reference) => !withSale.has(reference)).length,
            cancelledOrdersWithLiveSale,
            returns: (await returnsOf()).length,
          };
        },
        { timeout: 600_000, interval: 5_000 },
      )
      .toEqual({ liveOrdersWithoutSale: 0, cancelledOrdersWithLiveSale: 0, returns: refunded.size });

    const sales = await salesOf();
    const perOrder = new Map<string, number>();
    for (const sale of sales) perOrder.set(sale.reference!, (perOrder.get(sale.reference!) ?? 0) + 1);
    const doubled = [...perOrder].filter(([, count]) => count > 1);
    expect(doubled).toEqual([]);
    for (const sale of sales) {
      const status = (await connector.findSalesOrder(sale.reference!))?.status;
      expect({ reference: sale.reference, cancelled: status === 'cancelled' }).toEqual({ reference: sale.reference, cancelled: cancelled.has(sale.reference!.split('@')[0]!) });
    }
    const returns = await returnsOf();
    const perRefund = new Map<string, number>();
    for (const row of returns) perRefund.set(row.reference!, (perRefund.get(row.reference!) ?? 0) + 1);
    expect([...perRefund.values()].filter((count) => count > 1)).toEqual([]);

    // Shopify equals ATP once a full push has run after the dust settled.
    await graphql('mutation { pushInventory(input: { full: true }) { id } }');
    await expect
      .poll(
        async () => {
          const data = await graphql<{ products: { edges: Array<{ node: { sku: string; availability: Array<{ location: { code: string }; availableToPromise: number }> } }> } }>(
            'query ($first: Int) { products(first: $first) { edges { node { sku availability { location { code } availableToPromise } } } } }',
            { first: 100 },
          );
          const differences: string[] = [];
          for (const { node } of data.products.edges) {
            if (!skus.includes(node.sku)) continue;
            for (const level of node.availability) {
              const inShopify = simulator.state.level({ sku: node.sku, location: level.location.code })?.quantities.available ?? 0;
              if (inShopify !== level.availableToPromise) differences.push(`${node.sku}@${level.location.code}: shopify ${inShopify}, ATP ${level.availableToPromise}`);
            }
          }
          return differences;
        },
        { timeout: 120_000, interval: 3_000 },
      )
      .toEqual([]);
    expect(erpProxy.counts.answersLost).toBeGreaterThan(0);
  });
});

async function createKeyThroughCli(databaseUrl: string): Promise<{ apiKeysCommandOutput: string }> {
  const { spawnSync } = await import('node:child_process');
  const { join, resolve } = await import('node:path');
  const root = resolve(import.meta.dirname, '../..');
  const result = spawnSync(join(root, 'node_modules/.bin/tsx'), ['src/cli.ts', 'api-keys', 'create', '--name', 'chaos', '--scopes', 'read,sync,admin'], {
    cwd: root,
    env: { ...process.env, DATABASE_URL: databaseUrl, LOG_LEVEL: 'silent' },
    encoding: 'utf8',
  });
  if (result.status !== 0) throw new Error(`api-keys create failed: ${result.stderr}`);
  return { apiKeysCommandOutput: result.stdout.trim().split('\n').at(-1)!.trim() };
}
