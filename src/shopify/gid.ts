/**
 * Shopify global ids, made and read in this one place: `gid://shopify/<Type>/<n>`, some with
 * query parameters (an inventory level: `InventoryLevel/<location>?inventory_item_id=<item>`).
 * The gateway keeps ids as Shopify sends them (strings, any length of digits); the simulator
 * stores numbers (`parseGid`, `idOfType`, `looseId`: safe integers only) and renders gids at
 * its edge.
 */

export function shopifyGid(type: string, id: string | number): string {
  return `gid://shopify/${type}/${id}`;
}

/** Shopify's inventory level id: the location's number with the item as a query parameter. */
export function inventoryLevelGid(locationId: string | number, inventoryItemId: string | number): string {
  return `gid://shopify/InventoryLevel/${locationId}?inventory_item_id=${inventoryItemId}`;
}

/** `gid://shopify/<Type>/<n>` from a gid or a bare numeric id (operators paste either); other strings unchanged. */
export function toShopifyGid(type: string, id: string): string {
  const trimmed = id.trim();
  return /^\d+$/.test(trimmed) ? shopifyGid(type, trimmed) : trimmed;
}

/** `gid://shopify/Order/123` or `123` → `123` (query parameters aside); anything else → null. */
export function numericShopifyId(value: string, type: string): string | null {
  const trimmed = value.trim();
  if (/^\d+$/.test(trimmed)) return trimmed;
  const prefix = `gid://shopify/${type}/`;
  if (!trimmed.startsWith(prefix)) return null;
  const match = /^(\d+)(?:\?.*)?$/.exec(trimmed.slice(prefix.length));
  return match ? match[1]! : null;
}

/** The id without its `gid://shopify/<Type>/` prefix, or the value unchanged: cheap, for keys of large maps. */
export function withoutGidPrefix(value: string, type: string): string {
  const prefix = `gid://shopify/${type}/`;
  return value.startsWith(prefix) ? value.slice(prefix.length) : value;
}

export interface ParsedGid {
  type: string;
  id: number;
  params: URLSearchParams;
}

const gidPattern = /^gid:\/\/shopify\/([A-Za-z]+)\/(\d{1,18})(\?.*)?$/;

/** A gid whose number is a safe integer, with its type and query parameters; null otherwise. */
export function parseGid(value: string): ParsedGid | null {
  const match = gidPattern.exec(value.trim());
  if (!match) return null;
  const id = Number(match[2]);
  if (!Number.isSafeInteger(id)) return null;
  return { type: match[1]!, id, params: new URLSearchParams(match[3]?.slice(1) ?? '') };
}

/** The numeric id of a gid of the given type, or null when it is malformed or of another type. */
export function idOfType(value: string, type: string): number | null {
  const parsed = parseGid(value);
  return parsed && parsed.type === type ? parsed.id : null;
}

/** A gid of the type, or the bare number (what people type into a control API), as a number; null for anything else. */
export function looseId(value: string | number, type: string): number | null {
  if (typeof value === 'number') return Number.isSafeInteger(value) && value > 0 ? value : null;
  if (/^\d{1,18}$/.test(value.trim())) return Number(value.trim());
  return idOfType(value, type);
}
