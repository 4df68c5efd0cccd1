// `ShopifyClient.adjustAvailableQuantities` on `inventoryAdjustQuantities`: the relative write a
// reservation uses to take units out of what Shopify offers (and give back what it did not need).
import type { AdjustInventoryQuantitiesMutation } from './__generated__/admin.types.js';
import { prepareOperation, type AdminApiTransport } from './admin-api-transport.js';
import { adjustInventoryQuantitiesDocument } from './operations/inventory.operations.js';
import { ShopifyError } from './shopify.errors.js';
import type { AdjustAvailableOptions, AdjustAvailableQuantity, AdjustedAvailable } from './shopify-client.js';

/** Shopify takes at most this many changes per call. */
export const MAX_ADJUSTMENTS_PER_CALL = 250;

const adjustOperation = prepareOperation(adjustInventoryQuantitiesDocument);

const pairKey = (pair: { inventoryItemId: string; locationId: string }) => `${pair.inventoryItemId}|${pair.locationId}`;

/**
 * One `inventoryAdjustQuantities` call (name `available`, `changeFromQuantity: null`: a take must
 * land whatever Shopify sold meanwhile, and its answer says what Shopify held), under the caller's
 * idempotency key: the same key sent again after a lost answer replays the first call's answer
 * and changes nothing. Shopify applies a call all or none; any userError throws
 * `SHOPIFY_USER_ERROR` (nothing was changed). The transport's own retries (network, 5xx, 429,
 * THROTTLED) resend under the same key.
 */
export async function adjustAvailableQuantities(
  transport: AdminApiTransport,
  changes: readonly AdjustAvailableQuantity[],
  options: AdjustAvailableOptions,
): Promise<AdjustedAvailable[]> {
  if (changes.length === 0) return [];
  if (changes.length > MAX_ADJUSTMENTS_PER_CALL) {
    throw new ShopifyError('SHOPIFY_USER_ERROR', `at most ${MAX_ADJUSTMENTS_PER_CALL} changes per inventoryAdjustQuantities call; got ${changes.length}`, { changes: changes.length });
  }
  if (new Set(changes.map(pairKey)).size !== changes.length) {
    throw new ShopifyError('SHOPIFY_USER_ERROR', 'the same item and location appear twice in one adjustment', {});
  }
  const input = {
    name: 'available',
    reason: options.reason,
    referenceDocumentUri: options.referenceDocumentUri,
    changes: changes.map((change) => ({ inventoryItemId: change.inventoryItemId, locationId: change.locationId, delta: change.delta, changeFromQuantity: null })),
  };
  const { data } = await transport.request<AdjustInventoryQuantitiesMutation>(adjustOperation, { input, idempotencyKey: options.idempotencyKey });
  const payload = data.inventoryAdjustQuantities;
  if (!payload) throw new ShopifyError('SHOPIFY_BAD_RESPONSE', 'inventoryAdjustQuantities returned null', {});
  if (payload.userErrors.length > 0) {
    throw new ShopifyError('SHOPIFY_USER_ERROR', `Shopify refused the adjustment: ${payload.userErrors.map((error) => `${error.code ?? 'UNKNOWN'} ${error.message}`).join('; ')}`, {
      userErrors: payload.userErrors,
    });
  }
  const after = new Map<string, number>();
  for (const change of payload.inventoryAdjustmentGroup?.changes ?? []) {
    if (change.name !== 'available' || !change.item || !change.location || change.quantityAfterChange === null) continue;
    after.set(pairKey({ inventoryItemId: change.item.id, locationId: change.location.id }), change.quantityAfterChange);
  }
  return changes.map((change) => {
    const quantityAfterChange = after.get(pairKey(change));
    if (quantityAfterChange === undefined) {
      throw new ShopifyError('SHOPIFY_BAD_RESPONSE', `inventoryAdjustQuantities did not say the quantity after the change of ${pairKey(change)}`, {});
    }
    return { inventoryItemId: change.inventoryItemId, locationId: change.locationId, delta: change.delta, quantityAfterChange };
  });
}
