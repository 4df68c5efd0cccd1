import { AppError, NotFoundError, ValidationError } from '../../shared/errors.js';
import type { FulfillmentsState, MerchantFulfillmentInput } from './fulfillments.state.js';
import { gid, looseId } from './gid.js';
import type { ShopStore } from './shop-store.js';
import {
  type CancelReason,
  type FinancialStatus,
  type InventoryItemRecord,
  type LevelRecord,
  type LineItemRecord,
  type LocationRecord,
  type OrderRecord,
  type RefundLineRecord,
  type RefundRecord,
  type RestockType,
} from './shop-state.models.js';

/**
 * Orders: a customer's checkout commits units at a location (`available` down, `committed`
 * up), refused whole when a line wants more than is available and its variant denies
 * overselling; cancellation and refunds release or restock units; a merchant's fulfilment by
 * hand ships them (fulfillments.state.ts holds the fulfilment rules).
 */

export interface PlaceOrderLine {
  /** One of sku, variantId or inventoryItemId identifies what is bought. */
  sku?: string;
  variantId?: string | number;
  inventoryItemId?: string | number;
  quantity: number;
  /** Unit price; defaults to the variant's price. */
  price?: string | number;
  /** Fulfilling location (gid, id, key or name); defaults to the order's or the best stocked one. */
  location?: string | number;
}

export interface PlaceOrderInput {
  lines: PlaceOrderLine[];
  location?: string | number;
  email?: string | null;
  customer?: { firstName?: string | null; lastName?: string | null; email?: string | null; phone?: string | null } | null;
  financialStatus?: FinancialStatus;
  test?: boolean;
  tags?: string[];
  note?: string | null;
  sourceName?: string;
  poNumber?: string | null;
}

export type PlaceOrderResult =
  | { placed: true; order: OrderRecord; oversoldUnits: number }
  | { placed: false; code: 'INSUFFICIENT_STOCK'; message: string; lines: { sku: string | null; requested: number; available: number; locationId: string }[] };

export interface RefundLineInput {
  lineItemId?: string | number;
  sku?: string;
  quantity: number;
  /** Defaults to `CANCEL` for unfulfilled units and `RETURN` for fulfilled ones. */
  restockType?: RestockType;
}

function money(value: number): string {
  return (Math.round(value * 100) / 100).toFixed(2);
}

export class OrdersState {
  private nextOrderNumber = 1001;

  constructor(
    private readonly store: ShopStore,
    private readonly fulfillments: () => FulfillmentsState,
  ) {}


  /** The location a line is fulfilled from when none is named: the best stocked one. */
  private chooseLocation(item: InventoryItemRecord, quantity: number): LocationRecord {
    const active = [...this.store.locations.values()].filter((location) => location.isActive && location.fulfillsOnlineOrders);
    const stocked = active.filter((location) => item.levels.has(location.id));
    const enough = stocked.find((location) => item.levels.get(location.id)!.available >= quantity);
    const chosen = enough ?? stocked[0] ?? active[0] ?? [...this.store.locations.values()].find((location) => location.isActive);
    if (!chosen) throw new AppError('NO_LOCATION', 'the shop has no active location to fulfil the order from');
    return chosen;
  }

