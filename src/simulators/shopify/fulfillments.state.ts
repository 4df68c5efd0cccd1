import { AppError, ValidationError } from '../../shared/errors.js';
import { gid, idOfType, looseId } from './gid.js';
import type {
  FulfillmentLineRecord,
  FulfillmentOrderLineItemRecord,
  FulfillmentOrderRecord,
  FulfillmentRecord,
  LevelRecord,
  LineItemRecord,
  OrderRecord,
  OriginAddressRecord,
  ShopEvent,
  TrackingRecord,
} from './shop-state.models.js';

/**
 * Fulfilment orders and fulfilments, with Shopify's rules. Every order gets one fulfilment
 * order per location its lines were assigned to; a fulfilment ships units of the fulfilment
 * orders of one order at one location (`fulfillmentCreate`), all or nothing: a quantity above
 * what remains, a closed or cancelled fulfilment order or an unknown id is a user error and
 * nothing ships. Shipping lowers `committed` (so `on_hand`) and leaves `available`. Refunds and
 * cancellation take their unshipped units off the fulfilment orders (`syncOrder`).
 */

export interface FulfillmentUserError {
  field: string[] | null;
  message: string;
}

export interface FulfillmentInput {
  lineItemsByFulfillmentOrder: { fulfillmentOrderId: string; fulfillmentOrderLineItems?: { id: string; quantity: number }[] | null }[];
  trackingInfo?: { company?: string | null; number?: string | null; numbers?: string[] | null; url?: string | null; urls?: string[] | null } | null;
  notifyCustomer?: boolean | null;
  originAddress?: Partial<OriginAddressRecord> | null;
}

/** A merchant marking items fulfilled in the admin: every open unit, or the lines named. */
export interface MerchantFulfillmentInput {
  lines?: { lineItemId?: string | number; sku?: string; quantity: number }[];
  tracking?: { company?: string | null; number?: string | null; url?: string | null } | null;
  notifyCustomer?: boolean;
}

/** What the fulfilment rules need from the rest of the shop. */
export interface FulfillmentHost {
  now(): number;
  nextId(kind: 'FulfillmentOrder' | 'FulfillmentOrderLineItem' | 'Fulfillment' | 'FulfillmentLineItem'): number;
  emit(event: ShopEvent): void;
  findOrder(id: number): OrderRecord | undefined;
  /** Releases units a line committed (restock: back to available); the level when `available` changed. */
  releaseCommitment(line: LineItemRecord, units: number, restock: boolean): LevelRecord | undefined;
}

function openUnits(line: LineItemRecord): number {
  return Math.max(0, line.quantity - line.fulfilledQuantity - line.removedQuantity);
}

function isUrl(value: string): boolean {
  try {
    const url = new URL(value);
    return url.protocol === 'https:' || url.protocol === 'http:';
  } catch {
    return false;
  }
}

export class FulfillmentsState {
  readonly fulfillmentOrders = new Map<number, FulfillmentOrderRecord>();
  readonly fulfillments = new Map<number, FulfillmentRecord>();
  private readonly fulfillmentOrderLineItems = new Map<number, FulfillmentOrderLineItemRecord>();

  constructor(private readonly host: FulfillmentHost) {}

  /** Shopify routes a new order at once: one fulfilment order per assigned location. */
  openFulfillmentOrders(order: OrderRecord): void {
    const byLocation = new Map<number, LineItemRecord[]>();
    for (const line of order.lineItems) {
      if (line.locationId === null) continue;
      const lines = byLocation.get(line.locationId) ?? [];
      lines.push(line);
      byLocation.set(line.locationId, lines);
    }
    const now = this.host.now();
    for (const [locationId, lines] of byLocation) {
      const fulfillmentOrder: FulfillmentOrderRecord = { __typename: 'FulfillmentOrder', id: this.host.nextId('FulfillmentOrder'), orderId: order.id, locationId, status: 'OPEN', createdAt: now, updatedAt: now, lineItems: [] };
      for (const line of lines) {
        const lineItem: FulfillmentOrderLineItemRecord = {
          __typename: 'FulfillmentOrderLineItem',
          id: this.host.nextId('FulfillmentOrderLineItem'),
          fulfillmentOrderId: fulfillmentOrder.id,
          orderId: order.id,
          lineItemId: line.id,
          totalQuantity: line.quantity,
          remainingQuantity: line.quantity,
        };
        fulfillmentOrder.lineItems.push(lineItem);
        this.fulfillmentOrderLineItems.set(lineItem.id, lineItem);
      }
      order.fulfillmentOrders.push(fulfillmentOrder);
      this.fulfillmentOrders.set(fulfillmentOrder.id, fulfillmentOrder);
    }
  }

