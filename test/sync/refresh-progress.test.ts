// Which SKUs of a reconcile page the ERP refresh running beside it has written: a SKU is fresh
// only when every one of its positions was written after the reconcile began.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inventoryLevels } from '../../src/db/schema/index.js';
import { createRefreshProgress } from '../../src/sync/refresh-progress.js';
import { createTestDatabase, type TestDatabase } from '../support/database.js';

const SHOP = 'refresh-progress.myshopify.com';
let database: TestDatabase;

beforeAll(async () => {
  database = await createTestDatabase();
});

afterAll(async () => {
  await database?.close();
});

describe('refresh progress', () => {
  it('counts a SKU as refreshed only when all its positions were written after the moment given', async () => {
    const since = new Date('2026-12-06T10:00:00.000Z');
    const before = new Date(since.getTime() - 60_000);
    const after = new Date(since.getTime() + 1);
    await database.db.insert(inventoryLevels).values([
      { shop: SHOP, sku: 'FRESH', location: 'WH1', erpReadAt: after },
      { shop: SHOP, sku: 'FRESH', location: 'WH2', erpReadAt: after },
      { shop: SHOP, sku: 'HALF', location: 'WH1', erpReadAt: after },
      { shop: SHOP, sku: 'HALF', location: 'WH2', erpReadAt: before },
      { shop: SHOP, sku: 'SAME-MS', location: 'WH1', erpReadAt: since },
      { shop: SHOP, sku: 'NEVER-READ', location: 'WH1', erpReadAt: null },
      // Another shop's fresh position says nothing about this shop's SKU.
      { shop: 'other.myshopify.com', sku: 'NEW', location: 'WH1', erpReadAt: after },
    ]);
    const progress = createRefreshProgress(database.db, SHOP);
    const stale = await progress.staleSkus(['FRESH', 'HALF', 'SAME-MS', 'NEVER-READ', 'NEW', 'FRESH'], since);
    expect([...stale].sort()).toEqual(['HALF', 'NEVER-READ', 'NEW', 'SAME-MS']);
    expect(await progress.staleSkus([], since)).toEqual(new Set());
  });
});