  /**
   * A customer's checkout. Each line commits its units at a location (`available` down,
   * `committed` up). The whole order is refused when a line asks for more than is available and
   * its variant does not continue selling when out of stock; units sold beyond stock by a
   * variant that continues selling are recorded as oversells.
   */
  placeOrder(input: PlaceOrderInput): PlaceOrderResult {
    if (input.lines.length === 0) throw new ValidationError('an order needs at least one line');
    const orderLocation = input.location !== undefined ? this.store.getLocation(input.location) : undefined;
    const resolved = input.lines.map((line) => {
      if (!Number.isInteger(line.quantity) || line.quantity < 1) throw new ValidationError('Quantity must be greater than or equal to 1');
      const variant = this.store.findVariant(line);
      if (!variant) throw new NotFoundError('Variant', String(line.variantId ?? line.inventoryItemId ?? line.sku));
      const item = this.store.items.get(variant.inventoryItemId)!;
      const location = line.location !== undefined ? this.store.getLocation(line.location) : (orderLocation ?? this.chooseLocation(item, line.quantity));
      return { line, variant, item, location };
    });
    const shortages: { sku: string | null; requested: number; available: number; locationId: string }[] = [];
    const demand = new Map<string, number>();
    for (const { line, variant, item, location } of resolved) {
      if (!item.tracked) continue;
      const key = `${item.id}:${location.id}`;
      const requested = (demand.get(key) ?? 0) + line.quantity;
      demand.set(key, requested);
      const available = item.levels.get(location.id)?.available ?? 0;
      if (variant.inventoryPolicy === 'DENY' && requested > available) {
        shortages.push({ sku: variant.sku, requested, available, locationId: gid('Location', location.id) });
      }
    }
    if (shortages.length > 0) {
      return { placed: false, code: 'INSUFFICIENT_STOCK', message: `Not enough stock for ${shortages.map((shortage) => shortage.sku ?? 'a variant').join(', ')}`, lines: shortages };
    }

    const now = this.store.now();
    const orderId = this.store.nextId('Order');
    const number = this.nextOrderNumber++;
    const email = input.email ?? input.customer?.email ?? null;
    const order: OrderRecord = {
      __typename: 'Order',
      id: orderId,
      number: number - 1000,
      name: `#${number}`,
      email,
      createdAt: now,
      updatedAt: now,
      processedAt: now,
      cancelledAt: null,
      cancelReason: null,
      closedAt: null,
      financialStatus: input.financialStatus ?? 'PAID',
      fulfillmentStatus: 'UNFULFILLED',
      currency: this.store.currency,
      test: input.test ?? false,
      tags: input.tags ?? [],
      note: input.note ?? null,
      sourceName: input.sourceName ?? 'web',
      poNumber: input.poNumber ?? null,
      locationId: orderLocation?.id ?? null,
      customer: input.customer
        ? { id: this.store.nextId('Customer'), email, firstName: input.customer.firstName ?? null, lastName: input.customer.lastName ?? null, phone: input.customer.phone ?? null }
        : null,
      shippingAddress: null,
      lineItems: [],
      refunds: [],
      fulfillmentOrders: [],
      fulfillments: [],
    };
    let oversoldUnits = 0;
    const touched = new Set<LevelRecord>();
    for (const { line, variant, item, location } of resolved) {
      const product = this.store.products.get(variant.productId)!;
      const lineItem: LineItemRecord = {
        __typename: 'LineItem',
        id: this.store.nextId('LineItem'),
        orderId,
        variantId: variant.id,
        productId: product.id,
        inventoryItemId: item.id,
        sku: variant.sku,
        title: product.title,
        variantTitle: variant.title === 'Default Title' ? null : variant.title,
        name: variant.title === 'Default Title' ? product.title : `${product.title} - ${variant.title}`,
        quantity: line.quantity,
        price: line.price !== undefined ? money(Number(line.price)) : variant.price,
        locationId: location.id,
        fulfilledQuantity: 0,
        removedQuantity: 0,
        requiresShipping: item.requiresShipping,
        taxable: variant.taxable,
        vendor: product.vendor,
      };
      order.lineItems.push(lineItem);
      if (!item.tracked) continue;
      const level = this.store.ensureLevel(item, location.id);
      const availableBefore = level.available;
      const oversold = line.quantity - Math.min(line.quantity, Math.max(0, availableBefore));
      level.available -= line.quantity;
      level.committed += line.quantity;
      level.updatedAt = now;
      touched.add(level);
      if (oversold > 0) {
        oversoldUnits += oversold;
        this.store.oversells.push({ orderId, lineItemId: lineItem.id, sku: variant.sku, inventoryItemId: item.id, locationId: location.id, units: oversold, availableBefore, at: now });
      }
    }
    this.fulfillments().openFulfillmentOrders(order);
    this.store.orders.set(order.id, order);
    this.store.emit({ topic: 'orders/create', order });
    if (order.financialStatus === 'PAID') this.store.emit({ topic: 'orders/paid', order });
    for (const level of touched) this.store.emit({ topic: 'inventory_levels/update', level });
    return { placed: true, order, oversoldUnits };
  }

