import type { AtpCheck } from './atp-check.js';
import type { ErpActivityStats } from './erp-activity.js';
import type { FaultEvent } from './faults.js';
import type { LoadTimeline } from './load-generator.js';
import type { LedgerVerdict } from './ledger.js';
import type { Distribution, DriftPosition, HealthFigures, WebhookFigures } from './measurements.js';
import type { BlackFridayOptions } from './options.js';
import type { LatencyFigures } from './probe-figures.js';
import type { VisibilityFigures } from './read-probes.js';
import type { WholesaleStats } from './wholesale.js';

/** Everything a run measured, as written to report.json (and drawn in report.html). */
export interface BlackFridayReport {
  readonly startedAt: string;
  readonly finishedAt: string;
  readonly settings: Omit<BlackFridayOptions, 'databaseUrl'> & { readonly database: 'postgres' | 'pglite' };
  readonly verdict: LedgerVerdict;
  readonly passed: boolean;
  readonly drift: { readonly positions: number; readonly sample: readonly DriftPosition[] };
  /** The gateway's ATP against the ledger's free units after the settle (hidden or over-promised stock); null if unreadable. */
  readonly atp: AtpCheck | null;
  readonly settle: { readonly seconds: number; readonly complete: boolean };
  /** The ERP played against, and the faults that could not apply to this run. */
  readonly erp: { readonly kind: 'simulated' | 'configured'; readonly description: string; readonly faultsNotApplied: readonly string[] };
  readonly latency: {
    /** Webhook acknowledgements as the store timed them (first attempts). */
    readonly webhookAckMs: Distribution;
    /** The same as the balancer timed them: request forwarded → the instance's whole answer; `notAcknowledged`: answers not 2xx. */
    readonly webhookAckAtBalancerMs: LatencyFigures & { readonly notAcknowledged: number; readonly notAcknowledgedByStatus: Readonly<Record<string, number>> };
    readonly orderToErpMs: Distribution & { readonly fromPlacement: number };
    /** The gateways' own `health` figure (last hour). */
    readonly syncSeconds: HealthFigures['syncLatencySeconds'];
    /** Measured in the run: ERP goods receipt → Shopify `available` showing it; `notShown`: receipts never shown within 120 s. */
    readonly erpToShopifyMs: Distribution & { readonly receipts: number; readonly notShown: number };
  };
  /** `products(first: 100)` with availability and lots through the balancer every ~2 s during the load. */
  readonly productsRead: Distribution & { readonly probes: number; readonly errors: number; readonly firstProblem: string | null; readonly queryCost: number | null; readonly overLimit: number | null; readonly limitMs: number };
  /** Sampled accepted orders: acknowledgement (at the balancer) → visible at the gateway with their pending units. */
  readonly orderVisibility: VisibilityFigures;
  readonly health: HealthFigures;
  readonly webhooks: Omit<WebhookFigures, 'ackMs' | 'orderAckAt'>;
  readonly wholesale: WholesaleStats;
  readonly erpActivity: ErpActivityStats;
  readonly gatewayCalls: { readonly calls: number; readonly retried: number; readonly failures: number };
  readonly errorRate: number | null;
  readonly manualInterventions: number | null;
  /** Instances that exited on their own (not the instance-kill fault) and were started again. */
  readonly instanceCrashes: number;
  readonly faults: readonly (Omit<FaultEvent, 'startedAt' | 'endedAt'> & { readonly startedAt: string; readonly endedAt: string | null; readonly atSecond: number })[];
  readonly timeline: LoadTimeline & {
    readonly inErpPerSecond: number[];
    /** Per second of the run, the slowest products probe of that second (the last one repeated between probes). */
    readonly productsReadMsPerSecond: number[];
    /** Per second of the run, the ERP → Shopify latency of the receipts made that second (the last one repeated between). */
    readonly erpToShopifyMsPerSecond: number[];
  };
}

/** Exit 0 only when nothing was lost, doubled or oversold and Shopify equals the ATP after the settle. */
/**
 * Nothing lost, doubled or oversold, no drift, and (when checked) no ATP above the units really
 * free. Units the ATP still hides are reported, not failed: the gateway holds back a fall of
 * Shopify's numbers no known order explains until the order window ends (its oversell guard).
 */
