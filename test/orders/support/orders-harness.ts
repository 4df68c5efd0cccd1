import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import Fastify, { type FastifyInstance } from 'fastify';
import { Registry } from 'prom-client';
import { createAlertSender, type AlertPayload, type AlertSender } from '../../../src/alerts/alert-sender.js';
import { loadConfig } from '../../../src/config.js';
import type { Database } from '../../../src/db/database.js';
import { inventoryLevels } from '../../../src/db/schema/index.js';
import type { ErpConnector } from '../../../src/erp/erp-connector.js';
import { SimulatedErp } from '../../../src/erp/simulated/simulated-erp.js';
import { SimulatedErpConnector } from '../../../src/erp/simulated/simulated-erp-connector.js';
import type { LocationMapping, SkuMapping } from '../../../src/inventory/inventory.models.js';
import type { Logger } from '../../../src/logger.js';
import type { OrderMappingLookup } from '../../../src/orders/order-line-mapper.js';
import type { PauseContext, PipelineStep } from '../../../src/orders/order-processor.service.js';
import { createOrdersModule, type OrdersModule, type OrdersModuleOptions } from '../../../src/orders/orders.module.js';
import { AdminApiShopifyClient } from '../../../src/shopify/admin-api-shopify-client.js';
import type { ShopifyClient } from '../../../src/shopify/shopify-client.js';
import type { ModuleDeps } from '../../../src/domain-module.js';
import { startShopifySimulator, type ShopifySimulator } from '../../../src/simulators/shopify/index.js';
import { createMemoryLogger } from '../../support/gateway.js';

/**
 * One "gateway instance" of the orders domain for tests: the real module on a test database,
 * its webhook route on a real HTTP port, the simulated ERP behind its real connector, and the
 * Shopify simulator (shared between instances) that sends real signed webhooks to it.
 */

export const WAREHOUSES = [
  { code: 'WH-A', name: 'Main warehouse' },
  { code: 'WH-B', name: 'North warehouse' },
];

/** The inventory domain's mapping, as a table: the port's fake for these tests. */
export class TableOrderMapping implements OrderMappingLookup {
  readonly skus = new Map<string, SkuMapping>();
  readonly locations: LocationMapping[] = [];

  mapVariant(erpSku: string, variant: { variantId: string; sku: string | null; inventoryItemId: string }, conversion = { erpUnits: 1, shopifyUnits: 1 }): void {
    this.skus.set(variant.variantId, {
      erpSku,
      source: 'MANUAL',
      shopifySku: variant.sku,
      shopifyVariantId: variant.variantId,
      shopifyInventoryItemId: variant.inventoryItemId,
      conversion,
      tracked: true,
      variantExists: true,
      updatedAt: new Date(),
    });
  }

  /** Runs once, inside the next mapping read, before it answers (a deterministic pause point). */
  beforeNextRead: (() => Promise<void>) | null = null;

  async findSkuMappingsByVariantIds(variantIds: readonly string[]): Promise<SkuMapping[]> {
    const hook = this.beforeNextRead;
    this.beforeNextRead = null;
    if (hook) await hook();
    return variantIds.flatMap((id) => (this.skus.has(id) ? [this.skus.get(id)!] : []));
  }

  async findSkuMappingsBySkus(erpSkus: readonly string[]): Promise<SkuMapping[]> {
    return [...this.skus.values()].filter((mapping) => erpSkus.includes(mapping.erpSku));
  }

  async listLocationMappings(): Promise<LocationMapping[]> {
    return [...this.locations];
  }
}

export interface ShopAndErp {
  readonly erp: SimulatedErp;
  readonly connector: SimulatedErpConnector;
  readonly shopify: ShopifySimulator;
  readonly mapping: TableOrderMapping;
  /** Shopify variant of each ERP SKU (the shop spells some differently). */
  readonly variants: Map<string, { variantId: string; sku: string | null; inventoryItemId: string }>;
  /** Shopify location gid of each warehouse code. */
  readonly shopifyLocations: Map<string, string>;
  readonly alerts: AlertCapture;
  close(): Promise<void>;
}

/** A local HTTP endpoint standing for ALERT_WEBHOOK_URL. */
export interface AlertCapture {
  readonly url: string;
  readonly received: AlertPayload[];
  close(): Promise<void>;
}

