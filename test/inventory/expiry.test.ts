import { and, eq } from 'drizzle-orm';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { inventoryLevels } from '../../src/db/schema/index.js';
import { createAtpService, type AtpService } from '../../src/inventory/atp.service.js';
import { createExpiryJob } from '../../src/inventory/expiry.job.js';
import { availableToPromise } from '../../src/inventory/read-model/atp-formula.js';
import { isExpiringSoon } from '../../src/inventory/read-model/expiry.js';
import { createTestDatabase, testDatabaseKind, type TestDatabase } from '../support/database.js';
import { createMemoryLogger } from '../support/gateway.js';
import { countingPushSignal, createTestErp } from './support.js';

const shop = 'expiry-test.myshopify.com';
let database: TestDatabase;
/** Default horizon 0 days: only expired lots are excluded. */
let atp: AtpService;
/** The same shop and database with SELLABLE_SHELF_LIFE_DAYS=30. */
let atp30: AtpService;
const TODAY = new Date('2027-03-10T09:00:00.000Z');
let clock = TODAY;
const { erp, connector } = createTestErp();
const signal = countingPushSignal();

beforeAll(async () => {
  database = await createTestDatabase();
  const common = { db: database.db, shop, erp: connector, log: createMemoryLogger().log, now: () => clock, pushSignal: signal };
  atp = createAtpService(common);
  atp30 = createAtpService({ ...common, sellableShelfLifeDays: 30 });
});
afterAll(async () => {
  await database?.close();
});
beforeEach(() => {
  clock = TODAY;
});

function lotted(sku: string, lots: ReadonlyArray<{ number: string; quantity: number; expiresOn: string | null }>, location = 'LDS') {
  erp.addProduct({ sku, name: sku, lotTracked: true });
  for (const lot of lots) erp.seedStock({ sku, location, quantity: lot.quantity, lot: { number: lot.number, expiresOn: lot.expiresOn } });
}

async function position(sku: string, location = 'LDS') {
  const [row] = await atp.getPositions([{ sku, location }]);
  if (!row) throw new Error(`no position ${sku}@${location}`);
  return row;
}

async function pushMark(sku: string, location = 'LDS'): Promise<Date | null> {
  const [row] = await database.db
    .select({ mark: inventoryLevels.pushRequestedAt })
    .from(inventoryLevels)
    .where(and(eq(inventoryLevels.shop, shop), eq(inventoryLevels.sku, sku), eq(inventoryLevels.location, location)));
  return row!.mark;
}

describe('the expiry rule', () => {
  it('counts a lot as expiring when it expires before today + the shelf life', () => {
    expect(isExpiringSoon('2027-03-09', '2027-03-10', 0)).toBe(true);
    expect(isExpiringSoon('2027-03-10', '2027-03-10', 0)).toBe(false);
    expect(isExpiringSoon('2027-04-08', '2027-03-10', 30)).toBe(true);
    expect(isExpiringSoon('2027-04-09', '2027-03-10', 30)).toBe(false);
    expect(isExpiringSoon(null, '2027-03-10', 3650)).toBe(false);
  });
});

