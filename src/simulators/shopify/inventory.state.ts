import { NotFoundError, ValidationError } from '../../shared/errors.js';
import { idOfType } from './gid.js';
import type { ShopStore, UserError } from './shop-store.js';
import {
  QUANTITY_NAMES,
  type AdjustmentGroupRecord,
  type InventoryChangeRecord,
  type InventoryItemRecord,
  type LevelRecord,
  type LocationRecord,
  type QuantityName,
  type StoredQuantityName,
} from './shop-state.models.js';

/**
 * Inventory quantities with Shopify's rules: `inventorySetQuantities` and
 * `inventoryAdjustQuantities` (compare-and-set on `changeFromQuantity`, atomic calls, reasons,
 * reference and ledger documents, bounds), `inventoryActivate`, and a merchant's edit in the
 * admin. Every change of `available` is announced (`inventory_levels/update`), the app's own
 * writes included, as Shopify does.
 */

/** Shopify's documented inventory reasons (manage-quantities-states). */
export const DEFAULT_INVENTORY_REASONS = [
  'correction',
  'cycle_count_available',
  'damaged',
  'movement_created',
  'movement_updated',
  'movement_received',
  'movement_canceled',
  'other',
  'promotion',
  'quality_control',
  'received',
  'reservation_created',
  'reservation_deleted',
  'reservation_updated',
  'restock',
  'safety_stock',
  'shrinkage',
] as const;

const SET_QUANTITY_LIMIT = 1_000_000_000;
const ADJUST_QUANTITY_LIMIT = 2_000_000_000;
const ADJUSTMENT_GROUPS_KEPT = 5_000;

const URI_PATTERN = /^[a-z][a-z0-9+.-]*:\/\/?\S+$/i;

export interface SetQuantitiesInput {
  name: string;
  reason: string;
  referenceDocumentUri?: string | null;
  quantities: { inventoryItemId: string; locationId: string; quantity: number; changeFromQuantity: number | null }[];
}

export interface AdjustQuantitiesInput {
  name: string;
  reason: string;
  referenceDocumentUri?: string | null;
  changes: { inventoryItemId: string; locationId: string; delta: number; changeFromQuantity: number | null; ledgerDocumentUri?: string | null }[];
}

export interface InventoryResult {
  group: AdjustmentGroupRecord | null;
  userErrors: UserError[];
}

/** `on_hand`: the sum of the stored states (`incoming` is not on hand). */
export function onHand(level: LevelRecord): number {
  return level.available + level.committed + level.reserved + level.damaged + level.safety_stock + level.quality_control;
}

export function quantityOf(level: LevelRecord | undefined, name: QuantityName): number {
  if (!level) return 0;
  return name === 'on_hand' ? onHand(level) : level[name];
}

export function quantitiesOf(level: LevelRecord | undefined): Record<QuantityName, number> {
  const result = {} as Record<QuantityName, number>;
  for (const name of QUANTITY_NAMES) result[name] = quantityOf(level, name);
  return result;
}

export class InventoryState {
  private readonly reasons: Set<string>;

  constructor(
    private readonly store: ShopStore,
    reasons: readonly string[] = DEFAULT_INVENTORY_REASONS,
  ) {
    this.reasons = new Set(reasons);
  }

  /** Resolves a quantity-input's ids; the user error names the input path when one is unknown. */
  private resolveItemAndLocation(
    itemRef: string,
    locationRef: string,
    path: string[],
    codes: { item: string; location: string },
  ): { item: InventoryItemRecord; location: LocationRecord } | UserError {
    const itemId = idOfType(itemRef, 'InventoryItem');
    const item = itemId === null ? undefined : this.store.items.get(itemId);
    if (!item) return { field: [...path, 'inventoryItemId'], message: 'The specified inventory item could not be found.', code: codes.item };
    const locationId = idOfType(locationRef, 'Location');
    const location = locationId === null ? undefined : this.store.locations.get(locationId);
    if (!location || !location.isActive) return { field: [...path, 'locationId'], message: 'The specified location could not be found.', code: codes.location };
    return { item, location };
  }

  private checkReasonAndReference(reason: string, referenceDocumentUri: string | null | undefined, errors: UserError[]): void {
    if (!this.reasons.has(reason)) errors.push({ field: ['input', 'reason'], message: 'The specified reason is invalid.', code: 'INVALID_REASON' });
    if (referenceDocumentUri !== null && referenceDocumentUri !== undefined && !URI_PATTERN.test(referenceDocumentUri)) {
      errors.push({ field: ['input', 'referenceDocumentUri'], message: 'The specified reference document is invalid.', code: 'INVALID_REFERENCE_DOCUMENT' });
    }
  }

