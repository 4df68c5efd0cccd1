import { createHmac, randomBytes } from 'node:crypto';
import { createServer } from 'node:net';
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError } from '../../src/config.js';
import { rowsOf } from '../../src/db/database.js';
import { startDemoEnvironment, type DemoEnvironment } from '../../src/demo/demo-environment.js';
import { createMemoryLogger, startTestGateway, type TestGateway } from '../support/gateway.js';

/**
 * Going live with the authorization-code install, over HTTP end to end: the merchant's browser
 * follows the gateway's redirect to the (simulated) Shopify authorize page and back to the
 * callback; the gateway then pushes inventory with the token it obtained. The ERP is the
 * simulated demo ERP, the store a simulator with the same catalogue.
 */
const API_KEY = 'stockbridge-client-id';
const API_SECRET = 'stockbridge-client-secret';

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

const signed = (params: Record<string, string>, secret = API_SECRET) => {
  const message = Object.keys(params)
    .sort()
    .map((key) => `${key}=${params[key]}`)
    .join('&');
  return new URLSearchParams({ ...params, hmac: createHmac('sha256', secret).update(message).digest('hex') });
};

let store: DemoEnvironment;
let gateway: TestGateway;
let adminKey: string;

async function installationRows(): Promise<Array<Record<string, unknown>>> {
  return rowsOf(await gateway.database.db.execute(sql`select shop, status, access_token_sealed from shopify_installations`));
}

/** The merchant's browser: follows redirects by hand so each hop can be looked at. */
async function installThroughRedirects(): Promise<Response> {
  const start = await fetch(`${gateway.url}/auth/shopify/install?shop=${store.shopify.shopDomain}`, { redirect: 'manual' });
  expect(start.status).toBe(302);
  const authorize = new URL(start.headers.get('location')!);
  expect(authorize.origin + authorize.pathname).toBe(`${store.shopify.adminUrl}/admin/oauth/authorize`);
  expect(authorize.searchParams.get('client_id')).toBe(API_KEY);
  expect(authorize.searchParams.get('scope')).toBe('read_products,read_inventory,write_inventory,read_locations,read_orders,write_products,write_merchant_managed_fulfillment_orders');
  expect(authorize.searchParams.get('redirect_uri')).toBe(`${gateway.url.replace('localhost', '127.0.0.1')}/auth/shopify/callback`);
  const approved = await fetch(authorize, { redirect: 'manual' });
  expect(approved.status).toBe(302);
  return fetch(approved.headers.get('location')!, { redirect: 'manual' });
}

async function pushSku(sku: string) {
  const answer = await gateway.graphql<{ data?: { pushInventory: { status: string; dryRun: boolean; itemsPushed: number } }; errors?: Array<{ extensions?: { code?: string } }> }>(
    adminKey,
    'mutation($skus: [String!]) { pushInventory(input: { skus: $skus }) { status dryRun itemsPushed } }',
    { skus: [sku] },
  );
  return answer.body;
}

beforeAll(async () => {
  store = await startDemoEnvironment({ log: createMemoryLogger('silent').log, activityPerMinute: 0, shopify: { apiKey: API_KEY, apiSecret: API_SECRET } });
  const port = await freePort();
  gateway = await startTestGateway({
    PORT: String(port),
    HOST: '127.0.0.1',
    PUBLIC_URL: `http://127.0.0.1:${port}`,
    SHOPIFY_SHOP: store.shopify.shopDomain,
    SHOPIFY_ADMIN_URL: store.shopify.adminUrl,
    SHOPIFY_GRANT: 'authorization_code',
    SHOPIFY_API_KEY: API_KEY,
    SHOPIFY_API_SECRET: API_SECRET,
    ENCRYPTION_KEY: randomBytes(32).toString('base64'),
    ERP_CONNECTOR: 'simulated',
  });
  adminKey = await gateway.createKey(['read', 'sync', 'admin']);
}, 180_000);

afterAll(async () => {
  await gateway?.close();
  await store?.close();
});

