import { and, eq, sql } from 'drizzle-orm';
import { createAlertSender, type AlertSender } from '../../src/alerts/alert-sender.js';
import { loadConfig } from '../../src/config.js';
import { inventoryLevels } from '../../src/db/schema/index.js';
import { atpExpression } from '../../src/inventory/read-model/atp-formula.js';
import { DEMO_FINISH_WORDS, startDemoEnvironment, type DemoEnvironment } from '../../src/demo/demo-environment.js';
import { createInventoryModule, type InventoryModule } from '../../src/inventory/inventory.module.js';
import type { PushTarget } from '../../src/inventory/inventory.models.js';
import { groupPushTargets, shopifyQuantityFor } from '../../src/inventory/push-targets.js';
import { createPushSignal, type PushSignalHub } from '../../src/inventory/push-signal.js';
import { createMetricsRegistry } from '../../src/metrics.js';
import type { ModuleDeps } from '../../src/domain-module.js';
import { AdminApiShopifyClient } from '../../src/shopify/admin-api-shopify-client.js';
import type { ShopifyClient } from '../../src/shopify/shopify-client.js';
import { createSyncModule, type SyncModule, type SyncModuleOptions } from '../../src/sync/sync.module.js';
import { createTestDatabase, type TestDatabase } from '../support/database.js';
import { createMemoryLogger } from '../support/gateway.js';

/**
 * The push side against real parts: a migrated database, the demo's simulated ERP and simulated
 * Shopify store (untidy SKUs, duplicates, Shopify-only products), the real Shopify client, the
 * real inventory module (mapping, ATP engine) and the sync module. One per test file.
 */
export interface SyncFixture {
  readonly database: TestDatabase;
  readonly demo: DemoEnvironment;
  readonly shopify: ShopifyClient;
  readonly deps: ModuleDeps;
  readonly inventory: InventoryModule;
  readonly sync: SyncModule;
  readonly pushSignal: PushSignalHub;
  readonly alerts: AlertSender;
  readonly logLines: () => Array<Record<string, unknown>>;
  /** The modules' clock: real time plus whatever `advance` added (order windows, retry delays). */
  readonly clock: { now: () => Date; advance: (ms: number) => void };
  /** Every push target (all pages). */
  allTargets(): Promise<PushTarget[]>;
  /** Every mapped Shopify item×location whose Shopify `available` differs from the ATP now in the read model. */
  mismatches(): Promise<Array<{ sku: string; shopifyLocationId: string; shopify: number | null; atp: number }>>;
  close(): Promise<void>;
}

export interface SyncFixtureOptions {
  readonly skus?: number;
  /** Wraps the real client (e.g. to race a sale against a write). */
  readonly wrapShopify?: (client: ShopifyClient) => ShopifyClient;
  readonly orderWindowMs?: number;
  readonly eventPollMs?: number;
  readonly alertWebhookUrl?: string;
  /** Told of every pushed item's outcome, as the health metrics are (error rate, sync latency). */
  readonly outcomes?: SyncModuleOptions['outcomes'];
}