export async function startAlertCapture(): Promise<AlertCapture> {
  const received: AlertPayload[] = [];
  const server: Server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      received.push(JSON.parse(Buffer.concat(chunks).toString('utf8')) as AlertPayload);
      response.writeHead(204).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/alerts`,
    received,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

export interface ProductSpec {
  readonly sku: string;
  /** How the shop spells it (default the same). */
  readonly shopifySku?: string;
  readonly price?: string;
  /** Units on hand per warehouse in the ERP and available in Shopify (default 50 each). */
  readonly stock?: Readonly<Record<string, number>>;
  /** Shopify units per ERP unit (the ERP stocks cases): `{ erpUnits: 1, shopifyUnits: 12 }`. */
  readonly conversion?: { erpUnits: number; shopifyUnits: number };
  /** In Shopify only: the ERP has no such product. */
  readonly shopifyOnly?: boolean;
  /** In Shopify and the ERP, but its variant is not in the mapping table (its orders wait for a mapping). */
  readonly unmapped?: boolean;
}

/** A Shopify simulator (stocked at `warehouses`, keyed by their ERP codes) and the mapping from it to ERP SKUs and locations. */
export type Shop = Omit<ShopAndErp, 'erp' | 'connector'>;

export async function startShop(
  products: readonly ProductSpec[],
  options: { log?: Logger; seed?: number; warehouses?: ReadonlyArray<{ code: string; name: string }> } = {},
): Promise<Shop> {
  const log = options.log ?? createMemoryLogger('silent').log;
  const warehouses = options.warehouses ?? WAREHOUSES;
  const shopify = await startShopifySimulator({
    port: 0,
    plan: 'plus',
    shopDomain: 'orders-test.myshopify.com',
    logger: log,
    seed: options.seed ?? 11,
    catalogue: {
      shop: { name: 'Orders test shop', currency: 'EUR' },
      locations: warehouses.map((warehouse) => ({ key: warehouse.code, name: warehouse.name })),
      products: products.map((product) => ({
        title: `Product ${product.sku}`,
        variants: [
          {
            sku: product.shopifySku ?? product.sku,
            price: product.price ?? '10.00',
            levels: Object.fromEntries(
              warehouses.map((warehouse) => [
                warehouse.code,
                Math.floor((product.stock?.[warehouse.code] ?? 50) * (product.conversion ? product.conversion.shopifyUnits / product.conversion.erpUnits : 1)),
              ]),
            ),
          },
        ],
      })),
    },
  });
  const mapping = new TableOrderMapping();
  const variants = new Map<string, { variantId: string; sku: string | null; inventoryItemId: string }>();
  const levels = shopify.state.levels();
  for (const product of products) {
    const shopSku = product.shopifySku ?? product.sku;
    const level = levels.find((candidate) => candidate.sku === shopSku)!;
    const variant = shopify.state.shop.findVariant({ inventoryItemId: level.inventoryItemId })!;
    const ref = { variantId: `gid://shopify/ProductVariant/${variant.id}`, sku: shopSku, inventoryItemId: level.inventoryItemId };
    variants.set(product.sku, ref);
    if (!product.shopifyOnly && !product.unmapped) mapping.mapVariant(product.sku, ref, product.conversion);
  }
  const shopifyLocations = new Map<string, string>();
  for (const warehouse of warehouses) {
    const location = shopify.state.shop.getLocation(warehouse.code);
    shopifyLocations.set(warehouse.code, `gid://shopify/Location/${location.id}`);
    mapping.locations.push({ erpLocation: warehouse.code, shopifyLocationId: `gid://shopify/Location/${location.id}`, source: 'MANUAL' });
  }
  const alerts = await startAlertCapture();
  return {
    shopify,
    mapping,
    variants,
    shopifyLocations,
    alerts,
    async close() {
      await shopify.close();
      await alerts.close();
    },
  };
}

/** A simulated ERP and a Shopify simulator with the same catalogue, and the mapping between them. */
export async function startShopAndErp(products: readonly ProductSpec[], options: { log?: Logger; seed?: number } = {}): Promise<ShopAndErp> {
  const log = options.log ?? createMemoryLogger('silent').log;
  const erp = new SimulatedErp();
  for (const warehouse of WAREHOUSES) erp.addWarehouse(warehouse);
  for (const product of products) {
    if (product.shopifyOnly) continue;
    erp.addProduct({ sku: product.sku, name: `Product ${product.sku}` });
    for (const warehouse of WAREHOUSES) erp.seedStock({ sku: product.sku, location: warehouse.code, quantity: product.stock?.[warehouse.code] ?? 50 });
  }
  // No retries inside the connector: the pipeline's own retries are under test.
  const connector = new SimulatedErpConnector(erp, { policy: { maxAttempts: 1, timeoutMs: 2_000 }, logger: log });
  const shop = await startShop(products, { log, seed: options.seed });
  return {
    ...shop,
    erp,
    connector,
    async close() {
      await shop.close();
      await connector.close();
    },
  };
}

export interface OrdersInstance {
  readonly module: OrdersModule;
  readonly app: FastifyInstance;
  readonly url: string;
  readonly webhookUrl: string;
  readonly alertSender: AlertSender;
  readonly logLines: () => Array<Record<string, unknown>>;
  /** Applies the inbox and works on due orders until nothing is left. */
  drain(): Promise<{ deliveries: number; orders: number }>;
  close(): Promise<void>;
}

export interface InstanceOptions extends Partial<Omit<OrdersModuleOptions, 'mapping' | 'alerts'>> {
  readonly erp?: ErpConnector;
  readonly env?: Record<string, string>;
  readonly pushWakes?: { count: number };
  /** Wraps the instance's Shopify client (a test cuts a call short). */
  readonly wrapShopify?: (client: ShopifyClient) => ShopifyClient;
}

