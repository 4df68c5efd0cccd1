import { sql } from 'drizzle-orm';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Database } from '../../src/db/database.js';
import { createTestDatabase, openSecondInstance, type TestDatabase } from '../support/database.js';
import { acquireFence, FEED_JOB, placeOrderInBoth, startFulfilmentsInstance, startShopAndErp, type FulfilmentsInstance, type ShopAndErp } from './support.js';

/**
 * Two gateway instances on one database: their own Shopify clients and repositories (on
 * PostgreSQL their own connection pools; on PGlite the one embedded database), the same store
 * and ERP. Every shipment is written once, whoever claims it.
 */
describe('two instances writing the same shipments', () => {
  let world: ShopAndErp;
  let database: TestDatabase;
  let secondDatabase: Database;
  let first: FulfilmentsInstance;
  let second: FulfilmentsInstance;

  beforeEach(async () => {
    world = await startShopAndErp([{ sku: 'HINGE-BUTT-75-SS', stock: { 'WH-A': 200, 'WH-B': 50 } }, { sku: 'SEALANT-SIL-310ML-CLR', stock: { 'WH-A': 200, 'WH-B': 50 } }]);
    database = await createTestDatabase();
    secondDatabase = database.url ? await openSecondInstance(database) : database;
    first = await startFulfilmentsInstance(world, database, { batchSize: 1 });
    second = await startFulfilmentsInstance(world, secondDatabase, { batchSize: 1 });
    await first.runJob();
  });

  afterEach(async () => {
    await first.close();
    await second.close();
    if (secondDatabase !== database) await secondDatabase.close();
    await world.close();
    await database.close();
  });

  it('both work the due shipments at once: each order gets one fulfilment per shipment', async () => {
    const orders = [];
    for (let i = 0; i < 6; i++) {
      const placed = await placeOrderInBoth(world, [
        { sku: 'HINGE-BUTT-75-SS', quantity: 2 },
        { sku: 'SEALANT-SIL-310ML-CLR', quantity: 1 },
      ]);
      world.erp.shipSalesOrder(placed.reference, { lines: [{ sku: 'HINGE-BUTT-75-SS', quantity: 1 }], trackingNumber: `A-${i}` });
      world.erp.shipSalesOrder(placed.reference, { trackingNumber: `B-${i}` });
      orders.push(placed.order);
    }
    await first.module.services.pollShipments({ fence: await acquireFence(database) });
    world.shopify.state.setAdminFaults({ latencyMs: 15 });

    const [a, b] = await Promise.all([first.module.services.processDue(), second.module.services.processDue()]);
    expect(a.fulfilled + b.fulfilled).toBe(12);
    for (const [i, order] of orders.entries()) {
      const shopified = world.shopify.state.order(order.id);
      expect(shopified.fulfillmentStatus).toBe('FULFILLED');
      // In order: the partial shipment first, then the rest, each once.
      expect(shopified.fulfillments.map((f) => [f.tracking[0]?.number, f.lines.reduce((sum, l) => sum + l.quantity, 0)])).toEqual([
        [`A-${i}`, 1],
        [`B-${i}`, 2],
      ]);
    }
  });

  it('a feed run that lost its lease records nothing and cannot move the watermark', async () => {
    const stale = await acquireFence(database);
    await database.db.execute(sql`update scheduler_leases set lease_expires_at = now() - interval '1 second' where job_name = ${FEED_JOB}`);
    const fresh = await acquireFence(secondDatabase);
    const { reference } = await placeOrderInBoth(world, [{ sku: 'HINGE-BUTT-75-SS', quantity: 1 }]);
    const [shipment] = world.erp.shipSalesOrder(reference);

    await expect(first.module.services.pollShipments({ fence: stale })).rejects.toMatchObject({ code: 'JOB_LEASE_LOST' });
    expect(await first.module.services.findByShipmentId(shipment!.replace(/^CS0*/, ''))).toBeNull();
    expect(await second.module.services.pollShipments({ fence: fresh })).toMatchObject({ reported: 1, recorded: 1 });
  });
});
