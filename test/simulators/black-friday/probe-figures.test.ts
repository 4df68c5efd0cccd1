import { describe, expect, it } from 'vitest';
import { balancerAckFigures, latencyFigures, receiptShown, secondsSeries } from '../../../src/simulators/black-friday/probe-figures.js';
import { visibilityFigures } from '../../../src/simulators/black-friday/read-probes.js';
import { trytonUtcMs } from '../../../src/simulators/black-friday/run-erp.js';

/** The arithmetic of the run's probes: distributions with a limit, per-second series, receipts shown, acks, visibility. */
describe('Black Friday probe figures', () => {
  it('gives p50, p99 and max by nearest rank, and counts the samples above a limit', () => {
    const samples = Array.from({ length: 200 }, (_, i) => i + 1); // 1..200 ms
    expect(latencyFigures(samples, 100)).toEqual({ samples: 200, p50: 100, p99: 198, max: 200, overLimit: 100, limit: 100 });
    expect(latencyFigures([], 100)).toEqual({ samples: 0, p50: null, p99: null, max: null, overLimit: 0, limit: 100 });
    expect(latencyFigures([3, 9, 1])).toMatchObject({ p50: 3, max: 9, overLimit: null, limit: null });
  });

  it('keeps the max of a large sample set without spreading it into arguments', () => {
    const many = Array.from({ length: 300_000 }, (_, i) => i % 1_000);
    many[123_456] = 5_000;
    expect(latencyFigures(many).max).toBe(5_000);
  });

  it('draws per-second series: the slowest sample of each second, the last one repeated between samples', () => {
    const start = 1_000_000;
    const series = secondsSeries(
      [
        { at: start + 200, value: 40 },
        { at: start + 900, value: 70 },
        { at: start + 3_100, value: 20 },
        { at: start - 500, value: 999 }, // before the start: not drawn
      ],
      start,
    );
    expect(series).toEqual([70, 70, 70, 20]);
    expect(secondsSeries([], start, 3)).toEqual([0, 0, 0]);
    expect(secondsSeries([{ at: start + 1_500, value: 5 }], start, 4)).toEqual([0, 5, 5, 5]);
  });

  it('counts a receipt as shown only when the store rose by its units, net of its own sales and of wholesale reservations since', () => {
    const watch = { before: 10, units: 8 };
    // Nothing pushed: Shopify only sold 3 units since.
    expect(receiptShown(watch, { available: 7, soldSince: 3, reservedSince: 0 })).toBe(false);
    // A push of the ATP with the receipt in it: 10 + 8 − 3 sold.
    expect(receiptShown(watch, { available: 15, soldSince: 3, reservedSince: 0 })).toBe(true);
    // A push that rose by less than the receipt: not this receipt's push yet.
    expect(receiptShown(watch, { available: 12, soldSince: 3, reservedSince: 0 })).toBe(false);
    // Wholesale reserved 4 there meanwhile: the pushed level is 4 lower, still the receipt's push.
    expect(receiptShown(watch, { available: 11, soldSince: 3, reservedSince: 4 })).toBe(true);
    // Reservations beyond the receipt still need a rise of one unit.
    expect(receiptShown(watch, { available: 10, soldSince: 0, reservedSince: 20 })).toBe(false);
    expect(receiptShown(watch, { available: 11, soldSince: 0, reservedSince: 20 })).toBe(true);
  });

  it('times webhook acknowledgements at the balancer from 2xx answers, and counts the others', () => {
    const figures = balancerAckFigures([
      { status: 200, ms: 12 },
      { status: 200, ms: 30 },
      { status: 502, ms: 1 },
      { status: 500, ms: 900 },
      { status: 202, ms: 20 },
    ]);
    expect(figures).toMatchObject({ samples: 3, p50: 20, p99: 30, max: 30, notAcknowledged: 2, notAcknowledgedByStatus: { '502': 1, '500': 1 } });
  });

  it('times visibility from the acknowledgement, from placement without one, and counts those beyond the limit or never visible', () => {
    const ack = new Map([
      ['gid://shopify/Order/1', 1_000],
      ['gid://shopify/Order/2', 2_000],
      ['gid://shopify/Order/4', 4_000],
    ]);
    const figures = visibilityFigures(
      [
        { reference: 'gid://shopify/Order/1', placedAt: 900, visibleAt: 1_400, failedPolls: 0, problem: null }, // 400 ms
        { reference: 'gid://shopify/Order/2', placedAt: 1_900, visibleAt: 9_000, failedPolls: 2, problem: 'HTTP 503 BUSY' }, // 7 s: beyond 5 s
        { reference: 'gid://shopify/Order/3', placedAt: 3_000, visibleAt: 4_000, failedPolls: 0, problem: null }, // no ack seen: 1 s from placement
        { reference: 'gid://shopify/Order/4', placedAt: 3_900, visibleAt: null, failedPolls: 1, problem: 'fetch failed' }, // never
        { reference: 'gid://shopify/Order/5', placedAt: 5_000, visibleAt: null, failedPolls: 0, problem: null }, // never
      ],
      ack,
      5_000,
    );
    expect(figures).toEqual({ samples: 3, p50: 1_000, p99: 7_000, max: 7_000, overLimit: 1, limit: 5_000, sampled: 5, notVisible: 2, exceeded: 3, fromPlacement: 1, failedPolls: 3, firstProblem: 'HTTP 503 BUSY' });
  });

  it("reads Tryton's naive UTC datetimes", () => {
    expect(trytonUtcMs('2026-11-27T09:30:00.250000')).toBe(Date.UTC(2026, 10, 27, 9, 30, 0, 250));
    expect(trytonUtcMs('2026-11-27 09:30:00')).toBe(Date.UTC(2026, 10, 27, 9, 30, 0));
    expect(trytonUtcMs(null)).toBeUndefined();
    expect(trytonUtcMs('not a date')).toBeUndefined();
  });
});
