import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestGateway, type TestGateway } from '../support/gateway.js';

interface GraphQLAnswer<T> {
  data?: T;
  errors?: Array<{ message: string; extensions?: { code?: string } }>;
}

/**
 * Issue 10 asked that a flood of API reads never delay an order on its way into the ERP. Since
 * issue 14 the reads that went live to the ERP (`lots`, `Product.lots`) come from the read
 * model, so the guarantee is now the stronger one: API reads make no ERP call at all. The whole
 * gateway in demo mode, its simulated ERP slowed down for lot reads (as a flood would have felt
 * it); counted, not timed: during a flood of lot and product reads the ERP sees no lot read, and
 * an order placed meanwhile reaches the ERP with every read answered. (The ERP's lanes, which
 * still keep any interactive ERP use behind the background's share, are tested in
 * test/erp/erp-lanes.test.ts.)
 */
describe('a flood of API reads while orders arrive', () => {
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

  it('answers every read without calling the ERP, and the order placed meanwhile reaches the ERP', { timeout: 60_000 }, async () => {
    const demo = gateway.demo!;
    const sku = demo.shopify.state.levels().find((level) => level.sku && level.quantities.available >= 5 && !['GIFT-CARD-25', 'MERCH-TSHIRT-M', 'SAMPLE-PACK'].includes(level.sku))!.sku!;
    // Let the start-up work (catalogue fill, first sync) finish before measuring.
    await gateway.services.inventory.whenReady();
    demo.erp.fail({ mode: 'slow', methods: ['lot.read'], delayMs: 400 });

    const lotReadsBefore = demo.erp.roundTrips('lot.read');
    let created = false;
    demo.erp.beforeNextCall('sale.create', () => {
      created = true;
    });
    const flood = keys.flatMap((key) =>
      Array.from({ length: 5 }, (_, i) =>
        i % 2 === 0
          ? gateway.graphql<GraphQLAnswer<{ lots: unknown[] }>>(key, 'query($sku: String) { lots(sku: $sku) { number sku location quantity } }', { sku })
          : gateway.graphql<GraphQLAnswer<{ products: unknown }>>(key, '{ products(first: 50) { edges { node { sku lots { number } availability { availableToPromise } } } } }'),
      ),
    );
    const placed = demo.shopify.state.placeOrder({ lines: [{ sku, quantity: 1 }], email: 'flood@example.com' });
    if (!placed.placed) throw new Error('the demo store refused the order');

    const answers = await Promise.all(flood);
    for (const answer of answers) expect(answer.body.errors).toBeUndefined();
    expect(demo.erp.roundTrips('lot.read') - lotReadsBefore).toBe(0);
    for (let i = 0; i < 2_000 && !created; i++) await sleep(10);
    expect(created, 'the order reached the ERP').toBe(true);
  });
});
