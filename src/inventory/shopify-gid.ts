/** `gid://shopify/<Type>/<n>` from a gid or a bare numeric id (operators paste either); other strings unchanged. */
export function toShopifyGid(type: 'ProductVariant' | 'Location' | 'InventoryItem', id: string): string {
  const trimmed = id.trim();
  return /^\d+$/.test(trimmed) ? `gid://shopify/${type}/${trimmed}` : trimmed;
}
