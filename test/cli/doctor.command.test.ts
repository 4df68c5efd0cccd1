import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { doctorCommand, formatDoctorReport, runDoctor, type DoctorReport } from '../../src/cli/doctor.command.js';
import { startDemoEnvironment, type DemoEnvironment } from '../../src/demo/demo-environment.js';
import { createMetricsRegistry } from '../../src/metrics.js';
import { createWebhookSubscriptionService } from '../../src/orders/webhook-subscriptions.service.js';
import { AdminApiShopifyClient } from '../../src/shopify/admin-api-shopify-client.js';
import { createTestDatabase, type TestDatabase } from '../support/database.js';
import { createMemoryLogger } from '../support/gateway.js';

/**
 * The go-live check against a simulated store (the demo's catalogue) and the simulated ERP
 * behind it: healthy, then each broken part named in its own line.
 */
const PUBLIC_URL = 'https://stockbridge.example.com';
const { log } = createMemoryLogger('silent');

let store: DemoEnvironment;
let database: TestDatabase;

const envOf = (environment: DemoEnvironment, extra: Record<string, string> = {}) => ({
  SHOPIFY_SHOP: environment.shopify.shopDomain,
  SHOPIFY_ACCESS_TOKEN: environment.shopify.accessToken,
  SHOPIFY_API_SECRET: environment.shopify.apiSecret,
  SHOPIFY_ADMIN_URL: environment.shopify.adminUrl,
  ERP_CONNECTOR: 'simulated',
  PUBLIC_URL,
  LOG_LEVEL: 'silent',
  ...extra,
});

const check = (report: DoctorReport, name: string) => report.checks.find((candidate) => candidate.name === name)!;

async function subscribe(environment: DemoEnvironment, address: string): Promise<void> {
  const shopify = new AdminApiShopifyClient({ shopDomain: environment.shopify.shopDomain, accessToken: environment.shopify.accessToken, adminUrl: environment.shopify.adminUrl, logger: log, metrics: createMetricsRegistry({ defaultMetrics: false }) });
  await createWebhookSubscriptionService({ shopify, log }).register(address);
  await shopify.close();
}

beforeAll(async () => {
  store = await startDemoEnvironment({ log, activityPerMinute: 0 });
  await subscribe(store, `${PUBLIC_URL}/webhooks/shopify`);
}, 120_000);

afterAll(async () => {
  await store?.close();
});

afterEach(async () => {
  store.erp.recover();
  await database?.close();
});

describe('doctor', () => {
  it('against a healthy setup: every check passes (the demo catalogue only warns about its untidy SKUs) and the exit is 0', async () => {
    database = await createTestDatabase();
    const report = await runDoctor(envOf(store), { database, erp: store.erpConnector, log });
    const text = formatDoctorReport(report);
    expect(report.checks.map((c) => c.name)).toEqual(['configuration', 'database', 'erp', 'shopify token', 'api version', 'location mapping', 'sku mapping', 'webhooks', 'clock', 'switches']);
    expect(report.checks.filter((c) => c.status === 'fail'), text).toEqual([]);
    expect(report.ok).toBe(true);
    expect(check(report, 'sku mapping').message).toMatch(/\d+ mapped .*ambiguous/);
    expect(text).toMatch(/^ok {4}configuration/m);
    expect(text).toContain('ready to go live: nothing blocks');
  }, 120_000);

  it('names the ERP when it is down', async () => {
    database = await createTestDatabase();
    store.erp.fail({ mode: 'down' });
    const report = await runDoctor(envOf(store), { database, erp: store.erpConnector, log });
    expect(report.ok).toBe(false);
    expect(check(report, 'erp')).toMatchObject({ status: 'fail', message: expect.stringMatching(/^simulated .*ECONNREFUSED|^simulated .*ERP_UNAVAILABLE/) });
    expect(check(report, 'location mapping').message).toContain('not checked: the ERP is not reachable');
  }, 120_000);

  it('names a missing access scope and the feature that needs it', async () => {
    const limited = await startDemoEnvironment({ log, activityPerMinute: 0, shopify: { accessScopes: ['read_products', 'write_products', 'read_inventory', 'read_locations', 'read_orders', 'write_merchant_managed_fulfillment_orders'] } });
    try {
      database = await createTestDatabase();
      const report = await runDoctor(envOf(limited), { database, erp: limited.erpConnector, log });
      expect(report.ok).toBe(false);
      expect(check(report, 'shopify token')).toMatchObject({ status: 'fail', message: expect.stringContaining('missing scopes: write_inventory (the inventory push (inventorySetQuantities))') });
    } finally {
      await limited.close();
    }
  }, 120_000);

  it('names a Shopify location that fulfils online orders without an ERP source', async () => {
    const other = await startDemoEnvironment({ log, activityPerMinute: 0 });
    try {
      other.shopify.state.seed({ locations: [{ key: 'POPUP', name: 'Pop-up shop' }], products: [] });
      await subscribe(other, `${PUBLIC_URL}/webhooks/shopify`);
      database = await createTestDatabase();
      const report = await runDoctor(envOf(other), { database, erp: other.erpConnector, log });
      expect(report.ok).toBe(false);
      expect(check(report, 'location mapping')).toMatchObject({ status: 'fail', message: expect.stringContaining('without an ERP source: Pop-up shop') });
    } finally {
      await other.close();
    }
  }, 120_000);

  it('names the webhook address when the subscriptions point elsewhere, and exits 1 (--json for scripts)', async () => {
    database = await createTestDatabase();
    const report = await runDoctor(envOf(store, { PUBLIC_URL: 'https://new-home.example.com' }), { database, erp: store.erpConnector, log });
    expect(check(report, 'webhooks')).toMatchObject({
      status: 'fail',
      message: expect.stringContaining('not subscribed at https://new-home.example.com/webhooks/shopify: '),
    });
    expect(check(report, 'webhooks').message).toContain(`point elsewhere: ORDERS_CREATE → ${PUBLIC_URL}/webhooks/shopify`);
    expect(report.ok).toBe(false);
  }, 120_000);

  it('refuses the demo configuration as a go-live setup, in one line, before touching anything', async () => {
    const chunks: string[] = [];
    const stdout = { write: (chunk: string) => chunks.push(chunk) } as unknown as NodeJS.WritableStream;
    const code = await doctorCommand.run(['--json'], {
      stdout: stdout as never,
      stderr: stdout as never,
      env: { SHOPIFY_SHOP: 'acme.myshopify.com', SHOPIFY_ACCESS_TOKEN: 'shpat_x', SHOPIFY_API_SECRET: 'hush' },
      stopSignal: new Promise(() => {}),
    });
    expect(code).toBe(1);
    const report = JSON.parse(chunks.join('')) as DoctorReport;
    expect(report.checks[0]).toMatchObject({ name: 'configuration', status: 'fail', message: expect.stringContaining('ERP_CONNECTOR: is simulated (the default)') });
  });
});
