import { useState, type FormEvent } from 'react';
import { ApiError, execute } from '../api';
import { ActiveReservationsDocument, ReservationKeysDocument } from '../__generated__/graphql';
import { useQuery } from '../use-query';
import { Empty, Section, Status, When } from '../ui';

interface Filters {
  sku: string | null;
  reference: string | null;
  createdBy: string | null;
}

const none: Filters = { sku: null, reference: null, createdBy: null };

/** The API keys, to name them in the filter and the table: an admin key lists them; any other key sees only its own reservations. */
function useKeys() {
  return useQuery(async () => {
    try {
      return (await execute(ReservationKeysDocument)).apiKeys;
    } catch (error) {
      if (error instanceof ApiError && error.code === 'FORBIDDEN') return null;
      throw error;
    }
  });
}

export function ReservationsPage() {
  const [form, setForm] = useState<{ sku: string; reference: string; createdBy: string }>({ sku: '', reference: '', createdBy: '' });
  const [filters, setFilters] = useState<Filters>(none);
  const reservations = useQuery(() => execute(ActiveReservationsDocument, filters), [filters]);
  const keys = useKeys();
  const keyName = (id: string) => {
    const key = keys.data?.find((candidate) => candidate.id === id);
    return key ? `${key.name} (${key.prefix}…)` : id;
  };
  const submit = (event: FormEvent) => {
    event.preventDefault();
    setFilters({ sku: form.sku.trim() || null, reference: form.reference.trim() || null, createdBy: form.createdBy || null });
  };
  const clear = () => {
    setForm({ sku: '', reference: '', createdBy: '' });
    setFilters(none);
  };
  const filtered = filters.sku !== null || filters.reference !== null || filters.createdBy !== null;
  const list = reservations.data?.reservations.edges.map((edge) => edge.node) ?? [];
  const total = reservations.data?.reservations.totalCount ?? list.length;
  return (
    <Section title="Active reservations">
      <form className="inline" role="search" aria-label="Filter reservations" onSubmit={submit}>
        <label htmlFor="reservation-sku">SKU</label>
        <input id="reservation-sku" value={form.sku} onChange={(event) => setForm({ ...form, sku: event.target.value })} />
        <label htmlFor="reservation-reference">Reference</label>
        <input id="reservation-reference" value={form.reference} onChange={(event) => setForm({ ...form, reference: event.target.value })} />
        {keys.data ? (
          <>
            <label htmlFor="reservation-key">API key</label>
            <select id="reservation-key" value={form.createdBy} onChange={(event) => setForm({ ...form, createdBy: event.target.value })}>
              <option value="">Any key</option>
              {keys.data.map((key) => (
                <option key={key.id} value={key.id}>
                  {key.name} ({key.prefix}…){key.revokedAt ? ' — revoked' : ''}
                </option>
              ))}
            </select>
          </>
        ) : null}
        <button type="submit">Filter</button>
        {filtered ? (
          <button type="button" className="secondary" onClick={clear}>
            Clear filters
          </button>
        ) : null}
      </form>
      {keys.data === null && !keys.loading ? <p className="muted">This key sees the reservations it made; a key with the admin scope sees every key&apos;s.</p> : null}
      <Status error={reservations.error ?? keys.error} loading={reservations.loading && !reservations.data} />
      {reservations.data && list.length === 0 ? <Empty>No active reservation{filtered ? ' matches these filters' : ''}.</Empty> : null}
      {list.length ? (
        <>
          <p className="muted" role="status" aria-label="Reservations found">
            {total} active reservation{total === 1 ? '' : 's'}
            {filtered ? ' matching' : ''}
            {total > list.length ? `; the ${list.length} newest are listed` : ''}.
          </p>
          <table>
            <thead>
              <tr>
                <th scope="col">Reference</th>
                <th scope="col">Idempotency key</th>
                <th scope="col">API key</th>
                <th scope="col">Lines (SKU @ location × quantity)</th>
                <th scope="col">Expires</th>
                <th scope="col">Created</th>
              </tr>
            </thead>
            <tbody>
              {list.map((reservation) => (
                <tr key={reservation.id}>
                  <th scope="row">{reservation.reference}</th>
                  <td>
                    <code>{reservation.idempotencyKey}</code>
                  </td>
                  <td>{keyName(reservation.createdBy)}</td>
                  <td>
                    {reservation.lines
                      .map((line) => `${line.sku} @ ${line.location} × ${line.quantity}${line.status === 'ACTIVE' ? '' : ` (${line.status})`}`)
                      .join('; ')}
                  </td>
                  <td>
                    <When at={reservation.expiresAt} />
                  </td>
                  <td>
                    <When at={reservation.createdAt} />
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </>
      ) : null}
    </Section>
  );
}