  findFulfillmentOrderLineItem(id: number): FulfillmentOrderLineItemRecord | undefined {
    return this.fulfillmentOrderLineItems.get(id);
  }

  /**
   * `fulfillmentCreate`: ships the named units (every remaining unit of a fulfilment order whose
   * lines are not named) of fulfilment orders that belong to one order and one location.
   */
  createFulfillment(input: FulfillmentInput, createdBy: FulfillmentRecord['createdBy'] = 'app'): { fulfillment: FulfillmentRecord | null; userErrors: FulfillmentUserError[] } {
    const errors: FulfillmentUserError[] = [];
    const groups = input.lineItemsByFulfillmentOrder;
    if (groups.length === 0) errors.push({ field: ['fulfillment', 'lineItemsByFulfillmentOrder'], message: 'Line items by fulfillment order must contain at least one fulfillment order.' });
    const planned: { fulfillmentOrder: FulfillmentOrderRecord; lineItem: FulfillmentOrderLineItemRecord; quantity: number }[] = [];
    const seenOrders = new Set<number>();
    let orderId: number | null = null;
    let locationId: number | null = null;
    groups.forEach((group, index) => {
      const path = ['fulfillment', 'lineItemsByFulfillmentOrder', String(index)];
      const id = idOfType(group.fulfillmentOrderId, 'FulfillmentOrder');
      const fulfillmentOrder = id === null ? undefined : this.fulfillmentOrders.get(id);
      if (!fulfillmentOrder) {
        errors.push({ field: [...path, 'fulfillmentOrderId'], message: `Fulfillment order ${group.fulfillmentOrderId} does not exist.` });
        return;
      }
      if (seenOrders.has(fulfillmentOrder.id)) {
        errors.push({ field: [...path, 'fulfillmentOrderId'], message: `Fulfillment order ${fulfillmentOrder.id} is listed more than once.` });
        return;
      }
      seenOrders.add(fulfillmentOrder.id);
      const order = this.host.findOrder(fulfillmentOrder.orderId);
      if (fulfillmentOrder.status === 'CLOSED' || fulfillmentOrder.status === 'CANCELLED' || !order || order.cancelledAt !== null) {
        const status = order && order.cancelledAt !== null && fulfillmentOrder.status !== 'CLOSED' ? 'cancelled' : fulfillmentOrder.status.toLowerCase();
        errors.push({ field: [...path, 'fulfillmentOrderId'], message: `Fulfillment order ${fulfillmentOrder.id} has an unfulfillable status= ${status}.` });
        return;
      }
      if (orderId !== null && orderId !== fulfillmentOrder.orderId) {
        errors.push({ field: [...path, 'fulfillmentOrderId'], message: 'All fulfillment orders must belong to the same order.' });
        return;
      }
      if (locationId !== null && locationId !== fulfillmentOrder.locationId) {
        errors.push({ field: [...path, 'fulfillmentOrderId'], message: 'All fulfillment orders must be assigned to the same location.' });
        return;
      }
      orderId = fulfillmentOrder.orderId;
      locationId = fulfillmentOrder.locationId;
      const requested = group.fulfillmentOrderLineItems;
      if (requested === undefined || requested === null || requested.length === 0) {
        for (const lineItem of fulfillmentOrder.lineItems) if (lineItem.remainingQuantity > 0) planned.push({ fulfillmentOrder, lineItem, quantity: lineItem.remainingQuantity });
        return;
      }
      const asked = new Map<number, number>();
      requested.forEach((entry, lineIndex) => {
        const linePath = [...path, 'fulfillmentOrderLineItems', String(lineIndex)];
        const lineId = idOfType(entry.id, 'FulfillmentOrderLineItem');
        const lineItem = lineId === null ? undefined : fulfillmentOrder.lineItems.find((candidate) => candidate.id === lineId);
        if (!lineItem) {
          errors.push({ field: [...linePath, 'id'], message: `Fulfillment order line item ${entry.id} does not belong to fulfillment order ${fulfillmentOrder.id}.` });
          return;
        }
        if (!Number.isInteger(entry.quantity) || entry.quantity < 1) {
          errors.push({ field: [...linePath, 'quantity'], message: 'Quantity must be greater than 0.' });
          return;
        }
        const total = (asked.get(lineItem.id) ?? 0) + entry.quantity;
        if (total > lineItem.remainingQuantity) {
          errors.push({ field: [...linePath, 'quantity'], message: `Invalid fulfillment order line item quantity requested: ${total} asked, ${lineItem.remainingQuantity} remaining.` });
          return;
        }
        asked.set(lineItem.id, total);
        planned.push({ fulfillmentOrder, lineItem, quantity: entry.quantity });
      });
    });
    const tracking = this.trackingOf(input.trackingInfo, errors);
    if (errors.length === 0 && planned.length === 0) errors.push({ field: ['fulfillment', 'lineItemsByFulfillmentOrder'], message: 'The fulfillment orders have no remaining line items to fulfill.' });
    if (errors.length > 0) return { fulfillment: null, userErrors: errors };

    const order = this.host.findOrder(orderId!)!;
    const now = this.host.now();
    const lines: FulfillmentLineRecord[] = [];
    for (const { fulfillmentOrder, lineItem, quantity } of planned) {
      const line = order.lineItems.find((candidate) => candidate.id === lineItem.lineItemId)!;
      lineItem.remainingQuantity -= quantity;
      line.fulfilledQuantity += quantity;
      this.host.releaseCommitment(line, quantity, false);
      fulfillmentOrder.updatedAt = now;
      const existing = lines.find((entry) => entry.fulfillmentOrderLineItemId === lineItem.id);
      if (existing) existing.quantity += quantity;
      else lines.push({ id: this.host.nextId('FulfillmentLineItem'), lineItemId: line.id, fulfillmentOrderId: fulfillmentOrder.id, fulfillmentOrderLineItemId: lineItem.id, quantity });
    }
    const address = input.originAddress;
    const fulfillment: FulfillmentRecord = {
      __typename: 'Fulfillment',
      id: this.host.nextId('Fulfillment'),
      orderId: order.id,
      name: `${order.name}.${order.fulfillments.length + 1}`,
      status: 'SUCCESS',
      locationId: locationId!,
      createdAt: now,
      updatedAt: now,
      tracking,
      notifyCustomer: input.notifyCustomer ?? false,
      originAddress: address?.countryCode
        ? { address1: address.address1 ?? null, address2: address.address2 ?? null, city: address.city ?? null, countryCode: address.countryCode, provinceCode: address.provinceCode ?? null, zip: address.zip ?? null }
        : null,
      fulfillmentOrderIds: [...new Set(planned.map((entry) => entry.fulfillmentOrder.id))],
      lines,
      createdBy,
    };
    order.fulfillments.push(fulfillment);
    this.fulfillments.set(fulfillment.id, fulfillment);
    order.updatedAt = now;
    this.syncOrder(order);
    this.host.emit({ topic: 'fulfillments/create', order, fulfillment });
    this.host.emit({ topic: 'orders/updated', order });
    this.host.emit({ topic: order.fulfillmentStatus === 'FULFILLED' ? 'orders/fulfilled' : 'orders/partially_fulfilled', order });
    return { fulfillment, userErrors: [] };
  }

