import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAtpService, type AtpService } from '../../src/inventory/atp.service.js';
import { createInventoryReadService, type InventoryReadService } from '../../src/inventory/inventory-read.service.js';
import { createMappingService } from '../../src/inventory/mapping.service.js';
import { createInventoryLotsReader, type InventoryLotsReader } from '../../src/inventory/read-model/inventory-lots.reader.js';
import { lotsDigest } from '../../src/inventory/read-model/inventory-lots.writer.js';
import { createTestDatabase, testDatabaseKind, type TestDatabase } from '../support/database.js';
import { createMemoryLogger } from '../support/gateway.js';
import { countingPushSignal, createTestErp } from './support.js';

const shop = 'lots-test.myshopify.com';
let database: TestDatabase;
let atp: AtpService;
let reads: InventoryReadService;
let lots: InventoryLotsReader;
let clock = new Date('2027-03-10T09:00:00.000Z');
const { erp, connector } = createTestErp();

beforeAll(async () => {
  database = await createTestDatabase();
  const log = createMemoryLogger().log;
  const pushSignal = countingPushSignal();
  const now = () => clock;
  atp = createAtpService({ db: database.db, shop, erp: connector, log, now, pushSignal });
  // The lot reads never reach the mapping service's Shopify side, so no store is started for it.
  const mapping = createMappingService({ db: database.db, shop, erp: connector, shopify: undefined as never, log, now, pushSignal });
  reads = createInventoryReadService({ db: database.db, shop, mapping });
  lots = createInventoryLotsReader(database.db, shop);
});
afterAll(async () => {
  await database?.close();
});

function lotted(sku: string, lots: ReadonlyArray<{ location: string; number: string; quantity: number; expiresOn: string | null }>) {
  erp.addProduct({ sku, name: sku, lotTracked: true });
  for (const lot of lots) erp.seedStock({ sku, location: lot.location, quantity: lot.quantity, lot: { number: lot.number, expiresOn: lot.expiresOn } });
}

