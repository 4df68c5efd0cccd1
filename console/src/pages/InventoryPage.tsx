import { useState, type FormEvent } from 'react';
import { execute } from '../api';
import { ProductInventoryDocument, ProductShopifyDocument, PushSkuDocument, type PushSkuMutation } from '../__generated__/graphql';
import { useQuery } from '../use-query';
import { Empty, Section, Status, When } from '../ui';

function ProductView({ sku }: { sku: string }) {
  const inventory = useQuery(() => execute(ProductInventoryDocument, { sku }), [sku]);
  // Shopify's live value is a separate request: a store that is slow or down leaves the ERP side readable.
  const shopify = useQuery(() => execute(ProductShopifyDocument, { sku }), [sku]);
  const [run, setRun] = useState<PushSkuMutation['pushInventory'] | null>(null);
  const [pushError, setPushError] = useState<string | null>(null);
  const [pushing, setPushing] = useState(false);
  const push = async (dryRun: boolean) => {
    setPushing(true);
    setPushError(null);
    try {
      setRun((await execute(PushSkuDocument, { input: { skus: [sku], dryRun } })).pushInventory);
      inventory.reload();
    } catch (error) {
      setPushError(error instanceof Error ? error.message : String(error));
    } finally {
      setPushing(false);
    }
  };
  const data = inventory.data;
  if (inventory.error || !data) return <Status error={inventory.error} loading={inventory.loading} />;
  const product = data.product;
  if (!product) return <p role="status">No product with SKU {sku}.</p>;
  const live = shopify.data?.product?.shopify;
  return (
    <>
      <Section title={`${product.sku} · ${product.name}`} id="product">
        <p>
          Mapping: <strong>{product.mappingStatus}</strong>
          {product.shopifySku ? ` to Shopify SKU ${product.shopifySku}` : ''}
        </p>
        <p>
          Shopify shows:{' '}
          {shopify.error ? <span className="error">{shopify.error.message}</span> : live ? `${live.productTitle} / ${live.variantTitle}, ${live.productStatus}, price ${live.price}, ${live.tracked ? 'tracked' : 'not tracked'}` : shopify.loading ? 'loading…' : 'no variant'}
        </p>
        <div className="inline">
          <button type="button" className="secondary" disabled={pushing} onClick={() => void push(true)}>Dry-run push</button>{' '}
          <button type="button" disabled={pushing} onClick={() => void push(false)}>Push now</button>
        </div>
        {pushError ? <p role="alert" className="error">{pushError}</p> : null}
        {run ? (
          <div role="status" aria-label="Push result">
            <p>
              {run.dryRun ? 'Dry run' : 'Push'} {run.status}: {run.itemsConsidered} considered, {run.itemsPushed} pushed, {run.itemsUnchanged} unchanged, {run.itemsFailed} failed
              {run.failure ? ` (${run.failure.code}: ${run.failure.message})` : ''}
            </p>
            {run.changes.length ? (
              <ul>
                {run.changes.map((change) => (
                  <li key={change.location}>
                    {change.location}: {change.from ?? '—'} → {change.to} {change.applied ? '(applied)' : '(not applied)'}
                  </li>
                ))}
              </ul>
            ) : null}
          </div>
        ) : null}
      </Section>
      <Section title="Available to promise per location" id="atp">
        <table>
          <caption className="muted">ATP = on hand − allocated − safety stock − wholesale committed − reserved − pending Shopify orders − expiring soon</caption>
          <thead>
            <tr>
              <th scope="col">Location</th>
              <th scope="col" className="num">On hand</th>
              <th scope="col" className="num">Allocated</th>
              <th scope="col" className="num">Safety stock</th>
              <th scope="col" className="num">Wholesale committed</th>
              <th scope="col" className="num">Reserved</th>
              <th scope="col" className="num">Pending Shopify orders</th>
              <th scope="col" className="num">Expiring soon</th>
              <th scope="col" className="num">ATP</th>
              <th scope="col" className="num">Shopify available</th>
              <th scope="col">Last pushed</th>
            </tr>
          </thead>
          <tbody>
            {product.availability.map((position) => (
              <tr key={position.location.code}>
                <th scope="row">{position.location.code} <span className="muted">{position.location.shopifyLocationName ?? 'not mapped'}</span></th>
                <td className="num">{position.onHand}</td>
                <td className="num">{position.allocated}</td>
                <td className="num">{position.safetyStock}</td>
                <td className="num">{position.wholesaleCommitted}</td>
                <td className="num">{position.reserved}</td>
                <td className="num">{position.pendingShopifyOrders}</td>
                <td className="num">{position.expiringSoon}</td>
                <td className="num"><strong>{position.availableToPromise}</strong></td>
                <td className="num">{position.shopifyAvailable ?? '—'}</td>
                <td>{position.lastPushedQuantity ?? '—'} <When at={position.lastPushedAt} />{position.pushPending ? ' (push pending)' : ''}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </Section>
      <div className="grid">
        <Section title="Lots" id="lots">
          {product.lots.length === 0 ? <Empty>No lots.</Empty> : (
            <table>
              <thead><tr><th scope="col">Lot</th><th scope="col">Location</th><th scope="col" className="num">Quantity</th><th scope="col">Expires</th></tr></thead>
              <tbody>
                {product.lots.map((lot) => (
                  <tr key={`${lot.location}/${lot.number}`}><td>{lot.number}</td><td>{lot.location}</td><td className="num">{lot.quantity}</td><td>{lot.expiresOn ?? '—'}</td></tr>
                ))}
              </tbody>
            </table>
          )}
        </Section>
        <Section title="Drift" id="drift">
          {data.inventoryDrift.length === 0 ? <Empty>Shopify agrees with the ATP everywhere.</Empty> : (
            <ul>
              {data.inventoryDrift.map((drift) => (
                <li key={drift.location}>{drift.location}: ATP {drift.availableToPromise}, Shopify {drift.shopifyAvailable} (difference {drift.difference})</li>
              ))}
            </ul>
          )}
          <h3>History</h3>
          {data.driftHistory.edges.length === 0 ? <Empty>No drift recorded.</Empty> : (
            <ul>
              {data.driftHistory.edges.map(({ node: event }) => (
                <li key={event.id}><When at={event.detectedAt} /> {event.location}: {event.source} {event.before ?? '—'} → {event.after}, expected {event.expected}, {event.action}</li>
              ))}
            </ul>
          )}
        </Section>
      </div>
    </>
  );
}

export function InventoryPage() {
  const [input, setInput] = useState('');
  const [sku, setSku] = useState<string | null>(null);
  const submit = (event: FormEvent) => {
    event.preventDefault();
    if (input.trim()) setSku(input.trim());
  };
  return (
    <>
      <form className="inline" role="search" onSubmit={submit}>
        <label htmlFor="sku-search">SKU</label>
        <input id="sku-search" value={input} onChange={(event) => setInput(event.target.value)} placeholder="e.g. SB-1001" />
        <button type="submit">Find</button>
      </form>
      {sku ? <ProductView key={sku} sku={sku} /> : <Empty>Search a SKU to see its ATP terms, lots, Shopify value and drift.</Empty>}
    </>
  );
}
