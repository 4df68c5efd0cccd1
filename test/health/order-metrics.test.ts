import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { healthSamples, oversellIncidents } from '../../src/db/schema/health.js';
import { startTestGateway, type TestGateway } from '../support/gateway.js';
import { waitFor } from '../support/waiting.js';

/**
 * The success metrics moved by the order pipeline itself, through the whole gateway (the demo's
 * simulated store and ERP, the test database): failing ERP order attempts raise the error rate,
 * an order Shopify accepted beyond the ATP is an oversell incident with its SKU, location and
 * order, a replay is a manual intervention. Each crossing fires its alert once, however often
 * the metrics are judged.
 */

interface PostedAlert {
  readonly code: string;
  readonly message: string;
  readonly details: Record<string, unknown>;
}

/** A webhook relay that keeps every alert POSTed to it. */
async function startAlertReceiver(): Promise<{ url: string; received: PostedAlert[]; close(): Promise<void> }> {
  const received: PostedAlert[] = [];
  const server: Server = createServer((request, response) => {
    let body = '';
    request.on('data', (chunk: Buffer) => (body += chunk.toString()));
    request.on('end', () => {
      received.push(JSON.parse(body) as PostedAlert);
      response.end('ok');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/alerts`, received, close: () => new Promise((resolve) => server.close(() => resolve())) };
}

const ORDER_WAIT = { timeoutMs: 60_000, intervalMs: 50 };

describe('the order pipeline feeds the success metrics', () => {
  let gateway: TestGateway;
  let receiver: Awaited<ReturnType<typeof startAlertReceiver>>;
  let admin: string;

  beforeAll(async () => {
    receiver = await startAlertReceiver();
    gateway = await startTestGateway({ ALERT_WEBHOOK_URL: receiver.url, HEALTH_MANUAL_INTERVENTIONS_PER_WEEK: '0', HEALTH_ERROR_RATE: '0.2' });
    admin = await gateway.createKey(['read', 'admin']);
    await gateway.services.inventory.whenReady();
  }, 120_000);
  afterAll(async () => {
    await gateway?.close();
    await receiver?.close();
  });

  const posted = async (code: string, metric?: string) => {
    await gateway.deps.alerts?.flush();
    return receiver.received.filter((alert) => alert.code === code && (metric === undefined || alert.details.metric === metric));
  };
  const thresholdAlerts = async (metric: string) => {
    // The sender delivers in the background: give it a moment to reach the receiver.
    await new Promise((resolve) => setTimeout(resolve, 200));
    return posted('HEALTH_THRESHOLD_BREACHED', metric);
  };

  /** A level the demo store sells and the ERP knows, with units in Shopify. */
  function stockedLevel(exclude: readonly string[] = []) {
    const level = gateway.demo!.shopify.state
      .levels()
      .find((candidate) => candidate.sku && !exclude.includes(candidate.sku) && candidate.quantities.available >= 5 && !['GIFT-CARD-25', 'MERCH-TSHIRT-M', 'SAMPLE-PACK'].includes(candidate.sku));
    if (!level?.sku) throw new Error('the demo store has no stocked level');
    return level;
  }

  async function placeAndWait(sku: string, quantity: number, location: string | number, accept: (order: { status: string; lastErrorCode: string | null } | null) => boolean) {
    const placed = gateway.demo!.shopify.state.placeOrder({ lines: [{ sku, quantity }], location });
    if (!placed.placed) throw new Error(`refused: ${placed.message}`);
    const order = await waitFor(() => gateway.services.orders.findOrder(placed.order.id), accept, ORDER_WAIT);
    return order!;
  }

  it('an order accepted beyond the ATP is one oversell incident with its SKU, location and order; its alert fires once, the threshold alert once', async () => {
    const level = stockedLevel();
    const sku = level.sku!;
    // The merchant lets the variant sell when out of stock: Shopify accepts what the ATP cannot cover.
    gateway.demo!.shopify.state.shop.findVariant({ sku })!.inventoryPolicy = 'CONTINUE';

    // Within the ATP: no incident.
    const first = await placeAndWait(sku, 1, level.locationId, (order) => order !== null);
    // An order the poll brings in before its webhook, its lines not mapped then, gets them from the worker.
    const lines = await waitFor(async () => (await gateway.services.orders.getLinesByOrderIds([first.id])).get(first.id) ?? [], (found) => found.length > 0, ORDER_WAIT);
    const [line] = lines;
    expect(line).toMatchObject({ erpSku: expect.any(String), location: expect.any(String) });
    const incidentsOf = (orderId: string) => gateway.database.db.select().from(oversellIncidents).where(eq(oversellIncidents.orderId, orderId));
    expect(await incidentsOf(first.id)).toEqual([]);

    // The ATP left for the next order, as the API shows it.
    type Availability = { data: { product: { availability: Array<{ location: { code: string }; availableToPromise: number }> } } };
    const { body } = await gateway.graphql<Availability>(admin, 'query($sku: String!) { product(sku: $sku) { availability { location { code } availableToPromise } } }', { sku: line!.erpSku });
    const atp = body.data.product.availability.find((position) => position.location.code === line!.location)!.availableToPromise;
    expect(atp).toBeGreaterThanOrEqual(0);

    // Three units beyond it.
    const beyond = await placeAndWait(sku, atp + 3, level.locationId, (order) => order !== null);
    const incidents = await waitFor(() => incidentsOf(beyond.id), (rows) => rows.length > 0, ORDER_WAIT);
    expect(incidents).toHaveLength(1);
    expect(incidents[0]).toMatchObject({ sku: line!.erpSku, location: line!.location, orderId: beyond.id, source: 'ORDER_BEYOND_ATP', units: 3 });

    const oversells = await waitFor(() => posted('OVERSELL'), (alerts) => alerts.some((alert) => alert.details.orderId === beyond.id), ORDER_WAIT);
    const mine = oversells.filter((alert) => alert.details.orderId === beyond.id);
    expect(mine).toHaveLength(1);
    expect(mine[0]!.details).toMatchObject({ sku: line!.erpSku, location: line!.location, orderId: beyond.id, units: 3 });
    expect(mine[0]!.message).toContain(line!.erpSku!);
    expect(String(mine[0]!.details.query)).toContain(line!.erpSku!);

    // The same order seen again (a replay maps its lines again) is still one incident.
    await gateway.services.health.evaluate();
    await gateway.services.health.evaluate();
    expect(await incidentsOf(beyond.id)).toHaveLength(1);
    const metrics = await gateway.services.health.metrics();
    expect(metrics.oversellIncidents).toMatchObject({ count: 1, status: 'BREACHED' });
    expect(await thresholdAlerts('oversellIncidents')).toHaveLength(1);
  }, 120_000);

  it('ERP refusals of orders raise the error rate over its threshold; the alert fires once per crossing', async () => {
    const samples = async () => {
      const rows = await gateway.database.db.select().from(healthSamples).where(eq(healthSamples.kind, 'order'));
      return { ok: rows.filter((row) => row.ok).length, failed: rows.filter((row) => !row.ok).length };
    };
    const before = await samples();
    expect(before.ok).toBeGreaterThanOrEqual(2); // the two orders above reached the ERP

    const level = stockedLevel();
    gateway.demo!.erp.fail({ mode: 'reject', methods: ['sale.create'] });
    try {
      for (let i = 0; i < 2; i += 1) {
        const failed = await placeAndWait(level.sku!, 1, level.locationId, (order) => order?.status === 'FAILED');
        expect(failed.lastErrorCode).toBe('ERP_REJECTED');
      }
    } finally {
      gateway.demo!.erp.recover();
    }
    const after = await samples();
    expect(after.failed - before.failed).toBe(2);
    expect(after.ok).toBe(before.ok);

    const metrics = await gateway.services.health.evaluate();
    expect(metrics.errorRate.failures).toBeGreaterThanOrEqual(2);
    expect(metrics.errorRate.status).toBe('BREACHED');
    await gateway.services.health.evaluate();
    expect(await thresholdAlerts('errorRate')).toHaveLength(1);
  }, 120_000);

  it('a replay is a manual intervention: over the weekly threshold (0 here), its alert fires once; the replayed order counts as a success', async () => {
    const failed = await waitFor(
      async () => (await gateway.services.orders.listOrders({ status: 'FAILED', first: 10 })).edges.map((edge) => edge.node),
      (orders) => orders.length > 0,
      ORDER_WAIT,
    );
    const okBefore = (await gateway.database.db.select().from(healthSamples).where(eq(healthSamples.ok, true))).filter((row) => row.kind === 'order').length;
    const replayed = await gateway.graphql<{ data: { replayOrder: { status: string } } }>(admin, 'mutation($id: ID!) { replayOrder(id: $id) { status } }', { id: failed[0]!.id });
    expect(replayed.body.data.replayOrder.status).toBe('SUBMITTED');
    const okAfter = (await gateway.database.db.select().from(healthSamples).where(eq(healthSamples.ok, true))).filter((row) => row.kind === 'order').length;
    expect(okAfter - okBefore).toBe(1);

    const metrics = await gateway.services.health.evaluate();
    expect(metrics.manualInterventions).toMatchObject({ count: 1, threshold: 0, status: 'BREACHED' });
    await gateway.services.health.evaluate();
    expect(await thresholdAlerts('manualInterventions')).toHaveLength(1);
  }, 120_000);
});
