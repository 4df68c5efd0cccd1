import { describe, expect, it } from 'vitest';
import { emptyLedger, judgeLedger } from '../../../src/simulators/black-friday/ledger.js';
import { distribution } from '../../../src/simulators/black-friday/measurements.js';
import { DEFAULT_OPTIONS, FAULT_NAMES } from '../../../src/simulators/black-friday/options.js';
import { latencyFigures } from '../../../src/simulators/black-friday/probe-figures.js';
import { htmlReport, terminalSummary, type BlackFridayReport } from '../../../src/simulators/black-friday/report.js';

/** A made-up run's report: the summary and the HTML show the new figures, and the summary still ends with the six counts. */
function sampleReport(): BlackFridayReport {
  const ledger = emptyLedger();
  ledger.existed.set('A@WH', 10);
  ledger.accepted.push({ reference: 'gid://shopify/Order/1', placedAt: 1, lines: [{ sku: 'A', location: 'WH', quantity: 2 }], cancelled: false });
  ledger.refused = 1;
  const verdict = judgeLedger(ledger, () => ({ sales: 1, cancelled: false }));
  const d = (values: number[]) => distribution(values);
  return {
    startedAt: '2026-11-27T09:00:00.000Z',
    finishedAt: '2026-11-27T09:10:00.000Z',
    settings: { ...DEFAULT_OPTIONS, faults: [...FAULT_NAMES], keepDatabase: false, reportDir: '/tmp/x', database: 'postgres' },
    verdict,
    passed: true,
    drift: { positions: 0, sample: [] },
    atp: { positions: 1, hiddenUnits: 0, overPromisedUnits: 0, mismatches: 0, sample: [] },
    settle: { seconds: 12, complete: true },
    erp: { kind: 'configured', description: 'Tryton 6.0.0 at http://127.0.0.1:8000/ (database t)', faultsNotApplied: [] },
    latency: {
      webhookAckMs: d([5, 8, 40]),
      webhookAckAtBalancerMs: { ...latencyFigures([6, 9, 45]), notAcknowledged: 2, notAcknowledgedByStatus: { '502': 1, '503': 1 } },
      orderToErpMs: { ...d([900, 1_200]), fromPlacement: 0 },
      syncSeconds: { p50: 1.5, p99: 3, samples: 40 },
      erpToShopifyMs: { ...d([1_800, 2_900, 4_321]), receipts: 4, notShown: 1 },
    },
    productsRead: { ...d([50, 70, 140]), probes: 4, errors: 1, firstProblem: 'HTTP 200 THROTTLED', queryCost: 512, overLimit: 1, limitMs: 100 },
    orderVisibility: { ...latencyFigures([300, 6_000], 5_000), sampled: 3, notVisible: 1, exceeded: 2, fromPlacement: 0, failedPolls: 0, firstProblem: null },
    health: { syncLatencySeconds: { p50: 1.5, p99: 3, samples: 40 }, errorRate: 0, manualInterventions: 0, oversellIncidents: 0, orderBacklog: null, problem: null },
    webhooks: { deliveries: 3, failedAttempts: 0, dropped: 0, duplicated: 0, reordered: 0 },
    wholesale: { reserved: 1, refused: 0, committed: 1, released: 0, errors: 0 },
    erpActivity: { receipts: 4, unitsReceived: 40, shipments: 1, erpSales: 1, errors: 0 },
    gatewayCalls: { calls: 10, retried: 0, failures: 0 },
    errorRate: 0,
    manualInterventions: 0,
    instanceCrashes: 1,
    faults: [{ fault: 'erp-slow', detail: 'ERP holds 30 % of answers back by 2.5 s', startedAt: '2026-11-27T09:01:00.000Z', endedAt: '2026-11-27T09:02:00.000Z', atSecond: 60 }],
    timeline: { placedPerSecond: [1, 2], acceptedPerSecond: [1, 1], errors: 0, inErpPerSecond: [0, 1], productsReadMsPerSecond: [50, 50, 140], erpToShopifyMsPerSecond: [0, 1_800, 4_321] },
  };
}

describe('the Black Friday report', () => {
  it('puts the new figures above the last six lines, which stay placed, accepted, in ERP, lost, duplicated, oversold', () => {
    const text = terminalSummary(sampleReport());
    const lines = text.trim().split('\n');
    expect(lines.slice(-6).map((line) => line.split(':')[0])).toEqual(['placed', 'accepted', 'in ERP', 'lost', 'duplicated', 'oversold']);
    const above = lines.slice(0, -6).join('\n');
    expect(above).toContain('ERP stock change to Shopify available (in the run): p50 2900 ms, p99 4321 ms, max 4321 ms (3 of 4 receipts shown, 1 not within 120 s)');
    expect(above).toContain('webhook ack at the balancer: p50 9 ms, p99 45 ms, max 45 ms (3 acknowledged, 2 answered otherwise: 1× 502, 1× 503)');
    expect(above).toContain('webhook ack: p50 8 ms');
    expect(above).toContain('products(first: 100) with availability and lots, via the balancer: p50 70 ms, p99 140 ms, max 140 ms (4 probes of cost 512, 1 failed (HTTP 200 THROTTLED), 1 over 100 ms; p99 < 100 ms NOT met)');
    expect(above).toContain('order visible with its pending units after its ack: p50 300 ms, p99 6000 ms, max 6000 ms (3 sampled, 2 beyond 5 s of which 1 never within 60 s, 0 timed from placement: no ack seen; 0 failed polls)');
    expect(above).toContain('manual interventions: 0; instance crashes: 1');
    expect(above).toContain('ERP: Tryton 6.0.0 at http://127.0.0.1:8000/ (database t)');
  });

  it('draws the new figures in report.html as inline SVG, without scripts', () => {
    const html = htmlReport(sampleReport());
    expect(html).not.toMatch(/<script/i);
    expect(html).not.toMatch(/\son[a-z]+=/i);
    for (const name of ['webhook ack (balancer)', 'products(first: 100)', 'order visible', 'ERP change → Shopify']) expect(html).toContain(`>${name} (ms)</text>`);
    expect(html).toContain('products(first: 100) through the balancer, ms');
    expect(html).toContain('ERP goods receipt → Shopify available, ms');
    expect(html).toContain('<th>ERP stock change → Shopify available</th><td>3</td><td>2900 ms</td><td>4321 ms</td><td>4321 ms</td>');
    expect(html).toContain('every fault applied');
    expect(html.match(/<svg /g)?.length).toBe(5);
  });
});
