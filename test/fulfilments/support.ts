import { randomUUID } from 'node:crypto';
import { Registry } from 'prom-client';
import { createAlertSender, type AlertSender } from '../../src/alerts/alert-sender.js';
import { loadConfig } from '../../src/config.js';
import type { Database } from '../../src/db/database.js';
import type { ModuleDeps } from '../../src/domain-module.js';
import type { ErpConnector, SalesOrderInput } from '../../src/erp/erp-connector.js';
import { createFulfilmentsModule, type FulfilmentsModule, type FulfilmentsModuleOptions } from '../../src/fulfilments/fulfilments.module.js';
import type { JobFence } from '../../src/scheduler/fence.js';
import { createSchedulerRepository } from '../../src/scheduler/scheduler.repository.js';
import { AdminApiShopifyClient } from '../../src/shopify/admin-api-shopify-client.js';
import type { OrderView } from '../../src/simulators/shopify/index.js';
import { createMemoryLogger } from '../support/gateway.js';
import { startShopAndErp, type ProductSpec, type ShopAndErp } from '../orders/support/orders-harness.js';

/**
 * The fulfilments domain between real parts: the simulated ERP behind its connector (which ships
 * orders and reports its shipments), the Shopify simulator (fulfilment orders, fulfillmentCreate
 * with Shopify's rules, merchants fulfilling by hand), and the module on a test database.
 */

export const FEED_JOB = 'fulfilments.shipments';

/** A fencing token as the scheduler draws it: a real lease on the feed job. */
export async function acquireFence(database: Database, runId: string = randomUUID()): Promise<JobFence> {
  const scheduling = createSchedulerRepository(database.db);
  await scheduling.ensureLease(FEED_JOB);
  const claim = await scheduling.acquire({ job: FEED_JOB, instanceId: 'test', runId, leaseMs: 60_000, manual: true });
  if (!claim) throw new Error('the feed job lease is held');
  return { job: FEED_JOB, token: claim.fence };
}

/** The gateway's clock for these tests: real time moved on by hand (to let a lost answer settle). */
export class TestClock {
  offsetMs = 0;
  readonly now = (): Date => new Date(Date.now() + this.offsetMs);
  advance(ms: number): void {
    this.offsetMs += ms;
  }
}

export interface FulfilmentsInstance {
  readonly module: FulfilmentsModule;
  readonly alerts: AlertSender;
  readonly logLines: () => Array<Record<string, unknown>>;
  /** One run of the shipment job under a fresh lease: the feed, then every due shipment. */
  runJob(): Promise<Record<string, unknown>>;
  close(): Promise<void>;
}

/** What an instance needs of its world: a store, an ERP connection, a mapping and an alert endpoint. */
export type FulfilmentsWorld = Pick<ShopAndErp, 'shopify' | 'mapping' | 'alerts'> & { readonly connector: ErpConnector };

export async function startFulfilmentsInstance(
  world: FulfilmentsWorld,
  database: Database,
  options: FulfilmentsModuleOptions & { readonly clock?: TestClock; readonly env?: Record<string, string>; readonly erp?: ErpConnector } = {},
): Promise<FulfilmentsInstance> {
  const { log, lines } = createMemoryLogger('debug');
  const metrics = new Registry();
  const shopify = new AdminApiShopifyClient({
    shopDomain: world.shopify.shopDomain,
    accessToken: world.shopify.accessToken,
    adminUrl: world.shopify.adminUrl,
    logger: log,
    metrics,
    retry: { baseDelayMs: 5, maxDelayMs: 20, maxAttempts: 2 },
    requestTimeoutMs: 3_000,
  });
  const alerts = createAlertSender({ log, webhookUrl: world.alerts.url, burst: 1000 });
  const { clock, env, erp, ...moduleOptions } = options;
  const deps: ModuleDeps = {
    config: loadConfig({ PORT: '0', SCHEDULER: 'off', ...env }),
    log,
    database,
    metrics,
    erp: erp ?? world.connector,
    shopify,
    shop: world.shopify.shopDomain,
    webhookSecret: world.shopify.apiSecret,
    now: clock?.now ?? (() => new Date()),
    alerts,
  };
  const module = createFulfilmentsModule(deps, { mapping: world.mapping, retryBaseMs: 1, retryMaxMs: 1, settleMs: 60_000, ...moduleOptions });
  const job = module.jobs![0]!;
  return {
    module,
    alerts,
    logLines: lines,
    async runJob() {
      const runId = randomUUID();
      const fence = await acquireFence(database, runId);
      try {
        return (await job.run({ log, runId, signal: new AbortController().signal, scheduledAt: new Date(), fence })) ?? {};
      } finally {
        await createSchedulerRepository(database.db).finish({ job: FEED_JOB, runId, status: 'SUCCEEDED', nextRunInMs: undefined });
      }
    },
    async close() {
      await alerts.close();
      await shopify.close();
    },
  };
}

/** Places a Shopify order from one warehouse and makes its ERP sales order, as the order pipeline would. */
export async function placeOrderInBoth(world: ShopAndErp, lines: readonly { sku: string; quantity: number }[], warehouse = 'WH-A'): Promise<{ order: OrderView; reference: string }> {
  const placed = world.shopify.state.placeOrder({
    lines: lines.map((line) => ({ sku: world.variants.get(line.sku)?.sku ?? line.sku, quantity: line.quantity, location: warehouse })),
    email: 'ada@example.com',
  });
  if (!placed.placed) throw new Error(placed.message);
  const reference = placed.order.id;
  const input: SalesOrderInput = {
    externalReference: reference,
    name: placed.order.name,
    customer: { name: 'Ada Lovelace', email: 'ada@example.com', phone: null },
    shippingAddress: null,
    currency: 'EUR',
    lines: lines.map((line) => ({ sku: line.sku, quantity: line.quantity, location: warehouse, unitPrice: '10.00' })),
  };
  await world.connector.createSalesOrder(input);
  world.erp.assignSalesOrder(reference);
  return { order: placed.order, reference };
}

export { startShopAndErp, type ProductSpec, type ShopAndErp };