/** What an instance needs of its world: a store, an ERP connection, a mapping and an alert endpoint. */
export type InstanceWorld = Pick<ShopAndErp, 'shopify' | 'mapping' | 'alerts'> & { readonly connector: ErpConnector };

/** The orders module of one gateway instance, its route served on an ephemeral port. */
export async function startOrdersInstance(world: InstanceWorld, database: Database, options: InstanceOptions = {}): Promise<OrdersInstance> {
  const { log, lines } = createMemoryLogger('debug');
  const config = loadConfig({ PORT: '0', SCHEDULER: 'off', LOG_LEVEL: 'debug', ...options.env });
  const metrics = new Registry();
  const shopifyClient = new AdminApiShopifyClient({
    shopDomain: world.shopify.shopDomain,
    accessToken: world.shopify.accessToken,
    adminUrl: world.shopify.adminUrl,
    logger: log,
    metrics,
  });
  const alertSender = createAlertSender({ log, webhookUrl: world.alerts.url, burst: 1000 });
  const deps: ModuleDeps = {
    config,
    log,
    database,
    metrics,
    erp: options.erp ?? world.connector,
    shopify: options.wrapShopify ? options.wrapShopify(shopifyClient) : shopifyClient,
    shop: world.shopify.shopDomain,
    webhookSecret: world.shopify.apiSecret,
    now: () => new Date(),
  };
  const { pushWakes, processor, erp: _erp, env: _env, wrapShopify: _wrap, ...moduleOptions } = options;
  const module = createOrdersModule(deps, {
    mapping: world.mapping,
    alerts: alertSender,
    worker: false,
    pushSignal: pushWakes ? { wake: () => void (pushWakes.count += 1) } : undefined,
    ...moduleOptions,
    processor: { backoffBaseMs: 20, backoffMaxMs: 200, maxAttempts: 4, random: () => 1, outagePauseMs: 20, outageMaxPauseMs: 200, ...processor },
  });
  const app = Fastify({ logger: false, bodyLimit: config.webhookMaxBytes });
  for (const route of module.routes ?? []) await app.register(async (scope) => route(scope));
  const address = await app.listen({ port: 0, host: '127.0.0.1' });
  await module.start();
  return {
    module,
    app,
    url: address,
    webhookUrl: `${address}/webhooks/shopify`,
    alertSender,
    logLines: lines,
    drain: () => module.worker.drainOnce(),
    async close() {
      await module.stop();
      await app.close();
      await alertSender.close();
      await shopifyClient.close();
    },
  };
}

/** A read-model row as the inventory domain would have written it. */
export async function seedInventoryLevel(
  database: Database,
  shop: string,
  position: { sku: string; location: string; onHand: number; allocated?: number; unexplainedShopifyDrop?: number },
): Promise<void> {
  const atp = Math.max(0, Math.floor(position.onHand - (position.allocated ?? 0) - Math.max(0, position.unexplainedShopifyDrop ?? 0)));
  await database.db
    .insert(inventoryLevels)
    .values({
      shop,
      sku: position.sku,
      location: position.location,
      onHand: position.onHand,
      allocated: position.allocated ?? 0,
      unexplainedShopifyDrop: position.unexplainedShopifyDrop ?? 0,
      availableToPromise: atp,
      erpReadAt: new Date(),
    })
    .onConflictDoNothing();
}

/**
 * Pause points for the order processor (its `pause` option): a test holds a step, learns when an
 * attempt reaches it, and lets it go on when it chooses. Each hold catches one attempt.
 */
export class PipelinePauses {
  private readonly holds: Array<{
    readonly step: PipelineStep;
    readonly orderId: string | null;
    readonly reached: (context: PauseContext) => void;
    readonly released: Promise<void>;
  }> = [];

  readonly pause = async (step: PipelineStep, context: PauseContext): Promise<void> => {
    const index = this.holds.findIndex((hold) => hold.step === step && (hold.orderId === null || hold.orderId === context.orderId));
    if (index < 0) return;
    const [hold] = this.holds.splice(index, 1);
    hold!.reached(context);
    await hold!.released;
  };

  /** Holds the next attempt that reaches `step` (of `orderId`, when given). */
  hold(step: PipelineStep, orderId: string | null = null): { reached: Promise<PauseContext>; release: () => void } {
    let reached!: (context: PauseContext) => void;
    let release!: () => void;
    const reachedPromise = new Promise<PauseContext>((resolve) => (reached = resolve));
    const released = new Promise<void>((resolve) => (release = resolve));
    this.holds.push({ step, orderId, reached, released });
    return { reached: reachedPromise, release };
  }
}

/** A clock for leases and in-doubt settling that runs with real time and jumps when told. */
export class TestClock {
  private offsetMs = 0;
  readonly now = (): Date => new Date(Date.now() + this.offsetMs);
  advance(ms: number): void {
    this.offsetMs += ms;
  }
}
