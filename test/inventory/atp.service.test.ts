import { and, eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { erpProducts, inventoryLevels } from '../../src/db/schema/index.js';
import { availableToPromise } from '../../src/inventory/read-model/atp-formula.js';
import { createAtpService, type AtpService } from '../../src/inventory/atp.service.js';
import { createTestDatabase, type TestDatabase } from '../support/database.js';
import { createMemoryLogger } from '../support/gateway.js';
import { countingDb, countingPushSignal, createTestErp, setOwnedTerm } from './support.js';

const shop = 'atp-test.myshopify.com';
let database: TestDatabase;
let atp: AtpService;
const { erp, connector } = createTestErp();
const signal = countingPushSignal();

beforeAll(async () => {
  database = await createTestDatabase();
  atp = createAtpService({ db: database.db, shop, erp: connector, log: createMemoryLogger().log, now: () => new Date(), pushSignal: signal });
});
afterAll(async () => {
  await database?.close();
});

async function position(sku: string, location: string) {
  const [row] = await atp.getPositions([{ sku, location }]);
  if (!row) throw new Error(`no position ${sku}@${location}`);
  return row;
}

function product(sku: string, onHand: number, location = 'LDS') {
  erp.addProduct({ sku, name: sku });
  if (onHand > 0) erp.seedStock({ sku, location, quantity: onHand });
}

describe('the ATP formula, term by term', () => {
  it('is the ERP on-hand quantity when nothing else applies', async () => {
    product('TERM-ONHAND', 100);
    await atp.refreshPositions(['TERM-ONHAND']);
    expect(await position('TERM-ONHAND', 'LDS')).toMatchObject({ onHand: 100, allocated: 0, availableToPromise: 100 });
    expect(await position('TERM-ONHAND', 'BHM')).toMatchObject({ onHand: 0, availableToPromise: 0 });
  });

  it('falls by exactly the allocated quantity', async () => {
    product('TERM-ALLOC', 100);
    erp.createWholesaleOrder({ reference: 'WS-ALLOC', lines: [{ sku: 'TERM-ALLOC', location: 'LDS', quantity: 7 }] });
    erp.allocateWholesaleOrder('WS-ALLOC');
    await atp.refreshPositions(['TERM-ALLOC']);
    expect(await position('TERM-ALLOC', 'LDS')).toMatchObject({ onHand: 100, allocated: 7, wholesaleCommitted: 0, availableToPromise: 93 });
  });

  it('falls by exactly the wholesale commitments', async () => {
    product('TERM-WHOLESALE', 100);
    erp.createWholesaleOrder({ reference: 'WS-COMMIT', lines: [{ sku: 'TERM-WHOLESALE', location: 'LDS', quantity: 9 }] });
    await atp.refreshPositions(['TERM-WHOLESALE']);
    expect(await position('TERM-WHOLESALE', 'LDS')).toMatchObject({ wholesaleCommitted: 9, availableToPromise: 91 });
  });

  it('falls by exactly the safety stock', async () => {
    product('TERM-SAFETY', 100);
    await atp.refreshPositions(['TERM-SAFETY']);
    await atp.setSafetyStock({ sku: 'TERM-SAFETY', location: 'LDS', quantity: 11 });
    expect(await position('TERM-SAFETY', 'LDS')).toMatchObject({ safetyStock: 11, availableToPromise: 89 });
  });

  it('counts the terms other domains own (reserved, pending orders, unexplained drops) and never changes them', async () => {
    product('TERM-OTHERS', 100);
    await atp.refreshPositions(['TERM-OTHERS']);
    const key = { sku: 'TERM-OTHERS', location: 'LDS' };
    await setOwnedTerm(database.db, shop, key, { reserved: 13 });
    await atp.refreshPositions(['TERM-OTHERS']);
    expect(await position('TERM-OTHERS', 'LDS')).toMatchObject({ reserved: 13, availableToPromise: 87 });
    await setOwnedTerm(database.db, shop, key, { pendingOrders: 17 });
    await atp.refreshPositions(['TERM-OTHERS']);
    expect(await position('TERM-OTHERS', 'LDS')).toMatchObject({ reserved: 13, pendingOrders: 17, pendingShopifyOrders: 17, availableToPromise: 70 });
    await setOwnedTerm(database.db, shop, key, { unexplainedShopifyDrop: 19 });
    await atp.refreshPositions(['TERM-OTHERS']);
    expect(await position('TERM-OTHERS', 'LDS')).toMatchObject({ unexplainedShopifyDrop: 19, pendingShopifyOrders: 36, availableToPromise: 51 });
    // A negative drop (orders whose sale Shopify never showed) is a credit the sync releases: it adds nothing.
    await setOwnedTerm(database.db, shop, key, { unexplainedShopifyDrop: -5 });
    await atp.refreshPositions(['TERM-OTHERS']);
    expect(await position('TERM-OTHERS', 'LDS')).toMatchObject({ pendingShopifyOrders: 17, availableToPromise: 70 });
  });

  it('never goes below zero, and rounds fractional ERP quantities down', async () => {
    product('TERM-ZERO', 5);
    product('TERM-FRACTION', 0);
    erp.seedStock({ sku: 'TERM-FRACTION', location: 'LDS', quantity: 10.75 });
    await atp.refreshPositions(['TERM-ZERO', 'TERM-FRACTION']);
    await atp.setSafetyStock({ sku: 'TERM-ZERO', quantity: 50 });
    expect(await position('TERM-ZERO', 'LDS')).toMatchObject({ onHand: 5, safetyStock: 50, availableToPromise: 0 });
    expect(await position('TERM-FRACTION', 'LDS')).toMatchObject({ onHand: 10.75, availableToPromise: 10 });
  });

  it('stores exactly what the TypeScript formula computes from the stored terms', async () => {
    const rows = await database.db.select().from(inventoryLevels).where(eq(inventoryLevels.shop, shop));
    expect(rows.length).toBeGreaterThan(10);
    for (const row of rows) expect(row.availableToPromise).toBe(availableToPromise(row));
  });
});

describe('refreshing positions', () => {
  it('returns the positions that changed, and nothing when the ERP did not change', async () => {
    product('REFRESH-A', 20);
    const first = await atp.refreshPositions(['REFRESH-A']);
    expect(first.changed).toEqual(
      expect.arrayContaining([
        { sku: 'REFRESH-A', location: 'LDS', previousAvailableToPromise: null, availableToPromise: 20 },
        { sku: 'REFRESH-A', location: 'BHM', previousAvailableToPromise: null, availableToPromise: 0 },
      ]),
    );
    expect((await atp.refreshPositions(['REFRESH-A'])).changed).toEqual([]);
    erp.receiveStock({ sku: 'REFRESH-A', location: 'BHM', quantity: 4 });
    const third = await atp.refreshPositions(['REFRESH-A']);
    expect(third.changed).toEqual([{ sku: 'REFRESH-A', location: 'BHM', previousAvailableToPromise: 0, availableToPromise: 4 }]);
    expect(third.positionsRead).toBe(2);
  });

  it('reports SKUs the ERP does not know and zeroes positions they still had', async () => {
    const now = new Date();
    await database.db.insert(inventoryLevels).values({ shop, sku: 'GONE-1', location: 'LDS', onHand: 30, availableToPromise: 30, computedAt: now });
    const result = await atp.refreshPositions(['GONE-1', 'NEVER-EXISTED']);
    expect([...result.unknownSkus].sort()).toEqual(['GONE-1', 'NEVER-EXISTED']);
    expect(await position('GONE-1', 'LDS')).toMatchObject({ onHand: 0, availableToPromise: 0 });
    expect(await atp.getPositions([{ sku: 'NEVER-EXISTED', location: 'LDS' }])).toEqual([]);
  });

  it('retires, on a full refresh, products the ERP no longer lists: inactive, and their positions at 0', async () => {
    const allShop = 'retire.myshopify.com';
    const service = createAtpService({ db: database.db, shop: allShop, erp: connector, log: createMemoryLogger().log, now: () => new Date(), pushSignal: signal });
    // A product Stockbridge read once that has since gone from the ERP.
    await database.db.insert(erpProducts).values({ sku: 'RETIRED-1', name: 'Retired', stockTracked: true }).onConflictDoNothing();
    await database.db.insert(inventoryLevels).values({ shop: allShop, sku: 'RETIRED-1', location: 'LDS', onHand: 12, availableToPromise: 12 });
    product('STILL-HERE', 6);
    const result = await service.refreshPositions('all');
    expect(result.unknownSkus).toContain('RETIRED-1');
    expect((await service.getPositions([{ sku: 'RETIRED-1', location: 'LDS' }]))[0]).toMatchObject({ onHand: 0, availableToPromise: 0 });
    expect((await service.getPositions([{ sku: 'STILL-HERE', location: 'LDS' }]))[0]).toMatchObject({ onHand: 6, availableToPromise: 6 });
    const [retired] = await database.db.select().from(erpProducts).where(eq(erpProducts.sku, 'RETIRED-1'));
    expect(retired?.active).toBe(false);
  });

  it('costs a constant number of ERP and database round trips per page of SKUs', async () => {
    const counted = countingDb(database);
    const service = createAtpService({ db: counted.db, shop: 'pages.myshopify.com', erp: connector, log: createMemoryLogger().log, now: () => new Date(), pushSignal: signal });
    const skus = Array.from({ length: 1_200 }, (_, i) => `PAGE-${String(i).padStart(5, '0')}`);
    for (const sku of skus) product(sku, 3);
    const cost = async (count: number) => {
      erp.resetRoundTrips();
      counted.reset();
      await service.refreshPositions(skus.slice(0, count), { pageSize: 200 });
      return { erp: erp.roundTrips(), db: counted.queries() };
    };
    const twoPages = await cost(400);
    const sixPages = await cost(1_200);
    // Per page of 200: one ERP stock read and one lot read (side by side), and a bounded set of
    // statements (product upsert, kit components, lots and their digests, terms, ATP). The ERP's
    // product read pages by its own 1,000.
    const extraPages = 4;
    expect(sixPages.erp - twoPages.erp).toBeLessThanOrEqual(extraPages * 2 + 1);
    expect(sixPages.db - twoPages.db).toBeLessThanOrEqual(extraPages * 7);
    expect(twoPages.db).toBeLessThanOrEqual(2 * 7 + 12);
    expect(twoPages.erp).toBeLessThanOrEqual(2 * 2 + 3);
  });
});

describe('safety stock', () => {
  it('takes the most specific rule: SKU at a location, then SKU, then location, then the default', async () => {
    const safetyShop = 'safety.myshopify.com';
    const service = createAtpService({ db: database.db, shop: safetyShop, erp: connector, log: createMemoryLogger().log, now: () => new Date(), pushSignal: signal });
    product('SAFE-X', 100);
    product('SAFE-Y', 100);
    erp.seedStock({ sku: 'SAFE-X', location: 'BHM', quantity: 100 });
    erp.seedStock({ sku: 'SAFE-Y', location: 'BHM', quantity: 100 });
    await service.refreshPositions(['SAFE-X', 'SAFE-Y']);
    await service.setSafetyStock({ quantity: 1 });
    await service.setSafetyStock({ location: 'LDS', quantity: 2 });
    await service.setSafetyStock({ sku: 'SAFE-X', quantity: 3 });
    await service.setSafetyStock({ sku: 'SAFE-X', location: 'LDS', quantity: 4 });
    const safety = async () =>
      Object.fromEntries(
        [...(await service.getPositionsBySkus(['SAFE-X', 'SAFE-Y'])).values()].flat().map((p) => [`${p.sku}@${p.location}`, [p.safetyStock, p.availableToPromise]]),
      );
    expect(await safety()).toEqual({ 'SAFE-X@LDS': [4, 96], 'SAFE-X@BHM': [3, 97], 'SAFE-Y@LDS': [2, 98], 'SAFE-Y@BHM': [1, 99] });

    await service.setSafetyStock({ sku: 'SAFE-X', location: 'LDS', quantity: null });
    await service.setSafetyStock({ sku: 'SAFE-X', quantity: null });
    expect(await safety()).toEqual({ 'SAFE-X@LDS': [2, 98], 'SAFE-X@BHM': [1, 99], 'SAFE-Y@LDS': [2, 98], 'SAFE-Y@BHM': [1, 99] });
    expect((await service.listSafetyStockRules()).map((r) => [r.sku, r.location, r.quantity])).toEqual([
      [null, null, 1],
      [null, 'LDS', 2],
    ]);

    // A refresh from the ERP applies the same rules to new positions.
    product('SAFE-NEW', 10);
    await service.refreshPositions(['SAFE-NEW']);
    expect((await service.getPositions([{ sku: 'SAFE-NEW', location: 'LDS' }]))[0]).toMatchObject({ safetyStock: 2, availableToPromise: 8 });
  });

  it('marks the positions whose ATP changed for the event push and wakes it', async () => {
    product('SAFE-PUSH', 40);
    await atp.refreshPositions(['SAFE-PUSH']);
    const wakes = signal.wakes();
    const affected = await atp.setSafetyStock({ sku: 'SAFE-PUSH', quantity: 5 });
    expect(affected.map((p) => [p.location, p.availableToPromise])).toEqual([
      ['BHM', 0],
      ['LDS', 35],
    ]);
    expect(signal.wakes()).toBe(wakes + 1);
    const rows = await database.db
      .select({ location: inventoryLevels.location, marked: inventoryLevels.pushRequestedAt })
      .from(inventoryLevels)
      .where(and(eq(inventoryLevels.shop, shop), eq(inventoryLevels.sku, 'SAFE-PUSH')));
    // BHM was 0 and stays 0 (clamped): nothing to push there.
    expect(Object.fromEntries(rows.map((r) => [r.location, r.marked !== null]))).toEqual({ LDS: true, BHM: false });
  });

  it('refuses negative quantities and unknown SKUs or locations', async () => {
    await expect(atp.setSafetyStock({ sku: 'SAFE-PUSH', quantity: -1 })).rejects.toMatchObject({ code: 'BAD_USER_INPUT' });
    await expect(atp.setSafetyStock({ sku: 'NO-SUCH-SKU', quantity: 1 })).rejects.toMatchObject({ code: 'UNKNOWN_SKU' });
    await expect(atp.setSafetyStock({ location: 'NOWHERE', quantity: 1 })).rejects.toMatchObject({ code: 'UNKNOWN_LOCATION' });
  });
});

describe('kits', () => {
  it("are as available as their scarcest component allows, per location", async () => {
    product('KITPART-BRACKET', 11);
    product('KITPART-SCREW', 4);
    erp.seedStock({ sku: 'KITPART-BRACKET', location: 'BHM', quantity: 100 });
    erp.seedStock({ sku: 'KITPART-SCREW', location: 'BHM', quantity: 7 });
    erp.addProduct({ sku: 'KIT-SHELF', name: 'Shelf kit', stockTracked: false, components: [{ sku: 'KITPART-BRACKET', quantity: 2 }, { sku: 'KITPART-SCREW', quantity: 1 }] });
    await atp.refreshPositions(['KIT-SHELF']);
    // LDS: brackets 11/2 = 5, screws 4/1 = 4 → 4. BHM: 100/2 = 50, 7 → 7.
    expect(await position('KIT-SHELF', 'LDS')).toMatchObject({ onHand: 4, availableToPromise: 4 });
    expect(await position('KIT-SHELF', 'BHM')).toMatchObject({ onHand: 7, availableToPromise: 7 });
    // The components were refreshed with it.
    expect(await position('KITPART-SCREW', 'LDS')).toMatchObject({ availableToPromise: 4 });
  });

  it('follow a component refreshed on its own, and its safety stock', async () => {
    erp.receiveStock({ sku: 'KITPART-SCREW', location: 'LDS', quantity: 10 });
    const { changed } = await atp.refreshPositions(['KITPART-SCREW']);
    expect(changed).toEqual(expect.arrayContaining([{ sku: 'KIT-SHELF', location: 'LDS', previousAvailableToPromise: 4, availableToPromise: 5 }]));
    await atp.setSafetyStock({ sku: 'KITPART-BRACKET', location: 'LDS', quantity: 5 });
    // Brackets: 11 − 5 = 6 → 3 kits.
    expect(await position('KIT-SHELF', 'LDS')).toMatchObject({ onHand: 3, availableToPromise: 3 });
    expect((await position('KIT-SHELF', 'LDS')).pushRequestedAt).not.toBeNull();
  });

  it("count a stock-tracked kit's own stock plus what can be built, and the kit's own terms", async () => {
    product('KITPART-HINGE', 9);
    erp.addProduct({ sku: 'KIT-DOOR', name: 'Door kit', stockTracked: true, components: [{ sku: 'KITPART-HINGE', quantity: 3 }] });
    erp.seedStock({ sku: 'KIT-DOOR', location: 'LDS', quantity: 2 });
    await atp.refreshPositions(['KIT-DOOR']);
    expect(await position('KIT-DOOR', 'LDS')).toMatchObject({ onHand: 5, availableToPromise: 5 });
    await atp.setSafetyStock({ sku: 'KIT-DOOR', quantity: 1 });
    expect(await position('KIT-DOOR', 'LDS')).toMatchObject({ safetyStock: 1, availableToPromise: 4 });
  });

  it('are recomputed without the ERP when another domain changes a component term', async () => {
    await setOwnedTerm(database.db, shop, { sku: 'KITPART-HINGE', location: 'LDS' }, { reserved: 3 });
    erp.resetRoundTrips();
    const changes = await atp.recomputeKitsContaining(['KITPART-HINGE']);
    expect(erp.roundTrips()).toBe(0);
    // Hinges 9 − 3 = 6 → 2 kits, plus 2 of its own; minus its safety stock 1.
    expect(changes).toEqual([{ sku: 'KIT-DOOR', location: 'LDS', previousAvailableToPromise: 4, availableToPromise: 3 }]);
    expect(await position('KIT-DOOR', 'LDS')).toMatchObject({ onHand: 4, availableToPromise: 3 });
  });

  it('of kits are built from the kits below them', async () => {
    erp.addProduct({ sku: 'KIT-CABINET', name: 'Cabinet', stockTracked: false, components: [{ sku: 'KIT-SHELF', quantity: 2 }] });
    await atp.refreshPositions(['KIT-CABINET']);
    const shelves = await position('KIT-SHELF', 'BHM');
    expect(await position('KIT-CABINET', 'BHM')).toMatchObject({ availableToPromise: Math.floor(shelves.availableToPromise / 2) });
  });
});