describe(`lots in the read model (${testDatabaseKind})`, () => {
  it('a refresh stores the ERP’s lots, read with one lot call per page of SKUs beside the stock call', async () => {
    lotted('RM-LOT-1', [
      { location: 'LDS', number: 'A-1', quantity: 4, expiresOn: '2027-06-01' },
      { location: 'BHM', number: 'A-2', quantity: 6, expiresOn: null },
    ]);
    lotted('RM-LOT-2', [{ location: 'LDS', number: 'B-1', quantity: 9, expiresOn: '2027-04-01' }]);
    lotted('RM-LOT-3', [{ location: 'BHM', number: 'C-1', quantity: 2, expiresOn: '2028-01-01' }]);
    erp.resetRoundTrips();

    await atp.refreshPositions(['RM-LOT-1', 'RM-LOT-2', 'RM-LOT-3'], { pageSize: 2 });

    // Two pages: one lot read and one stock read each.
    expect(erp.roundTrips('lot.read')).toBe(2);
    expect(erp.roundTrips('stock.read')).toBe(2);
    const stored = await lots.lotsBySkus(['RM-LOT-1', 'RM-LOT-2', 'RM-LOT-3']);
    const fromErp = await connector.getLotsBySkus(['RM-LOT-1', 'RM-LOT-2', 'RM-LOT-3']);
    const key = (lot: { sku: string; location: string; number: string }) => `${lot.sku}|${lot.location}|${lot.number}`;
    expect([...stored.values()].flatMap((entry) => entry.lots).map((lot) => ({ ...lot })).sort((a, b) => key(a).localeCompare(key(b)))).toEqual(
      fromErp.map((lot) => ({ ...lot })).sort((a, b) => key(a).localeCompare(key(b))),
    );
    expect(stored.get('RM-LOT-1')!.digest).toBe(
      lotsDigest([
        { location: 'LDS', number: 'A-1', quantity: 4, expiresOn: '2027-06-01' },
        { location: 'BHM', number: 'A-2', quantity: 6, expiresOn: null },
      ]),
    );
  });

  it('lists lots FEFO: soonest expiry first, lots without expiry last, then lot number, across locations', async () => {
    lotted('RM-FEFO', [
      { location: 'LDS', number: 'L-B', quantity: 1, expiresOn: '2027-05-01' },
      { location: 'BHM', number: 'L-C', quantity: 1, expiresOn: null },
      { location: 'BHM', number: 'L-A', quantity: 1, expiresOn: '2027-05-01' },
      { location: 'LDS', number: 'L-D', quantity: 1, expiresOn: '2027-04-01' },
      { location: 'LDS', number: 'L-0', quantity: 1, expiresOn: null },
    ]);
    await atp.refreshPositions(['RM-FEFO']);
    const expected = ['L-D', 'L-A', 'L-B', 'L-0', 'L-C'];
    expect((await lots.lotsBySkus(['RM-FEFO'])).get('RM-FEFO')!.lots.map((lot) => lot.number)).toEqual(expected);
    expect((await reads.listLots({ sku: 'RM-FEFO' })).map((lot) => lot.number)).toEqual(expected);
    expect((await reads.getLotsBySkus(['RM-FEFO'])).map((lot) => lot.number)).toEqual(expected);
    expect((await reads.listLots({ sku: 'RM-FEFO', location: 'LDS' })).map((lot) => lot.number)).toEqual(['L-D', 'L-B', 'L-0']);
  });

  it('reads lots without calling the ERP', async () => {
    erp.resetRoundTrips();
    expect(await reads.listLots({ sku: 'RM-LOT-1' })).toHaveLength(2);
    expect(await reads.getLotsBySkus(['RM-LOT-1', 'RM-LOT-2'], ['LDS'])).toHaveLength(2);
    expect(await reads.listLots({})).not.toHaveLength(0);
    expect(erp.roundTrips()).toBe(0);
  });

  it('a SKU’s digest and changedAt move only when its lots change, and a lot gone from the ERP is gone from the read model', async () => {
    lotted('RM-DIGEST', [
      { location: 'LDS', number: 'D-1', quantity: 5, expiresOn: '2027-04-01' },
      { location: 'LDS', number: 'D-2', quantity: 5, expiresOn: '2027-08-01' },
    ]);
    const first = new Date(clock);
    await atp.refreshPositions(['RM-DIGEST']);
    const before = (await lots.lotsBySkus(['RM-DIGEST'])).get('RM-DIGEST')!;
    expect(before.changedAt).toEqual(first);

    clock = new Date(clock.getTime() + 60_000);
    await atp.refreshPositions(['RM-DIGEST']);
    const unchanged = (await lots.lotsBySkus(['RM-DIGEST'])).get('RM-DIGEST')!;
    expect(unchanged).toEqual(before);

    // An inventory count takes the soonest-expiring lot first: D-1 is used up, D-2 loses 1.
    erp.adjustStock({ sku: 'RM-DIGEST', location: 'LDS', onHand: 4 });
    clock = new Date(clock.getTime() + 60_000);
    await atp.refreshPositions(['RM-DIGEST']);
    const after = (await lots.lotsBySkus(['RM-DIGEST'])).get('RM-DIGEST')!;
    expect(after.lots.map((lot) => [lot.number, lot.quantity])).toEqual([['D-2', 4]]);
    expect(after.digest).not.toBe(before.digest);
    expect(after.changedAt).toEqual(clock);

    // The change feed names the SKU once, at its last change, after the first write.
    const feed = (await lots.listLotChangesSince({ changedAt: first, sku: 'RM-DIGEST' }, 1_000)).filter((change) => change.sku === 'RM-DIGEST');
    expect(feed).toEqual([{ sku: 'RM-DIGEST', changedAt: clock, digest: after.digest, lotCount: 1 }]);
  });

  it('a SKU that never had lots has no digest; one whose lots are all gone keeps the digest of none', async () => {
    erp.addProduct({ sku: 'RM-PLAIN', name: 'RM-PLAIN' });
    erp.seedStock({ sku: 'RM-PLAIN', location: 'LDS', quantity: 3 });
    lotted('RM-EMPTIED', [{ location: 'BHM', number: 'E-1', quantity: 2, expiresOn: null }]);
    await atp.refreshPositions(['RM-PLAIN', 'RM-EMPTIED']);
    erp.adjustStock({ sku: 'RM-EMPTIED', location: 'BHM', onHand: 0 });
    await atp.refreshPositions(['RM-EMPTIED']);

    const stored = await lots.lotsBySkus(['RM-PLAIN', 'RM-EMPTIED', 'RM-NOWHERE']);
    expect(stored.get('RM-PLAIN')).toEqual({ sku: 'RM-PLAIN', lots: [], digest: null, changedAt: null });
    expect(stored.get('RM-NOWHERE')).toEqual({ sku: 'RM-NOWHERE', lots: [], digest: null, changedAt: null });
    expect(stored.get('RM-EMPTIED')).toMatchObject({ lots: [], digest: lotsDigest([]) });
  });
});