  /**
   * `inventorySetQuantities` (2026-10): absolute values of `available` or `on_hand`, each with a
   * compare-and-set on `changeFromQuantity` (null skips it). Atomic: if any quantity has a user
   * error, nothing is applied. A call that changes nothing returns no adjustment group.
   */
  setQuantities(input: SetQuantitiesInput): InventoryResult {
    const errors: UserError[] = [];
    const name = input.name;
    if (name !== 'available' && name !== 'on_hand') {
      errors.push({ field: ['input', 'name'], message: "The quantity name must be either 'available' or 'on_hand'.", code: 'INVALID_NAME' });
    }
    this.checkReasonAndReference(input.reason, input.referenceDocumentUri, errors);
    const seen = new Set<string>();
    const planned: { item: InventoryItemRecord; location: LocationRecord; quantity: number }[] = [];
    input.quantities.forEach((quantity, index) => {
      const path = ['input', 'quantities', String(index)];
      const resolved = this.resolveItemAndLocation(quantity.inventoryItemId, quantity.locationId, path, { item: 'INVALID_INVENTORY_ITEM', location: 'INVALID_LOCATION' });
      if ('code' in resolved) {
        errors.push(resolved);
        return;
      }
      const { item, location } = resolved;
      const pair = `${item.id}:${location.id}`;
      if (seen.has(pair)) {
        errors.push({ field: path, message: 'The combination of inventoryItemId and locationId must be unique.', code: 'NO_DUPLICATE_INVENTORY_ITEM_ID_GROUP_ID_PAIR' });
        return;
      }
      seen.add(pair);
      if (item.nonMutable) {
        errors.push({ field: [...path, 'inventoryItemId'], message: 'The specified inventory item is not allowed to be adjusted via API. Example: if the inventory item is a parent bundle.', code: 'NON_MUTABLE_INVENTORY_ITEM' });
        return;
      }
      if (!item.tracked) {
        errors.push({ field: [...path, 'inventoryItemId'], message: "The specified inventory item doesn't track inventory, so its quantities can't be set.", code: 'NON_MUTABLE_INVENTORY_ITEM' });
        return;
      }
      if (quantity.quantity > SET_QUANTITY_LIMIT) {
        errors.push({ field: [...path, 'quantity'], message: "The total quantity can't be higher than 1,000,000,000.", code: 'INVALID_QUANTITY_TOO_HIGH' });
        return;
      }
      if (quantity.quantity < -SET_QUANTITY_LIMIT) {
        errors.push({ field: [...path, 'quantity'], message: "The total quantity can't be lower than -1,000,000,000.", code: 'INVALID_QUANTITY_TOO_LOW' });
        return;
      }
      if (name === 'on_hand' && quantity.quantity < 0) {
        errors.push({ field: [...path, 'quantity'], message: "The quantity can't be negative.", code: 'INVALID_QUANTITY_NEGATIVE' });
        return;
      }
      if (name === 'available' || name === 'on_hand') {
        const current = quantityOf(item.levels.get(location.id), name);
        if (quantity.changeFromQuantity !== null && quantity.changeFromQuantity !== current) {
          errors.push({ field: [...path, 'changeFromQuantity'], message: 'The changeFromQuantity value does not match persisted value.', code: 'CHANGE_FROM_QUANTITY_STALE' });
          return;
        }
      }
      planned.push({ item, location, quantity: quantity.quantity });
    });
    if (errors.length > 0) return { group: null, userErrors: errors };

    const changes: InventoryChangeRecord[] = [];
    const changedLevels: LevelRecord[] = [];
    const now = this.store.now();
    for (const { item, location, quantity } of planned) {
      const level = this.store.ensureLevel(item, location.id);
      const before = quantityOf(level, name as QuantityName);
      const delta = quantity - before;
      if (delta === 0) continue;
      level.available += delta;
      level.updatedAt = now;
      item.updatedAt = now;
      changes.push({ name: 'available', delta, quantityAfterChange: level.available, itemId: item.id, locationId: location.id, ledgerDocumentUri: null });
      changes.push({ name: 'on_hand', delta, quantityAfterChange: onHand(level), itemId: item.id, locationId: location.id, ledgerDocumentUri: null });
      changedLevels.push(level);
    }
    if (changes.length === 0) return { group: null, userErrors: [] };
    const group = this.recordAdjustment(input.reason, input.referenceDocumentUri ?? null, changes);
    for (const level of changedLevels) this.store.emit({ topic: 'inventory_levels/update', level });
    return { group, userErrors: [] };
  }