export function passed(verdict: LedgerVerdict, driftPositions: number, atp: AtpCheck | null = null): boolean {
  return verdict.lost === 0 && verdict.duplicated === 0 && verdict.oversold === 0 && driftPositions === 0 && (atp === null || atp.overPromisedUnits === 0);
}

const byStatus = (counts: Readonly<Record<string, number>>): string => {
  const parts = Object.entries(counts).map(([status, count]) => `${count}× ${status}`);
  return parts.length ? `: ${parts.join(', ')}` : '';
};
const ms = (value: number | null): string => (value === null ? 'n/a' : `${Math.round(value)} ms`);
const s = (value: number | null | undefined): string => (value === null || value === undefined ? 'n/a' : `${value.toFixed(2)} s`);

/** The terminal summary; its last six lines are `name: count` for placed, accepted, in ERP, lost, duplicated, oversold. */
export function terminalSummary(report: BlackFridayReport): string {
  const { verdict } = report;
  const lines = [
    `Black Friday simulation ${report.passed ? 'PASSED' : 'FAILED'}: ${report.settings.ordersPerMinute} orders/min for ${report.settings.minutes} min, ${report.settings.instances} instance(s), faults: ${report.settings.faults.join(', ') || 'none'} (${report.settings.faultMode})`,
    `  cancelled by customers: ${verdict.cancelled}; cancelled in Shopify with a live ERP sale: ${verdict.cancelledButLive}`,
    `  drift after the settle: ${report.drift.positions} position(s)${report.drift.sample.length ? ` (e.g. ${report.drift.sample.slice(0, 3).map((d) => `${d.sku}@${d.location} ATP ${d.atp} Shopify ${d.shopify}`).join('; ')})` : ''}`,
    `  ATP after the settle: ${report.atp ? `${report.atp.hiddenUnits} unit(s) hidden, ${report.atp.overPromisedUnits} over-promised, ${report.atp.mismatches} of ${report.atp.positions} position(s) off${report.atp.sample.length ? ` (e.g. ${report.atp.sample.slice(0, 3).map((m) => `${m.sku}@${m.location} ATP ${m.atp} free ${m.expected}`).join('; ')})` : ''}` : 'not read'}`,
    `  settle: ${report.settle.seconds} s${report.settle.complete ? '' : ' (gave up before every order reached the ERP)'}`,
    `  webhook ack: p50 ${ms(report.latency.webhookAckMs.p50)}, p99 ${ms(report.latency.webhookAckMs.p99)}, max ${ms(report.latency.webhookAckMs.max)} (${report.webhooks.deliveries} deliveries, ${report.webhooks.dropped} dropped, ${report.webhooks.duplicated} duplicated, ${report.webhooks.reordered} reordered)`,
    `  webhook ack at the balancer: p50 ${ms(report.latency.webhookAckAtBalancerMs.p50)}, p99 ${ms(report.latency.webhookAckAtBalancerMs.p99)}, max ${ms(report.latency.webhookAckAtBalancerMs.max)} (${report.latency.webhookAckAtBalancerMs.samples} acknowledged, ${report.latency.webhookAckAtBalancerMs.notAcknowledged} answered otherwise${byStatus(report.latency.webhookAckAtBalancerMs.notAcknowledgedByStatus)})`,
    `  order to ERP: p50 ${ms(report.latency.orderToErpMs.p50)}, p99 ${ms(report.latency.orderToErpMs.p99)}, max ${ms(report.latency.orderToErpMs.max)}`,
    `  ERP stock change to Shopify available (in the run): p50 ${ms(report.latency.erpToShopifyMs.p50)}, p99 ${ms(report.latency.erpToShopifyMs.p99)}, max ${ms(report.latency.erpToShopifyMs.max)} (${report.latency.erpToShopifyMs.samples} of ${report.latency.erpToShopifyMs.receipts} receipts shown, ${report.latency.erpToShopifyMs.notShown} not within 120 s)`,
    `  sync latency (gateways' health): p50 ${s(report.latency.syncSeconds?.p50)}, p99 ${s(report.latency.syncSeconds?.p99)} (${report.latency.syncSeconds?.samples ?? 0} samples)`,
    `  products(first: 100) with availability and lots, via the balancer: p50 ${ms(report.productsRead.p50)}, p99 ${ms(report.productsRead.p99)}, max ${ms(report.productsRead.max)} (${report.productsRead.probes} probes${report.productsRead.queryCost === null ? '' : ` of cost ${report.productsRead.queryCost}`}, ${report.productsRead.errors} failed${report.productsRead.firstProblem ? ` (${report.productsRead.firstProblem})` : ''}, ${report.productsRead.overLimit ?? 0} over ${report.productsRead.limitMs} ms; p99 < ${report.productsRead.limitMs} ms ${report.productsRead.p99 !== null && report.productsRead.p99 < report.productsRead.limitMs ? 'met' : 'NOT met'})`,
    `  order visible with its pending units after its ack: p50 ${ms(report.orderVisibility.p50)}, p99 ${ms(report.orderVisibility.p99)}, max ${ms(report.orderVisibility.max)} (${report.orderVisibility.sampled} sampled, ${report.orderVisibility.exceeded} beyond 5 s of which ${report.orderVisibility.notVisible} never within 60 s, ${report.orderVisibility.fromPlacement} timed from placement: no ack seen; ${report.orderVisibility.failedPolls} failed polls${report.orderVisibility.firstProblem ? `, e.g. ${report.orderVisibility.firstProblem}` : ''})`,
    `  ERP: ${report.erp.description}${report.erp.faultsNotApplied.length ? `; faults not applied: ${report.erp.faultsNotApplied.join('; ')}` : ''}`,
    `  error rate: ${report.errorRate === null ? 'n/a' : `${(report.errorRate * 100).toFixed(2)} %`}; manual interventions: ${report.manualInterventions ?? 'n/a'}; instance crashes: ${report.instanceCrashes}${report.health.orderBacklog ? `; order backlog: ${report.health.orderBacklog.waiting} waiting` : ''}`,
    `  wholesale: ${report.wholesale.reserved} reserved, ${report.wholesale.committed} committed, ${report.wholesale.released} released, ${report.wholesale.refused} refused; ERP: ${report.erpActivity.receipts} receipts, ${report.erpActivity.shipments} shipments, ${report.erpActivity.erpSales} ERP-side sales`,
    `  faults: ${report.faults.map((f) => `${f.fault} at ${f.atSecond}s`).join(', ') || 'none'}`,
  ];
  if (verdict.oversoldPositions.length) lines.push(`  oversold: ${verdict.oversoldPositions.slice(0, 5).map((p) => `${p.sku}@${p.location} ${p.oversold} (existed ${p.existed}: Shopify ${p.shopify}, wholesale ${p.wholesale}, ERP-side ${p.erpSales})`).join(', ')}`);
  if (verdict.lostReferences.length) lines.push(`  lost (first): ${verdict.lostReferences.slice(0, 5).join(', ')}`);
  if (verdict.duplicatedReferences.length) lines.push(`  duplicated (first): ${verdict.duplicatedReferences.slice(0, 5).join(', ')}`);
  lines.push(`placed: ${verdict.placed}`, `accepted: ${verdict.accepted}`, `in ERP: ${verdict.inErp}`, `lost: ${verdict.lost}`, `duplicated: ${verdict.duplicated}`, `oversold: ${verdict.oversold}`);
  return `${lines.join('\n')}\n`;
}

