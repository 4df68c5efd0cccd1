// Which positions were last seen pushed to a Shopify level, and which positions that level sums:
// a hint that lets a hot SKU's batch look its levels up while its transaction locks the positions,
// instead of before (src/reservations/README.md, "No two channels sell the same unit"). A hint
// never decides anything: the lookup is made for every batch, and a batch whose levels turn out
// to cover a position it did not lock starts its transaction again.
import type { PositionKey, StoreTakeGroup } from '../inventory/inventory.port.js';

const keyOf = (position: PositionKey) => `${position.sku}\u0000${position.location}`;

/** At most this many positions remembered; past it the hints start again (a lookup refills them). */
const DEFAULT_LIMIT = 10_000;

export function createGroupHints(limit = DEFAULT_LIMIT) {
  /** Per position: every position of the levels it was last seen to feed, or null when it fed none. */
  const seen = new Map<string, readonly PositionKey[] | null>();

  return {
    /**
     * The positions to lock beside the lines' when any of these positions was last seen pushed
     * (every position of the levels they feed), else null: look the levels up first.
     */
    expected(positions: readonly PositionKey[]): PositionKey[] | null {
      let expected: PositionKey[] | null = null;
      for (const position of positions) {
        const hint = seen.get(keyOf(position));
        if (hint) (expected ??= []).push(...hint);
      }
      return expected;
    },

    /** What a lookup found for these positions. */
    learn(positions: readonly PositionKey[], groups: readonly StoreTakeGroup[]): void {
      if (seen.size + positions.length > limit) seen.clear();
      const fed = new Map<string, PositionKey[]>();
      for (const group of groups) {
        const members = group.erpLocations.map((location) => ({ sku: group.sku, location }));
        for (const member of members) fed.set(keyOf(member), [...(fed.get(keyOf(member)) ?? []), ...members]);
      }
      for (const position of positions) seen.set(keyOf(position), fed.get(keyOf(position)) ?? null);
    },
  };
}
