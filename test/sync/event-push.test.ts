import { and, eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inventoryLevels } from '../../src/db/schema/index.js';
import { atpExpression } from '../../src/inventory/read-model/atp-formula.js';
import { requestPush } from '../../src/inventory/push-requests.js';
import { waitUntil } from '../support/waiting.js';
import { levelRow, simpleGroup, startSyncFixture, type SyncFixture } from './sync.fixture.js';

let fixture: SyncFixture;

beforeAll(async () => {
  fixture = await startSyncFixture({ eventPollMs: 60_000 });
  await fixture.sync.services.runFullReconcile();
});

afterAll(async () => {
  await fixture?.close();
});

/** What the reservations domain does: a term changed, ATP recomputed, position marked, pusher woken. */
async function reserve(sku: string, location: string, quantity: number): Promise<void> {
  await fixture.database.db.transaction(async (tx) => {
    await tx
      .update(inventoryLevels)
      .set({ reserved: quantity })
      .where(and(eq(inventoryLevels.shop, fixture.deps.shop), eq(inventoryLevels.sku, sku), eq(inventoryLevels.location, location)));
    await tx
      .update(inventoryLevels)
      .set({ availableToPromise: atpExpression })
      .where(and(eq(inventoryLevels.shop, fixture.deps.shop), eq(inventoryLevels.sku, sku), eq(inventoryLevels.location, location)));
    await requestPush(tx, fixture.deps.shop, [{ sku, location }], fixture.clock.now());
  });
  fixture.pushSignal.wake();
}

const available = (group: { inventoryItemId: string; shopifyLocationId: string }) =>
  fixture.demo.shopify.state.level({ inventoryItemId: group.inventoryItemId, location: group.shopifyLocationId })?.quantities.available;

describe('event push', () => {
  it('a change Stockbridge makes reaches Shopify within seconds of the wake, long before the next poll', async () => {
    const { group, location, row } = await simpleGroup(fixture);
    await fixture.sync.startWithScheduler();
    try {
      await reserve(group.sku, location, 4);
      // The loop polls once a minute: only the wake can bring it this soon.
      await waitUntil(() => available(group) === row.availableToPromise - 4, 5_000);
      await waitUntil(async () => (await levelRow(fixture, group.sku, location)).pushRequestedAt === null, 5_000);
      const after = await levelRow(fixture, group.sku, location);
      expect(after).toMatchObject({ lastPushedQuantity: row.availableToPromise - 4, shopifyAvailable: row.availableToPromise - 4 });
    } finally {
      await fixture.sync.stop();
    }
    const runs = await fixture.sync.services.listRuns(5, null);
    expect(runs.edges.some(({ node: run }) => run.kind === 'EVENT' && run.itemsPushed === 1)).toBe(true);
  });

  it('marks on positions nothing can be pushed for (an ERP-only SKU) are cleared, not retried forever', async () => {
    const report = await fixture.inventory.services.mapping.getMappingReport();
    const erpOnly = report.unmappedErpSkus[0]!;
    const [position] = await fixture.database.db.select().from(inventoryLevels).where(and(eq(inventoryLevels.shop, fixture.deps.shop), eq(inventoryLevels.sku, erpOnly)));
    await reserve(erpOnly, position!.location, 1);

    const run = await fixture.sync.services.runEventPush();

    expect(run).toMatchObject({ itemsConsidered: 0 });
    expect((await levelRow(fixture, erpOnly, position!.location)).pushRequestedAt).toBeNull();
    expect(await fixture.sync.services.runEventPush()).toBeNull();
  });

  it('one item Shopify refuses never blocks the others; it is retried with backoff and alerts when it keeps failing', async () => {
    // A bundle in Shopify with the SKU of an ERP product: mapped, but Shopify refuses its quantities.
    const report = await fixture.inventory.services.mapping.getMappingReport();
    const bundleSku = report.unmappedErpSkus.find((sku) => !sku.startsWith('KIT-'))!;
    const locations = await fixture.inventory.services.mapping.listLocationMappings();
    fixture.demo.shopify.state.seed({ products: [{ title: 'Bundle', variants: [{ sku: bundleSku, bundle: true, levels: { [locations[0]!.erpLocation]: 1 } }] }] });
    await fixture.inventory.services.mapping.refreshShopifyCatalogue();
    const bundleTargets = await fixture.inventory.services.mapping.getPushTargets([bundleSku]);
    expect(bundleTargets.length).toBeGreaterThan(0);
    const good = await simpleGroup(fixture);
    fixture.demo.erp.receiveStock({ sku: good.group.sku, location: good.location, quantity: 6 });
    fixture.demo.erp.receiveStock({ sku: bundleSku, location: bundleTargets[0]!.location, quantity: 6 });

    const run = await fixture.sync.services.pushInventory({ skus: [bundleSku, good.group.sku] });

    expect(run.status).toBe('PARTIAL');
    expect(available(good.group)).toBe(good.row.availableToPromise + 6);
    const errors = (await fixture.sync.services.getRunErrors([run.id], 10)).get(run.id)!;
    expect(errors.length).toBe(run.itemsFailed);
    expect(errors[0]).toMatchObject({ sku: bundleSku, code: 'NON_MUTABLE_INVENTORY_ITEM' });
    // Marked for a retry in 30 s, then 1 min, 2 min…: not before.
    expect(await fixture.sync.services.runEventPush()).toBeNull();
    fixture.clock.advance(30_000);
    expect(await fixture.sync.services.runEventPush()).toMatchObject({ status: 'FAILED' });
    fixture.clock.advance(60_000);
    expect(await fixture.sync.services.runEventPush()).toMatchObject({ status: 'FAILED' });
    await fixture.alerts.flush();
    const alerts = fixture.logLines().filter((line) => String(line.msg).startsWith('ALERT SYNC_ITEM_FAILING'));
    expect(alerts.length).toBeGreaterThan(0);
    expect(String(alerts[0]!.msg)).toContain(bundleSku);
  });

  it('exports sync metrics', async () => {
    const text = await fixture.deps.metrics.metrics();
    for (const name of [
      'stockbridge_sync_run_duration_seconds',
      'stockbridge_sync_items_pushed_total',
      'stockbridge_sync_item_errors_total',
      'stockbridge_sync_drift_found_total',
      'stockbridge_sync_last_success_age_seconds',
      'stockbridge_sync_push_delay_seconds',
    ]) {
      expect(text).toContain(name);
    }
    expect(text).toMatch(/stockbridge_sync_item_errors_total\{kind="MANUAL",code="NON_MUTABLE_INVENTORY_ITEM"\} [1-9]/);
    expect(text).toMatch(/stockbridge_sync_last_success_age_seconds [0-9.]+/);
  });
});