const escape = (text: string): string => text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

/** A line chart of per-second series as inline SVG (no scripts, no CDN). */
function lineChart(title: string, series: readonly { name: string; colour: string; values: readonly number[] }[], faults: BlackFridayReport['faults']): string {
  const width = 720;
  const height = 220;
  const pad = 32;
  const length = Math.max(1, ...series.map((serie) => serie.values.length));
  const top = Math.max(1, ...series.flatMap((serie) => serie.values.map((v) => v ?? 0)));
  const x = (i: number) => pad + (i / Math.max(1, length - 1)) * (width - 2 * pad);
  const y = (v: number) => height - pad - (v / top) * (height - 2 * pad);
  const bands = faults
    .map((fault) => {
      const from = x(fault.atSecond);
      const end = fault.endedAt ? fault.atSecond + Math.max(1, Math.round((Date.parse(fault.endedAt) - Date.parse(fault.startedAt)) / 1000)) : length;
      return `<rect x="${from.toFixed(1)}" y="${pad}" width="${Math.max(2, x(Math.min(length, end)) - from).toFixed(1)}" height="${height - 2 * pad}" fill="#f3c" fill-opacity="0.08"><title>${escape(fault.fault)}</title></rect>`;
    })
    .join('');
  const paths = series
    .map((serie) => {
      const points = Array.from({ length }, (_, i) => `${x(i).toFixed(1)},${y(serie.values[i] ?? 0).toFixed(1)}`).join(' ');
      return `<polyline fill="none" stroke="${serie.colour}" stroke-width="1.5" points="${points}"/>`;
    })
    .join('');
  const legend = series.map((serie, i) => `<text x="${pad + i * 160}" y="16" fill="${serie.colour}" font-size="12">${escape(serie.name)}</text>`).join('');
  return `<figure><figcaption>${escape(title)}</figcaption><svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}">${bands}<line x1="${pad}" y1="${height - pad}" x2="${width - pad}" y2="${height - pad}" stroke="#999"/><text x="4" y="${pad}" font-size="10">${top}</text><text x="${width - pad}" y="${height - 8}" font-size="10" text-anchor="end">${length} s</text>${paths}${legend}</svg></figure>`;
}

