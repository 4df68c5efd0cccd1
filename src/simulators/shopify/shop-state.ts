import { CatalogueState } from './catalogue.state.js';
import { FulfillmentsState, type MerchantFulfillmentInput } from './fulfillments.state.js';
import { InventoryState, onHand, quantitiesOf, quantityOf, type AdjustQuantitiesInput, type InventoryResult, type SetQuantitiesInput } from './inventory.state.js';
import { compareDigest, MetafieldsState, type MetafieldsSetInput, type MetafieldUserError } from './metafields.state.js';
import { OrdersState, type PlaceOrderInput, type PlaceOrderResult, type RefundLineInput } from './orders.state.js';
import type { ParsedShopSeed, SeedResult, ShopSeed } from './seed.schema.js';
import type { CancelReason, LevelRecord, MetafieldRecord, OrderRecord, QuantityName, RefundRecord, ShopEvent, WebhookSubscriptionRecord } from './shop-state.models.js';
import { ShopStore, type ShopStateOptions, type UserError } from './shop-store.js';
import { WebhookSubscriptionsState } from './webhooks.state.js';

export { DEFAULT_INVENTORY_REASONS, type AdjustQuantitiesInput, type InventoryResult, type SetQuantitiesInput } from './inventory.state.js';
export type { PlaceOrderInput, PlaceOrderLine, PlaceOrderResult, RefundLineInput } from './orders.state.js';
export type { ShopStateOptions, UserError } from './shop-store.js';

/**
 * The simulated shop: one store of records (shop-store.ts) and one module per aggregate over
 * it, each holding the rules Shopify applies to its records: catalogue.state.ts,
 * inventory.state.ts, orders.state.ts, fulfillments.state.ts, metafields.state.ts and
 * webhooks.state.ts. GraphQL resolvers and the control API call the shop through this facade
 * (or a module directly); changes are announced as `ShopEvent`s for the webhook dispatcher.
 */
export class ShopState extends ShopStore {
  readonly catalogue: CatalogueState;
  readonly inventory: InventoryState;
  readonly orderRules: OrdersState;
  readonly fulfillments: FulfillmentsState;
  readonly metafields: MetafieldsState;
  readonly webhookRules: WebhookSubscriptionsState;

  constructor(options: ShopStateOptions) {
    super(options);
    this.metafields = new MetafieldsState({
      now: () => this.now(),
      nextId: (kind) => this.nextId(kind),
      ownerExists: (ownerType, ownerId) =>
        ownerType === 'PRODUCTVARIANT' ? this.variants.has(ownerId) : ownerType === 'PRODUCT' ? this.products.has(ownerId) : ownerType === 'ORDER' ? this.orders.has(ownerId) : this.locations.has(ownerId),
    });
    this.catalogue = new CatalogueState(this, this.metafields);
    this.inventory = new InventoryState(this, options.reasons);
    this.orderRules = new OrdersState(this, () => this.fulfillments);
    this.fulfillments = new FulfillmentsState({
      now: () => this.now(),
      nextId: (kind) => this.nextId(kind),
      emit: (event) => this.emit(event),
      findOrder: (id) => this.orders.get(id),
      releaseCommitment: (line, units, restock) => this.orderRules.releaseCommitment(line, units, restock),
    });
    this.webhookRules = new WebhookSubscriptionsState(this);
  }

  /** Announces a finished bulk operation (`bulk_operations/finish`). */
  announceBulkOperationFinished(bulkOperation: Extract<ShopEvent, { topic: 'bulk_operations/finish' }>['bulkOperation']): void {
    this.emit({ topic: 'bulk_operations/finish', bulkOperation });
  }

  // ---------------------------------------------------------------- catalogue

  /** Adds a catalogue (see seed.schema.ts); it adds to what is there, it does not replace it. */
  seed(input: ShopSeed | ParsedShopSeed): SeedResult {
    return this.catalogue.seed(input);
  }

  // ---------------------------------------------------------------- inventory

  setQuantities(input: SetQuantitiesInput): InventoryResult {
    return this.inventory.setQuantities(input);
  }

  adjustQuantities(input: AdjustQuantitiesInput): InventoryResult {
    return this.inventory.adjustQuantities(input);
  }

  activateInventory(itemRef: string, locationRef: string, available: number | null, onHandQuantity: number | null): { level: LevelRecord | null; userErrors: UserError[] } {
    return this.inventory.activateInventory(itemRef, locationRef, available, onHandQuantity);
  }

  setQuantityByMerchant(input: Parameters<InventoryState['setQuantityByMerchant']>[0]): LevelRecord {
    return this.inventory.setQuantityByMerchant(input);
  }

  static onHand(level: LevelRecord): number {
    return onHand(level);
  }

  static quantity(level: LevelRecord | undefined, name: QuantityName): number {
    return quantityOf(level, name);
  }

  static quantitiesOf(level: LevelRecord | undefined): Record<QuantityName, number> {
    return quantitiesOf(level);
  }

  // ---------------------------------------------------------------- orders and fulfilment

  placeOrder(input: PlaceOrderInput): PlaceOrderResult {
    return this.orderRules.placeOrder(input);
  }

  getOrder(ref: string | number): OrderRecord {
    return this.orderRules.getOrder(ref);
  }

  cancelOrder(ref: string | number, options: { reason?: CancelReason; restock?: boolean; staffNote?: string | null } = {}): OrderRecord {
    return this.orderRules.cancelOrder(ref, options);
  }

  refundOrder(ref: string | number, input: { lines: RefundLineInput[]; note?: string | null }): RefundRecord {
    return this.orderRules.refundOrder(ref, input);
  }

  fulfillOrder(ref: string | number, input: MerchantFulfillmentInput = {}): OrderRecord {
    return this.orderRules.fulfillOrder(ref, input);
  }

  oversoldUnits(): number {
    return this.orderRules.oversoldUnits();
  }

  static orderTotal(order: OrderRecord): number {
    return OrdersState.orderTotal(order);
  }

  static currentOrderTotal(order: OrderRecord): number {
    return OrdersState.currentOrderTotal(order);
  }

  // ---------------------------------------------------------------- webhook subscriptions

  createWebhookSubscription(input: Parameters<WebhookSubscriptionsState['createWebhookSubscription']>[0]): { subscription: WebhookSubscriptionRecord | null; userErrors: UserError[] } {
    return this.webhookRules.createWebhookSubscription(input);
  }

  updateWebhookSubscription(ref: string, input: Parameters<WebhookSubscriptionsState['updateWebhookSubscription']>[1]): { subscription: WebhookSubscriptionRecord | null; userErrors: UserError[] } {
    return this.webhookRules.updateWebhookSubscription(ref, input);
  }

  deleteWebhookSubscription(ref: string | number): number | null {
    return this.webhookRules.deleteWebhookSubscription(ref);
  }

  // ---------------------------------------------------------------- metafields

  metafieldsOf(ownerType: MetafieldRecord['ownerType'], ownerId: number): MetafieldRecord[] {
    return this.metafields.metafieldsOf(ownerType, ownerId);
  }

  findMetafield(ownerType: MetafieldRecord['ownerType'], ownerId: number, namespace: string, key: string): MetafieldRecord | undefined {
    return this.metafields.findMetafield(ownerType, ownerId, namespace, key);
  }

  static compareDigest(metafield: MetafieldRecord): string {
    return compareDigest(metafield);
  }

  setMetafields(inputs: MetafieldsSetInput[]): { metafields: MetafieldRecord[] | null; userErrors: MetafieldUserError[] } {
    return this.metafields.setMetafields(inputs);
  }
}
