import { useState } from 'react';
import { execute } from '../api';
import {
  AcknowledgeAlertDocument,
  OverviewDocument,
  SetSwitchesDocument,
  type HealthStatus,
  type HealthWindow,
  type InventoryPushMode,
  type OrdersToErpMode,
  type OverviewQuery,
  type SeriesPointFragment,
} from '../__generated__/graphql';
import { useQuery } from '../use-query';
import { Empty, Section, Status, When } from '../ui';
import { BarChart, type Bucket } from './Chart';

type Health = OverviewQuery['health'];

const windowNames: Record<HealthWindow, string> = { LAST_HOUR: 'last hour', LAST_DAY: 'last 24 hours', LAST_WEEK: 'last 7 days' };

/** The health series (health_samples, every instance's) as the three charts' buckets. */
function chartsOf(points: SeriesPointFragment[], label: (from: Date) => string) {
  const name = (point: SeriesPointFragment) => label(new Date(point.from));
  return {
    pushed: points.map((point): Bucket => ({ label: name(point), value: point.itemsPushed })),
    latency: points.map((point): Bucket => ({ label: name(point), value: point.latencyP99 ?? 0 })),
    errors: points.map((point): Bucket => ({ label: name(point), value: point.itemPushFailures + point.orderFailures })),
  };
}

function seconds(value: number | null): string {
  return value === null ? '—' : `${value < 10 ? value.toFixed(1) : Math.round(value)} s`;
}

function percent(rate: number): string {
  return `${(rate * 100).toFixed(rate === 0 || rate >= 0.1 ? 1 : 2)} %`;
}

function StatusText({ status }: { status: HealthStatus }) {
  return status === 'OK' ? <span className="ok">OK</span> : <span className="error">Breached</span>;
}