export async function startSyncFixture(options: SyncFixtureOptions = {}): Promise<SyncFixture> {
  const { log, lines } = createMemoryLogger('warn');
  let offset = 0;
  const clock = { now: () => new Date(Date.now() + offset), advance: (ms: number) => void (offset += ms) };
  const database = await createTestDatabase();
  const demo = await startDemoEnvironment({ log, skus: options.skus ?? 80, activityPerMinute: 0 });
  const metrics = createMetricsRegistry({ defaultMetrics: false });
  const client = new AdminApiShopifyClient({
    shopDomain: demo.shopify.shopDomain,
    accessToken: demo.shopify.accessToken,
    adminUrl: demo.shopify.adminUrl,
    logger: log,
    metrics,
  });
  const shopify = options.wrapShopify ? options.wrapShopify(client) : client;
  const config = loadConfig({ SCHEDULER: 'off', ...(options.alertWebhookUrl ? { ALERT_WEBHOOK_URL: options.alertWebhookUrl } : {}) });
  const deps: ModuleDeps = {
    config,
    log,
    database,
    metrics,
    erp: demo.erpConnector,
    shopify,
    shop: demo.shopify.shopDomain,
    webhookSecret: demo.shopify.apiSecret,
    now: clock.now,
  };
  const pushSignal = createPushSignal();
  const alerts = createAlertSender({ log, webhookUrl: config.alertWebhookUrl });
  const inventory = createInventoryModule(deps, { pushSignal, defaultAbbreviations: DEMO_FINISH_WORDS });
  await inventory.start();
  await inventory.services.whenReady();
  const sync = createSyncModule(deps, {
    mapping: inventory.services.mapping,
    atp: inventory.services.atp,
    pushSignal,
    alerts,
    orderWindowMs: options.orderWindowMs,
    eventPollMs: options.eventPollMs ?? 60_000,
    outcomes: options.outcomes,
  });

  const allTargets = async () => {
    const targets: PushTarget[] = [];
    let after: string | null = null;
    for (;;) {
      const page = await inventory.services.mapping.listPushTargets({ after, first: 1_000 });
      targets.push(...page.items);
      if (!page.nextCursor) return targets;
      after = page.nextCursor;
    }
  };

  return {
    database,
    demo,
    shopify,
    deps,
    inventory,
    sync,
    pushSignal,
    alerts,
    logLines: lines,
    clock,
    allTargets,
    async mismatches() {
      const groups = groupPushTargets(await allTargets());
      const rows = await database.db
        .select({ sku: inventoryLevels.sku, location: inventoryLevels.location, atp: inventoryLevels.availableToPromise })
        .from(inventoryLevels)
        .where(eq(inventoryLevels.shop, deps.shop));
      const atp = new Map(rows.map((row) => [`${row.sku}|${row.location}`, row.atp]));
      const out: Array<{ sku: string; shopifyLocationId: string; shopify: number | null; atp: number }> = [];
      for (const group of groups) {
        const byLocation = new Map(group.erpLocations.map((location) => [location, atp.get(`${group.sku}|${location}`) ?? 0]));
        if (!group.erpLocations.some((location) => atp.has(`${group.sku}|${location}`))) continue;
        const expected = shopifyQuantityFor(group, byLocation);
        const level = demo.shopify.state.level({ inventoryItemId: group.inventoryItemId, location: group.shopifyLocationId });
        const actual = level?.quantities.available ?? null;
        if ((actual ?? 0) !== expected) out.push({ sku: group.sku, shopifyLocationId: group.shopifyLocationId, shopify: actual, atp: expected });
      }
      return out;
    },
    async close() {
      await sync.stop();
      await inventory.stop();
      await alerts.close();
      await client.close();
      await demo.close();
      await database.close();
    },
  };
}

/** A read-model row. */
export async function levelRow(fixture: SyncFixture, sku: string, location: string) {
  const [row] = await fixture.database.db
    .select()
    .from(inventoryLevels)
    .where(and(eq(inventoryLevels.shop, fixture.deps.shop), eq(inventoryLevels.sku, sku), eq(inventoryLevels.location, location)));
  if (!row) throw new Error(`no position ${sku} at ${location}`);
  return row;
}

/**
 * What the orders domain does when it learns of a Shopify order (the handshake in the header of
 * src/db/schema/inventory-levels.ts): pending orders up, unexplained drop down by as much, ATP
 * recomputed, position marked.
 */
export async function recordShopifyOrder(fixture: SyncFixture, sku: string, location: string, quantity: number): Promise<void> {
  await fixture.database.db.execute(sql`
    update inventory_levels set pending_orders = pending_orders + ${quantity},
      unexplained_shopify_drop = unexplained_shopify_drop - ${quantity},
      push_requested_at = least(coalesce(push_requested_at, now()), now())
    where shop = ${fixture.deps.shop} and sku = ${sku} and location = ${location}`);
  await fixture.database.db
    .update(inventoryLevels)
    .set({ availableToPromise: atpExpression })
    .where(and(eq(inventoryLevels.shop, fixture.deps.shop), eq(inventoryLevels.sku, sku), eq(inventoryLevels.location, location)));
}

const taken = new Set<string>();

/**
 * A group (Shopify item × location) with exactly one ERP location, stock and a plain 1:1
 * mapping, not handed out before in this test file: each test owns its items.
 */
export async function simpleGroup(fixture: SyncFixture, predicate: (target: PushTarget) => boolean = () => true) {
  const targets = await fixture.allTargets();
  const groups = groupPushTargets(targets).filter((group) => group.erpLocations.length === 1 && group.conversion.erpUnits === 1 && group.conversion.shopifyUnits === 1);
  for (const group of groups) {
    const target = targets.find((t) => t.sku === group.sku && t.location === group.erpLocations[0]);
    if (!target || !predicate(target) || taken.has(group.sku)) continue;
    const row = await levelRow(fixture, group.sku, group.erpLocations[0]!);
    if (row.availableToPromise >= 20 && !group.sku.startsWith('KIT-')) {
      taken.add(group.sku);
      return { group, location: group.erpLocations[0]!, row };
    }
  }
  throw new Error('no simple group with stock in the fixture');
}
