import DataLoader from 'dataloader';
import { runInShopifyLane } from './cost-bucket.js';
import type { ShopifyClient, ShopifyLiveNode } from './shopify-client.js';

/**
 * Live Shopify fields for GraphQL answers (`Product.shopify`, `Order.shopify`), batched and cached.
 *
 * - Batched: one `LiveNodeLoader` per request gathers every id the request's resolvers ask for
 *   in one tick and reads the ones not cached in ONE `readLiveNodes` call (a page of up to 250
 *   products is one Shopify call).
 * - Cached: every answer, a missing node included, is kept in memory for `ttlMs` (default
 *   `LIVE_FIELDS_TTL_MS`, 30 s) per instance, at most `maxEntries` ids (oldest dropped first), so
 *   a client polling a page does not spend Shopify's bucket on each poll. Shopify-side edits show
 *   within that time.
 * - Costed: each loader adds up what Shopify charged for the calls it made, for
 *   `extensions.shopifyCost` of the answer.
 */
export const LIVE_FIELDS_TTL_MS = 30_000;
export const LIVE_FIELDS_MAX_ENTRIES = 10_000;

export interface LiveNodeCacheOptions {
  ttlMs?: number;
  maxEntries?: number;
  /** Milliseconds clock (tests move it). */
  now?: () => number;
}

/** What one request spent on Shopify for its live fields. */
export interface ShopifyCostUsage {
  calls: number;
  requestedQueryCost: number;
  actualQueryCost: number;
  /** Ids answered from the cache, without a call. */
  cacheHits: number;
}

interface Entry {
  readonly node: ShopifyLiveNode | null;
  readonly expiresAt: number;
}

export class LiveNodeLoader {
  readonly usage: ShopifyCostUsage = { calls: 0, requestedQueryCost: 0, actualQueryCost: 0, cacheHits: 0 };
  readonly #loader: DataLoader<string, ShopifyLiveNode | null>;

  constructor(read: (ids: readonly string[], usage: ShopifyCostUsage) => Promise<Map<string, ShopifyLiveNode | null>>) {
    this.#loader = new DataLoader(async (ids) => {
      const found = await read(ids, this.usage);
      return ids.map((id) => found.get(id) ?? null);
    });
  }

  /** The node's live fields; null when Shopify has no variant or order with that id. */
  load(id: string): Promise<ShopifyLiveNode | null> {
    return this.#loader.load(id);
  }
}

export interface LiveNodeCache {
  /** A fresh loader for one request (its own batch and cost tally, the shared cache). */
  loader(): LiveNodeLoader;
}

export function createLiveNodeCache(shopify: Pick<ShopifyClient, 'readLiveNodes'>, options: LiveNodeCacheOptions = {}): LiveNodeCache {
  const ttlMs = options.ttlMs ?? LIVE_FIELDS_TTL_MS;
  const maxEntries = options.maxEntries ?? LIVE_FIELDS_MAX_ENTRIES;
  const now = options.now ?? Date.now;
  // A Map keeps insertion order: re-inserting on write makes the first key the oldest one.
  const entries = new Map<string, Entry>();

  async function read(ids: readonly string[], usage: ShopifyCostUsage): Promise<Map<string, ShopifyLiveNode | null>> {
    const at = now();
    const answer = new Map<string, ShopifyLiveNode | null>();
    const missing: string[] = [];
    for (const id of ids) {
      const entry = entries.get(id);
      if (entry && entry.expiresAt > at) {
        answer.set(id, entry.node);
        usage.cacheHits += 1;
      } else {
        missing.push(id);
      }
    }
    if (missing.length === 0) return answer;
    // A read on behalf of an API caller: it waits behind the sync and the orders for the bucket.
    const live = await runInShopifyLane('interactive', () => shopify.readLiveNodes(missing));
    usage.calls += live.calls;
    usage.requestedQueryCost += live.requestedQueryCost;
    usage.actualQueryCost += live.actualQueryCost;
    const byId = new Map(live.nodes.map((node) => [node.id, node]));
    const expiresAt = now() + ttlMs;
    for (const id of missing) {
      const node = byId.get(id) ?? null;
      answer.set(id, node);
      entries.delete(id);
      entries.set(id, { node, expiresAt });
    }
    while (entries.size > maxEntries) entries.delete(entries.keys().next().value as string);
    return answer;
  }

  return { loader: () => new LiveNodeLoader(read) };
}