  /**
   * A merchant fulfilling by hand in the admin: one fulfilment per fulfilment order with units
   * to ship, of every open unit or of the lines named. Throws when nothing can ship.
   */
  fulfillByMerchant(order: OrderRecord, input: MerchantFulfillmentInput = {}): FulfillmentRecord[] {
    if (order.cancelledAt !== null) throw new AppError('ORDER_CANCELLED', `order ${order.name} is cancelled`);
    const wanted = new Map<number, number>();
    if (input.lines) {
      for (const requested of input.lines) {
        const line =
          requested.lineItemId !== undefined
            ? order.lineItems.find((candidate) => candidate.id === looseId(requested.lineItemId!, 'LineItem'))
            : order.lineItems.find((candidate) => candidate.sku !== null && requested.sku !== undefined && candidate.sku.toLowerCase() === requested.sku.toLowerCase());
        if (!line) throw new ValidationError(`order ${order.name} has no line ${String(requested.lineItemId ?? requested.sku)}`);
        const total = (wanted.get(line.id) ?? 0) + requested.quantity;
        if (!Number.isInteger(requested.quantity) || requested.quantity < 1 || total > openUnits(line)) {
          throw new ValidationError(`line ${line.sku ?? line.id}: can fulfil 1 to ${openUnits(line)} units`);
        }
        wanted.set(line.id, total);
      }
    }
    const created: FulfillmentRecord[] = [];
    for (const fulfillmentOrder of order.fulfillmentOrders) {
      const lineItems: { id: string; quantity: number }[] = [];
      for (const lineItem of fulfillmentOrder.lineItems) {
        const quantity = input.lines ? Math.min(wanted.get(lineItem.lineItemId) ?? 0, lineItem.remainingQuantity) : lineItem.remainingQuantity;
        if (quantity <= 0) continue;
        lineItems.push({ id: gid('FulfillmentOrderLineItem', lineItem.id), quantity });
        if (input.lines) wanted.set(lineItem.lineItemId, (wanted.get(lineItem.lineItemId) ?? 0) - quantity);
      }
      if (lineItems.length === 0) continue;
      const result = this.createFulfillment(
        {
          lineItemsByFulfillmentOrder: [{ fulfillmentOrderId: gid('FulfillmentOrder', fulfillmentOrder.id), fulfillmentOrderLineItems: lineItems }],
          trackingInfo: input.tracking ?? null,
          notifyCustomer: input.notifyCustomer ?? false,
        },
        'merchant',
      );
      if (!result.fulfillment) throw new ValidationError(result.userErrors.map((error) => error.message).join(' '));
      created.push(result.fulfillment);
    }
    if (created.length === 0) throw new AppError('NOTHING_TO_FULFILL', `order ${order.name} has no units left to fulfil`);
    return created;
  }