describe(`expiry-aware ATP (${testDatabaseKind})`, () => {
  it('at horizon 0 leaves out only expired lots: a lot expiring today still sells', async () => {
    lotted('EXP-ZERO', [
      { number: 'Z-OLD', quantity: 4, expiresOn: '2027-03-09' },
      { number: 'Z-TODAY', quantity: 5, expiresOn: '2027-03-10' },
      { number: 'Z-NONE', quantity: 6, expiresOn: null },
    ]);
    await atp.refreshPositions(['EXP-ZERO']);
    const row = await position('EXP-ZERO');
    expect(row).toMatchObject({ onHand: 15, expiringLotUnits: 4, expiringSoon: 4, availableToPromise: 11 });
    expect(row.availableToPromise).toBe(availableToPromise(row));
  });

  it('at a horizon of N days leaves out the lots that expire within N days', async () => {
    lotted('EXP-THIRTY', [
      { number: 'T-SOON', quantity: 3, expiresOn: '2027-04-08' },
      { number: 'T-LATER', quantity: 7, expiresOn: '2027-04-09' },
    ]);
    await atp30.refreshPositions(['EXP-THIRTY']);
    expect(await position('EXP-THIRTY')).toMatchObject({ onHand: 10, expiringSoon: 3, availableToPromise: 7 });
  });

  it('never counts more expiring units than on hand minus allocated: allocated units are subtracted once', async () => {
    lotted('EXP-CAP', [
      { number: 'C-OLD', quantity: 10, expiresOn: '2027-01-01' },
      { number: 'C-NEW', quantity: 2, expiresOn: '2028-01-01' },
    ]);
    erp.createWholesaleOrder({ reference: 'WS-EXP-CAP', lines: [{ sku: 'EXP-CAP', location: 'LDS', quantity: 5 }] });
    erp.allocateWholesaleOrder('WS-EXP-CAP');
    await atp.refreshPositions(['EXP-CAP']);
    // 12 on hand, 5 allocated: of the 10 expired units at most 7 are not allocated.
    expect(await position('EXP-CAP')).toMatchObject({ onHand: 12, allocated: 5, expiringLotUnits: 10, expiringSoon: 7, availableToPromise: 0 });
  });

  it('a per-SKU shelf life overrides the default, marks the changed positions for push, and removing it restores the default', async () => {
    lotted('EXP-RULE', [
      { number: 'R-1', quantity: 8, expiresOn: '2027-03-20' },
      { number: 'R-2', quantity: 2, expiresOn: '2027-09-01' },
    ]);
    await atp.refreshPositions(['EXP-RULE']);
    expect(await position('EXP-RULE')).toMatchObject({ expiringSoon: 0, availableToPromise: 10 });
    expect(await pushMark('EXP-RULE')).toBeNull();
    const wakes = signal.wakes();

    const set = await atp.setSellableShelfLife({ sku: 'EXP-RULE', days: 14 });
    expect(set.userErrors).toEqual([]);
    expect(set.rule).toEqual({ sku: 'EXP-RULE', days: 14, updatedAt: clock });
    expect(set.positions.find((p) => p.location === 'LDS')).toMatchObject({ expiringSoon: 8, availableToPromise: 2 });
    expect(await pushMark('EXP-RULE')).toEqual(clock);
    expect(await pushMark('EXP-RULE', 'BHM')).toBeNull();
    expect(signal.wakes()).toBe(wakes + 1);
    expect(await atp.listSellableShelfLifeRules({ sku: 'EXP-RULE' })).toEqual([set.rule]);

    // The rule holds across the next ERP read.
    await atp.refreshPositions(['EXP-RULE']);
    expect(await position('EXP-RULE')).toMatchObject({ expiringSoon: 8, availableToPromise: 2 });

    const removed = await atp.setSellableShelfLife({ sku: 'EXP-RULE', days: null });
    expect(removed).toMatchObject({ rule: null, userErrors: [] });
    expect(await position('EXP-RULE')).toMatchObject({ expiringSoon: 0, availableToPromise: 10 });
    expect(await atp.listSellableShelfLifeRules({ sku: 'EXP-RULE' })).toEqual([]);
  });

  it('refuses an unknown SKU and days out of range as user errors, changing nothing', async () => {
    expect(await atp.setSellableShelfLife({ sku: 'EXP-NOBODY', days: 3 })).toEqual({
      rule: null,
      positions: [],
      userErrors: [{ field: ['input', 'sku'], message: 'No product with SKU EXP-NOBODY in the ERP catalogue', code: 'UNKNOWN_SKU' }],
    });
    for (const days of [-1, 2.5, 3651]) {
      const result = await atp.setSellableShelfLife({ sku: 'EXP-ZERO', days });
      expect(result.userErrors.map((e) => [e.code, e.field])).toEqual([['INVALID_DAYS', ['input', 'days']]]);
    }
    expect(await atp.listSellableShelfLifeRules({ sku: 'EXP-ZERO' })).toEqual([]);
  });

  it('as the clock passes a lot’s expiry, the expiry job lowers the ATP and marks the position for the event push, once', async () => {
    lotted('EXP-CLOCK', [
      { number: 'K-1', quantity: 6, expiresOn: '2027-03-12' },
      { number: 'K-2', quantity: 4, expiresOn: '2027-06-01' },
    ]);
    await atp.refreshPositions(['EXP-CLOCK']);
    expect(await position('EXP-CLOCK')).toMatchObject({ expiringSoon: 0, availableToPromise: 10 });
    const job = createExpiryJob(atp);
    const run = () => job.run({} as never);

    // Still sellable on its expiry date.
    clock = new Date('2027-03-12T23:30:00.000Z');
    await run();
    expect(await position('EXP-CLOCK')).toMatchObject({ expiringSoon: 0, availableToPromise: 10 });
    expect(await pushMark('EXP-CLOCK')).toBeNull();

    clock = new Date('2027-03-13T00:30:00.000Z');
    const wakes = signal.wakes();
    const result = await run();
    expect(await position('EXP-CLOCK')).toMatchObject({ expiringLotUnits: 6, expiringSoon: 6, availableToPromise: 4 });
    expect(await pushMark('EXP-CLOCK')).toEqual(clock);
    expect(signal.wakes()).toBe(wakes + 1);
    expect(result).toMatchObject({ atpLowered: expect.any(Number) });
    expect((result as { atpLowered: number }).atpLowered).toBeGreaterThanOrEqual(1);

    // The next run the same day finds nothing new for it.
    const again = await atp.reevaluateExpiry();
    expect(again.filter((change) => change.sku === 'EXP-CLOCK')).toEqual([]);
  });

  it('a kit built from a component whose lot expired can build fewer', async () => {
    lotted('EXP-PART', [
      { number: 'P-1', quantity: 4, expiresOn: '2027-05-01' },
      { number: 'P-2', quantity: 6, expiresOn: '2027-12-01' },
    ]);
    erp.addProduct({ sku: 'EXP-KIT', name: 'EXP-KIT', stockTracked: false, components: [{ sku: 'EXP-PART', quantity: 2 }] });
    clock = new Date('2027-04-20T12:00:00.000Z');
    await atp.refreshPositions(['EXP-KIT']);
    expect(await position('EXP-KIT')).toMatchObject({ onHand: 5, availableToPromise: 5 });

    clock = new Date('2027-05-02T12:00:00.000Z');
    await atp.reevaluateExpiry();
    expect(await position('EXP-PART')).toMatchObject({ expiringSoon: 4, availableToPromise: 6 });
    expect(await position('EXP-KIT')).toMatchObject({ onHand: 3, availableToPromise: 3 });
    expect(await pushMark('EXP-KIT')).toEqual(clock);
  });
});
