import { z } from 'zod';
import { chunk } from '../../shared/collections.js';
import { advanceFeed, decodeWatermark, encodeWatermark, readFrom, startFeed, type ChangeRecord } from '../erp-change-feed.js';
import type { ErpWatermark, Lot, Page, PageRequest, StockChanges, StockLevel, StockSnapshot } from '../erp-connector.js';
import { compareLots, decodeSkuCursor, encodeSkuCursor, pageSize, uniqueInOrder } from '../erp-inputs.js';
import { TrytonDateTime } from './tryton-codec.js';
import { ids, isoFromStamp, ourSaleClause, roundQuantity, stamp, stampOf, type TrytonCalls } from './tryton-calls.js';
import type { TrytonLocationTree } from './tryton-locations.js';
import { openDemandByLocation, type OpenShipmentMove } from './tryton-stock-terms.js';

/**
 * The stock side of the Tryton connector: the port's three terms per SKU and location (see
 * `tryton-stock-terms.ts` for how open moves become `allocated` and `wholesaleCommitted`), lots
 * with their expiry, and the stock change feed over `stock.move` stamps.
 */

const codeOnly = z.object({ code: z.string().nullable(), id: z.number().int() });
const quantityRecord = z.object({ id: z.number().int(), quantity: z.number() });
const stockProductRecord = z.object({ id: z.number().int(), code: z.string().nullable(), quantity: z.number() });

const openMoveRecord = z.object({
  id: z.number().int(),
  state: z.enum(['assigned', 'draft']),
  product: z.number().int(),
  internal_quantity: z.number(),
  from_location: z.number().int(),
  to_location: z.number().int(),
  'shipment.': z.object({ state: z.string() }).nullable().optional(),
});

const changedMoveRecord = z.object({
  id: z.number().int(),
  create_date: stamp,
  write_date: stamp,
  'product.': z.object({ code: z.string().nullable() }).nullable(),
});

const lotRecord = z.object({
  id: z.number().int(),
  number: z.string(),
  product: z.number().int(),
  quantity: z.number(),
  expiration_date: z.string().nullable().optional(),
  shelf_life_expiration_date: z.string().nullable().optional(),
});

/** How far each look of the stock feed reads back, in microseconds and milliseconds. */
export interface TrytonStockFeedOptions {
  /**
   * What each look reads back before the watermark between reads of the whole overlap window:
   * long enough for the transactions that write stock moves (a record carries its
   * transaction's start time, so every commit is late by its transaction's duration).
   */
  readonly recentOverlap: number;
  /** How often (local milliseconds) a chain of watermarks reads its whole overlap window again. */
  readonly wholeWindowEveryMs: number;
}

/** Chains of watermarks whose last whole-window read is remembered (one per feed that calls: the watch, the delta, …). */
const MAX_REMEMBERED_CHAINS = 64;

/**
 * The stock change feed reads the overlap window before its watermark (`erp-change-feed.ts`).
 * Read whole at every look, that window costs each look every move of the last five minutes,
 * again and again (the stock watch looks every 3 s): on a busy day thousands of rows per look,
 * and after the day ends the same rows until the next change moves the watermark. So a look
 * reads back only `recentOverlap` (30 s) before the watermark, which holds every commit a
 * transaction of ordinary length can make late, and the whole window is read again at least
 * every `wholeWindowEveryMs` (60 s) per chain of watermarks, which catches a longer
 * transaction's late commit at most that much later (the delta, which looks every 60 s, always
 * reads it whole). A record is still reported once: what a look has seen is in the watermark.
 */
export class TrytonStock {
  private lotExpiryFields: Promise<string[]> | null = null;
  /** Issued watermark → local time (ms) its chain last read the whole window. */
  private readonly wholeWindowReads = new Map<ErpWatermark, number>();

  constructor(
    private readonly calls: TrytonCalls,
    private readonly feed: TrytonStockFeedOptions,
  ) {}

  async getStockBySkus(skus: readonly string[], locationCodes?: readonly string[]): Promise<StockSnapshot> {
    const { tree, locations } = await this.calls.resolveLocations(locationCodes);
    const wanted = uniqueInOrder(skus);
    const levels = new Map<string, StockLevel[]>();
    for (const page of chunk(wanted, this.calls.maxSkusPerRequest)) {
      for (const level of await this.readStockPage([['code', 'in', page]], tree, locations, {})) {
        levels.set(level.sku, [...(levels.get(level.sku) ?? []), level]);
      }
    }
    return { levels: wanted.flatMap((sku) => levels.get(sku) ?? []), unknownSkus: wanted.filter((sku) => !levels.has(sku)) };
  }