/** The seed's four success metrics, each with its threshold, the window it is judged over and its status. */
function SuccessMetrics({ health }: { health: Health }) {
  const latency = health.syncLatencySeconds;
  const errors = health.errorRateMetric;
  const oversells = health.oversellIncidentsMetric;
  const manual = health.manualInterventionsMetric;
  const rows = [
    {
      name: 'Sync latency (p99)',
      value: seconds(latency.p99),
      detail: `p50 ${seconds(latency.p50)}, ${latency.samples} pushed positions`,
      threshold: `at most ${seconds(latency.threshold)}`,
      window: latency.window,
      status: latency.status,
    },
    {
      name: 'Error rate',
      value: percent(errors.rate),
      detail: `${errors.failures} failed of ${errors.attempts} item pushes and orders`,
      threshold: `at most ${percent(errors.threshold)}`,
      window: errors.window,
      status: errors.status,
    },
    { name: 'Oversell incidents', value: String(oversells.count), detail: 'orders beyond the ATP, negative Shopify levels', threshold: `at most ${oversells.threshold}`, window: oversells.window, status: oversells.status },
    { name: 'Manual interventions', value: String(manual.count), detail: 'replays, manual mappings, overrides', threshold: `at most ${manual.threshold}`, window: manual.window, status: manual.status },
  ];
  return (
    <Section title="Success metrics">
      <table>
        <thead>
          <tr>
            <th scope="col">Metric</th>
            <th scope="col" className="num">Value</th>
            <th scope="col">Threshold</th>
            <th scope="col">Over the</th>
            <th scope="col">Status</th>
          </tr>
        </thead>
        <tbody>
          {rows.map((row) => (
            <tr key={row.name}>
              <th scope="row">
                {row.name}
                <br />
                <span className="muted">{row.detail}</span>
              </th>
              <td className="num">{row.value}</td>
              <td>{row.threshold}</td>
              <td>{windowNames[row.window]}</td>
              <td>
                <StatusText status={row.status} />
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </Section>
  );
}

function OpenAlerts({ alerts, onChanged }: { alerts: OverviewQuery['alerts']; onChanged: () => void }) {
  const [message, setMessage] = useState<{ text: string; error: boolean } | null>(null);
  const list = alerts.edges.map((edge) => edge.node);
  const acknowledge = async (id: string, code: string) => {
    setMessage(null);
    try {
      const answer = (await execute(AcknowledgeAlertDocument, { input: { id } })).acknowledgeAlert;
      const refusal = answer.userErrors[0];
      setMessage(refusal ? { text: `${refusal.code}: ${refusal.message}`, error: true } : { text: `${code} acknowledged`, error: false });
      onChanged();
    } catch (error) {
      setMessage({ text: error instanceof Error ? error.message : String(error), error: true });
    }
  };
  return (
    <Section title="Open alerts">
      {message ? (
        <p role="status" aria-label="Alert acknowledgement" className={message.error ? 'error' : 'ok'}>
          {message.text}
        </p>
      ) : null}
      {list.length === 0 ? (
        <Empty>No open alert.</Empty>
      ) : (
        <>
          <p className="muted">
            {alerts.totalCount ?? list.length} open (neither acknowledged nor resolved){(alerts.totalCount ?? 0) > list.length ? `; the ${list.length} last seen are listed` : ''}.
          </p>
          <table>
            <thead>
              <tr>
                <th scope="col" className="nowrap">Severity</th>
                <th scope="col">Alert</th>
                <th scope="col">Last seen</th>
                <th scope="col" className="num nowrap">Seen</th>
                <th scope="col">Action</th>
              </tr>
            </thead>
            <tbody>
              {list.map((alert) => (
                <tr key={alert.id}>
                  <td className={`nowrap ${alert.severity === 'CRITICAL' ? 'error' : 'warn'}`}>{alert.severity === 'CRITICAL' ? 'Critical' : 'Warning'}</td>
                  <th scope="row">
                    <code>{alert.code}</code> {alert.message}
                    {alert.query ? (
                      <>
                        <br />
                        <span className="muted">
                          Affected records: <code>{alert.query}</code>
                        </span>
                      </>
                    ) : null}
                  </th>
                  <td>
                    <When at={alert.lastSeenAt} />
                  </td>
                  <td className="num nowrap">{alert.count}×</td>
                  <td>
                    <button type="button" className="secondary" onClick={() => void acknowledge(alert.id, alert.code)}>
                      Acknowledge {alert.code}
                    </button>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </>
      )}
    </Section>
  );
}

export function OverviewPage() {
  const overview = useQuery(() => execute(OverviewDocument));
  const [range, setRange] = useState<'24h' | '7d'>('24h');
  const [switchError, setSwitchError] = useState<string | null>(null);
  const data = overview.data;
  const runs = data?.syncRuns.edges.map((edge) => edge.node) ?? [];
  const charts = data
    ? range === '24h'
      ? chartsOf(data.health.day, (at) => `${String(at.getHours()).padStart(2, '0')}h`)
      : chartsOf(data.health.week, (at) => at.toLocaleDateString(undefined, { weekday: 'short' }))
    : null;
  const setSwitch = async (input: { inventoryPush?: InventoryPushMode; ordersToErp?: OrdersToErpMode }) => {
    setSwitchError(null);
    try {
      await execute(SetSwitchesDocument, { input });
      overview.reload();
    } catch (error) {
      setSwitchError(error instanceof Error ? error.message : String(error));
    }
  };
  return (
    <>
      <Status error={overview.error} loading={overview.loading && !data} />
      {data ? (
        <>
          <div className="grid">
            <Section title="Gateway">
              <p>
                {data.serverInfo.name} {data.serverInfo.version} · shop <strong>{data.serverInfo.shop}</strong>
              </p>
              <p className="muted">
                ERP {data.serverInfo.erpConnector}, database {data.serverInfo.database}; store {data.health.shopInstalled ? 'installed' : 'not installed'}
              </p>
            </Section>
            <Section title="Switches">
              <form className="inline" onSubmit={(event) => event.preventDefault()}>
                <label htmlFor="switch-push">Inventory push</label>
                <select id="switch-push" value={data.health.inventoryPush} onChange={(event) => void setSwitch({ inventoryPush: event.target.value as InventoryPushMode })}>
                  <option value="ON">On</option>
                  <option value="SHADOW">Shadow</option>
                  <option value="OFF">Off</option>
                </select>
              </form>
              <form className="inline" onSubmit={(event) => event.preventDefault()}>
                <label htmlFor="switch-orders">Orders to ERP</label>
                <select id="switch-orders" value={data.health.ordersToErp} onChange={(event) => void setSwitch({ ordersToErp: event.target.value as OrdersToErpMode })}>
                  <option value="ON">On</option>
                  <option value="OFF">Off</option>
                </select>
              </form>
              {switchError ? (
                <p role="alert" className="error">
                  {switchError}
                </p>
              ) : null}
            </Section>
          </div>
          <SuccessMetrics health={data.health} />
          <OpenAlerts alerts={data.alerts} onChanged={overview.reload} />
          <Section title="Push volume, latency and errors">
            <form className="inline" onSubmit={(event) => event.preventDefault()}>
              <label htmlFor="chart-range">Period</label>
              <select id="chart-range" value={range} onChange={(event) => setRange(event.target.value as '24h' | '7d')}>
                <option value="24h">Last 24 hours (per hour)</option>
                <option value="7d">Last 7 days (per day)</option>
              </select>
            </form>
            <p className="muted">From the samples Stockbridge keeps for its success metrics (every instance&apos;s): one per item push and per order sent to the ERP.</p>
            {charts ? (
              <div className="grid">
                <BarChart title="Items pushed" buckets={charts.pushed} unit="items" />
                <BarChart title="Sync latency (p99)" buckets={charts.latency} unit="s" />
                <BarChart title="Errors" buckets={charts.errors} unit="failed pushes and orders" />
              </div>
            ) : null}
          </Section>
          <Section title="Last sync runs">
            {runs.length === 0 ? (
              <Empty>No sync run yet.</Empty>
            ) : (
              <table>
                <thead>
                  <tr>
                    <th scope="col">Started</th>
                    <th scope="col">Kind</th>
                    <th scope="col">Status</th>
                    <th scope="col" className="num">Considered</th>
                    <th scope="col" className="num">Pushed</th>
                    <th scope="col" className="num">Failed</th>
                    <th scope="col">Failure</th>
                  </tr>
                </thead>
                <tbody>
                  {runs.map((run) => (
                    <tr key={run.id}>
                      <td>
                        <When at={run.startedAt} />
                      </td>
                      <td>
                        {run.kind}
                        {run.dryRun ? ' (dry run)' : ''}
                        {run.full ? ' (full)' : ''}
                      </td>
                      <td>{run.status}</td>
                      <td className="num">{run.itemsConsidered}</td>
                      <td className="num">{run.itemsPushed}</td>
                      <td className="num">{run.itemsFailed}</td>
                      <td>{run.failure ? `${run.failure.code}: ${run.failure.message}` : ''}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            )}
          </Section>
        </>
      ) : null}
    </>
  );
}
