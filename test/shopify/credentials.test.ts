import { randomBytes } from 'node:crypto';
import { sql } from 'drizzle-orm';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { rowsOf } from '../../src/db/database.js';
import { createSecretBox } from '../../src/secrets/secret-box.js';
import { AdminApiShopifyClient } from '../../src/shopify/admin-api-shopify-client.js';
import { createInstallationRepository } from '../../src/shopify/credentials/installation.repository.js';
import { ShopifyOAuthClient } from '../../src/shopify/credentials/oauth-client.js';
import { StoredTokenProvider } from '../../src/shopify/credentials/stored-token-provider.js';
import { createMetricsRegistry } from '../../src/metrics.js';
import type { ShopifySimulator } from '../../src/simulators/shopify/index.js';
import { createTestDatabase, type TestDatabase } from '../support/database.js';
import { createMemoryLogger } from '../support/gateway.js';
import { startSmallShop } from '../simulators/shopify/support.js';

const key = () => randomBytes(32);

describe('secret box', () => {
  it('opens what it sealed for the same shop, and refuses another shop, another key or an altered value', () => {
    const box = createSecretBox(key());
    const sealed = box.seal('shpat_secret', 'a.myshopify.com');
    expect(sealed).not.toContain('shpat_secret');
    expect(box.open(sealed, 'a.myshopify.com')).toBe('shpat_secret');
    expect(() => box.open(sealed, 'b.myshopify.com')).toThrow(expect.objectContaining({ code: 'SECRET_UNREADABLE' }));
    expect(() => createSecretBox(key()).open(sealed, 'a.myshopify.com')).toThrow(expect.objectContaining({ code: 'SECRET_UNREADABLE' }));
    const parts = sealed.split('.');
    const altered = [...parts.slice(0, 3), `${parts[3]!.slice(0, -2)}AA`].join('.');
    expect(() => box.open(altered, 'a.myshopify.com')).toThrow(expect.objectContaining({ code: 'SECRET_UNREADABLE' }));
  });

  it('seals the same token differently each time (a fresh nonce per value)', () => {
    const box = createSecretBox(key());
    expect(box.seal('t', 's')).not.toBe(box.seal('t', 's'));
  });

  it('opens values sealed under the previous key during a rotation and says they need resealing', () => {
    const oldKey = key();
    const newKey = key();
    const sealed = createSecretBox(oldKey).seal('shpat_x', 'a.myshopify.com');
    const rotating = createSecretBox(newKey, [oldKey]);
    expect(rotating.open(sealed, 'a.myshopify.com')).toBe('shpat_x');
    expect(rotating.needsResealing(sealed)).toBe(true);
    expect(rotating.needsResealing(rotating.seal('shpat_x', 'a.myshopify.com'))).toBe(false);
  });
});

