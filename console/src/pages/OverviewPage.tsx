import { useState } from 'react';
import { execute } from '../api';
import { OverviewDocument, SetSwitchesDocument, type InventoryPushMode, type OrdersToErpMode, type OverviewQuery } from '../__generated__/graphql';
import { useQuery } from '../use-query';
import { Empty, Section, Status, When } from '../ui';
import { BarChart, type Bucket } from './Chart';

type Run = OverviewQuery['syncRuns']['edges'][number]['node'];

/** Runs grouped into `count` buckets of `spanMs` ending now: pushed items, mean duration and failed items. */
function bucketRuns(runs: Run[], count: number, spanMs: number, label: (start: Date) => string) {
  const end = Date.now();
  const start = end - count * spanMs;
  const pushed: Bucket[] = [];
  const latency: Bucket[] = [];
  const failed: Bucket[] = [];
  for (let index = 0; index < count; index++) {
    const from = start + index * spanMs;
    const inBucket = runs.filter((run) => {
      const at = Date.parse(run.startedAt);
      return at >= from && at < from + spanMs && !run.dryRun;
    });
    const durations = inBucket.filter((run) => run.finishedAt).map((run) => (Date.parse(run.finishedAt!) - Date.parse(run.startedAt)) / 1000);
    const name = label(new Date(from));
    pushed.push({ label: name, value: inBucket.reduce((sum, run) => sum + run.itemsPushed, 0) });
    latency.push({ label: name, value: durations.length ? durations.reduce((a, b) => a + b, 0) / durations.length : 0 });
    failed.push({ label: name, value: inBucket.reduce((sum, run) => sum + run.itemsFailed, 0) });
  }
  return { pushed, latency, failed };
}

const hour = 3_600_000;

export function OverviewPage() {
  const overview = useQuery(() => execute(OverviewDocument));
  const [range, setRange] = useState<'24h' | '7d'>('24h');
  const [switchError, setSwitchError] = useState<string | null>(null);
  const data = overview.data;
  const runs = data?.syncRuns.edges.map((edge) => edge.node) ?? [];
  const charts =
    range === '24h'
      ? bucketRuns(runs, 24, hour, (at) => `${String(at.getHours()).padStart(2, '0')}h`)
      : bucketRuns(runs, 7, 24 * hour, (at) => at.toLocaleDateString(undefined, { weekday: 'short' }));
  const setSwitch = async (input: { inventoryPush?: InventoryPushMode; ordersToErp?: OrdersToErpMode }) => {
    setSwitchError(null);
    try {
      await execute(SetSwitchesDocument, { input });
      overview.reload();
    } catch (error) {
      setSwitchError(error instanceof Error ? error.message : String(error));
    }
  };
  const failedRuns = runs.filter((run) => run.status === 'FAILED' || run.itemsFailed > 0).length;
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
              {switchError ? <p role="alert" className="error">{switchError}</p> : null}
            </Section>
            <Section title="Sync error rate">
              <p className="metric">{runs.length ? `${Math.round((failedRuns / runs.length) * 100)} %` : '—'}</p>
              <p className="muted">of the last {runs.length} sync runs had a failed item (threshold: under 1 %)</p>
            </Section>
          </div>
          <Section title="Push volume, latency and errors">
            <form className="inline" onSubmit={(event) => event.preventDefault()}>
              <label htmlFor="chart-range">Period</label>
              <select id="chart-range" value={range} onChange={(event) => setRange(event.target.value as '24h' | '7d')}>
                <option value="24h">Last 24 hours</option>
                <option value="7d">Last 7 days</option>
              </select>
            </form>
            <p className="muted">From the sync runs Stockbridge keeps (the last {runs.length}); dry runs are left out.</p>
            <div className="grid">
              <BarChart title="Items pushed" buckets={charts.pushed} unit="items" />
              <BarChart title="Mean run duration" buckets={charts.latency} unit="s" />
              <BarChart title="Items failed" buckets={charts.failed} unit="items" />
            </div>
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
                  {runs.slice(0, 10).map((run) => (
                    <tr key={run.id}>
                      <td><When at={run.startedAt} /></td>
                      <td>{run.kind}{run.dryRun ? ' (dry run)' : ''}{run.full ? ' (full)' : ''}</td>
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
