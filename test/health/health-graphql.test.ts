import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestGateway, type TestGateway } from '../support/gateway.js';

describe('health and alerts through the gateway', () => {
  let gateway: TestGateway;
  let admin: string;

  beforeAll(async () => {
    gateway = await startTestGateway({ HEALTH_SYNC_LATENCY_P99_SECONDS: '120' });
    admin = await gateway.createKey(['read', 'admin']);
  }, 120_000);
  afterAll(async () => {
    await gateway.close();
  });

  it('health answers the four success metrics with their thresholds and statuses, beside the switches', async () => {
    const now = new Date();
    await gateway.services.health.recordPushOutcomes([{ ok: true, changeSeenAt: new Date(now.getTime() - 200_000), confirmedAt: now }]);
    await gateway.services.health.recordOversell({ sku: 'SKU-OVER', location: 'WH', orderId: 'order-1', units: 2, source: 'ORDER_BEYOND_ATP' });
    const { body } = await gateway.graphql<{ data: { health: Record<string, Record<string, unknown>> & { errorRate: number; oversellIncidents: number; manualInterventions: number } } }>(
      admin,
      `{ health { inventoryPush ordersToErp
          syncLatencySeconds { p50 p99 samples threshold status window windows { window samples } }
          errorRate oversellIncidents manualInterventions
          errorRateMetric { rate attempts failures threshold status }
          oversellIncidentsMetric { count threshold status }
          manualInterventionsMetric { count threshold status window } } }`,
    );
    const health = body.data.health;
    expect(health.syncLatencySeconds).toMatchObject({ samples: 1, threshold: 120, status: 'BREACHED', window: 'LAST_HOUR' });
    expect(health.syncLatencySeconds!.p99).toBeCloseTo(200, 0);
    // The contract's scalars, then each metric with its threshold and status.
    expect(health.errorRate).toBe(0);
    expect(health.oversellIncidents).toBe(1);
    expect(health.manualInterventions).toBe((health.manualInterventionsMetric as { count: number }).count);
    expect(health.errorRateMetric).toMatchObject({ attempts: 1, failures: 0, rate: 0, threshold: 0.001, status: 'OK' });
    expect(health.oversellIncidentsMetric).toMatchObject({ count: 1, threshold: 0, status: 'BREACHED' });
    expect(health.manualInterventionsMetric).toMatchObject({ threshold: 5, window: 'LAST_WEEK' });
  });

  it('/metrics exports the four metrics as gauges with their thresholds', async () => {
    const text = await (await fetch(gateway.metricsUrl)).text();
    expect(text).toMatch(/stockbridge_health_sync_latency_seconds\{quantile="0.99",window="LAST_HOUR"\} 200/);
    expect(text).toContain('stockbridge_health_threshold{metric="syncLatencySeconds"} 120');
    expect(text).toContain('stockbridge_health_oversell_incidents{window="LAST_DAY"} 1');
    expect(text).toContain('stockbridge_health_breached{metric="oversellIncidents"} 1');
    expect(text).toMatch(/stockbridge_health_error_rate\{window="LAST_HOUR"\} 0/);
    expect(text).toMatch(/stockbridge_health_manual_interventions \d+/);
    expect(text).toMatch(/stockbridge_health_sync_latency_observed_seconds_count 1/);
  });

  it('alerts lists the oversell alert; acknowledgeAlert takes it off the open list; an unknown id is a user error', async () => {
    const list = async (open: boolean) =>
      (
        await gateway.graphql<{ data: { alerts: { totalCount: number; edges: Array<{ node: { id: string; code: string; details: string; query: string | null; acknowledgedBy: string | null } }> } } }>(
          admin,
          `query($open: Boolean) { alerts(open: $open, first: 10) { totalCount edges { node { id code details query acknowledgedBy } } } }`,
          { open },
        )
      ).body.data.alerts;
    const open = await list(true);
    const oversell = open.edges.find((edge) => edge.node.code === 'OVERSELL')!.node;
    expect(JSON.parse(oversell.details)).toMatchObject({ sku: 'SKU-OVER', orderId: 'order-1' });
    expect(oversell.query).toContain('SKU-OVER');

    const ack = await gateway.graphql<{ data: { acknowledgeAlert: { alert: { acknowledgedBy: string } | null; userErrors: unknown[] } } }>(
      admin,
      `mutation($id: ID!) { acknowledgeAlert(input: { id: $id }) { alert { acknowledgedBy acknowledgedAt } userErrors { field message code } } }`,
      { id: oversell.id },
    );
    expect(ack.body.data.acknowledgeAlert.userErrors).toEqual([]);
    expect(ack.body.data.acknowledgeAlert.alert!.acknowledgedBy).toBeTruthy();
    expect((await list(true)).edges.map((edge) => edge.node.id)).not.toContain(oversell.id);
    expect((await list(false)).edges.map((edge) => edge.node.id)).toContain(oversell.id);

    const missing = await gateway.graphql<{ data: { acknowledgeAlert: { alert: null; userErrors: Array<{ code: string; field: string[] }> } } }>(
      admin,
      `mutation { acknowledgeAlert(input: { id: "987654" }) { alert { id } userErrors { field message code } } }`,
    );
    expect(missing.body.data.acknowledgeAlert).toMatchObject({ alert: null, userErrors: [{ code: 'ALERT_NOT_FOUND', field: ['input', 'id'] }] });
  });
});
