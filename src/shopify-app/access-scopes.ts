/**
 * The Admin API access scopes Stockbridge asks for, each with the feature that needs it (the
 * same list is in shopify.app.toml and the README). Requirements come from Shopify's own
 * per-type list: `InventoryLevel` needs read_inventory, `ProductVariant` read_products,
 * `Location` read_locations, `Order` and `Refund` read_orders, `inventorySetQuantities`
 * write_inventory.
 */
export interface AccessScopeNeed {
  readonly scope: string;
  readonly feature: string;
  /** False when the feature is switched off (`INVENTORY_PUSH=off` needs no write_inventory). */
  readonly needed: (switches: { inventoryPush: 'on' | 'shadow' | 'off' }) => boolean;
}

export const ACCESS_SCOPES: readonly AccessScopeNeed[] = [
  { scope: 'read_products', feature: 'SKU mapping: variants, their SKUs and inventory items', needed: () => true },
  { scope: 'read_inventory', feature: "inventory levels: reading Shopify's available for the push, the reconcile and drift", needed: () => true },
  { scope: 'write_inventory', feature: 'the inventory push (inventorySetQuantities)', needed: ({ inventoryPush }) => inventoryPush !== 'off' },
  { scope: 'read_locations', feature: 'location mapping (Shopify locations to ERP warehouses)', needed: () => true },
  { scope: 'read_orders', feature: 'order webhooks (orders/*, refunds/create) and the order poll', needed: () => true },
  { scope: 'write_products', feature: "lots to Shopify (the stockbridge.lots variant metafield and its definition)", needed: ({ inventoryPush }) => inventoryPush !== 'off' },
  {
    scope: 'write_merchant_managed_fulfillment_orders',
    feature: "fulfilments: reading an order's fulfilment orders and fulfillmentCreate for ERP shipments",
    needed: () => true,
  },
];

/** Every scope the app asks for at install (a later switch-on then needs no re-install). */
export const REQUESTED_SCOPES: readonly string[] = ACCESS_SCOPES.map((need) => need.scope);

/** A `write_x` scope includes `read_x`, as Shopify grants them. */
export function impliedScopes(granted: readonly string[]): Set<string> {
  const all = new Set(granted);
  for (const scope of granted) if (scope.startsWith('write_')) all.add(`read_${scope.slice('write_'.length)}`);
  return all;
}

/** The scopes what is switched on needs and `granted` lacks, each with its feature. */
export function missingScopes(granted: readonly string[], switches: { inventoryPush: 'on' | 'shadow' | 'off' }): AccessScopeNeed[] {
  const have = impliedScopes(granted);
  return ACCESS_SCOPES.filter((need) => need.needed(switches) && !have.has(need.scope));
}
