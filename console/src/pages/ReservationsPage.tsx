import { useState, type FormEvent } from 'react';
import { execute } from '../api';
import { ActiveReservationsDocument } from '../__generated__/graphql';
import { useQuery } from '../use-query';
import { Empty, Section, Status, When } from '../ui';

export function ReservationsPage() {
  const [input, setInput] = useState('');
  const [sku, setSku] = useState<string | null>(null);
  const reservations = useQuery(() => execute(ActiveReservationsDocument, { sku }), [sku]);
  const submit = (event: FormEvent) => {
    event.preventDefault();
    setSku(input.trim() || null);
  };
  const list = reservations.data?.reservations.edges.map((edge) => edge.node) ?? [];
  return (
    <Section title="Active reservations">
      <form className="inline" role="search" onSubmit={submit}>
        <label htmlFor="reservation-sku">SKU</label>
        <input id="reservation-sku" value={input} onChange={(event) => setInput(event.target.value)} />
        <button type="submit">Filter</button>
      </form>
      <Status error={reservations.error} loading={reservations.loading && !reservations.data} />
      {reservations.data && list.length === 0 ? <Empty>No active reservation{sku ? ` for ${sku}` : ''}.</Empty> : null}
      {list.length ? (
        <table>
          <thead><tr><th scope="col">Reference</th><th scope="col">Idempotency key</th><th scope="col">Lines (SKU @ location × quantity)</th><th scope="col">Expires</th><th scope="col">Created</th></tr></thead>
          <tbody>
            {list.map((reservation) => (
              <tr key={reservation.id}>
                <th scope="row">{reservation.reference}</th>
                <td><code>{reservation.idempotencyKey}</code></td>
                <td>{reservation.lines.map((line) => `${line.sku} @ ${line.location} × ${line.quantity}${line.status === 'ACTIVE' ? '' : ` (${line.status})`}`).join('; ')}</td>
                <td><When at={reservation.expiresAt} /></td>
                <td><When at={reservation.createdAt} /></td>
              </tr>
            ))}
          </tbody>
        </table>
      ) : null}
    </Section>
  );
}