  async listAllStock(page: PageRequest & { readonly locationCodes?: readonly string[] } = {}): Promise<Page<StockLevel>> {
    const { tree, locations } = await this.calls.resolveLocations(page.locationCodes);
    const limit = pageSize(page.limit, this.calls.maxSkusPerRequest);
    const after = decodeSkuCursor(page.cursor);
    const domain: unknown[] = [['code', '!=', null], ['type', '=', 'goods'], ['consumable', '=', false]];
    if (after !== null) domain.push(['code', '>', after]);
    const items = await this.readStockPage(domain, tree, locations, { order: [['code', 'ASC']], limit });
    const skuCount = new Set(items.map((i) => i.sku)).size;
    return { items, nextCursor: skuCount === limit ? encodeSkuCursor(items[items.length - 1]!.sku) : null };
  }

  /**
   * Stock terms of one page of products (selected by `domain`) at each location, in
   * locations + 2 round trips whatever the page size: `quantity` per location (the first call
   * also finds the products), then the open moves of the page at all locations at once
   * (assigned moves, draft customer-shipment moves), then which of those are Stockbridge's.
   */
  private async readStockPage(
    domain: unknown[],
    tree: TrytonLocationTree,
    locations: readonly { id: number; code: string }[],
    options: { order?: unknown; limit?: number },
  ): Promise<StockLevel[]> {
    if (locations.length === 0) return [];
    const first = locations[0]!;
    const products = (await this.calls.searchRead('product.product', domain, ['code', 'quantity'], stockProductRecord, { ...options, context: { locations: [first.id] } })).filter(
      (p): p is z.output<typeof stockProductRecord> & { code: string } => p.code !== null,
    );
    if (products.length === 0) return [];
    const productIds = products.map((p) => p.id);
    const onHand = new Map<string, number>(products.map((p) => [`${p.id}@${first.id}`, p.quantity]));
    // Quantities are computed one location at a time: several ids in one context drop the
    // children of each (P9). trytond computes them under the GIL, so parallel calls gain nothing.
    for (const location of locations.slice(1)) {
      const rows = await this.calls.read('product.product', 'read', [productIds, ['quantity']], z.array(quantityRecord), { locations: [location.id] });
      for (const row of rows) onHand.set(`${row.id}@${location.id}`, row.quantity);
    }

    const company = (await this.calls.client.context()).company;
    const openDomain = [
      ['product', 'in', productIds],
      ['from_location', 'child_of', locations.map((l) => l.id), 'parent'],
      ...(typeof company === 'number' ? [['company', '=', company]] : []),
      ['OR', ['state', '=', 'assigned'], [['state', '=', 'draft'], ['shipment', 'like', 'stock.shipment.out,%']]],
    ];
    const open = await this.calls.searchRead('stock.move', openDomain, ['state', 'product', 'internal_quantity', 'from_location', 'to_location', 'shipment.state'], openMoveRecord);
    const ours = !open.some((m) => m.state === 'draft')
      ? new Set<number>()
      : new Set(await this.calls.read('stock.move', 'search', [[...openDomain, ['state', '=', 'draft'], ourSaleClause()], 0, null, null], ids));
    const demand = openDemandByLocation(
      tree,
      open.map(
        (m): OpenShipmentMove => ({
          id: m.id,
          state: m.state,
          product: m.product,
          quantity: m.internal_quantity,
          from: m.from_location,
          to: m.to_location,
          shipmentState: m['shipment.']?.state ?? null,
          ours: ours.has(m.id),
        }),
      ),
      locations.map((l) => l.id),
    );

    return products.flatMap((product) =>
      locations.map((location): StockLevel => {
        const key = `${product.id}@${location.id}`;
        const hand = onHand.get(key) ?? 0;
        const terms = demand.get(key);
        return {
          sku: product.code,
          location: location.code,
          onHand: roundQuantity(hand),
          allocated: roundQuantity(terms?.allocated ?? 0),
          wholesaleCommitted: roundQuantity(terms?.committed ?? 0),
        };
      }),
    );
  }

  async getLotsBySkus(skus: readonly string[], locationCodes?: readonly string[]): Promise<readonly Lot[]> {
    const { locations } = await this.calls.resolveLocations(locationCodes);
    const expiryFields = await this.lotExpiry();
    const lots: Lot[] = [];
    for (const page of chunk(uniqueInOrder(skus), this.calls.maxSkusPerRequest)) {
      const products = await this.calls.searchRead('product.product', [['code', 'in', page]], ['code'], codeOnly);
      const skuOf = new Map(products.filter((p) => p.code !== null).map((p) => [p.id, p.code!]));
      if (skuOf.size === 0) continue;
      for (const location of locations) {
        // Lot quantities come from the same `locations` context; they ignore reservations made
        // without a lot (P10), as the port documents.
        const rows = await this.calls.searchRead(
          'stock.lot',
          [
            ['product', 'in', [...skuOf.keys()]],
            ['quantity', '!=', 0],
          ],
          ['number', 'product', 'quantity', ...expiryFields],
          lotRecord,
          { context: { locations: [location.id] } },
        );
        for (const row of rows) {
          lots.push({
            number: row.number,
            sku: skuOf.get(row.product)!,
            location: location.code,
            quantity: roundQuantity(row.quantity),
            expiresOn: row.expiration_date ?? row.shelf_life_expiration_date ?? null,
          });
        }
      }
    }
    return lots.sort(compareLots);
  }

