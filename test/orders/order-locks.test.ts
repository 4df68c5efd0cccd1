// Orders locked together are locked in one statement, in id order (issue #17: the inbox's batches
// took their orders one by one in delivery order and deadlocked with the claims' writes, which
// lock in id order). Repository level, on both databases; the lock itself on PostgreSQL.
import postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Db } from '../../src/db/database.js';
import type { OrderSnapshot } from '../../src/orders/order.models.js';
import { createOrderRepository, type OrderRepository } from '../../src/orders/order.repository.js';
import { createTestDatabase, describeWithPostgres, type TestDatabase } from '../support/database.js';

const SHOP = 'locks.myshopify.com';

function snapshot(shopifyOrderId: string): OrderSnapshot {
  const at = new Date().toISOString();
  return {
    shopifyOrderId,
    name: `#${shopifyOrderId}`,
    createdAt: at,
    updatedAt: at,
    cancelledAt: null,
    test: false,
    currency: 'EUR',
    customer: { name: 'Ada Lovelace', email: null, phone: null },
    shippingAddress: null,
    locationId: null,
    lines: [],
  };
}

let database: TestDatabase;
let repository: OrderRepository;
const ids = new Map<string, string>();

beforeAll(async () => {
  database = await createTestDatabase();
  repository = createOrderRepository(database.db);
  for (const shopifyId of ['9001', '9002', '9003', '9004', '9005']) {
    const order = await database.db.transaction((tx) => repository.insert(tx as unknown as Db, { shop: SHOP, snapshot: snapshot(shopifyId), source: 'webhook', status: 'RECEIVED' }));
    ids.set(shopifyId, order!.id);
  }
});

afterAll(async () => {
  await database?.close();
});

const byId = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

describe('locking several orders', () => {
  it('returns the existing orders in id order, by id and by Shopify id, whatever order they are asked in', async () => {
    const asked = ['9004', '9001', 'missing', '9003', '9001'];
    const byShopifyId = await database.db.transaction((tx) => repository.lockByShopifyIds(tx as unknown as Db, SHOP, asked));
    expect(byShopifyId.map((order) => order.id)).toEqual(['9004', '9001', '9003'].map((id) => ids.get(id)!).sort(byId));
    const wanted = ['9005', '9002'].map((id) => ids.get(id)!);
    const byOwnId = await database.db.transaction((tx) => repository.lockByIds(tx as unknown as Db, [...wanted, '00000000-0000-4000-8000-000000000000']));
    expect(byOwnId.map((order) => order.id)).toEqual([...wanted].sort(byId));
    expect(await database.db.transaction((tx) => repository.lockByShopifyIds(tx as unknown as Db, 'other.myshopify.com', ['9001']))).toEqual([]);
  });
});

describeWithPostgres('locking several orders, seen from another connection', () => {
  it('holds every row it returned until the commit', async () => {
    const other = postgres(database.url!, { max: 2, onnotice: () => {} });
    try {
      const tryLock = (shopifyId: string) =>
        other.begin(async (t) => {
          await t`set local lock_timeout = '200ms'`;
          await t`select id from shopify_orders where shop = ${SHOP} and shopify_order_id = ${shopifyId} for update`;
        });
      const seen: string[] = [];
      await database.db.transaction(async (tx) => {
        await repository.lockByShopifyIds(tx as unknown as Db, SHOP, ['9002', '9005']);
        for (const shopifyId of ['9002', '9005', '9003']) {
          await tryLock(shopifyId).then(
            () => seen.push(`${shopifyId} free`),
            (error: { code?: string }) => seen.push(`${shopifyId} locked (${error.code})`),
          );
        }
      });
      expect(seen).toEqual(['9002 locked (55P03)', '9005 locked (55P03)', '9003 free']);
      await expect(tryLock('9002').then(() => 'free after the commit')).resolves.toBe('free after the commit');
    } finally {
      await other.end();
    }
  });
});
