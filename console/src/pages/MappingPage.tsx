import { useState } from 'react';
import { execute } from '../api';
import { MapSkuDocument, MappingDocument, UnmapSkuDocument } from '../__generated__/graphql';
import { useQuery } from '../use-query';
import { Empty, Section, Status } from '../ui';

function MapForm({ erpSku, suggestions, onMapped }: { erpSku: string; suggestions: Array<{ variantId: string; label: string }>; onMapped: (message: string) => void }) {
  const [choice, setChoice] = useState(suggestions[0]?.variantId ?? '');
  const [error, setError] = useState<string | null>(null);
  const id = `map-${erpSku.replace(/[^A-Za-z0-9]/g, '-')}`;
  const map = async () => {
    setError(null);
    try {
      const mapped = (await execute(MapSkuDocument, { input: { erpSku, shopifyVariantId: choice } })).mapSku;
      onMapped(`${mapped.sku} mapped to ${mapped.shopifySku ?? choice} (${mapped.mappingStatus}); its stock is pushed.`);
    } catch (failure) {
      setError(failure instanceof Error ? failure.message : String(failure));
    }
  };
  if (suggestions.length === 0) return <span className="muted">no Shopify variant left to suggest</span>;
  return (
    <form className="inline" onSubmit={(event) => { event.preventDefault(); void map(); }}>
      <label htmlFor={id}>Shopify variant for {erpSku}</label>
      <select id={id} value={choice} onChange={(event) => setChoice(event.target.value)}>
        {suggestions.map((suggestion) => (
          <option key={suggestion.variantId} value={suggestion.variantId}>{suggestion.label}</option>
        ))}
      </select>
      <button type="submit">Map {erpSku}</button>
      {error ? <span role="alert" className="error">{error}</span> : null}
    </form>
  );
}

/** Suggestions: Shopify variants nobody maps, the ones whose SKU shares the most leading characters first. */
function rank(erpSku: string, variants: Array<{ variantId: string; sku?: string | null; productTitle: string; variantTitle: string }>) {
  const common = (sku: string | null | undefined) => {
    let length = 0;
    const a = erpSku.toUpperCase();
    const b = (sku ?? '').toUpperCase();
    while (length < a.length && a[length] === b[length]) length++;
    return length;
  };
  return [...variants]
    .sort((x, y) => common(y.sku) - common(x.sku))
    .map((variant) => ({ variantId: variant.variantId, label: `${variant.sku ?? '(no SKU)'} · ${variant.productTitle} / ${variant.variantTitle}` }));
}

export function MappingPage() {
  const mapping = useQuery(() => execute(MappingDocument));
  const [message, setMessage] = useState<string | null>(null);
  const report = mapping.data?.skuMappingReport;
  const unmap = async (erpSku: string) => {
    try {
      const payload = (await execute(UnmapSkuDocument, { input: { erpSku } })).unmapSku;
      const refusal = payload.userErrors[0];
      setMessage(refusal ? `${erpSku}: ${refusal.code}: ${refusal.message}` : `${erpSku} unmapped (${payload.product?.mappingStatus ?? 'UNMAPPED'}).`);
    } catch (error) {
      setMessage(`${erpSku}: ${error instanceof Error ? error.message : String(error)}`);
    }
    mapping.reload();
  };
  const manual = report?.mapped.filter((entry) => entry.source === 'MANUAL') ?? [];
  return (
    <>
      <Status error={mapping.error} loading={mapping.loading && !mapping.data} />
      {message ? <p role="status" className="ok">{message}</p> : null}
      {report && mapping.data ? (
        <>
          <p>
            {report.counts.mapped} mapped · {report.counts.unmappedErpSkus} ERP SKUs unmapped · {report.counts.unmappedShopifySkus} Shopify SKUs unmapped · {report.counts.ambiguous} ambiguous
          </p>
          <Section title="Unmapped ERP SKUs">
            {report.unmappedErpSkus.length === 0 ? <Empty>Every ERP SKU is mapped.</Empty> : (
              <table>
                <thead><tr><th scope="col">ERP SKU</th><th scope="col">Map to</th></tr></thead>
                <tbody>
                  {report.unmappedErpSkus.map((erpSku) => (
                    <tr key={erpSku}>
                      <th scope="row">{erpSku}</th>
                      <td><MapForm erpSku={erpSku} suggestions={rank(erpSku, report.unmappedShopifyVariants)} onMapped={(text) => { setMessage(text); mapping.reload(); }} /></td>
                    </tr>
                  ))}
                </tbody>
              </table>
            )}
          </Section>
          <Section title="Manual mappings">
            {manual.length === 0 ? <Empty>No SKU is mapped by hand (the others follow the SKU spelling rule).</Empty> : (
              <table>
                <thead><tr><th scope="col">ERP SKU</th><th scope="col">Shopify SKU</th><th scope="col">Action</th></tr></thead>
                <tbody>
                  {manual.map((entry) => (
                    <tr key={entry.erpSku}>
                      <th scope="row">{entry.erpSku}</th>
                      <td>{entry.shopifySku ?? '(no SKU)'}</td>
                      <td><button type="button" className="secondary" onClick={() => void unmap(entry.erpSku)}>Unmap {entry.erpSku}</button></td>
                    </tr>
                  ))}
                </tbody>
              </table>
            )}
          </Section>
          <Section title="Ambiguous SKUs">
            {report.ambiguous.length === 0 ? <Empty>No ambiguous SKU.</Empty> : (
              <table>
                <thead><tr><th scope="col">ERP SKU</th><th scope="col">Why</th><th scope="col">Choose</th></tr></thead>
                <tbody>
                  {report.ambiguous.map((entry) => (
                    <tr key={entry.erpSku}>
                      <th scope="row">{entry.erpSku}</th>
                      <td>{entry.reason}{entry.competingErpSkus.length ? ` (also claimed by ${entry.competingErpSkus.join(', ')})` : ''}</td>
                      <td>
                        <MapForm
                          erpSku={entry.erpSku}
                          suggestions={entry.candidates.map((candidate) => ({ variantId: candidate.variantId, label: `${candidate.sku ?? '(no SKU)'} · ${candidate.variantId}` }))}
                          onMapped={(text) => { setMessage(text); mapping.reload(); }}
                        />
                      </td>
                    </tr>
                  ))}
                </tbody>
              </table>
            )}
          </Section>
          <Section title="Unmapped Shopify variants">
            {report.unmappedShopifyVariants.length === 0 ? <Empty>None.</Empty> : (
              <ul>{report.unmappedShopifyVariants.map((variant) => <li key={variant.variantId}>{variant.sku ?? '(no SKU)'} · {variant.productTitle} / {variant.variantTitle}</li>)}</ul>
            )}
          </Section>
          <Section title="Locations">
            {report.unmappedLocations.length ? <p className="warn">Unmapped ERP locations: {report.unmappedLocations.join(', ')}</p> : null}
            <table>
              <thead><tr><th scope="col">ERP location</th><th scope="col">Name</th><th scope="col">Warehouse</th><th scope="col">Shopify location</th></tr></thead>
              <tbody>
                {mapping.data.locations.map((location) => (
                  <tr key={location.code}>
                    <th scope="row">{location.code}</th>
                    <td>{location.name}</td>
                    <td>{location.warehouseCode}</td>
                    <td>{location.shopifyLocationName ?? <span className="warn">not mapped</span>}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </Section>
        </>
      ) : null}
    </>
  );
}