describe('stored Shopify tokens over the simulator (client-credentials grant)', () => {
  let shop: ShopifySimulator;
  let database: TestDatabase;
  const { log } = createMemoryLogger('silent');
  const encryptionKey = key();

  beforeAll(async () => {
    shop = await startSmallShop({ oauth: { clientCredentialsTokenSeconds: 86_399 } });
  });
  afterAll(async () => {
    await shop?.close();
  });
  afterEach(async () => {
    await database?.close();
  });

  const providerFor = (db: TestDatabase, box = createSecretBox(encryptionKey), now?: () => Date) =>
    new StoredTokenProvider({
      shop: shop.shopDomain,
      grant: 'client_credentials',
      repository: createInstallationRepository(db.db, box),
      oauth: new ShopifyOAuthClient({ shop: shop.shopDomain, adminUrl: shop.adminUrl, apiKey: shop.apiKey, apiSecret: shop.apiSecret, now }),
      log,
      now,
    });
  const clientFor = (tokens: StoredTokenProvider) =>
    new AdminApiShopifyClient({ shopDomain: shop.shopDomain, tokens, adminUrl: shop.adminUrl, logger: log, metrics: createMetricsRegistry({ defaultMetrics: false }), retry: { maxAttempts: 1 } });

  it('fetches a token at first use, stores it encrypted (the table never holds it in clear) and reuses it', async () => {
    database = await createTestDatabase();
    const before = shop.oauth.grants().client_credentials;
    const tokens = providerFor(database);
    const token = await tokens.getToken();
    expect(token).toMatch(/^shpat_/);
    expect(await tokens.getToken()).toBe(token);
    expect(await providerFor(database).getToken()).toBe(token);
    expect(shop.oauth.grants().client_credentials - before).toBe(1);

    const rows = rowsOf<Record<string, unknown>>(await database.db.execute(sql`select * from shopify_installations`));
    expect(rows).toHaveLength(1);
    expect(JSON.stringify(rows)).not.toContain(token);
    expect(String(rows[0]!.access_token_sealed)).toMatch(/^v1\./);
    // Without the key the stored token cannot be read.
    await expect(providerFor(database, createSecretBox(key())).getToken()).rejects.toMatchObject({ code: 'SECRET_UNREADABLE' });
  });

  it('when Shopify answers 401 to the token, one new token is fetched and the call retried once', async () => {
    database = await createTestDatabase();
    const tokens = providerFor(database);
    const client = clientFor(tokens);
    const first = await tokens.getToken();
    expect(await client.listLocations()).not.toHaveLength(0);
    const before = shop.oauth.grants().client_credentials;
    shop.oauth.expire(first);
    const locations = await client.listLocations();
    expect(locations).not.toHaveLength(0);
    expect(shop.oauth.grants().client_credentials - before).toBe(1);
    expect(await tokens.getToken()).not.toBe(first);
    await client.close();
  });

  it('a token that cannot be renewed (client secret revoked) fails with SHOPIFY_UNAUTHORIZED after one renewal attempt', async () => {
    database = await createTestDatabase();
    const tokens = new StoredTokenProvider({
      shop: shop.shopDomain,
      grant: 'client_credentials',
      repository: createInstallationRepository(database.db, createSecretBox(encryptionKey)),
      oauth: {
        clientCredentials: (() => {
          let calls = 0;
          const real = new ShopifyOAuthClient({ shop: shop.shopDomain, adminUrl: shop.adminUrl, apiKey: shop.apiKey, apiSecret: shop.apiSecret });
          return () => (calls++ === 0 ? real.clientCredentials() : new ShopifyOAuthClient({ shop: shop.shopDomain, adminUrl: shop.adminUrl, apiKey: shop.apiKey, apiSecret: 'revoked' }).clientCredentials());
        })(),
        refresh: () => Promise.reject(new Error('not used')),
      },
      log,
    });
    const client = clientFor(tokens);
    shop.oauth.expire(await tokens.getToken());
    await expect(client.listLocations()).rejects.toMatchObject({ code: 'SHOPIFY_UNAUTHORIZED' });
    await client.close();
  });

  it('renews the token before it expires (within the renewal margin), once', async () => {
    database = await createTestDatabase();
    let clock = Date.now();
    const tokens = providerFor(database, undefined, () => new Date(clock));
    const first = await tokens.getToken();
    const before = shop.oauth.grants().client_credentials;
    clock += 86_399_000 - 60_000; // a minute before expiry: inside the 5-minute margin
    const [a, b] = await Promise.all([tokens.getToken(), tokens.getToken()]);
    expect(a).toBe(b);
    expect(a).not.toBe(first);
    expect(shop.oauth.grants().client_credentials - before).toBe(1);
  });

  it('rotating the encryption key re-encrypts every stored token and every shop keeps working', async () => {
    database = await createTestDatabase();
    const oldKey = key();
    const newKey = key();
    const shops = ['one.myshopify.com', 'two.myshopify.com'];
    const oldRepository = createInstallationRepository(database.db, createSecretBox(oldKey));
    for (const name of shops) {
      await oldRepository.saveInstall(name, 'authorization_code', { accessToken: `shpat_${name}`, scopes: ['read_products'], expiresAt: null, refreshToken: `shprt_${name}`, refreshTokenExpiresAt: null }, new Date());
    }
    const rotating = createInstallationRepository(database.db, createSecretBox(newKey, [oldKey]));
    expect(await rotating.resealAll()).toEqual({ rows: 2, resealed: 2 });
    expect(await rotating.resealAll()).toEqual({ rows: 2, resealed: 0 });
    // The old key is gone: the new one alone opens every token.
    const after = createInstallationRepository(database.db, createSecretBox(newKey));
    for (const name of shops) {
      expect(await after.find(name)).toMatchObject({ accessToken: `shpat_${name}`, refreshToken: `shprt_${name}` });
    }
    await expect(createInstallationRepository(database.db, createSecretBox(oldKey)).find(shops[0]!)).rejects.toMatchObject({ code: 'SECRET_UNREADABLE' });
  });
});
