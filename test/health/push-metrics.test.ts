import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { skuMappings } from '../../src/db/schema/mapping.js';
import { startTestGateway, type TestGateway } from '../support/gateway.js';
import { waitFor } from '../support/waiting.js';

/**
 * The sync latency moved by a real push, through the whole gateway: the demo store answers every
 * Admin API request 1.5 s late, an ERP receipt is pushed with `pushInventory`, and the push's own
 * outcome (ERP change seen → Shopify `available` confirmed) lands in `health` over a threshold of
 * one second; judging the metrics twice fires the threshold alert once.
 */
describe('a slow push moves the sync latency', () => {
  let gateway: TestGateway;
  let key: string;
  let server: Server;
  const received: Array<{ code: string; details: Record<string, unknown> }> = [];

  beforeAll(async () => {
    server = createServer((request, response) => {
      let body = '';
      request.on('data', (chunk: Buffer) => (body += chunk.toString()));
      request.on('end', () => {
        received.push(JSON.parse(body) as { code: string; details: Record<string, unknown> });
        response.end('ok');
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    gateway = await startTestGateway({ ALERT_WEBHOOK_URL: `http://127.0.0.1:${(server.address() as AddressInfo).port}/alerts`, HEALTH_SYNC_LATENCY_P99_SECONDS: '1' });
    key = await gateway.createKey(['read', 'sync', 'admin']);
    await gateway.services.inventory.whenReady();
  }, 120_000);
  afterAll(async () => {
    await gateway?.close();
    await new Promise<void>((resolve) => server?.close(() => resolve()));
  });

  const latency = async () => {
    const { body } = await gateway.graphql<{ data: { health: { syncLatencySeconds: { samples: number; p99: number | null; threshold: number; status: string } } } }>(
      key,
      '{ health { syncLatencySeconds { samples p99 threshold status } } }',
    );
    return body.data.health.syncLatencySeconds;
  };

  it('an ERP change pushed through a slow store is a latency sample over the threshold, alerted once', async () => {
    const before = await latency();
    expect(before.status).toBe('OK');

    const mappings = await gateway.database.db.select({ erpSku: skuMappings.erpSku }).from(skuMappings).limit(50);
    const sku = mappings.map((row) => row.erpSku).find((candidate) => candidate && !candidate.startsWith('KIT-'));
    expect(sku).toBeTruthy();
    gateway.demo!.shopify.state.setAdminFaults({ latencyMs: 1_500 });
    gateway.demo!.erp.receiveStock({ sku: sku!, location: 'LDS', quantity: 7 });
    const { body } = await gateway.graphql<{ data: { pushInventory: { status: string; itemsPushed: number } } }>(
      key,
      'mutation ($skus: [String!]) { pushInventory(input: { skus: $skus }) { status itemsPushed } }',
      { skus: [sku] },
    );
    expect(body.data.pushInventory.itemsPushed).toBeGreaterThan(0);
    gateway.demo!.shopify.state.setAdminFaults({});

    const after = await waitFor(latency, (now) => now.samples > before.samples, { timeoutMs: 60_000, intervalMs: 200 });
    expect(after.p99!).toBeGreaterThanOrEqual(1.5);
    expect(after).toMatchObject({ threshold: 1, status: 'BREACHED' });

    await gateway.services.health.evaluate();
    await gateway.services.health.evaluate();
    await gateway.deps.alerts?.flush();
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(received.filter((alert) => alert.code === 'HEALTH_THRESHOLD_BREACHED' && alert.details.metric === 'syncLatencySeconds')).toHaveLength(1);
  }, 120_000);
});
