import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createAlertSender, type AlertSender } from '../../src/alerts/alert-sender.js';
import { createAlertsRepository, type AlertsRepository } from '../../src/alerts/alerts.repository.js';
import { alerts as alertsTable, healthSamples, oversellIncidents } from '../../src/db/schema/health.js';
import { inventoryLevels } from '../../src/db/schema/inventory-levels.js';
import { operatorActions } from '../../src/db/schema/operator-actions.js';
import { createHealthRepository } from '../../src/health/health.repository.js';
import { createHealthService, type HealthService } from '../../src/health/health.service.js';
import { createInventoryLevelsWriter } from '../../src/inventory/read-model/inventory-levels.writer.js';
import { createOperatorActions } from '../../src/operator-actions/operator-actions.js';
import { createTestDatabase, type TestDatabase } from '../support/database.js';
import { createMemoryLogger } from '../support/gateway.js';

const thresholds = { syncLatencyP99Seconds: 300, errorRate: 0.001, oversellIncidents: 0, manualInterventionsPerWeek: 5 };

/** A webhook relay that keeps every alert POSTed to it. */
async function startAlertReceiver(): Promise<{ url: string; received: Array<{ code: string; message: string; details: Record<string, unknown> }>; close(): Promise<void> }> {
  const received: Array<{ code: string; message: string; details: Record<string, unknown> }> = [];
  const server: Server = createServer((request, response) => {
    let body = '';
    request.on('data', (chunk: Buffer) => (body += chunk.toString()));
    request.on('end', () => {
      received.push(JSON.parse(body) as (typeof received)[number]);
      response.end('ok');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/alerts`, received, close: () => new Promise((resolve) => server.close(() => resolve())) };
}

describe('the success metrics and their alerts', () => {
  let database: TestDatabase;
  let receiver: Awaited<ReturnType<typeof startAlertReceiver>>;
  let sender: AlertSender;
  let store: AlertsRepository;
  let health: HealthService;
  let now = new Date('2026-12-01T12:00:00Z');

  beforeAll(async () => {
    database = await createTestDatabase();
    receiver = await startAlertReceiver();
  });
  afterAll(async () => {
    await receiver.close();
    await database.close();
  });
  beforeEach(async () => {
    await database.db.delete(healthSamples);
    await database.db.delete(oversellIncidents);
    await database.db.delete(alertsTable);
    await database.db.delete(operatorActions);
    receiver.received.length = 0;
    now = new Date('2026-12-01T12:00:00Z');
    store = createAlertsRepository(database.db);
    const { log } = createMemoryLogger();
    // A burst large enough that the rate limit never hides what deduplication must prevent.
    sender = createAlertSender({ log, webhookUrl: receiver.url, store, burst: 100, now: () => now });
    health = createHealthService({
      repository: createHealthRepository(database.db),
      alerts: sender,
      thresholds,
      manualInterventions: createOperatorActions(database.db),
      mappingGaps: { mappingGaps: async () => ({ unmappedErpSkus: 2, ambiguous: 1, samples: { unmappedErpSkus: ['A', 'B'], ambiguous: ['C'] } }) },
      log,
      now: () => now,
      shop: 'health.myshopify.com',
    });
  });

  const sent = async (code: string) => {
    await sender.flush();
    return receiver.received.filter((alert) => alert.code === code);
  };

  it('a slow push moves the sync latency over its threshold and the alert fires once per crossing', async () => {
    const confirmedAt = new Date(now.getTime() - 60_000);
    await health.recordPushOutcomes([
      { ok: true, changeSeenAt: new Date(confirmedAt.getTime() - 2_000), confirmedAt },
      { ok: true, changeSeenAt: new Date(confirmedAt.getTime() - 600_000), confirmedAt },
    ]);
    const metrics = await health.metrics();
    expect(metrics.syncLatencySeconds.samples).toBe(2);
    expect(metrics.syncLatencySeconds.p50).toBeCloseTo(301, 0);
    expect(metrics.syncLatencySeconds.p99).toBeGreaterThan(590);
    expect(metrics.syncLatencySeconds.status).toBe('BREACHED');

    await health.evaluate();
    await health.evaluate();
    const breaches = (await sent('HEALTH_THRESHOLD_BREACHED')).filter((alert) => alert.details.metric === 'syncLatencySeconds');
    expect(breaches).toHaveLength(1);
    expect(breaches[0]!.details.query).toContain('syncRuns');

    // Two hours later the hour holds no slow push: resolved; a new slow push is a new crossing.
    now = new Date(now.getTime() + 2 * 3_600_000);
    expect((await health.evaluate()).syncLatencySeconds.status).toBe('OK');
    await health.recordPushOutcomes([{ ok: true, changeSeenAt: new Date(now.getTime() - 900_000), confirmedAt: now }]);
    await health.evaluate();
    expect((await sent('HEALTH_THRESHOLD_BREACHED')).filter((alert) => alert.details.metric === 'syncLatencySeconds')).toHaveLength(2);
  });

  it('failing items and failed orders raise the error rate over its threshold, alerted once', async () => {
    await health.recordPushOutcomes([
      { ok: true, changeSeenAt: null, confirmedAt: now },
      { ok: false, changeSeenAt: null, confirmedAt: now },
      { ok: false, changeSeenAt: null, confirmedAt: now },
    ]);
    await health.recordOrderAttempt(true);
    await health.recordOrderAttempt(false);
    const metrics = await health.evaluate();
    expect(metrics.errorRate).toMatchObject({ attempts: 5, failures: 3, rate: 0.6, status: 'BREACHED', window: 'LAST_HOUR' });
    await health.evaluate();
    expect((await sent('HEALTH_THRESHOLD_BREACHED')).filter((alert) => alert.details.metric === 'errorRate')).toHaveLength(1);
  });

  it('an order accepted beyond the ATP is one oversell incident with its SKU, location and order, alerted once', async () => {
    const report = { sku: 'SKU-1', location: 'WH1', orderId: 'order-7', units: 3, source: 'ORDER_BEYOND_ATP' as const };
    expect(await health.recordOversell(report)).toBe(true);
    expect(await health.recordOversell(report)).toBe(false);
    const metrics = await health.evaluate();
    expect(metrics.oversellIncidents).toMatchObject({ count: 1, threshold: 0, status: 'BREACHED' });
    const oversells = await sent('OVERSELL');
    expect(oversells).toHaveLength(1);
    expect(oversells[0]!.details).toMatchObject({ sku: 'SKU-1', location: 'WH1', orderId: 'order-7', units: 3 });
    expect(String(oversells[0]!.details.query)).toContain('product(sku: "SKU-1")');
    const stored = await store.list({ open: true, limit: 10 });
    expect(stored.map((alert) => alert.code).sort()).toEqual(['HEALTH_THRESHOLD_BREACHED', 'OVERSELL', 'SKUS_UNMAPPED']);
  });

  it('a Shopify value below zero is an oversell incident, except as far as a take of our own that no push has overwritten explains it', async () => {
    const shop = 'health.myshopify.com';
    const pushedAt = new Date(now.getTime() - 60_000);
    const level = (sku: string, shopifyAvailable: number) => ({ shop, sku, location: 'WH', onHand: 10, shopifyAvailable, shopifyReadAt: now, lastPushedAt: pushedAt, lastPushedQuantity: 5 });
    await database.db.delete(inventoryLevels).where(eq(inventoryLevels.shop, shop));
    await database.db.insert(inventoryLevels).values([level('NEG-SALE', -4), level('NEG-TAKE', -3), level('NEG-OLD-TAKE', -3), level('NEG-BEYOND', -7), level('POSITIVE', 2)]);
    const writer = createInventoryLevelsWriter(database.db, shop);
    // Two takes in doubt add up (2 + 3 units) after the last push; one made before it counts for nothing.
    await writer.recordUnconfirmedTakes([{ sku: 'NEG-TAKE', location: 'WH', units: 2 }, { sku: 'NEG-BEYOND', location: 'WH', units: 5 }], new Date(now.getTime() - 5_000));
    await writer.recordUnconfirmedTakes([{ sku: 'NEG-TAKE', location: 'WH', units: 3 }], new Date(now.getTime() - 4_000));
    await writer.recordUnconfirmedTakes([{ sku: 'NEG-OLD-TAKE', location: 'WH', units: 9 }], new Date(pushedAt.getTime() - 1_000));

    expect(await health.detectNegativeAvailable()).toBe(3);
    const incidents = await database.db.select().from(oversellIncidents).orderBy(oversellIncidents.sku);
    expect(incidents.map((incident) => [incident.sku, incident.source, incident.units])).toEqual([
      ['NEG-BEYOND', 'SHOPIFY_NEGATIVE_AVAILABLE', 2],
      ['NEG-OLD-TAKE', 'SHOPIFY_NEGATIVE_AVAILABLE', 3],
      ['NEG-SALE', 'SHOPIFY_NEGATIVE_AVAILABLE', 4],
    ]);
    // Found again at the next minute: the same readings are not new incidents.
    expect(await health.detectNegativeAvailable()).toBe(0);
    await database.db.delete(inventoryLevels).where(eq(inventoryLevels.shop, shop));
  });

  it('replays counted as manual interventions cross the weekly threshold and alert once', async () => {
    const actions = createOperatorActions(database.db);
    await actions.recordMany(Array.from({ length: 6 }, (_, i) => ({ action: 'replayOrder' as const, actor: 'key-1', target: `order-${i}`, at: new Date(now.getTime() - 86_400_000) })));
    const metrics = await health.evaluate();
    expect(metrics.manualInterventions).toMatchObject({ count: 6, threshold: 5, status: 'BREACHED', window: 'LAST_WEEK' });
    await health.evaluate();
    expect((await sent('HEALTH_THRESHOLD_BREACHED')).filter((alert) => alert.details.metric === 'manualInterventions')).toHaveLength(1);
  });

  it('unmapped and ambiguous SKUs produce one digest alert per day while any remain', async () => {
    await health.evaluate();
    await health.evaluate();
    expect(await sent('SKUS_UNMAPPED')).toHaveLength(1);
    now = new Date(now.getTime() + 86_400_000);
    await health.evaluate();
    const digests = await sent('SKUS_UNMAPPED');
    expect(digests).toHaveLength(2);
    expect(digests[1]!.details).toMatchObject({ unmappedErpSkus: 2, ambiguous: 1 });
  });

  it('an alert acknowledged leaves the open list and keeps who acknowledged it; a second acknowledgement keeps the first', async () => {
    await sender.raise({ key: 'TEST:1', code: 'TEST', severity: 'warning', message: 'one' });
    const [alert] = await store.list({ open: true, limit: 10 });
    const acknowledged = await store.acknowledge(alert!.id, 'key-a', now);
    expect(acknowledged).toMatchObject({ acknowledgedBy: 'key-a', count: 1 });
    await store.acknowledge(alert!.id, 'key-b', new Date(now.getTime() + 1000));
    expect((await store.findById(alert!.id))!.acknowledgedBy).toBe('key-a');
    expect(await store.list({ open: true, limit: 10 })).toEqual([]);
    expect(await store.countAll(false)).toBe(1);
    expect(await store.acknowledge(999_999, 'key-a', now)).toBeNull();
  });
});