describe('going live with the authorization-code install', () => {
  it('refuses a forged hmac, an unknown or replayed state, a foreign shop and an old timestamp, each with its own page, storing nothing', async () => {
    const now = () => String(Math.floor(Date.now() / 1000));
    const shop = store.shopify.shopDomain;
    const callback = (query: URLSearchParams) => fetch(`${gateway.url}/auth/shopify/callback?${query}`, { redirect: 'manual' });

    const forged = signed({ code: 'c', shop, state: 's', timestamp: now() }, 'not-the-secret');
    const forgedAnswer = await callback(forged);
    expect(forgedAnswer.status).toBe(403);
    expect(await forgedAnswer.text()).toContain('HMAC_INVALID');

    const unknown = await callback(signed({ code: 'c', shop, state: 'never-issued', timestamp: now() }));
    expect(unknown.status).toBe(403);
    expect(await unknown.text()).toContain('STATE_UNKNOWN');

    const foreign = await callback(signed({ code: 'c', shop: 'someone-else.myshopify.com', state: 's', timestamp: now() }));
    expect(foreign.status).toBe(403);
    expect(await foreign.text()).toContain('SHOP_FOREIGN');

    const notAShop = await fetch(`${gateway.url}/auth/shopify/install?shop=evil.example.com`, { redirect: 'manual' });
    expect(notAShop.status).toBe(400);
    expect(await notAShop.text()).toContain('SHOP_INVALID');

    const old = await callback(signed({ code: 'c', shop, state: 's', timestamp: String(Math.floor(Date.now() / 1000) - 3600) }));
    expect(old.status).toBe(403);
    expect(await old.text()).toContain('TIMESTAMP_STALE');

    // A real state, used once by a genuine callback, then replayed.
    const start = await fetch(`${gateway.url}/auth/shopify/install?shop=${shop}`, { redirect: 'manual' });
    const state = new URL(start.headers.get('location')!).searchParams.get('state')!;
    const first = await callback(signed({ code: 'not-a-code-shopify-issued', shop, state, timestamp: now() }));
    expect(first.status).toBe(502);
    expect(await first.text()).toContain('CODE_REFUSED');
    const replayed = await callback(signed({ code: 'c', shop, state, timestamp: now() }));
    expect(replayed.status).toBe(403);
    expect(await replayed.text()).toContain('STATE_USED');

    expect(await installationRows()).toEqual([]);
  });

  it('installs through the redirects, stores the token encrypted, and pushes inventory with it', async () => {
    const done = await installThroughRedirects();
    expect(done.status).toBe(200);
    expect(await done.text()).toContain('Stockbridge is installed');
    const rows = await installationRows();
    expect(rows).toEqual([expect.objectContaining({ shop: store.shopify.shopDomain, status: 'installed' })]);
    expect(String(rows[0]!.access_token_sealed)).toMatch(/^v1\./);
    expect(store.shopify.oauth.grants().authorization_code).toBe(1);

    // The catalogue job reads Shopify now that there is a token (the first start could not).
    expect(await gateway.scheduler.runNow('inventory.catalogue-refresh')).toMatchObject({ status: 'SUCCEEDED' });
    const health = await gateway.graphql<{ data: { health: { inventoryPush: string; ordersToErp: string; shopInstalled: boolean } } }>(adminKey, '{ health { inventoryPush ordersToErp shopInstalled } }');
    expect(health.body.data.health).toEqual({ inventoryPush: 'ON', ordersToErp: 'ON', shopInstalled: true });

    const sku = await aSkuToChange();
    const before = store.shopify.state.levels().filter((level) => level.sku === sku);
    const result = await pushSku(sku);
    expect(result.data?.pushInventory).toMatchObject({ status: 'SUCCEEDED', dryRun: false });
    expect(result.data!.pushInventory.itemsPushed).toBeGreaterThan(0);
    expect(store.shopify.state.levels().filter((level) => level.sku === sku)).not.toEqual(before);
  }, 120_000);

  it('app/uninstalled stops the pushes; installing again resumes them', async () => {
    const body = Buffer.from(JSON.stringify({ id: 1, domain: store.shopify.shopDomain }));
    const delivered = await fetch(`${gateway.url}/webhooks/shopify`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        'x-shopify-topic': 'app/uninstalled',
        'x-shopify-shop-domain': store.shopify.shopDomain,
        'x-shopify-webhook-id': `uninstall-${randomBytes(4).toString('hex')}`,
        'x-shopify-api-version': '2026-10',
        'x-shopify-hmac-sha256': createHmac('sha256', API_SECRET).update(body).digest('base64'),
      },
      body,
    });
    expect(delivered.status).toBe(200);
    store.shopify.oauth.revokeAll(); // Shopify revokes every token of the app at uninstall.
    const rows = await installationRows();
    expect(rows).toEqual([expect.objectContaining({ status: 'uninstalled', access_token_sealed: null })]);

    const sku = await aSkuToChange();
    const refused = await pushSku(sku);
    expect(refused.errors?.[0]?.extensions?.code).toBe('INVENTORY_PUSH_OFF');
    const health = await gateway.graphql<{ data: { health: { inventoryPush: string; ordersToErp: string; shopInstalled: boolean } } }>(adminKey, '{ health { inventoryPush ordersToErp shopInstalled } }');
    expect(health.body.data.health).toEqual({ inventoryPush: 'OFF', ordersToErp: 'OFF', shopInstalled: false });
    // The order poll does not call Shopify with a revoked token either.
    expect(await gateway.scheduler.runNow('orders.poll')).toMatchObject({ status: 'SUCCEEDED', result: { skipped: true } });

    expect((await installThroughRedirects()).status).toBe(200);
    const resumed = await pushSku(sku);
    expect(resumed.data?.pushInventory).toMatchObject({ status: 'SUCCEEDED', dryRun: false });
  }, 120_000);

  it('refuses to start a real store with the simulated ERP', async () => {
    await expect(startTestGateway({ SHOPIFY_SHOP: 'acme.myshopify.com', SHOPIFY_ACCESS_TOKEN: 'shpat_x', SHOPIFY_API_SECRET: 'hush' })).rejects.toThrow(ConfigError);
    await expect(startTestGateway({ SHOPIFY_SHOP: 'acme.myshopify.com', SHOPIFY_ACCESS_TOKEN: 'shpat_x', SHOPIFY_API_SECRET: 'hush' })).rejects.toThrow(/ERP_CONNECTOR: is simulated \(the default\) while SHOPIFY_SHOP names a real store/);
  });
});