  /**
   * Brings an order's fulfilment orders and fulfilment status in line with its lines after units
   * shipped or were removed: removed units leave the fulfilment orders (latest first), and each
   * fulfilment order is OPEN, IN_PROGRESS, CLOSED or CANCELLED by what it still holds.
   */
  syncOrder(order: OrderRecord): void {
    const now = this.host.now();
    for (const line of order.lineItems) {
      const holding = order.fulfillmentOrders.flatMap((fulfillmentOrder) => fulfillmentOrder.lineItems.filter((lineItem) => lineItem.lineItemId === line.id));
      let excess = holding.reduce((sum, lineItem) => sum + lineItem.remainingQuantity, 0) - openUnits(line);
      for (const lineItem of holding.reverse()) {
        if (excess <= 0) break;
        const removed = Math.min(excess, lineItem.remainingQuantity);
        lineItem.remainingQuantity -= removed;
        lineItem.totalQuantity -= removed;
        excess -= removed;
      }
    }
    for (const fulfillmentOrder of order.fulfillmentOrders) {
      const remaining = fulfillmentOrder.lineItems.reduce((sum, lineItem) => sum + lineItem.remainingQuantity, 0);
      const shipped = fulfillmentOrder.lineItems.reduce((sum, lineItem) => sum + lineItem.totalQuantity - lineItem.remainingQuantity, 0);
      const status = remaining > 0 ? (shipped > 0 ? 'IN_PROGRESS' : 'OPEN') : shipped > 0 || order.cancelledAt === null ? 'CLOSED' : 'CANCELLED';
      if (status !== fulfillmentOrder.status) {
        fulfillmentOrder.status = status;
        fulfillmentOrder.updatedAt = now;
      }
    }
    const shippedUnits = order.lineItems.reduce((sum, line) => sum + line.fulfilledQuantity, 0);
    const open = order.lineItems.reduce((sum, line) => sum + openUnits(line), 0);
    if (shippedUnits > 0) order.fulfillmentStatus = open === 0 ? 'FULFILLED' : 'PARTIALLY_FULFILLED';
  }

  private trackingOf(info: FulfillmentInput['trackingInfo'], errors: FulfillmentUserError[]): TrackingRecord[] {
    if (!info) return [];
    if (info.number && info.numbers?.length) errors.push({ field: ['fulfillment', 'trackingInfo', 'numbers'], message: 'Provide either number or numbers, not both.' });
    if (info.url && info.urls?.length) errors.push({ field: ['fulfillment', 'trackingInfo', 'urls'], message: 'Provide either url or urls, not both.' });
    const numbers = info.numbers?.length ? info.numbers : info.number ? [info.number] : [];
    const urls = info.urls?.length ? info.urls : info.url ? [info.url] : [];
    urls.forEach((url, index) => {
      if (!isUrl(url)) errors.push({ field: ['fulfillment', 'trackingInfo', info.urls?.length ? 'urls' : 'url', ...(info.urls?.length ? [String(index)] : [])], message: 'Tracking url is not a valid URL.' });
    });
    const company = info.company ?? null;
    const count = Math.max(numbers.length, urls.length, company ? 1 : 0);
    return Array.from({ length: count }, (_, index) => ({ company, number: numbers[index] ?? null, url: urls[index] ?? null }));
  }
}
