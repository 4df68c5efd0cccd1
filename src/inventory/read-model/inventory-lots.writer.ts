import { createHash } from 'node:crypto';
import { sql } from 'drizzle-orm';
import { rowsOf, type Db } from '../../db/database.js';
import { inventoryLotDigests, inventoryLots } from '../../db/schema/index.js';

/**
 * The one writer of the lots read model (`inventory_lots` and `inventory_lot_digests`, see
 * src/db/schema/lots.ts). The ATP engine calls it with each page of SKUs it read from the ERP,
 * in the transaction that writes the page's `inventory_levels` terms, so a position's lots and
 * its `expiring_lot_units` always describe the same ERP read.
 *
 * Guarantees a caller may rely on:
 * - `replaceLots(skus, lots)` leaves exactly `lots` for those SKUs (every location): lots the
 *   ERP no longer reports are deleted, and SKUs not named are untouched. Three statements,
 *   whatever the count (each list travels as one jsonb parameter).
 * - Each named SKU's digest covers its whole lot set; `changed_at` moves only when the digest
 *   does, so a peer mirroring lots (the Shopify metafield push) does work only for SKUs whose
 *   lots really changed. A SKU that never had lots gets no digest row.
 */

/** A lot as the ERP reported it (ERP units; `expiresOn` `YYYY-MM-DD` or null). */
export interface LotRow {
  readonly sku: string;
  readonly location: string;
  readonly number: string;
  readonly quantity: number;
  readonly expiresOn: string | null;
}

/**
 * The digest of one SKU's lots: SHA-256 over its lots in (location, number) order. The same
 * lots give the same digest whatever order the ERP listed them in.
 */
export function lotsDigest(lots: readonly Omit<LotRow, 'sku'>[]): string {
  const lines = lots
    .map((lot) => `${lot.location}\t${lot.number}\t${lot.quantity}\t${lot.expiresOn ?? ''}`)
    .sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  return createHash('sha256').update(lines.join('\n')).digest('hex');
}

const json = (value: unknown) => sql`${JSON.stringify(value)}::jsonb`;
const iso = (at: Date) => sql`${at.toISOString()}::timestamptz`;

export function createInventoryLotsWriter(db: Db, shop: string) {
  return {
    /**
     * Replaces the lots of these SKUs with `lots` (lots of other SKUs in `lots` are ignored; a
     * zero quantity is no lot) and refreshes their digests. Returns the SKUs whose lots changed.
     */
    async replaceLots(skus: readonly string[], lots: readonly LotRow[], at: Date): Promise<string[]> {
      if (skus.length === 0) return [];
      const named = new Set(skus);
      const kept = lots.filter((lot) => named.has(lot.sku) && lot.quantity !== 0);
      const incoming = kept.map((lot) => ({ sku: lot.sku, location: lot.location, number: lot.number, quantity: lot.quantity, expires_on: lot.expiresOn }));
      const bySku = new Map<string, LotRow[]>([...named].map((sku) => [sku, []]));
      for (const lot of kept) bySku.get(lot.sku)!.push(lot);
      const digests = [...bySku].map(([sku, own]) => ({ sku, digest: lotsDigest(own), lot_count: own.length }));

      await db.execute(sql`
        delete from ${inventoryLots} l
        where l.shop = ${shop}
          and l.sku = any(array(select jsonb_array_elements_text(${json([...named])})))
          and (l.sku, l.location, l.number) not in (
            select i.sku, i.location, i.number from jsonb_to_recordset(${json(incoming)}) as i(sku text, location text, number text))`);
      if (incoming.length > 0) {
        await db.execute(sql`
          insert into ${inventoryLots} (shop, sku, location, number, quantity, expires_on, refreshed_at)
          select ${shop}, i.sku, i.location, i.number, i.quantity, i.expires_on, ${iso(at)}
          from jsonb_to_recordset(${json(incoming)}) as i(sku text, location text, number text, quantity float8, expires_on date)
          on conflict (shop, sku, location, number) do update set
            quantity = excluded.quantity, expires_on = excluded.expires_on, refreshed_at = excluded.refreshed_at`);
      }
      const result = await db.execute(sql`
        with incoming as (
          select * from jsonb_to_recordset(${json(digests)}) as i(sku text, digest text, lot_count integer)
        ),
        previous as (
          select d.sku, d.digest from ${inventoryLotDigests} d join incoming i on i.sku = d.sku where d.shop = ${shop}
        ),
        written as (
          insert into ${inventoryLotDigests} (shop, sku, digest, lot_count, changed_at, refreshed_at)
          select ${shop}, i.sku, i.digest, i.lot_count, ${iso(at)}, ${iso(at)}
          from incoming i
          where i.lot_count > 0 or exists (select 1 from previous p where p.sku = i.sku)
          on conflict (shop, sku) do update set
            changed_at = case when ${inventoryLotDigests}.digest <> excluded.digest then excluded.changed_at else ${inventoryLotDigests}.changed_at end,
            digest = excluded.digest,
            lot_count = excluded.lot_count,
            refreshed_at = excluded.refreshed_at
          returning sku, digest
        )
        select w.sku from written w left join previous p on p.sku = w.sku
        where p.digest is null or p.digest <> w.digest`);
      return rowsOf<{ sku: string }>(result).map((row) => row.sku);
    },
  };
}

export type InventoryLotsWriter = ReturnType<typeof createInventoryLotsWriter>;
