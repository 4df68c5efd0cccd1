import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { Database } from '../../src/db/database.js';
import { createSecretBox } from '../../src/secrets/secret-box.js';
import { createInstallationRepository } from '../../src/shopify/credentials/installation.repository.js';
import { ShopifyOAuthClient } from '../../src/shopify/credentials/oauth-client.js';
import { StoredTokenProvider } from '../../src/shopify/credentials/stored-token-provider.js';
import type { ShopifySimulator } from '../../src/simulators/shopify/index.js';
import { createTestDatabase, describeWithPostgres, openSecondInstance, type TestDatabase } from '../support/database.js';
import { createMemoryLogger } from '../support/gateway.js';
import { startSmallShop } from '../simulators/shopify/support.js';

/** Two gateway instances (two pools on one PostgreSQL database) sharing the shop's client-credentials token. */
describeWithPostgres('client-credentials token shared by two instances (PostgreSQL)', () => {
  let shop: ShopifySimulator;
  let database: TestDatabase;
  let second: Database;
  const { log } = createMemoryLogger('silent');
  const box = createSecretBox(randomBytes(32));

  beforeAll(async () => {
    shop = await startSmallShop({});
    database = await createTestDatabase();
    second = await openSecondInstance(database);
  });
  afterAll(async () => {
    await second?.close();
    await database?.close();
    await shop?.close();
  });

  it('is fetched once at start and renewed once before it expires, however many instances ask at the same moment', async () => {
    let clock = Date.now();
    const instance = (db: Database) =>
      new StoredTokenProvider({
        shop: shop.shopDomain,
        grant: 'client_credentials',
        repository: createInstallationRepository(db.db, box),
        oauth: new ShopifyOAuthClient({ shop: shop.shopDomain, adminUrl: shop.adminUrl, apiKey: shop.apiKey, apiSecret: shop.apiSecret, now: () => new Date(clock) }),
        log,
        now: () => new Date(clock),
      });
    const instances = [instance(database), instance(second), instance(database), instance(second)];
    const before = shop.oauth.grants().client_credentials;
    const first = await Promise.all(instances.map((tokens) => tokens.getToken()));
    expect(new Set(first).size).toBe(1);
    expect(shop.oauth.grants().client_credentials - before).toBe(1);

    // Two minutes before the 24-hour token expires: inside every instance's renewal margin.
    clock += 86_399_000 - 120_000;
    const renewed = await Promise.all(instances.map((tokens) => tokens.getToken()));
    expect(new Set(renewed).size).toBe(1);
    expect(renewed[0]).not.toBe(first[0]);
    expect(shop.oauth.grants().client_credentials - before).toBe(2);
  });
});
