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

const fefo = [sql`${inventoryLots.expiresOn} asc nulls last`, asc(inventoryLots.number), asc(inventoryLots.sku), asc(inventoryLots.location)];

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
  return {
    /**
     * Every asked-for SKU (absent ones with no lots and a null digest), with its lots in FEFO
     * order, optionally only at these locations: two queries, run together.
     */
    async lotsBySkus(skus: readonly string[], options: { locations?: readonly string[] } = {}): Promise<Map<string, SkuLots>> {
      const unique = [...new Set(skus)];
      const out = new Map<string, SkuLots>();
      if (unique.length === 0) return out;
      const [lots, digests] = await Promise.all([
        db
          .select(lotColumns)
          .from(inventoryLots)
          .where(and(eq(inventoryLots.shop, shop), anyOf(inventoryLots.sku, unique), options.locations ? anyOf(inventoryLots.location, options.locations) : undefined))
          .orderBy(...fefo),
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

    /** Lots of one SKU, or of every SKU, optionally at one location, in FEFO order: at most `limit`. */
    listLots(args: { sku?: string | null; location?: string | null; limit: number }): Promise<StoredLot[]> {
      return db
        .select(lotColumns)
        .from(inventoryLots)
        .where(
          and(
            eq(inventoryLots.shop, shop),
            args.sku ? eq(inventoryLots.sku, args.sku) : undefined,
            args.location ? eq(inventoryLots.location, args.location) : undefined,
          ),
        )
        .orderBy(...fefo)
        .limit(args.limit);
    },

    /**
     * SKUs whose lots changed after `after` (null: from the beginning), oldest change first, at
     * most `limit`: a peer keeps the last one as its cursor and asks again.
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
