import type { UnitConversion } from '../inventory/inventory.port.js';
import { toShopifyUnits } from '../inventory/inventory.port.js';
import type { ShopifyOrderFulfilments } from '../shopify/shopify-client.js';
import type { FulfilmentPlannedLine, FulfilmentRecord, FulfilmentShipmentLine } from './fulfilments.models.js';

/**
 * Pure decisions of the fulfilment worker, kept apart so they are tested on their own.
 *
 * `planFulfilment` turns an ERP shipment into one Shopify fulfilment: each shipped line (ERP SKU,
 * ERP location, ERP units) takes units from fulfilment order lines of the same item that still
 * have units remaining, at one Shopify location (Shopify fulfils one location at a time): the
 * location mapped to the shipment's ERP location when it has any, else the one that covers the
 * most units. Units already fulfilled in Shopify (by the merchant, another app, or Stockbridge for
 * an earlier shipment) have no remaining quantity, so they are never fulfilled twice; what cannot
 * be placed is reported, not forced.
 *
 * `findOwnFulfillment` settles a lost answer: the fulfilment this row sent is one made after it was
 * sent, not recorded by another shipment, shipping exactly the planned units of each order line,
 * with the shipment's tracking number.
 */

/** How Shopify knows an ERP SKU: its items and SKUs, and the unit conversion. */
export interface ItemIdentity {
  readonly inventoryItemIds: ReadonlySet<string>;
  /** Lower-cased SKUs the Shopify lines may carry (the ERP SKU and the mapped Shopify SKU). */
  readonly skus: ReadonlySet<string>;
  readonly conversion: UnitConversion;
}

export interface PlanInput {
  readonly lines: readonly FulfilmentShipmentLine[];
  readonly state: ShopifyOrderFulfilments;
  /** By ERP SKU; an unmapped SKU is matched by its own SKU, one Shopify unit per ERP unit. */
  readonly items: ReadonlyMap<string, ItemIdentity>;
  /** Shopify location ids of each ERP location code. */
  readonly locations: ReadonlyMap<string, ReadonlySet<string>>;
}

export type FulfilmentPlan =
  | {
      readonly kind: 'fulfil';
      readonly locationId: string | null;
      readonly lines: FulfilmentPlannedLine[];
      /** Shipped units no remaining Shopify line could take (fulfilled elsewhere or by hand), per ERP SKU. */
      readonly leftOver: { readonly sku: string; readonly units: number }[];
    }
  /** Every shipped item is on the order, with nothing left to fulfil: fulfilled outside Stockbridge. */
  | { readonly kind: 'nothing-left' }
  /** Some shipped SKUs match no line of the order at all (a mapping problem). */
  | { readonly kind: 'unmatched'; readonly skus: string[] };

/** Fulfilment order statuses a fulfilment can ship from. */
const FULFILLABLE = new Set(['OPEN', 'IN_PROGRESS']);

export function identityOf(sku: string, items: ReadonlyMap<string, ItemIdentity>): ItemIdentity {
  return items.get(sku) ?? { inventoryItemIds: new Set(), skus: new Set([sku.toLowerCase()]), conversion: { erpUnits: 1, shopifyUnits: 1 } };
}

function matches(line: { sku: string | null; inventoryItemId: string | null }, identity: ItemIdentity): boolean {
  if (line.inventoryItemId !== null && identity.inventoryItemIds.has(line.inventoryItemId)) return true;
  return line.sku !== null && identity.skus.has(line.sku.toLowerCase());
}

export function planFulfilment(input: PlanInput): FulfilmentPlan {
  const wanted = input.lines.map((line) => ({ line, identity: identityOf(line.sku, input.items), units: toShopifyUnits(line.quantity, identityOf(line.sku, input.items).conversion) }));
  const allLines = input.state.fulfillmentOrders.flatMap((order) => order.lineItems);
  const unmatched = [...new Set(wanted.filter((w) => !allLines.some((l) => matches(l, w.identity))).map((w) => w.line.sku))];
  if (unmatched.length > 0) return { kind: 'unmatched', skus: unmatched };

  const open = input.state.fulfillmentOrders.filter((order) => FULFILLABLE.has(order.status));
  const locationIds = [...new Set(open.map((order) => order.locationId))];
  const allocate = (locationId: string | null) => {
    const remaining = new Map<string, number>();
    const planned: FulfilmentPlannedLine[] = [];
    const leftOver = new Map<string, number>();
    for (const want of wanted) {
      let left = want.units;
      for (const order of open) {
        if (order.locationId !== locationId) continue;
        for (const line of order.lineItems) {
          if (left <= 0 || !matches(line, want.identity)) continue;
          const free = remaining.get(line.id) ?? line.remainingQuantity;
          const take = Math.min(free, left);
          if (take <= 0) continue;
          remaining.set(line.id, free - take);
          left -= take;
          const same = planned.find((p) => p.fulfillmentOrderLineItemId === line.id);
          if (same) planned[planned.indexOf(same)] = { ...same, quantity: same.quantity + take };
          else planned.push({ fulfillmentOrderId: order.id, fulfillmentOrderLineItemId: line.id, lineItemId: line.lineItemId, quantity: take });
        }
      }
      if (left > 0) leftOver.set(want.line.sku, (leftOver.get(want.line.sku) ?? 0) + left);
    }
    const units = planned.reduce((sum, p) => sum + p.quantity, 0);
    return { locationId, planned, leftOver, units };
  };
  const candidates = locationIds.map(allocate).filter((c) => c.units > 0);
  if (candidates.length === 0) return { kind: 'nothing-left' };
  const mapped = new Set(input.lines.flatMap((line) => [...(input.locations.get(line.location) ?? [])]));
  const best = [...candidates].sort((a, b) => Number(mapped.has(b.locationId ?? '')) - Number(mapped.has(a.locationId ?? '')) || b.units - a.units)[0]!;
  return { kind: 'fulfil', locationId: best.locationId, lines: best.planned, leftOver: [...best.leftOver].map(([sku, units]) => ({ sku, units })) };
}

/** Clocks of Shopify and the gateway may differ by this much. */
const CLOCK_SKEW_MS = 5 * 60_000;

export function findOwnFulfillment(row: Pick<FulfilmentRecord, 'plannedLines' | 'submittedAt' | 'trackingNumber'>, state: ShopifyOrderFulfilments, recordedElsewhere: ReadonlySet<string>): string | null {
  if (!row.plannedLines || !row.submittedAt) return null;
  const planned = unitsPerLine(row.plannedLines);
  const since = row.submittedAt.getTime() - CLOCK_SKEW_MS;
  for (const fulfillment of state.fulfillments) {
    if (recordedElsewhere.has(fulfillment.id) || fulfillment.status === 'CANCELLED' || Date.parse(fulfillment.createdAt) < since) continue;
    const tracking = fulfillment.tracking[0]?.number ?? null;
    if ((tracking ?? null) !== (row.trackingNumber ?? null)) continue;
    const shipped = unitsPerLine(fulfillment.lines);
    if (shipped.size === planned.size && [...planned].every(([lineItemId, units]) => shipped.get(lineItemId) === units)) return fulfillment.id;
  }
  return null;
}

function unitsPerLine(lines: readonly { lineItemId: string; quantity: number }[]): Map<string, number> {
  const units = new Map<string, number>();
  for (const line of lines) units.set(line.lineItemId, (units.get(line.lineItemId) ?? 0) + line.quantity);
  return units;
}