  getOrder(ref: string | number): OrderRecord {
    const id = looseId(ref, 'Order');
    const order = id === null ? undefined : this.store.orders.get(id);
    if (!order) throw new NotFoundError('Order', String(ref));
    return order;
  }

  /**
   * Cancels an order. With `restock`, every unit not yet fulfilled or removed returns to
   * `available` at its location (and leaves `committed`).
   */
  cancelOrder(ref: string | number, options: { reason?: CancelReason; restock?: boolean; staffNote?: string | null } = {}): OrderRecord {
    const order = this.getOrder(ref);
    if (order.cancelledAt !== null) throw new AppError('ORDER_ALREADY_CANCELLED', `order ${order.name} is already cancelled`, { orderId: gid('Order', order.id) });
    const now = this.store.now();
    const restock = options.restock ?? true;
    const touched = new Set<LevelRecord>();
    const refundLines: RefundLineRecord[] = [];
    for (const line of order.lineItems) {
      const open = line.quantity - line.fulfilledQuantity - line.removedQuantity;
      if (open <= 0) continue;
      line.removedQuantity += open;
      refundLines.push({ id: this.store.nextId('RefundLineItem'), lineItemId: line.id, quantity: open, restockType: restock ? 'CANCEL' : 'NO_RESTOCK', locationId: restock ? line.locationId : null, subtotal: money(Number(line.price) * open) });
      const level = this.releaseCommitment(line, open, restock);
      if (level) touched.add(level);
    }
    order.cancelledAt = now;
    order.cancelReason = options.reason ?? 'OTHER';
    order.closedAt = now;
    order.updatedAt = now;
    if (order.financialStatus === 'PAID' || order.financialStatus === 'PARTIALLY_REFUNDED') order.financialStatus = 'REFUNDED';
    else if (order.financialStatus === 'AUTHORIZED' || order.financialStatus === 'PENDING') order.financialStatus = 'VOIDED';
    if (restock && order.lineItems.every((line) => line.fulfilledQuantity === 0)) order.fulfillmentStatus = 'RESTOCKED';
    let refund: RefundRecord | undefined;
    if (refundLines.length > 0) {
      refund = { __typename: 'Refund', id: this.store.nextId('Refund'), orderId: order.id, createdAt: now, note: options.staffNote ?? null, restock, lines: refundLines };
      order.refunds.push(refund);
    }
    this.fulfillments().syncOrder(order);
    this.store.emit({ topic: 'orders/cancelled', order });
    this.store.emit({ topic: 'orders/updated', order });
    if (refund) this.store.emit({ topic: 'refunds/create', order, refund });
    for (const level of touched) this.store.emit({ topic: 'inventory_levels/update', level });
    return order;
  }

  /** Releases units a line committed; with `restock` they become available again. */
  releaseCommitment(line: LineItemRecord, units: number, restock: boolean): LevelRecord | undefined {
    if (line.inventoryItemId === null || line.locationId === null) return undefined;
    const item = this.store.items.get(line.inventoryItemId);
    if (!item || !item.tracked) return undefined;
    const level = this.store.ensureLevel(item, line.locationId);
    level.committed -= units;
    if (restock) level.available += units;
    level.updatedAt = this.store.now();
    return restock ? level : undefined;
  }