/** One row of the figures table (milliseconds). */
function figureRow(name: string, d: Distribution, notes: string): string {
  return `<tr><th>${escape(name)}</th><td>${d.samples}</td><td>${ms(d.p50)}</td><td>${ms(d.p99)}</td><td>${ms(d.max)}</td><td>${notes}</td></tr>`;
}

/** Horizontal bars of p50 / p99 / max. */
function latencyBars(rows: readonly { name: string; d: Distribution; unit: string }[]): string {
  const top = Math.max(1, ...rows.flatMap((row) => [row.d.p50 ?? 0, row.d.p99 ?? 0, row.d.max ?? 0]));
  const bar = (value: number | null, yOffset: number, colour: string) =>
    `<rect x="200" y="${yOffset}" width="${(((value ?? 0) / top) * 480).toFixed(1)}" height="10" fill="${colour}"/><text x="${205 + ((value ?? 0) / top) * 480}" y="${yOffset + 9}" font-size="10">${value === null ? 'n/a' : Math.round(value)}</text>`;
  const body = rows
    .map((row, i) => {
      const base = 10 + i * 50;
      return `<text x="4" y="${base + 20}" font-size="12">${escape(row.name)} (${row.unit})</text>${bar(row.d.p50, base, '#4a8')}${bar(row.d.p99, base + 13, '#e94')}${bar(row.d.max, base + 26, '#c33')}`;
    })
    .join('');
  return `<figure><figcaption>Latency: p50 (green), p99 (orange), max (red)</figcaption><svg xmlns="http://www.w3.org/2000/svg" width="720" height="${20 + rows.length * 50}">${body}</svg></figure>`;
}

