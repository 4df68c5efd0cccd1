import type { PushTarget, ShopifyPushGroup } from './inventory.models.js';
import { toShopifyUnits } from './unit-conversion.js';

/**
 * Groups push targets by Shopify item × location: several ERP locations may feed one Shopify
 * location, and Shopify has one `available` for them.
 */
export function groupPushTargets(targets: readonly PushTarget[]): ShopifyPushGroup[] {
  const groups = new Map<string, { target: PushTarget; erpLocations: string[] }>();
  for (const target of targets) {
    const key = `${target.inventoryItemId}|${target.shopifyLocationId}`;
    const group = groups.get(key);
    if (group) group.erpLocations.push(target.location);
    else groups.set(key, { target, erpLocations: [target.location] });
  }
  return [...groups.values()].map(({ target, erpLocations }) => ({
    sku: target.sku,
    inventoryItemId: target.inventoryItemId,
    variantId: target.variantId,
    shopifySku: target.shopifySku,
    shopifyLocationId: target.shopifyLocationId,
    erpLocations: [...erpLocations].sort(),
    conversion: target.conversion,
  }));
}

/**
 * The quantity to set in Shopify for a group: the sum of its ERP locations' ATP (ERP units),
 * converted once and rounded down. A location with no position counts as 0.
 */
export function shopifyQuantityFor(group: ShopifyPushGroup, atpByLocation: ReadonlyMap<string, number>): number {
  let sum = 0;
  for (const location of group.erpLocations) sum += atpByLocation.get(location) ?? 0;
  return toShopifyUnits(sum, group.conversion);
}
