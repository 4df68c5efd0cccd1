// The Shopify levels a streamed full reconcile has met in the export, kept compactly (8 bytes a
// level rather than a string key), so the targets the export never listed can be found after it.

/**
 * A set of Shopify item × location pairs, built while an export is read and then asked. Per
 * location, the items' numeric ids (the tail of `gid://shopify/InventoryItem/<n>`) go into a
 * growing Float64Array, sorted once when first asked; an id that is not a safe integer falls back
 * to a plain string set. 300,000 levels hold about 2.4 MB.
 */
export class SeenLevels {
  readonly #numeric = new Map<string, { ids: Float64Array; size: number; sorted: boolean }>();
  readonly #other = new Set<string>();
  #count = 0;

  get size(): number {
    return this.#count;
  }

  add(inventoryItemId: string, locationId: string): void {
    this.#count += 1;
    const id = numericTail(inventoryItemId);
    if (id === null) {
      this.#other.add(`${inventoryItemId}|${locationId}`);
      return;
    }
    let entry = this.#numeric.get(locationId);
    if (!entry) this.#numeric.set(locationId, (entry = { ids: new Float64Array(1024), size: 0, sorted: true }));
    if (entry.size === entry.ids.length) {
      const grown = new Float64Array(entry.ids.length * 2);
      grown.set(entry.ids);
      entry.ids = grown;
    }
    if (entry.size > 0 && entry.ids[entry.size - 1]! > id) entry.sorted = false;
    entry.ids[entry.size++] = id;
  }

  has(inventoryItemId: string, locationId: string): boolean {
    const id = numericTail(inventoryItemId);
    if (id === null) return this.#other.has(`${inventoryItemId}|${locationId}`);
    const entry = this.#numeric.get(locationId);
    if (!entry) return false;
    if (!entry.sorted) {
      entry.ids.subarray(0, entry.size).sort();
      entry.sorted = true;
    }
    let low = 0;
    let high = entry.size - 1;
    while (low <= high) {
      const middle = (low + high) >>> 1;
      const value = entry.ids[middle]!;
      if (value === id) return true;
      if (value < id) low = middle + 1;
      else high = middle - 1;
    }
    return false;
  }
}

function numericTail(gid: string): number | null {
  const tail = gid.slice(gid.lastIndexOf('/') + 1);
  if (!/^\d{1,15}$/.test(tail)) return null;
  return Number(tail);
}