  /** Which expiry fields `stock.lot` has (`stock_lot_sled` adds them; without it lots never expire). */
  private lotExpiry(): Promise<string[]> {
    this.lotExpiryFields ??= this.calls.read('stock.lot', 'fields_get', [['expiration_date', 'shelf_life_expiration_date']], z.record(z.string(), z.unknown())).then(
      (fields) => Object.keys(fields).filter((f) => f === 'expiration_date' || f === 'shelf_life_expiration_date'),
    );
    this.lotExpiryFields.catch(() => {
      this.lotExpiryFields = null;
    });
    return this.lotExpiryFields;
  }

  async getStockChangesSince(watermark: ErpWatermark | null): Promise<StockChanges> {
    const kind = 'tryton-stock';
    const overlap = this.calls.overlap;
    const lookedAt = Date.now();
    if (watermark === null) {
      const now = await this.calls.latestStamp(['stock.move', 'stock.lot']);
      const recent = await this.changedMoves(now - overlap);
      const nextWatermark = encodeWatermark(kind, startFeed(now, recent, overlap));
      this.rememberWholeWindowRead(nextWatermark, lookedAt);
      return { skus: [], nextWatermark };
    }
    const position = decodeWatermark(kind, watermark);
    // The whole overlap window is read again at least every `wholeWindowEveryMs` per chain of
    // watermarks (and always for a watermark this connector did not issue, e.g. after a
    // restart); in between, each look reads back only the recent part of it (see the class).
    const wholeReadAt = this.wholeWindowReads.get(watermark);
    const whole = wholeReadAt === undefined || lookedAt - wholeReadAt >= this.feed.wholeWindowEveryMs;
    const from = whole ? readFrom(position, overlap) : position.stamp - Math.min(this.feed.recentOverlap, overlap);
    const records = await this.changedMoves(from);
    const { skus, next } = advanceFeed(position, records, overlap);
    const nextWatermark = encodeWatermark(kind, next);
    this.rememberWholeWindowRead(nextWatermark, whole ? lookedAt : wholeReadAt!);
    return { skus, nextWatermark };
  }

  /** Remembers when the chain that issued `watermark` last read its whole window (bounded: the oldest go first). */
  private rememberWholeWindowRead(watermark: ErpWatermark, at: number): void {
    this.wholeWindowReads.delete(watermark);
    this.wholeWindowReads.set(watermark, at);
    while (this.wholeWindowReads.size > MAX_REMEMBERED_CHAINS) this.wholeWindowReads.delete(this.wholeWindowReads.keys().next().value!);
  }

  /**
   * Every stock move created or written after `from` (quantities change only through moves), and
   * every lot written after `from`: a lot's expiry date corrected by a clerk moves no stock, yet
   * changes which units may still be sold. Lot records are keyed apart from moves (`lot:<id>`).
   */
  private async changedMoves(from: number): Promise<ChangeRecord[]> {
    const since = new TrytonDateTime(isoFromStamp(from));
    // write_date stays NULL until a record is first written (P7): look at both. The two reads
    // are independent: they go out together (the connector's two slots).
    const [rows, lots] = await Promise.all([
      this.calls.searchRead('stock.move', [['OR', ['create_date', '>', since], ['write_date', '>', since]]], ['create_date', 'write_date', 'product.code'], changedMoveRecord),
      // A new lot has no stock until a move brings it, which the moves above report.
      this.calls.searchRead('stock.lot', [['write_date', '>', since]], ['create_date', 'write_date', 'product.code'], changedMoveRecord),
    ]);
    return [
      ...rows.filter((row) => row['product.']?.code).map((row) => ({ id: String(row.id), sku: row['product.']!.code!, stamp: Math.max(stampOf(row.create_date), stampOf(row.write_date)) })),
      ...lots.filter((row) => row['product.']?.code).map((row) => ({ id: `lot:${row.id}`, sku: row['product.']!.code!, stamp: Math.max(stampOf(row.create_date), stampOf(row.write_date)) })),
    ];
  }
}
