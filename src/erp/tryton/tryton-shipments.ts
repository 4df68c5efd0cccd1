import { z } from 'zod';
import { chunk } from '../../shared/collections.js';
import { advanceFeed, decodeWatermark, encodeWatermark, readFrom, startFeed, type ChangeRecord } from '../erp-change-feed.js';
import type { ErpWatermark, Shipment, ShipmentChanges } from '../erp-connector.js';
import { TrytonDateTime } from './tryton-codec.js';
import { isoFromStamp, roundQuantity, stamp, stampOf, STOCKBRIDGE_SALE_MARKER, type TrytonCalls } from './tryton-calls.js';
import type { TrytonLocationTree } from './tryton-locations.js';

/**
 * The shipment feed: customer shipments (`stock.shipment.out`) in state `done` of the sales
 * Stockbridge made, read through the shared watermark arithmetic (`erp-change-feed.ts`) on the
 * shipment's own create/write stamps, so a shipment done in a transaction that commits late is
 * not missed, and a done shipment written again (its reference corrected) is reported again.
 *
 * - Tracking number: the shipment's `reference` (a char field the warehouse fills in; no
 *   carrier module is installed, so carrier and tracking URL are null).
 * - Lines: its done outgoing moves (`outgoing_moves`: from the warehouse's output zone to the
 *   customer), per SKU and lot (`lot` of module stock_lot), in the product's default unit
 *   (`internal_quantity`), at the shipment's warehouse (the location the sale was made at).
 * - The sale: the moves' `origin` is a `sale.line`; its sale's `reference` is the external
 *   reference `createSalesOrder` was given, and its marked description says Stockbridge made it.
 * - Shipped at: when its outgoing moves were done (their last write), not the shipment's own
 *   last write, which a later correction of the reference moves.
 *
 * A partial shipment is one shipment; Tryton makes a new shipment for the rest of the sale
 * (the sale's process creates moves for what its done and open moves do not cover), which is
 * reported on its own when it is done.
 */

const KIND = 'tryton-shipments';

const shipmentRecord = z.object({
  id: z.number().int(),
  number: z.string().nullable(),
  reference: z.string().nullable(),
  warehouse: z.number().int().nullable(),
  effective_date: z.string().nullable(),
  create_date: stamp,
  write_date: stamp,
  outgoing_moves: z.array(z.number().int()),
});
type ShipmentRecord = z.output<typeof shipmentRecord>;
const SHIPMENT_FIELDS = ['number', 'reference', 'warehouse', 'effective_date', 'create_date', 'write_date', 'outgoing_moves'];

const outgoingMoveRecord = z.object({
  id: z.number().int(),
  state: z.string(),
  internal_quantity: z.number(),
  write_date: stamp,
  create_date: stamp,
  'product.': z.object({ code: z.string().nullable() }).nullable(),
  'lot.': z.object({ number: z.string() }).nullable().optional(),
  'sale.': z.object({ reference: z.string().nullable(), description: z.string().nullable() }).nullable().optional(),
});
type OutgoingMove = z.output<typeof outgoingMoveRecord>;

export class TrytonShipments {
  constructor(private readonly calls: TrytonCalls) {}

  async getShipmentsChangedSince(watermark: ErpWatermark | null): Promise<ShipmentChanges> {
    const overlap = this.calls.overlap;
    if (watermark === null) {
      const now = await this.calls.latestStamp(['stock.shipment.out']);
      const recent = await this.changedShipments(now - overlap);
      return { shipments: [], nextWatermark: encodeWatermark(KIND, startFeed(now, recent.map(changeOf), overlap)) };
    }
    const position = decodeWatermark(KIND, watermark);
    const changed = await this.changedShipments(readFrom(position, overlap));
    // The feed's records name the shipment, not a SKU: the fresh ones are the ones to report.
    const { skus: freshIds, next } = advanceFeed(position, changed.map(changeOf), overlap);
    const fresh = new Set(freshIds);
    const shipments = await this.withLines(changed.filter((s) => fresh.has(String(s.id))));
    return { shipments, nextWatermark: encodeWatermark(KIND, next) };
  }

