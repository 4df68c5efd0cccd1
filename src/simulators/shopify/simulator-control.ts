import type { AdminApiFaults } from './admin-faults.js';
import type { CostBucket, PlanLimits, ShopifyPlanName, ThrottleStatus } from './cost-bucket.js';
import { SHOPIFY_PLANS } from './cost-bucket.js';
import type { MerchantFulfillmentInput } from './fulfillments.state.js';
import { gid, inventoryLevelGid, looseId } from './gid.js';
import type { AdminRequestLogEntry, RequestLog } from './request-log.js';
import type { SeedResult, ShopSeed } from './seed.schema.js';
import { ShopState, type PlaceOrderInput, type RefundLineInput } from './shop-state.js';
import type { CancelReason, InventoryItemRecord, LevelRecord, OrderRecord, OversellRecord, QuantityName } from './shop-state.models.js';
import type { WebhookDelivery, WebhookDispatcher, WebhookFaults } from './webhook-dispatcher.js';
import { AppError, ValidationError } from '../../shared/errors.js';

/**
 * The simulator's control API in process (`simulator.state`): what tests, the demo and
 * benchmarks use to arrange a scenario (seed, checkout, a merchant's edit, faults, plan) and to
 * observe the outcome (levels, orders, oversells, the request log, webhook deliveries). The
 * HTTP control routes under `/_simulator/` call these same methods. Ids in and out are Shopify
 * gids; numeric ids, SKUs and location keys or names are accepted where noted.
 */

export interface LevelView {
  inventoryItemId: string;
  locationId: string;
  levelId: string;
  sku: string | null;
  quantities: Record<QuantityName, number>;
  isActive: boolean;
  updatedAt: string;
}

export interface OrderLineView {
  id: string;
  sku: string | null;
  variantId: string | null;
  inventoryItemId: string | null;
  locationId: string | null;
  quantity: number;
  currentQuantity: number;
  fulfilledQuantity: number;
  price: string;
}

export interface OrderView {
  id: string;
  legacyId: number;
  name: string;
  createdAt: string;
  updatedAt: string;
  cancelledAt: string | null;
  cancelReason: string | null;
  financialStatus: string;
  fulfillmentStatus: string;
  lines: OrderLineView[];
  fulfillmentOrders: FulfillmentOrderView[];
  fulfillments: FulfillmentView[];
}

export interface FulfillmentOrderView {
  id: string;
  locationId: string;
  status: string;
  lines: { id: string; lineItemId: string; sku: string | null; totalQuantity: number; remainingQuantity: number }[];
}

export interface FulfillmentView {
  id: string;
  name: string;
  locationId: string;
  status: string;
  createdBy: 'app' | 'merchant';
  createdAt: string;
  notifyCustomer: boolean;
  tracking: { company: string | null; number: string | null; url: string | null }[];
  lines: { lineItemId: string; sku: string | null; quantity: number }[];
}

export interface OversellView {
  orderId: string;
  lineItemId: string;
  sku: string | null;
  inventoryItemId: string;
  locationId: string;
  units: number;
  availableBefore: number;
  at: string;
}

export type PlaceOrderView =
  | { placed: true; order: OrderView; oversoldUnits: number }
  | { placed: false; code: 'INSUFFICIENT_STOCK'; message: string; lines: { sku: string | null; requested: number; available: number; locationId: string }[] };

export interface SimulatorControlDependencies {
  shop: ShopState;
  requestLog: RequestLog;
  webhooks: WebhookDispatcher;
  buckets: Map<string, CostBucket>;
  defaultToken: string;
  plan: () => PlanLimits;
  setPlan: (plan: PlanLimits) => void;
  adminFaults: () => AdminApiFaults;
  setAdminFaults: (faults: AdminApiFaults) => void;
}

function iso(ms: number | null): string | null {
  return ms === null ? null : new Date(ms).toISOString();
}

export function levelView(item: InventoryItemRecord, level: LevelRecord): LevelView {
  return {
    inventoryItemId: gid('InventoryItem', item.id),
    locationId: gid('Location', level.locationId),
    levelId: inventoryLevelGid(level.locationId, item.id),
    sku: item.sku,
    quantities: ShopState.quantitiesOf(level),
    isActive: level.isActive,
    updatedAt: new Date(level.updatedAt).toISOString(),
  };
}

