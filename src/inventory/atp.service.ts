import type { PositionKey } from './push-requests.js';
import type { PositionChange, PositionRecord, RefreshPositionsResult, SafetyStockRule, SetSafetyStockInput } from './inventory.models.js';

export interface RefreshPositionsOptions {
  readonly signal?: AbortSignal;
  /** SKUs per page (ERP reads and one bulk upsert per page); default 1,000. */
  readonly pageSize?: number;
  /** Called after each page is durable, with that page's changed positions. */
  readonly onPage?: (changed: readonly PositionChange[]) => Promise<void> | void;
  /** Keep the changed positions in the result (default true; a 300,000-position reconcile may prefer `onPage`). */
  readonly collectChanges?: boolean;
}

/**
 * The ATP engine: the ERP's terms and the safety stock rules, written into the read model
 * (`inventory_levels`) with ATP recomputed by `atpExpression` in the same statement.
 *
 * Guarantee: after `refreshPositions(skus)` returns, every position of those SKUs (at every ERP
 * warehouse and every mapped ERP location) holds the ERP's terms as read during the call, the
 * safety stock of the most specific rule, and ATP by the one formula over its current terms,
 * including the terms other domains own (reserved, pending orders, unexplained drops), which it
 * never changes. Kits containing a refreshed SKU are recomputed too. Cost: a constant number of
 * ERP and database round trips per page of SKUs.
 */
export interface AtpService {
  /**
   * Reads the ERP for these SKUs (or every product with `'all'`), in pages, and writes their
   * positions. Returns the positions whose ATP or ERP terms changed; it does not mark them for
   * the event push (ERP-driven changes are the delta sync's to push).
   */
  refreshPositions(skus: readonly string[] | 'all', options?: RefreshPositionsOptions): Promise<RefreshPositionsResult>;

  /**
   * Recomputes kit positions from their components' stored ATP, without the ERP: for the
   * reservations and orders domains after they change a component's term. Marks changed kit
   * positions for push. Returns the changed kit positions.
   */
  recomputeKitsContaining(componentSkus: readonly string[]): Promise<PositionChange[]>;

  /**
   * Stores a rule (sku and/or location null = any; quantity null = remove), recomputes safety
   * stock and ATP of every affected position (kits using them included) in one transaction, marks
   * the positions whose ATP changed for the event push and wakes it. Returns the affected positions.
   */
  setSafetyStock(input: SetSafetyStockInput): Promise<PositionRecord[]>;

  listSafetyStockRules(): Promise<SafetyStockRule[]>;

  /** Stored positions (no ERP call); missing keys are absent. */
  getPositions(keys: readonly PositionKey[]): Promise<PositionRecord[]>;

  /** Stored positions of these SKUs at every location, by SKU (no ERP call). */
  getPositionsBySkus(skus: readonly string[]): Promise<Map<string, PositionRecord[]>>;
}
