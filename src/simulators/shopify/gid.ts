/**
 * Shopify global ids (`gid://shopify/Type/123`, inventory levels carry
 * `?inventory_item_id=…`). The simulator stores numeric ids and renders gids at the edge.
 */

export interface ParsedGid {
  type: string;
  id: number;
  params: URLSearchParams;
}

const gidPattern = /^gid:\/\/shopify\/([A-Za-z]+)\/(\d{1,18})(\?.*)?$/;

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

export function gid(type: string, id: number): string {
  return `gid://shopify/${type}/${id}`;
}

/** Shopify's inventory level id: the location's number with the item as a query parameter. */
export function inventoryLevelGid(locationId: number, inventoryItemId: number): string {
  return `gid://shopify/InventoryLevel/${locationId}?inventory_item_id=${inventoryItemId}`;
}

/**
 * Accepts what people type into the control API: a gid of the type, or the bare numeric id.
 * Returns null for anything else.
 */
export function looseId(value: string | number, type: string): number | null {
  if (typeof value === 'number') return Number.isSafeInteger(value) && value > 0 ? value : null;
  if (/^\d{1,18}$/.test(value.trim())) return Number(value.trim());
  return idOfType(value, type);
}