  /** Refunds units of an order's lines, restocking unfulfilled (`CANCEL`) or returned (`RETURN`) units. */
  refundOrder(ref: string | number, input: { lines: RefundLineInput[]; note?: string | null }): RefundRecord {
    const order = this.getOrder(ref);
    if (input.lines.length === 0) throw new ValidationError('a refund needs at least one line');
    const now = this.store.now();
    const lines: RefundLineRecord[] = [];
    const touched = new Set<LevelRecord>();
    for (const requested of input.lines) {
      const line =
        requested.lineItemId !== undefined
          ? order.lineItems.find((candidate) => candidate.id === looseId(requested.lineItemId!, 'LineItem'))
          : order.lineItems.find((candidate) => candidate.sku !== null && requested.sku !== undefined && candidate.sku.toLowerCase() === requested.sku.toLowerCase());
      if (!line) throw new NotFoundError('Line item', String(requested.lineItemId ?? requested.sku));
      const refundable = line.quantity - line.removedQuantity;
      if (!Number.isInteger(requested.quantity) || requested.quantity < 1 || requested.quantity > refundable) {
        throw new ValidationError(`line ${line.sku ?? line.id}: can refund 1 to ${refundable} units`);
      }
      const unfulfilled = line.quantity - line.fulfilledQuantity - line.removedQuantity;
      const restockType = requested.restockType ?? (unfulfilled >= requested.quantity ? 'CANCEL' : 'RETURN');
      line.removedQuantity += requested.quantity;
      if (restockType === 'CANCEL' || (restockType === 'NO_RESTOCK' && unfulfilled > 0)) {
        const released = Math.min(requested.quantity, Math.max(0, unfulfilled));
        const level = this.releaseCommitment(line, released, restockType === 'CANCEL');
        if (level) touched.add(level);
      } else if (restockType === 'RETURN' && line.inventoryItemId !== null && line.locationId !== null) {
        const item = this.store.items.get(line.inventoryItemId);
        if (item?.tracked) {
          const level = this.store.ensureLevel(item, line.locationId);
          level.available += requested.quantity;
          level.updatedAt = now;
          touched.add(level);
        }
      }
      lines.push({ id: this.store.nextId('RefundLineItem'), lineItemId: line.id, quantity: requested.quantity, restockType, locationId: restockType === 'NO_RESTOCK' ? null : line.locationId, subtotal: money(Number(line.price) * requested.quantity) });
    }
    const refund: RefundRecord = { __typename: 'Refund', id: this.store.nextId('Refund'), orderId: order.id, createdAt: now, note: input.note ?? null, restock: lines.some((line) => line.restockType !== 'NO_RESTOCK'), lines };
    order.refunds.push(refund);
    order.updatedAt = now;
    const allRemoved = order.lineItems.every((line) => line.removedQuantity >= line.quantity);
    order.financialStatus = allRemoved ? 'REFUNDED' : 'PARTIALLY_REFUNDED';
    this.fulfillments().syncOrder(order);
    this.store.emit({ topic: 'refunds/create', order, refund });
    this.store.emit({ topic: 'orders/updated', order });
    for (const level of touched) this.store.emit({ topic: 'inventory_levels/update', level });
    return refund;
  }

  /**
   * A merchant marking an order fulfilled in the admin: every open unit (or the lines named)
   * ships, one fulfilment per fulfilment order; `committed` and `on_hand` go down, `available`
   * is unchanged.
   */
  fulfillOrder(ref: string | number, input: MerchantFulfillmentInput = {}): OrderRecord {
    const order = this.getOrder(ref);
    this.fulfillments().fulfillByMerchant(order, input);
    return order;
  }

  /** Units sold beyond stock, in total. */
  oversoldUnits(): number {
    return this.store.oversells.reduce((sum, record) => sum + record.units, 0);
  }

  static orderTotal(order: OrderRecord): number {
    return order.lineItems.reduce((sum, line) => sum + Number(line.price) * line.quantity, 0);
  }

  static currentOrderTotal(order: OrderRecord): number {
    return order.lineItems.reduce((sum, line) => sum + Number(line.price) * (line.quantity - line.removedQuantity), 0);
  }
}
