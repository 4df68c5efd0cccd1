import type { TrytonLocationTree } from './tryton-locations.js';

/**
 * `allocated` and `wholesaleCommitted`, derived from the open moves of a page of products at
 * all requested locations at once (one round trip, instead of one `stock_assign` quantity call
 * per location):
 *
 * - `allocated`: every assigned move leaving the location or one of its descendants. That is
 *   exactly what `quantity − quantity{stock_assign: true}` computes (assigned outgoing moves
 *   count as done; assigned incoming ones do not count), plus the goods of picked two-step
 *   shipments (below).
 * - `wholesaleCommitted`: confirmed customer demand that is not assigned yet. Tryton reserves at
 *   shipment assignment, not at sale confirmation, so a confirmed sale is only a draft move. The
 *   move that assignment acts on is counted: the inventory move (storage → output) of a two-step
 *   warehouse, or the outgoing move (storage → customer) of a one-step one. Moves of sales made
 *   by Stockbridge are left out (the gateway counts those as pending Shopify orders).
 *   `forecast_quantity` was not used: it also adds planned receipts and production and cannot
 *   tell Stockbridge's sales from others.
 * - `pickedAllocated`: goods of a picked two-step shipment. Picking finishes the inventory moves
 *   while the outgoing moves stay draft until packing, so for that while
 *   `quantity − quantity{stock_assign}` shows nothing reserved although the goods are promised.
 *   They are counted as allocated, for every order (allocated includes Stockbridge's orders).
 */

export interface OpenShipmentMove {
  readonly id: number;
  /** `assigned` (any assigned move) or `draft` (a draft move of a customer shipment). */
  readonly state: 'assigned' | 'draft';
  readonly product: number;
  /** In the product's default unit (`internal_quantity`). */
  readonly quantity: number;
  readonly from: number;
  readonly to: number;
  readonly shipmentState: string | null;
  /** The move belongs to a sale that Stockbridge created. */
  readonly ours: boolean;
}

export interface OpenDemand {
  allocated: number;
  committed: number;
}

/**
 * Sums open moves per product and per requested location (a location counts a move that leaves
 * it or one of its descendants). Keys: `${productId}@${locationId}`.
 */
export function openDemandByLocation(tree: TrytonLocationTree, moves: readonly OpenShipmentMove[], locationIds: readonly number[]): Map<string, OpenDemand> {
  const totals = new Map<string, OpenDemand>();
  const add = (move: OpenShipmentMove, term: keyof OpenDemand): void => {
    for (const location of locationIds) {
      if (!tree.isWithin(move.from, location)) continue;
      const key = `${move.product}@${location}`;
      const entry = totals.get(key) ?? { allocated: 0, committed: 0 };
      entry[term] += move.quantity;
      totals.set(key, entry);
    }
  };
  for (const move of moves) {
    if (move.state === 'assigned') {
      add(move, 'allocated');
      continue;
    }
    const warehouse = tree.warehouseContaining(move.from);
    if (!warehouse) continue;
    const toCustomer = tree.typeOf(move.to) === 'customer';
    if (warehouse.twoStep && move.to === warehouse.output && !tree.isWithin(move.from, warehouse.output)) {
      // Inventory move of a two-step shipment: draft means not assigned.
      if (!move.ours) add(move, 'committed');
    } else if (toCustomer && warehouse.twoStep && tree.isWithin(move.from, warehouse.output)) {
      // Outgoing move of a two-step shipment: its demand is in the inventory move until picked.
      if (move.shipmentState === 'picked') add(move, 'allocated');
    } else if (toCustomer && !warehouse.twoStep) {
      if (!move.ours) add(move, 'committed');
    }
  }
  return totals;
}
