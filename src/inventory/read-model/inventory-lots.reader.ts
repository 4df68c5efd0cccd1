import { and, asc, eq, gt, or, sql, type SQL } from 'drizzle-orm';
import type { Db } from '../../db/database.js';
import { inventoryLotDigests, inventoryLots } from '../../db/schema/index.js';

/**
 * The read port of the lots read model, for the GraphQL reads and for peers (the Shopify
 * metafield push): no ERP call, one database round trip per call.
 *
 * Order: FEFO, soonest expiry first, lots without expiry last, then lot number (then SKU and
 * location, so the order is total).
 */

export interface StoredLot {
  readonly number: string;
  readonly sku: string;
  readonly location: string;
  readonly quantity: number;
  /** `YYYY-MM-DD`, or null when the lot does not expire. */
  readonly expiresOn: string | null;
}

/** A SKU's lots with the digest of the whole set (every location) and when it last changed. */
export interface SkuLots {
  readonly sku: string;
  /** FEFO order; only the asked-for locations when given. */
  readonly lots: readonly StoredLot[];
  /** Null when the SKU never had lots. */
  readonly digest: string | null;
  readonly changedAt: Date | null;
}

/** A point in the lot change feed: SKUs after it are in (changedAt, sku) order. */
export interface LotChangeCursor {
  readonly changedAt: Date;
  readonly sku: string;
}

export interface LotChange extends LotChangeCursor {
  readonly digest: string;
  readonly lotCount: number;
}

/** FEFO as one sortable key: a lot without expiry sorts as expiring at 'infinity' (last). */
const expiryKey = sql`coalesce(${inventoryLots.expiresOn}, 'infinity'::date)`;
const fefo = [asc(expiryKey), asc(inventoryLots.number), asc(inventoryLots.sku), asc(inventoryLots.location)];

/** Where a page of `listLots` ended: the last lot's FEFO key (a keyset cursor's content). */
export interface LotPosition {
  readonly expiresOn: string | null;
  readonly number: string;
  readonly sku: string;
  readonly location: string;
}

const anyOf = (column: SQL | { getSQL(): SQL }, values: readonly string[]) =>
  sql`${column} = any(array(select jsonb_array_elements_text(${JSON.stringify(values)}::jsonb)))`;

const lotColumns = {
  number: inventoryLots.number,
  sku: inventoryLots.sku,
  location: inventoryLots.location,
  quantity: inventoryLots.quantity,
  expiresOn: inventoryLots.expiresOn,
};

export function createInventoryLotsReader(db: Db, shop: string) {
  /** The lots of these SKUs, optionally only at these locations, in FEFO order: one query. */
  async function getLotsBySkus(skus: readonly string[], options: { locations?: readonly string[] } = {}): Promise<StoredLot[]> {
    if (skus.length === 0) return [];
    return db
      .select(lotColumns)
      .from(inventoryLots)
      .where(and(eq(inventoryLots.shop, shop), anyOf(inventoryLots.sku, [...new Set(skus)]), options.locations ? anyOf(inventoryLots.location, options.locations) : undefined))
      .orderBy(...fefo);
  }

  return {
    getLotsBySkus,

    /**
     * Every asked-for SKU (absent ones with no lots and a null digest), with its lots in FEFO
     * order, optionally only at these locations, and its digest: two queries, run together.
     */
    async lotsBySkus(skus: readonly string[], options: { locations?: readonly string[] } = {}): Promise<Map<string, SkuLots>> {
      const unique = [...new Set(skus)];
      const out = new Map<string, SkuLots>();
      if (unique.length === 0) return out;
      const [lots, digests] = await Promise.all([
        getLotsBySkus(unique, options),
        db
          .select({ sku: inventoryLotDigests.sku, digest: inventoryLotDigests.digest, changedAt: inventoryLotDigests.changedAt })
          .from(inventoryLotDigests)
          .where(and(eq(inventoryLotDigests.shop, shop), anyOf(inventoryLotDigests.sku, unique))),
      ]);
      const digestOf = new Map(digests.map((row) => [row.sku, row]));
      const lotsOf = new Map<string, StoredLot[]>();
      for (const lot of lots) lotsOf.set(lot.sku, [...(lotsOf.get(lot.sku) ?? []), lot]);
      for (const sku of unique) {
        const digest = digestOf.get(sku);
        out.set(sku, { sku, lots: lotsOf.get(sku) ?? [], digest: digest?.digest ?? null, changedAt: digest?.changedAt ?? null });
      }
      return out;
    },

    /**
     * Lots of one SKU, or of every SKU, optionally at one location, in FEFO order, after `after`
     * (a keyset: the last lot of the previous page), at most `limit`.
     */
    listLots(args: { sku?: string | null; location?: string | null; after?: LotPosition | null; limit: number }): Promise<StoredLot[]> {
      const after = args.after;
      return db
        .select(lotColumns)
        .from(inventoryLots)
        .where(
          and(
            eq(inventoryLots.shop, shop),
            args.sku ? eq(inventoryLots.sku, args.sku) : undefined,
            args.location ? eq(inventoryLots.location, args.location) : undefined,
            after
              ? sql`(${expiryKey}, ${inventoryLots.number}, ${inventoryLots.sku}, ${inventoryLots.location})
                  > (coalesce(${after.expiresOn}::date, 'infinity'::date), ${after.number}, ${after.sku}, ${after.location})`
              : undefined,
          ),
        )
        .orderBy(...fefo)
        .limit(args.limit);
    },

    /**
     * SKUs whose lots changed after `after` (null: from the beginning), oldest change first, at
     * most `limit`: a peer keeps the last one as its cursor and asks again. `changedAt` is the
     * writer's clock at the page's write, so a page committed late can carry an earlier time
     * than one already read: a peer that must not miss a change also compares digests in its
     * full pass (`lotsBySkus`).
     */
    listLotChangesSince(after: LotChangeCursor | null, limit: number): Promise<LotChange[]> {
      return db
        .select({ sku: inventoryLotDigests.sku, changedAt: inventoryLotDigests.changedAt, digest: inventoryLotDigests.digest, lotCount: inventoryLotDigests.lotCount })
        .from(inventoryLotDigests)
        .where(
          and(
            eq(inventoryLotDigests.shop, shop),
            after
              ? or(gt(inventoryLotDigests.changedAt, after.changedAt), and(eq(inventoryLotDigests.changedAt, after.changedAt), gt(inventoryLotDigests.sku, after.sku)))
              : undefined,
          ),
        )
        .orderBy(asc(inventoryLotDigests.changedAt), asc(inventoryLotDigests.sku))
        .limit(limit);
    },
  };
}

export type InventoryLotsReader = ReturnType<typeof createInventoryLotsReader>;