  /** Done shipments of Stockbridge's sales created or written after `from`, oldest change first. */
  private async changedShipments(from: number): Promise<ShipmentRecord[]> {
    const since = new TrytonDateTime(isoFromStamp(from));
    const rows = await this.calls.searchRead(
      'stock.shipment.out',
      [
        ['state', '=', 'done'],
        // write_date stays NULL until a record is first written (P7): look at both.
        ['OR', ['create_date', '>', since], ['write_date', '>', since]],
        ['moves.sale.description', 'like', `${STOCKBRIDGE_SALE_MARKER}%`],
      ],
      SHIPMENT_FIELDS,
      shipmentRecord,
    );
    return rows.sort((a, b) => stampOfShipment(a) - stampOfShipment(b) || a.id - b.id);
  }

  /** The shipments with their lines and sale, in a constant number of round trips per page. */
  private async withLines(shipments: readonly ShipmentRecord[]): Promise<Shipment[]> {
    if (shipments.length === 0) return [];
    const tree = await this.calls.locationTree();
    const moves = new Map<number, OutgoingMove>();
    for (const page of chunk(
      shipments.flatMap((s) => s.outgoing_moves),
      this.calls.maxSkusPerRequest,
    )) {
      const rows = await this.calls.read(
        'stock.move',
        'read',
        [page, ['state', 'internal_quantity', 'create_date', 'write_date', 'product.code', 'lot.number', 'sale.reference', 'sale.description']],
        z.array(outgoingMoveRecord),
      );
      for (const row of rows) moves.set(row.id, row);
    }
    return shipments.flatMap((shipment) => {
      const done = shipment.outgoing_moves.map((id) => moves.get(id)).filter((m): m is OutgoingMove => m !== undefined && m.state === 'done');
      const sale = done.map((m) => m['sale.']).find((s) => s?.description?.startsWith(STOCKBRIDGE_SALE_MARKER));
      if (!sale?.reference) return [];
      return [toShipment(shipment, done, sale.reference, tree)];
    });
  }
}

function toShipment(shipment: ShipmentRecord, moves: readonly OutgoingMove[], salesOrderReference: string, tree: TrytonLocationTree): Shipment {
  const location = (shipment.warehouse !== null ? tree.codeOf(shipment.warehouse) : undefined) ?? '';
  const lines = new Map<string, { sku: string; quantity: number; location: string; lotNumber: string | null }>();
  for (const move of moves) {
    const sku = move['product.']?.code;
    if (!sku) continue;
    const lotNumber = move['lot.']?.number ?? null;
    const key = JSON.stringify([sku, lotNumber]);
    const line = lines.get(key) ?? { sku, quantity: 0, location, lotNumber };
    line.quantity = roundQuantity(line.quantity + move.internal_quantity);
    lines.set(key, line);
  }
  const doneAt = Math.max(0, ...moves.map((m) => Math.max(stampOf(m.create_date), stampOf(m.write_date))));
  const reference = shipment.reference?.trim() || null;
  return {
    id: String(shipment.id),
    erpReference: shipment.number ?? `shipment:${shipment.id}`,
    salesOrderReference,
    shippedAt: doneAt > 0 ? new Date(Math.floor(doneAt / 1000)).toISOString() : `${shipment.effective_date ?? '1970-01-01'}T00:00:00.000Z`,
    carrier: null,
    trackingNumber: reference,
    trackingUrl: null,
    lines: [...lines.values()],
  };
}

function stampOfShipment(shipment: ShipmentRecord): number {
  return Math.max(stampOf(shipment.create_date), stampOf(shipment.write_date));
}

function changeOf(shipment: ShipmentRecord): ChangeRecord {
  const id = String(shipment.id);
  return { id, sku: id, stamp: stampOfShipment(shipment) };
}
