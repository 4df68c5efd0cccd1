import { useState } from 'react';
import { execute } from '../api';
import { OrdersAttentionDocument, ReplayOrderDocument, WebhookSubscriptionsDocument, type AttentionOrderFragment, type OrdersAttentionQuery } from '../__generated__/graphql';
import { useQuery } from '../use-query';
import { Empty, Section, Status, When } from '../ui';

/** Flagged, failed, and recent orders with an error or in doubt, each once, newest first. */
function attentionOrders(data: OrdersAttentionQuery | null): AttentionOrderFragment[] {
  if (!data) return [];
  const byId = new Map<string, AttentionOrderFragment>();
  const recent = data.recent.edges.map((edge) => edge.node).filter((order) => order.lastError || order.inDoubt);
  for (const order of [...data.flagged.edges.map((edge) => edge.node), ...data.failed.edges.map((edge) => edge.node), ...recent]) byId.set(order.id, order);
  return [...byId.values()].sort((a, b) => b.receivedAt.localeCompare(a.receivedAt));
}

export function OrdersPage() {
  const orders = useQuery(() => execute(OrdersAttentionDocument));
  const subscriptions = useQuery(() => execute(WebhookSubscriptionsDocument));
  const [selected, setSelected] = useState<Set<string>>(new Set());
  const [results, setResults] = useState<string[]>([]);
  const [busy, setBusy] = useState(false);
  // One replayOrder per order, in turn: the public mutation, each outcome reported on its own line.
  const replay = async (ids: string[]) => {
    setBusy(true);
    const lines: string[] = [];
    for (const id of ids) {
      try {
        const order = (await execute(ReplayOrderDocument, { id })).replayOrder;
        lines.push(`${order.name}: ${order.status}${order.lastError ? ` (${order.lastError})` : ''}`);
      } catch (error) {
        lines.push(`${id}: ${error instanceof Error ? error.message : String(error)}`);
      }
    }
    setResults(lines);
    setSelected(new Set());
    setBusy(false);
    orders.reload();
  };
  const toggle = (id: string) => setSelected((previous) => {
    const next = new Set(previous);
    if (next.has(id)) next.delete(id);
    else next.add(id);
    return next;
  });
  const list = attentionOrders(orders.data);
  return (
    <>
      <Section title="Orders needing attention">
        <Status error={orders.error} loading={orders.loading && !orders.data} />
        {results.length ? <div role="status" aria-label="Replay results"><ul>{results.map((line) => <li key={line}>{line}</li>)}</ul></div> : null}
        {orders.data && list.length === 0 ? <Empty>No order needs attention.</Empty> : null}
        {list.length ? (
          <>
            <button type="button" disabled={busy || selected.size === 0} onClick={() => void replay([...selected])}>
              Replay selected ({selected.size})
            </button>
            <table>
              <thead>
                <tr><th scope="col" className="nowrap">Select</th><th scope="col" className="nowrap">Order</th><th scope="col" className="nowrap">Status</th><th scope="col">Error</th><th scope="col" className="num nowrap">Attempts</th><th scope="col">Received</th><th scope="col">Action</th></tr>
              </thead>
              <tbody>
                {list.map((order) => (
                  <tr key={order.id}>
                    <td><input type="checkbox" aria-label={`Select ${order.name}`} checked={selected.has(order.id)} onChange={() => toggle(order.id)} /></td>
                    <th scope="row" className="nowrap">{order.name}</th>
                    <td className="nowrap">{order.status}{order.inDoubt ? ' (in doubt)' : ''}{order.needsAttention ? ' (flagged)' : ''}</td>
                    <td>{order.lastErrorCode ? <code>{order.lastErrorCode}</code> : null} {order.lastError}</td>
                    <td className="num nowrap">{order.attempts}</td>
                    <td><When at={order.receivedAt} /></td>
                    <td><button type="button" className="secondary" disabled={busy} onClick={() => void replay([order.id])}>Replay {order.name}</button></td>
                  </tr>
                ))}
              </tbody>
            </table>
          </>
        ) : null}
      </Section>
      <Section title="Webhook subscriptions">
        <Status error={subscriptions.error} loading={subscriptions.loading && !subscriptions.data} />
        {subscriptions.data ? (
          <p>
            <span className={subscriptions.data.webhookSubscriptionHealth.healthy ? 'ok' : 'error'}>{subscriptions.data.webhookSubscriptionHealth.healthy ? 'Healthy' : 'Unhealthy'}</span>
            {' '}at {subscriptions.data.webhookSubscriptionHealth.address ?? '(no address)'}
            {subscriptions.data.webhookSubscriptionHealth.missing.length ? `; missing: ${subscriptions.data.webhookSubscriptionHealth.missing.join(', ')}` : ''}; checked <When at={subscriptions.data.webhookSubscriptionHealth.checkedAt} />
          </p>
        ) : null}
      </Section>
      <Section title="Webhook deliveries">
        {orders.data && orders.data.webhookDeliveries.edges.length === 0 ? <Empty>No delivery yet.</Empty> : null}
        {orders.data?.webhookDeliveries.edges.length ? (
          <table>
            <thead><tr><th scope="col">Received</th><th scope="col">Topic</th><th scope="col">Status</th><th scope="col" className="num">Attempts</th><th scope="col">Outcome</th></tr></thead>
            <tbody>
              {orders.data.webhookDeliveries.edges.map(({ node }) => (
                <tr key={node.id}><td><When at={node.receivedAt} /></td><td>{node.topic}</td><td>{node.status}</td><td className="num">{node.attempts}</td><td>{node.outcome ?? ''} {node.lastError ?? ''}</td></tr>
              ))}
            </tbody>
          </table>
        ) : null}
      </Section>
    </>
  );
}