export function orderView(order: OrderRecord): OrderView {
  const skuOf = (lineItemId: number) => order.lineItems.find((line) => line.id === lineItemId)?.sku ?? null;
  return {
    id: gid('Order', order.id),
    legacyId: order.id,
    name: order.name,
    createdAt: new Date(order.createdAt).toISOString(),
    updatedAt: new Date(order.updatedAt).toISOString(),
    cancelledAt: iso(order.cancelledAt),
    cancelReason: order.cancelReason,
    financialStatus: order.financialStatus,
    fulfillmentStatus: order.fulfillmentStatus,
    lines: order.lineItems.map((line) => ({
      id: gid('LineItem', line.id),
      sku: line.sku,
      variantId: line.variantId === null ? null : gid('ProductVariant', line.variantId),
      inventoryItemId: line.inventoryItemId === null ? null : gid('InventoryItem', line.inventoryItemId),
      locationId: line.locationId === null ? null : gid('Location', line.locationId),
      quantity: line.quantity,
      currentQuantity: line.quantity - line.removedQuantity,
      fulfilledQuantity: line.fulfilledQuantity,
      price: line.price,
    })),
    fulfillmentOrders: order.fulfillmentOrders.map((fulfillmentOrder) => ({
      id: gid('FulfillmentOrder', fulfillmentOrder.id),
      locationId: gid('Location', fulfillmentOrder.locationId),
      status: fulfillmentOrder.status,
      lines: fulfillmentOrder.lineItems.map((lineItem) => ({
        id: gid('FulfillmentOrderLineItem', lineItem.id),
        lineItemId: gid('LineItem', lineItem.lineItemId),
        sku: skuOf(lineItem.lineItemId),
        totalQuantity: lineItem.totalQuantity,
        remainingQuantity: lineItem.remainingQuantity,
      })),
    })),
    fulfillments: order.fulfillments.map((fulfillment) => ({
      id: gid('Fulfillment', fulfillment.id),
      name: fulfillment.name,
      locationId: gid('Location', fulfillment.locationId),
      status: fulfillment.status,
      createdBy: fulfillment.createdBy,
      createdAt: new Date(fulfillment.createdAt).toISOString(),
      notifyCustomer: fulfillment.notifyCustomer,
      tracking: fulfillment.tracking.map((tracking) => ({ ...tracking })),
      lines: fulfillment.lines.map((line) => ({ lineItemId: gid('LineItem', line.lineItemId), sku: skuOf(line.lineItemId), quantity: line.quantity })),
    })),
  };
}

function oversellView(record: OversellRecord): OversellView {
  return {
    orderId: gid('Order', record.orderId),
    lineItemId: gid('LineItem', record.lineItemId),
    sku: record.sku,
    inventoryItemId: gid('InventoryItem', record.inventoryItemId),
    locationId: gid('Location', record.locationId),
    units: record.units,
    availableBefore: record.availableBefore,
    at: new Date(record.at).toISOString(),
  };
}

export function resolvePlan(plan: ShopifyPlanName | PlanLimits | string): PlanLimits {
  if (typeof plan === 'object') {
    if (!(plan.maximumAvailable > 0) || !(plan.restoreRate > 0)) throw new ValidationError('a custom plan needs a positive maximumAvailable and restoreRate');
    return { name: plan.name ?? 'custom', maximumAvailable: plan.maximumAvailable, restoreRate: plan.restoreRate };
  }
  const known = (SHOPIFY_PLANS as Record<string, PlanLimits>)[plan];
  if (!known) throw new ValidationError(`unknown plan "${plan}": use standard, advanced, plus or enterprise`, { plan });
  return known;
}

export class SimulatorControl {
  constructor(private readonly deps: SimulatorControlDependencies) {}

  /** The shop's records, for tests that need more than the views below. */
  get shop(): ShopState {
    return this.deps.shop;
  }

  // ------------------------------------------------------------ catalogue and inventory

  /** Adds locations and products (see seed.schema.ts). */
  seed(catalogue: ShopSeed): SeedResult {
    return this.deps.shop.seed(catalogue);
  }

  /** Quantities of one item (by gid, id or SKU) at one location (by gid, id, key or name); null if it has no level there. */
  level(input: { inventoryItemId?: string | number; sku?: string; location: string | number }): LevelView | null {
    const item = this.findItem(input);
    const location = this.deps.shop.getLocation(input.location);
    const level = item.levels.get(location.id);
    return level ? levelView(item, level) : null;
  }

  /** Every level, optionally of one item or at one location. */
  levels(filter: { inventoryItemId?: string | number; sku?: string; location?: string | number } = {}): LevelView[] {
    const shop = this.deps.shop;
    const location = filter.location !== undefined ? shop.getLocation(filter.location) : undefined;
    if (filter.inventoryItemId !== undefined || filter.sku !== undefined) {
      const items = filter.sku !== undefined && filter.inventoryItemId === undefined ? shop.findItemsBySku(filter.sku) : [this.findItem(filter)];
      return items.flatMap((item) => [...item.levels.values()].filter((level) => !location || level.locationId === location.id).map((level) => levelView(item, level)));
    }
    if (location) return shop.levelsAtLocation(location.id, true).map((level) => levelView(shop.items.get(level.itemId)!, level));
    return shop.itemsById().flatMap((item) => [...item.levels.values()].map((level) => levelView(item, level)));
  }

  /** A merchant's manual edit in the admin: sets `available` (or `on_hand`) without compare-and-set. */
  setQuantity(input: { inventoryItemId?: string | number; sku?: string; location: string | number; name?: 'available' | 'on_hand'; quantity: number }): LevelView {
    const level = this.deps.shop.setQuantityByMerchant(input);
    return levelView(this.deps.shop.items.get(level.itemId)!, level);
  }