  /**
   * `inventoryAdjustQuantities` (2026-10): deltas on one quantity name, with compare-and-set on
   * `changeFromQuantity` and Shopify's ledger-document rules. Atomic like `setQuantities`.
   */
  adjustQuantities(input: AdjustQuantitiesInput): InventoryResult {
    const errors: UserError[] = [];
    const adjustable = new Set<string>(['available', 'on_hand', 'damaged', 'incoming', 'quality_control', 'reserved', 'safety_stock']);
    const name = input.name;
    if (!adjustable.has(name)) {
      errors.push({ field: ['input', 'name'], message: 'The quantity name must be one of the adjustable quantity names.', code: 'INVALID_QUANTITY_NAME' });
    }
    this.checkReasonAndReference(input.reason, input.referenceDocumentUri, errors);
    const ledgers = new Set<string>();
    const planned: { item: InventoryItemRecord; location: LocationRecord; delta: number; ledger: string | null }[] = [];
    const pending = new Map<string, number>();
    input.changes.forEach((change, index) => {
      const path = ['input', 'changes', String(index)];
      const ledger = change.ledgerDocumentUri ?? null;
      if (ledger !== null) {
        if (name === 'available') {
          errors.push({ field: [...path, 'ledgerDocumentUri'], message: 'A ledger document URI is not allowed when adjusting available.', code: 'INVALID_AVAILABLE_DOCUMENT' });
          return;
        }
        if (ledger.startsWith('gid://shopify/')) {
          errors.push({ field: [...path, 'ledgerDocumentUri'], message: 'Internal (gid://shopify/) ledger documents are not allowed to be adjusted via API.', code: 'INTERNAL_LEDGER_DOCUMENT' });
          return;
        }
        if (!URI_PATTERN.test(ledger)) {
          errors.push({ field: [...path, 'ledgerDocumentUri'], message: 'The specified ledger document is invalid.', code: 'INVALID_LEDGER_DOCUMENT' });
          return;
        }
        ledgers.add(ledger);
      } else if (name !== 'available' && adjustable.has(name)) {
        errors.push({ field: [...path, 'ledgerDocumentUri'], message: 'A ledger document URI is required for this quantity name.', code: 'INVALID_QUANTITY_DOCUMENT' });
        return;
      }
      const resolved = this.resolveItemAndLocation(change.inventoryItemId, change.locationId, path, { item: 'INVALID_INVENTORY_ITEM', location: 'INVALID_LOCATION' });
      if ('code' in resolved) {
        errors.push(resolved);
        return;
      }
      const { item, location } = resolved;
      if (item.nonMutable || !item.tracked) {
        errors.push({ field: [...path, 'inventoryItemId'], message: 'The specified inventory item is not allowed to be adjusted via API.', code: 'NON_MUTABLE_INVENTORY_ITEM' });
        return;
      }
      const pair = `${item.id}:${location.id}`;
      const current = (pending.get(pair) ?? 0) + quantityOf(item.levels.get(location.id), adjustable.has(name) ? (name as QuantityName) : 'available');
      if (change.changeFromQuantity !== null && change.changeFromQuantity !== current) {
        errors.push({ field: [...path, 'changeFromQuantity'], message: 'The changeFromQuantity argument no longer matches the persisted quantity.', code: 'CHANGE_FROM_QUANTITY_STALE' });
        return;
      }
      const after = current + change.delta;
      if (after > ADJUST_QUANTITY_LIMIT) {
        errors.push({ field: [...path, 'delta'], message: "The quantity can't be higher than 2,000,000,000.", code: 'INVALID_QUANTITY_TOO_HIGH' });
        return;
      }
      if (after < -ADJUST_QUANTITY_LIMIT) {
        errors.push({ field: [...path, 'delta'], message: "The quantity can't be lower than -2,000,000,000.", code: 'INVALID_QUANTITY_TOO_LOW' });
        return;
      }
      pending.set(pair, after - quantityOf(item.levels.get(location.id), adjustable.has(name) ? (name as QuantityName) : 'available'));
      planned.push({ item, location, delta: change.delta, ledger });
    });
    if (ledgers.size > 1) errors.push({ field: ['input', 'changes'], message: 'Only one ledger document is allowed per call.', code: 'MAX_ONE_LEDGER_DOCUMENT' });
    if (errors.length > 0) return { group: null, userErrors: errors };

    const changes: InventoryChangeRecord[] = [];
    const changedAvailable = new Set<LevelRecord>();
    const now = this.store.now();
    for (const { item, location, delta, ledger } of planned) {
      const level = this.store.ensureLevel(item, location.id);
      if (name === 'available' || name === 'on_hand') {
        level.available += delta;
        changedAvailable.add(level);
        if (name === 'available') {
          changes.push({ name: 'available', delta, quantityAfterChange: level.available, itemId: item.id, locationId: location.id, ledgerDocumentUri: null });
          changes.push({ name: 'on_hand', delta, quantityAfterChange: onHand(level), itemId: item.id, locationId: location.id, ledgerDocumentUri: null });
        } else {
          changes.push({ name: 'on_hand', delta, quantityAfterChange: onHand(level), itemId: item.id, locationId: location.id, ledgerDocumentUri: ledger });
          changes.push({ name: 'available', delta, quantityAfterChange: level.available, itemId: item.id, locationId: location.id, ledgerDocumentUri: null });
        }
      } else {
        const stored = name as StoredQuantityName;
        level[stored] += delta;
        changes.push({ name: stored, delta, quantityAfterChange: level[stored], itemId: item.id, locationId: location.id, ledgerDocumentUri: ledger });
        if (stored !== 'incoming') changes.push({ name: 'on_hand', delta, quantityAfterChange: onHand(level), itemId: item.id, locationId: location.id, ledgerDocumentUri: null });
      }
      level.updatedAt = now;
      item.updatedAt = now;
    }
    const group = this.recordAdjustment(input.reason, input.referenceDocumentUri ?? null, changes);
    for (const level of changedAvailable) this.store.emit({ topic: 'inventory_levels/update', level });
    return { group, userErrors: [] };
  }

