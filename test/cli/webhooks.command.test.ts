import { PassThrough } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { webhooksCommand } from '../../src/cli/webhooks.command.js';
import { startShopifySimulator, type ShopifySimulator } from '../../src/simulators/shopify/index.js';
import { createMemoryLogger } from '../support/gateway.js';

function capture() {
  const stream = new PassThrough();
  let text = '';
  stream.on('data', (chunk: Buffer) => (text += chunk.toString('utf8')));
  return { stream, text: () => text };
}

describe('webhooks command', () => {
  let shopify: ShopifySimulator;
  let env: Record<string, string>;

  beforeAll(async () => {
    shopify = await startShopifySimulator({ port: 0, shopDomain: 'cli-webhooks.myshopify.com', logger: createMemoryLogger('silent').log });
    env = {
      LOG_LEVEL: 'silent',
      SHOPIFY_SHOP: shopify.shopDomain,
      SHOPIFY_ACCESS_TOKEN: shopify.accessToken,
      SHOPIFY_API_SECRET: shopify.apiSecret,
      SHOPIFY_ADMIN_URL: shopify.adminUrl,
    };
  });

  afterAll(async () => {
    await shopify?.close();
  });

  async function run(args: string[], extraEnv: Record<string, string> = {}) {
    const stdout = capture();
    const stderr = capture();
    const code = await webhooksCommand.run(args, { stdout: stdout.stream, stderr: stderr.stream, env: { ...env, ...extraEnv }, stopSignal: new Promise(() => {}) });
    return { code, stdout: stdout.text(), stderr: stderr.text() };
  }

  it('reports every order topic missing before registration, with exit code 1', async () => {
    const status = await run(['status', '--address', 'https://gw.example.com']);
    expect(status.code).toBe(1);
    expect(status.stdout).toContain('MISSING  ORDERS_CREATE → https://gw.example.com/webhooks/shopify');
  });

  it('registers the four order topics and inventory_levels/update once, and a second run keeps them', async () => {
    const first = await run(['register', '--address', 'https://gw.example.com/webhooks/shopify']);
    expect(first.code).toBe(0);
    expect(first.stdout).toContain('5 created, 0 already there');
    const second = await run(['register'], { PUBLIC_URL: 'https://gw.example.com' });
    expect(second.stdout).toContain('0 created, 5 already there');
    expect(shopify.state.webhookSubscriptions().map((s) => `${s.topic} ${s.uri}`).sort()).toEqual([
      'INVENTORY_LEVELS_UPDATE https://gw.example.com/webhooks/shopify',
      'ORDERS_CANCELLED https://gw.example.com/webhooks/shopify',
      'ORDERS_CREATE https://gw.example.com/webhooks/shopify',
      'ORDERS_UPDATED https://gw.example.com/webhooks/shopify',
      'REFUNDS_CREATE https://gw.example.com/webhooks/shopify',
    ]);
    const status = await run(['status'], { PUBLIC_URL: 'https://gw.example.com' });
    expect(status.code).toBe(0);
    expect(status.stdout).toContain('healthy');
  });

  it('refuses to register without an address', async () => {
    const result = await run(['register']);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('--address');
  });
});
