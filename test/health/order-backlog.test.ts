import { eq, sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inventoryLevels, skuMappings } from '../../src/db/schema/index.js';
import { startTestGateway, type TestGateway } from '../support/gateway.js';
import { waitFor } from '../support/waiting.js';

type Backlog = { waiting: number; oldestAgeSeconds: number | null; drainRatePerMinute: number };

/**
 * The backlog toward the ERP in `health` and /metrics, and an acknowledged order's units counted
 * as pending while the ERP is down: orders the demo store takes while its ERP is unreachable wait
 * (counted, aged, their units held against the ATP), then drain once it is back.
 */
describe('the order backlog toward the ERP', () => {
  let gateway: TestGateway;
  let reader: string;

  beforeAll(async () => {
    gateway = await startTestGateway();
    reader = await gateway.createKey(['read']);
    await gateway.services.inventory.whenReady();
  }, 120_000);
  afterAll(async () => {
    gateway?.demo?.erp.recover();
    await gateway?.close();
  });

  const backlog = async () => {
    const { body } = await gateway.graphql<{ data: { health: { orderBacklog: Backlog } } }>(reader, '{ health { orderBacklog { waiting oldestAgeSeconds drainRatePerMinute } } }');
    return body.data.health.orderBacklog;
  };
  const gauges = async () => {
    const text = await (await fetch(gateway.metricsUrl)).text();
    const value = (name: string) => Number(new RegExp(`^${name} (\\S+)$`, 'm').exec(text)?.[1] ?? Number.NaN);
    return {
      waiting: value('stockbridge_order_backlog_waiting'),
      oldest: value('stockbridge_order_backlog_oldest_age_seconds'),
      rate: value('stockbridge_order_drain_rate_per_minute'),
    };
  };
  const pendingUnits = async (sku: string) => {
    const [row] = await gateway.database.db.select({ units: sql<number>`coalesce(sum(${inventoryLevels.pendingOrders}), 0)` }).from(inventoryLevels).where(eq(inventoryLevels.sku, sku));
    return Number(row!.units);
  };

  it('is empty with nothing waiting', async () => {
    expect(await backlog()).toEqual({ waiting: 0, oldestAgeSeconds: null, drainRatePerMinute: 0 });
    expect(await gauges()).toEqual({ waiting: 0, oldest: 0, rate: 0 });
  });

  it('counts orders acknowledged while the ERP is down, with their age and their units pending, then drains them', async () => {
    const level = gateway.demo!.shopify.state.levels().find((candidate) => candidate.sku && candidate.quantities.available >= 10 && !['GIFT-CARD-25', 'MERCH-TSHIRT-M', 'SAMPLE-PACK'].includes(candidate.sku))!;
    const sku = level.sku!;
    const [mapping] = await gateway.database.db.select({ erpSku: skuMappings.erpSku }).from(skuMappings).where(eq(skuMappings.shopifySku, sku)).limit(1);
    const mappedSku = mapping!.erpSku;
    const before = await pendingUnits(mappedSku);

    gateway.demo!.erp.fail({ mode: 'down' });
    for (let i = 0; i < 3; i += 1) {
      const placed = gateway.demo!.shopify.state.placeOrder({ lines: [{ sku, quantity: 2 }] });
      if (!placed.placed) throw new Error(`order refused: ${placed.message}`);
    }
    await gateway.demo!.shopify.state.settleWebhooks();

    // Acknowledged and applied: waiting for the ERP, their units held against the ATP although the ERP is away.
    const waiting = await waitFor(backlog, (value) => value.waiting === 3, { timeoutMs: 30_000, what: 'three orders waiting' });
    expect(waiting.oldestAgeSeconds).not.toBeNull();
    expect(waiting.oldestAgeSeconds!).toBeGreaterThanOrEqual(0);
    expect(waiting.drainRatePerMinute).toBe(0);
    expect(await waitFor(() => pendingUnits(mappedSku), (units) => units === before + 6, { timeoutMs: 10_000, what: 'pending units' })).toBe(before + 6);
    const metrics = await waitFor(gauges, (value) => value.waiting === 3, { timeoutMs: 5_000, what: 'the waiting gauge' });
    expect(metrics.oldest).toBeGreaterThanOrEqual(0);
    // It ages while it waits.
    await new Promise((resolve) => setTimeout(resolve, 1_100));
    expect((await backlog()).oldestAgeSeconds!).toBeGreaterThan(waiting.oldestAgeSeconds!);

    gateway.demo!.erp.recover();
    const drained = await waitFor(backlog, (value) => value.waiting === 0, { timeoutMs: 60_000, what: 'the backlog drained' });
    expect(drained.oldestAgeSeconds).toBeNull();
    // Three orders taken by the ERP within the 5-minute window.
    expect(drained.drainRatePerMinute).toBeCloseTo(3 / 5, 5);
    expect(await waitFor(gauges, (value) => value.waiting === 0, { timeoutMs: 5_000, what: 'the gauges drained' })).toMatchObject({ oldest: 0, rate: 0.6 });
  });
});