  private findItem(input: { inventoryItemId?: string | number; sku?: string }): InventoryItemRecord {
    const variant = this.deps.shop.findVariant({ inventoryItemId: input.inventoryItemId, sku: input.sku });
    if (!variant) throw new AppError('NOT_FOUND', `no inventory item ${String(input.inventoryItemId ?? input.sku)}`);
    return this.deps.shop.items.get(variant.inventoryItemId)!;
  }

  // ------------------------------------------------------------ orders

  /** A customer's checkout; refused (not thrown) when stock is short and the variant denies overselling. */
  placeOrder(input: PlaceOrderInput): PlaceOrderView {
    const result = this.deps.shop.placeOrder(input);
    return result.placed ? { placed: true, order: orderView(result.order), oversoldUnits: result.oversoldUnits } : result;
  }

  cancelOrder(id: string | number, options: { reason?: CancelReason; restock?: boolean; staffNote?: string | null } = {}): OrderView {
    return orderView(this.deps.shop.cancelOrder(id, options));
  }

  refundOrder(id: string | number, input: { lines: RefundLineInput[]; note?: string | null }): OrderView {
    const order = this.deps.shop.getOrder(id);
    this.deps.shop.refundOrder(order.id, input);
    return orderView(order);
  }

  /**
   * A merchant fulfilling by hand in the admin (not through the app): every open unit, or the
   * lines named, with tracking when given. Sends `fulfillments/create` and the order topics.
   */
  fulfillOrder(id: string | number, input: MerchantFulfillmentInput = {}): OrderView {
    return orderView(this.deps.shop.fulfillOrder(id, input));
  }

  orders(): OrderView[] {
    return [...this.deps.shop.orders.values()].map(orderView);
  }

  order(id: string | number): OrderView {
    return orderView(this.deps.shop.getOrder(id));
  }

  /** Units sold beyond stock, in total and per order line. */
  oversells(): { units: number; records: OversellView[] } {
    return { units: this.deps.shop.oversoldUnits(), records: this.deps.shop.oversells.map(oversellView) };
  }

  // ------------------------------------------------------------ rate limits and faults

  plan(): PlanLimits {
    return this.deps.plan();
  }

  /** Switches plan for every token; points held are kept up to the new bucket size. */
  setPlan(plan: ShopifyPlanName | PlanLimits | string): PlanLimits {
    const limits = resolvePlan(plan);
    this.deps.setPlan(limits);
    return limits;
  }

  /** The leaky bucket of a token (default: the first token). */
  bucket(token?: string): ThrottleStatus {
    return this.bucketOf(token).status();
  }

  /** Sets the points in a token's bucket, e.g. to start a test from a drained bucket. */
  setBucketAvailable(points: number, token?: string): ThrottleStatus {
    const bucket = this.bucketOf(token);
    bucket.setAvailable(points);
    return bucket.status();
  }

  private bucketOf(token?: string): CostBucket {
    const bucket = this.deps.buckets.get(token ?? this.deps.defaultToken);
    if (!bucket) throw new AppError('NOT_FOUND', 'no such access token');
    return bucket;
  }

  faults(): { admin: AdminApiFaults; webhooks: WebhookFaults } {
    return { admin: this.deps.adminFaults(), webhooks: this.deps.webhooks.currentFaults() };
  }

  setAdminFaults(faults: AdminApiFaults): void {
    this.deps.setAdminFaults({ ...faults, script: faults.script ? [...faults.script] : undefined });
  }

  setWebhookFaults(faults: WebhookFaults): void {
    this.deps.webhooks.setFaults(faults);
  }

  clearFaults(): void {
    this.deps.setAdminFaults({});
    this.deps.webhooks.setFaults({});
  }

  // ------------------------------------------------------------ observation

  requestLog(): AdminRequestLogEntry[] {
    return this.deps.requestLog.list();
  }

  clearRequestLog(): void {
    this.deps.requestLog.clear();
  }

  webhookDeliveries(): WebhookDelivery[] {
    return this.deps.webhooks.list();
  }

  /** Waits until no webhook delivery is queued or in flight (later retries are not awaited). */
  settleWebhooks(): Promise<void> {
    return this.deps.webhooks.settle();
  }

  webhookSubscriptions(): { id: string; topic: string; uri: string; name: string | null; includeFields: string[]; apiVersion: string }[] {
    return [...this.deps.shop.webhookSubscriptions.values()].map((subscription) => ({
      id: gid('WebhookSubscription', subscription.id),
      topic: subscription.topic,
      uri: subscription.uri,
      name: subscription.name,
      includeFields: subscription.includeFields,
      apiVersion: subscription.apiVersion,
    }));
  }

  /** Multiplies Shopify's 4-hour webhook retry schedule (1 = real time). */
  setWebhookTimeScale(timeScale: number): void {
    if (!(timeScale > 0)) throw new ValidationError('timeScale must be positive');
    this.deps.webhooks.setTimeScale(timeScale);
  }

  /** Numeric id of a gid or id, for callers holding REST ids. */
  static numericId(value: string | number, type: string): number | null {
    return looseId(value, type);
  }
}
