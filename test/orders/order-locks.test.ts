// Orders locked together are locked in one statement, in id order (issue #17: the inbox's batches
// took their orders one by one in delivery order and deadlocked with the claims' writes, which
// lock in id order). Repository level, on both databases; the lock itself on PostgreSQL.
import postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Db } from '../../src/db/database.js';
import type { OrderSnapshot } from '../../src/orders/order.models.js';
import { createOrderRepository, type OrderRepository } from '../../src/orders/order.repository.js';
import { createTestDatabase, describeWithPostgres, untilSomeoneWaitsForALock, type TestDatabase } from '../support/database.js';

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

describeWithPostgres('inserting several new orders, seen from another connection', () => {
  it('inserts them in Shopify id order, so two instances inserting the same orders wait for each other in one order', async () => {
    const other = postgres(database.url!, { max: 2, onnotice: () => {} });
    try {
      const row = (shopifyId: string) => ({
        shop: SHOP,
        shopify_order_id: shopifyId,
        name: `#${shopifyId}`,
        status: 'RECEIVED',
        source: 'webhook',
        shopify_created_at: new Date(),
        shopify_updated_at: new Date(),
        snapshot: other.json(snapshot(shopifyId) as unknown as postgres.JSONValue),
      });
      let seen = '';
      let ours: Promise<unknown> = Promise.resolve();
      await other.begin(async (t) => {
        // Another instance has inserted order 9102 and not committed yet.
        await t`insert into shopify_orders ${t(row('9102'))}`;
        // This one inserts 9102 and 9101, asked in that order: in Shopify id order it writes 9101
        // and then waits for the other's 9102.
        ours = database.db.transaction((tx) =>
          repository.insertMany(tx as unknown as Db, [
            { shop: SHOP, snapshot: snapshot('9102'), source: 'webhook', status: 'RECEIVED' },
            { shop: SHOP, snapshot: snapshot('9101'), source: 'webhook', status: 'RECEIVED' },
          ]),
        );
        await untilSomeoneWaitsForALock(other);
        // The other instance now inserts 9101 too: it finds this one's row in its way.
        seen = await t
          .savepoint(async (s) => {
            await s`set local lock_timeout = '200ms'`;
            await s`insert into shopify_orders ${s(row('9101'))} on conflict do nothing`;
            return 'free';
          })
          .catch((error: { code?: string }) => `waits (${error.code})`);
      });
      expect(seen).toBe('waits (55P03)');
      // Once the other commits, this one's 9102 is left out (inserted first elsewhere).
      expect(((await ours) as { shopifyOrderId: string }[]).map((order) => order.shopifyOrderId)).toEqual(['9101']);
    } finally {
      await other.end();
    }
  });
});