export function htmlReport(report: BlackFridayReport): string {
  const v = report.verdict;
  const counts = [
    ['placed', v.placed],
    ['accepted', v.accepted],
    ['in ERP', v.inErp],
    ['lost', v.lost],
    ['duplicated', v.duplicated],
    ['oversold (units)', v.oversold],
    ['drift after settle (positions)', report.drift.positions],
  ] as const;
  const faultRows = report.faults.map((f) => `<tr><td>${escape(f.fault)}</td><td>${f.atSecond} s</td><td>${escape(f.startedAt)}</td><td>${escape(f.endedAt ?? '')}</td><td>${escape(f.detail)}</td></tr>`).join('');
  const oversoldRows = v.oversoldPositions.map((p) => `<tr><td>${escape(p.sku)}</td><td>${escape(p.location)}</td><td>${p.existed}</td><td>${p.consumed}</td><td>${p.shopify}</td><td>${p.wholesale}</td><td>${p.erpSales}</td><td>${p.oversold}</td></tr>`).join('');
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Black Friday simulation: ${report.passed ? 'passed' : 'FAILED'}</title>
<style>body{font:14px system-ui,sans-serif;margin:2em;max-width:60em}table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:2px 8px;text-align:left}.bad{color:#c33}.good{color:#283}figure{margin:1em 0}</style></head>
<body><h1 class="${report.passed ? 'good' : 'bad'}">Black Friday simulation ${report.passed ? 'passed' : 'FAILED'}</h1>
<p>${report.settings.ordersPerMinute} orders a minute for ${report.settings.minutes} min, ${report.settings.instances} gateway instance(s) on ${report.settings.database}, faults ${escape(report.settings.faults.join(', ') || 'none')} (${report.settings.faultMode}, seed ${report.settings.seed}); ${escape(report.startedAt)} to ${escape(report.finishedAt)}; settle ${report.settle.seconds} s.</p>
<table>${counts.map(([name, value]) => `<tr><th>${name}</th><td class="${(name === 'lost' || name === 'duplicated' || name.startsWith('oversold') || name.startsWith('drift')) && value > 0 ? 'bad' : ''}">${value}</td></tr>`).join('')}
<tr><th>error rate</th><td>${report.errorRate === null ? 'n/a' : `${(report.errorRate * 100).toFixed(2)} %`}</td></tr><tr><th>manual interventions</th><td>${report.manualInterventions ?? 'n/a'}</td></tr></table>
${lineChart('Orders per second: placed, accepted by Shopify, reaching the ERP (fault periods shaded)', [
    { name: 'placed', colour: '#36c', values: report.timeline.placedPerSecond },
    { name: 'accepted', colour: '#4a8', values: report.timeline.acceptedPerSecond },
    { name: 'in ERP', colour: '#e94', values: report.timeline.inErpPerSecond },
  ], report.faults)}
${latencyBars([
    { name: 'webhook ack (store)', d: report.latency.webhookAckMs, unit: 'ms' },
    { name: 'webhook ack (balancer)', d: report.latency.webhookAckAtBalancerMs, unit: 'ms' },
    { name: 'products(first: 100)', d: report.productsRead, unit: 'ms' },
    { name: 'order visible', d: report.orderVisibility, unit: 'ms' },
  ])}
${latencyBars([
    { name: 'ERP change → Shopify', d: report.latency.erpToShopifyMs, unit: 'ms' },
    { name: 'order to ERP', d: report.latency.orderToErpMs, unit: 'ms' },
  ])}
${lineChart('products(first: 100) through the balancer, ms (slowest probe of each second)', [{ name: 'products read ms', colour: '#36c', values: report.timeline.productsReadMsPerSecond }], report.faults)}
${lineChart('ERP goods receipt → Shopify available, ms (by the second of the receipt)', [{ name: 'ERP → Shopify ms', colour: '#e94', values: report.timeline.erpToShopifyMsPerSecond }], report.faults)}
<table>
<tr><th>figure</th><th>samples</th><th>p50</th><th>p99</th><th>max</th><th>notes</th></tr>
${figureRow('ERP stock change → Shopify available', report.latency.erpToShopifyMs, `${report.latency.erpToShopifyMs.receipts} receipts, ${report.latency.erpToShopifyMs.notShown} not shown within 120 s`)}
${figureRow('webhook ack, as the store timed it', report.latency.webhookAckMs, `${report.webhooks.deliveries} deliveries`)}
${figureRow('webhook ack, as the balancer timed it', report.latency.webhookAckAtBalancerMs, `${report.latency.webhookAckAtBalancerMs.notAcknowledged} answered other than 2xx`)}
${figureRow('products(first: 100) with availability and lots', report.productsRead, `${report.productsRead.probes} probes, ${report.productsRead.errors} failed, ${report.productsRead.overLimit ?? 0} over ${report.productsRead.limitMs} ms (target p99 &lt; ${report.productsRead.limitMs} ms)`)}
${figureRow('order visible with its pending units after its ack', report.orderVisibility, `${report.orderVisibility.sampled} sampled, ${report.orderVisibility.exceeded} beyond 5 s, ${report.orderVisibility.notVisible} never within 60 s, ${report.orderVisibility.fromPlacement} from placement`)}
</table>
<p>ERP: ${escape(report.erp.description)}${report.erp.faultsNotApplied.length ? `; faults not applied: ${escape(report.erp.faultsNotApplied.join('; '))}` : '; every fault applied'}.</p>
<p>Sync latency (the gateways' health, last hour): p50 ${s(report.latency.syncSeconds?.p50)}, p99 ${s(report.latency.syncSeconds?.p99)}.</p>
<h2>Faults</h2><table><tr><th>fault</th><th>at</th><th>started</th><th>ended</th><th>what</th></tr>${faultRows}</table>
<h2>Oversold positions</h2>${oversoldRows ? `<table><tr><th>SKU</th><th>location</th><th>existed</th><th>consumed</th><th>Shopify</th><th>wholesale</th><th>ERP-side</th><th>oversold</th></tr>${oversoldRows}</table>` : '<p>none</p>'}
<p>The same figures, complete, are in report.json.</p></body></html>
`;
}