  /** `inventoryActivate`: makes a location stock an item, optionally with starting quantities. */
  activateInventory(itemRef: string, locationRef: string, available: number | null, onHandQuantity: number | null): { level: LevelRecord | null; userErrors: UserError[] } {
    const resolved = this.resolveItemAndLocation(itemRef, locationRef, [], { item: 'INVALID_INVENTORY_ITEM', location: 'INVALID_LOCATION' });
    if ('code' in resolved) return { level: null, userErrors: [{ field: resolved.field?.slice(-1) ?? null, message: resolved.message, code: null }] };
    const existed = resolved.item.levels.get(resolved.location.id);
    const level = this.store.ensureLevel(resolved.item, resolved.location.id);
    const before = level.available;
    if (!existed || available !== null || onHandQuantity !== null) {
      if (available !== null) level.available = available;
      else if (onHandQuantity !== null) level.available += onHandQuantity - onHand(level);
      level.updatedAt = this.store.now();
    }
    if (level.available !== before) this.store.emit({ topic: 'inventory_levels/update', level });
    return { level, userErrors: [] };
  }

  /**
   * A merchant's manual edit in the Shopify admin: sets one quantity with no compare-and-set,
   * so the next compare-and-set from an integration sees it as a concurrent change.
   */
  setQuantityByMerchant(input: { inventoryItemId?: string | number; sku?: string; location: string | number; name?: 'available' | 'on_hand'; quantity: number }): LevelRecord {
    const variant = this.store.findVariant({ inventoryItemId: input.inventoryItemId, sku: input.sku });
    if (!variant) throw new NotFoundError('Inventory item', String(input.inventoryItemId ?? input.sku));
    const item = this.store.items.get(variant.inventoryItemId)!;
    const location = this.store.getLocation(input.location);
    if (!Number.isInteger(input.quantity) || Math.abs(input.quantity) > SET_QUANTITY_LIMIT) throw new ValidationError('quantity must be an integer within ±1,000,000,000');
    const level = this.store.ensureLevel(item, location.id);
    const name = input.name ?? 'available';
    const delta = input.quantity - quantityOf(level, name);
    if (delta !== 0) {
      level.available += delta;
      level.updatedAt = this.store.now();
      item.updatedAt = level.updatedAt;
      this.recordAdjustment('correction', null, [
        { name: 'available', delta, quantityAfterChange: level.available, itemId: item.id, locationId: location.id, ledgerDocumentUri: null },
        { name: 'on_hand', delta, quantityAfterChange: onHand(level), itemId: item.id, locationId: location.id, ledgerDocumentUri: null },
      ]);
      this.store.emit({ topic: 'inventory_levels/update', level });
    }
    return level;
  }

  private recordAdjustment(reason: string, referenceDocumentUri: string | null, changes: InventoryChangeRecord[]): AdjustmentGroupRecord {
    const group: AdjustmentGroupRecord = { __typename: 'InventoryAdjustmentGroup', id: this.store.nextId('InventoryAdjustmentGroup'), createdAt: this.store.now(), reason, referenceDocumentUri, changes };
    this.store.adjustmentGroups.set(group.id, group);
    if (this.store.adjustmentGroups.size > ADJUSTMENT_GROUPS_KEPT) {
      const oldest = this.store.adjustmentGroups.keys().next().value;
      if (oldest !== undefined) this.store.adjustmentGroups.delete(oldest);
    }
    return group;
  }
}
