import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LaneStats } from '../../src/erp/erp-lanes.js';
import type { SimulatedErpConnector } from '../../src/erp/simulated/simulated-erp-connector.js';
import { startTestGateway, type TestGateway } from '../support/gateway.js';

interface GraphQLAnswer<T> {
  data?: T;
  errors?: Array<{ message: string; extensions?: { code?: string } }>;
}

/**
 * Issue 10: a flood of API reads that go live to the ERP (`lots`) must not delay an order on
 * its way into the ERP. The whole gateway in demo mode, its simulated ERP slowed down for lot
 * reads; counted, not timed: when the order's create reaches the ERP, reads that arrived before
 * the order are still waiting in the interactive queue (the order did not wait for them to
 * drain), and no background call has ever waited for a slot.
 *
 * The bound stated: an order's ERP calls wait for no interactive call. Reads hold at most
 * `interactiveShare` of the limiter's slots, background calls go first whenever a slot frees,
 * so the added delay of an order under any read flood is zero while the background's own
 * slots are free, and at most one round trip otherwise.
 */
describe('a flood of interactive ERP reads while orders arrive', () => {
  let gateway: TestGateway;
  let keys: string[];

  beforeAll(async () => {
    gateway = await startTestGateway();
    keys = await Promise.all(Array.from({ length: 6 }, () => gateway.createKey(['read'])));
  });

  afterAll(async () => {
    gateway?.demo?.erp.recover();
    await gateway?.close();
  });

  it('gets the order into the ERP while earlier reads still queue, and no background call ever waits for a slot', { timeout: 60_000 }, async () => {
    const demo = gateway.demo!;
    const connector = demo.erpConnector as SimulatedErpConnector;
    const sku = demo.shopify.state.levels().find((level) => level.sku && level.quantities.available >= 5 && !['GIFT-CARD-25', 'MERCH-TSHIRT-M', 'SAMPLE-PACK'].includes(level.sku))!.sku!;
    // Let the start-up work (catalogue fill, first sync) finish before measuring.
    await gateway.services.inventory.whenReady();
    demo.erp.fail({ mode: 'slow', methods: ['lot.read'], delayMs: 400 });

    const background: LaneStats[] = [];
    const sample = setInterval(() => background.push(connector.laneStats()), 5);
    const flood = keys.flatMap((key) =>
      Array.from({ length: 5 }, () => gateway.graphql<GraphQLAnswer<{ lots: unknown[] }>>(key, 'query($sku: String) { lots(sku: $sku) { number sku location quantity } }', { sku })),
    );
    // The reads are in the ERP's interactive queue before the order arrives.
    for (let i = 0; i < 400 && connector.laneStats().queued.interactive < 5; i++) await sleep(5);
    expect(connector.laneStats().queued.interactive).toBeGreaterThanOrEqual(5);

    let atCreate: { stats: LaneStats; lotReads: number } | null = null;
    demo.erp.beforeNextCall('sale.create', () => {
      atCreate = { stats: connector.laneStats(), lotReads: demo.erp.roundTrips('lot.read') };
    });
    const lotReadsBefore = demo.erp.roundTrips('lot.read');
    const placed = demo.shopify.state.placeOrder({ lines: [{ sku, quantity: 1 }], email: 'flood@example.com' });
    if (!placed.placed) throw new Error('the demo store refused the order');

    for (let i = 0; i < 2_000 && atCreate === null; i++) await sleep(10);
    clearInterval(sample);
    expect(atCreate, 'the order reached the ERP').not.toBeNull();
    const { stats, lotReads } = atCreate!;
    // Reads that arrived before the order still wait: the order did not queue behind them.
    expect(stats.queued.interactive).toBeGreaterThan(0);
    // At most the interactive share of slots ran reads meanwhile (two slots of four, in waves).
    expect(stats.inFlight.interactive).toBeLessThanOrEqual(2);
    expect(lotReads - lotReadsBefore).toBeLessThan(flood.length);
    // No background call ever waited for a slot during the flood.
    expect(background.every((s) => s.queued.background === 0)).toBe(true);

    demo.erp.recover();
    const answers = await Promise.all(flood);
    // Every read was answered, or refused fast with a clear code (the API's own limits, the ERP queue's bound).
    for (const answer of answers) {
      const codes = (answer.body.errors ?? []).map((e) => e.extensions?.code);
      expect(codes.every((code) => ['ERP_BUSY', 'THROTTLED', 'MAX_COST_EXCEEDED'].includes(code ?? ''))).toBe(true);
    }
  });
});
