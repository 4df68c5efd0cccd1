import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHealthRepository } from '../../src/health/health.repository.js';
import { startTestGateway, type TestGateway } from '../support/gateway.js';

interface Point {
  from: string;
  to: string;
  itemsPushed: number;
  itemPushFailures: number;
  orderAttempts: number;
  orderFailures: number;
  latencyP50: number | null;
  latencyP99: number | null;
  latencySamples: number;
}

const SERIES = /* GraphQL */ `
  query ($window: HealthWindow!) {
    health { series(window: $window) { from to itemsPushed itemPushFailures orderAttempts orderFailures latencyP50 latencyP99 latencySamples } }
  }
`;

/** `Health.series`: the console's charts of push volume, latency and errors over 24 hours and 7 days. */
describe('health series per bucket of a window', () => {
  let gateway: TestGateway;
  let reader: string;

  beforeAll(async () => {
    gateway = await startTestGateway();
    reader = await gateway.createKey(['read']);
  });
  afterAll(async () => {
    await gateway.close();
  });

  async function series(window: string): Promise<Point[]> {
    const answer = await gateway.graphql<{ data?: { health: { series: Point[] } }; errors?: unknown[] }>(reader, SERIES, { window });
    expect(answer.body.errors).toBeUndefined();
    return answer.body.data!.health.series;
  }

  it('cuts the day in 24 hours and the week in 7 days, ending now, with each bucket’s pushes, failures and latency', async () => {
    const now = Date.now();
    const ago = (ms: number) => new Date(now - ms);
    const hour = 3_600_000;
    // Samples well inside their buckets: 30 minutes ago (the last hour), 5½ hours ago, 3½ days ago, and one past the week.
    await createHealthRepository(gateway.database.db).addSamples([
      { kind: 'push_item', ok: true, latencySeconds: 10, at: ago(hour / 2) },
      { kind: 'push_item', ok: true, latencySeconds: 30, at: ago(hour / 2) },
      { kind: 'push_item', ok: false, at: ago(hour / 2) },
      { kind: 'order', ok: true, at: ago(hour / 2) },
      { kind: 'push_item', ok: true, latencySeconds: 100, at: ago(5.5 * hour) },
      { kind: 'order', ok: false, at: ago(5.5 * hour) },
      { kind: 'push_item', ok: false, at: ago(3.5 * 24 * hour) },
      { kind: 'push_item', ok: true, latencySeconds: 5, at: ago(8 * 24 * hour) },
    ]);

    const day = await series('LAST_DAY');
    expect(day).toHaveLength(24);
    expect(Date.parse(day[23]!.to)).toBeGreaterThanOrEqual(now);
    expect(Date.parse(day[1]!.from) - Date.parse(day[0]!.from)).toBe(hour);
    expect(day[23]).toMatchObject({ itemsPushed: 2, itemPushFailures: 1, orderAttempts: 1, orderFailures: 0, latencySamples: 2, latencyP50: 20 });
    expect(day[23]!.latencyP99).toBeCloseTo(29.8, 3);
    expect(day[18]).toMatchObject({ itemsPushed: 1, itemPushFailures: 0, orderAttempts: 1, orderFailures: 1, latencyP50: 100, latencyP99: 100 });
    // The other hours are zeros; the 3½-day-old failure is not in the day.
    const others = day.filter((_, index) => index !== 23 && index !== 18);
    expect(others.every((point) => point.itemsPushed + point.itemPushFailures + point.orderAttempts === 0 && point.latencyP50 === null)).toBe(true);

    const week = await series('LAST_WEEK');
    expect(week).toHaveLength(7);
    expect(week[6]).toMatchObject({ itemsPushed: 3, itemPushFailures: 1, orderAttempts: 2, orderFailures: 1, latencySamples: 3, latencyP50: 30 });
    expect(week[3]).toMatchObject({ itemsPushed: 0, itemPushFailures: 1 });
    // The sample past the week is in no bucket.
    expect(week.reduce((sum, point) => sum + point.itemsPushed, 0)).toBe(3);

    const hourSeries = await series('LAST_HOUR');
    expect(hourSeries).toHaveLength(12);
    expect(hourSeries.reduce((sum, point) => sum + point.itemsPushed, 0)).toBe(2);
  });
});