/** A mapped SKU whose Shopify level differs from what the gateway will push (the demo store starts out of date). */
async function aSkuToChange(): Promise<string> {
  const answer = await gateway.graphql<{ data: { inventoryDrift: Array<{ sku: string; difference: number | null }> } }>(adminKey, '{ inventoryDrift { sku difference } }');
  const drifting = answer.body.data?.inventoryDrift?.find((drift) => (drift.difference ?? 0) !== 0);
  if (drifting) return drifting.sku;
  // No drift known yet: move one level in the store by hand.
  const level = store.shopify.state.levels().find((l) => l.sku && !['GIFT-CARD-25', 'MERCH-TSHIRT-M', 'SAMPLE-PACK'].includes(l.sku))!;
  return level.sku!;
}

describe('going live with the client-credentials grant', () => {
  it('fetches the token at start and says exactly which granted scopes are missing for what is switched on', async () => {
    const own = await startDemoEnvironment({
      log: createMemoryLogger('silent').log,
      activityPerMinute: 0,
      shopify: { apiKey: API_KEY, apiSecret: API_SECRET, oauth: { clientCredentialsScopes: ['read_products', 'write_products', 'read_inventory', 'read_locations', 'read_orders', 'write_merchant_managed_fulfillment_orders'] } },
    });
    const started = await startTestGateway({
      SHOPIFY_SHOP: own.shopify.shopDomain,
      SHOPIFY_ADMIN_URL: own.shopify.adminUrl,
      SHOPIFY_API_KEY: API_KEY,
      SHOPIFY_API_SECRET: API_SECRET,
      ENCRYPTION_KEY: randomBytes(32).toString('base64'),
      ERP_CONNECTOR: 'simulated',
    });
    try {
      await started.services.inventory.whenReady();
      expect(own.shopify.oauth.grants().client_credentials).toBe(1);
      const complaint = started.logLines().find((line) => Array.isArray(line.missingScopes));
      expect(complaint).toMatchObject({ level: 50, missingScopes: ['write_inventory'] });
      expect(String(complaint!.msg)).toContain('write_inventory (the inventory push (inventorySetQuantities))');
    } finally {
      await started.close();
      await own.close();
    }
  }, 120_000);
});
