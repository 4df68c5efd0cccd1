// The port through which a reservation takes its units out of what Shopify offers before it is
// granted (src/reservations/README.md, "No two channels sell the same unit"). Defined here, in the
// inventory domain's published port, because reservations use it and sync implements it
// (src/sync/store-take.ts), and neither may import the other.
import type { Db } from '../db/database.js';
import { AppError } from '../shared/errors.js';
import type { UnitConversion } from './inventory.models.js';
import type { PositionKey } from './push-requests.js';

/** One Shopify item × location the event push writes, and the ERP positions summed into it. */
export interface StoreTakeGroup {
  /** `inventoryItemId|shopifyLocationId`. */
  readonly key: string;
  readonly sku: string;
  readonly inventoryItemId: string;
  readonly shopifyLocationId: string;
  /** ERP locations whose ATP is summed into the level, sorted. */
  readonly erpLocations: readonly string[];
  readonly conversion: UnitConversion;
}

/** What one group's take changed, to be recorded in the reservation's transaction. */
export interface StoreTakeRecord {
  readonly group: StoreTakeGroup;
  /** Shopify's `available` after the take (and any give-back): the group's new baseline. */
  readonly available: number;
  /** Units Shopify had sold that no known order explains (ERP units, per position): added to the unexplained drop. */
  readonly drops: readonly (PositionKey & { readonly delta: number })[];
  /**
   * Shopify units the take took that `available` does not account for: set when `available` is
   * left below zero (a give-back that did not land), so that value reads as our take, not a sale.
   */
  readonly unconfirmedTake?: number;
}

/** A take sent to Shopify whose outcome is not known: it may have lowered the group's `available` by `units`. */
export interface TakeInDoubt {
  readonly group: StoreTakeGroup;
  readonly units: number;
}

/** Shopify did not answer within the take's budget: the reservation is refused, nothing is held. */
export class StoreUnavailableError extends AppError {
  /** Takes sent before Shopify stopped answering, which may have landed (recorded by the caller once its transaction is gone). */
  readonly takesInDoubt: readonly TakeInDoubt[];

  constructor(message: string, details: Record<string, unknown> = {}, options?: { cause?: unknown; takesInDoubt?: readonly TakeInDoubt[] }) {
    super('STORE_UNAVAILABLE', message, details, options?.cause === undefined ? undefined : { cause: options.cause });
    this.takesInDoubt = options?.takesInDoubt ?? [];
  }

  /** Shopify refused the call (a user error): it did not run. */
  get refusedByShopify(): boolean {
    return this.details['retryable'] === false;
  }

  /** The same refusal, naming takes that may have landed before it. */
  withTakesInDoubt(takes: readonly TakeInDoubt[]): StoreUnavailableError {
    if (takes.length === 0) return this;
    return new StoreUnavailableError(this.message, this.details, { cause: this.cause, takesInDoubt: [...this.takesInDoubt, ...takes] });
  }
}

export interface StoreTakePort {
  /**
   * The Shopify levels these positions are pushed to, when takes apply now (`INVENTORY_PUSH` on,
   * SKU and location mapped, the position not run from Shopify); [] means "decide locally".
   */
  groupsFor(positions: readonly PositionKey[]): Promise<StoreTakeGroup[]>;
  /** Shopify's `available` of levels whose baseline was never read. Throws StoreUnavailableError. */
  readLevels(groups: readonly StoreTakeGroup[]): Promise<Map<string, number>>;
  /**
   * One `inventoryAdjustQuantities` for every change (retried within a short budget under the
   * same key); Shopify's value after each change by group key. Throws StoreUnavailableError.
   */
  adjust(
    changes: readonly { readonly group: StoreTakeGroup; readonly delta: number }[],
    options: { readonly idempotencyKey: string; readonly referenceDocumentUri: string },
  ): Promise<Map<string, number>>;
  /** In the reservation's transaction: the new baselines (read now) and the drops found. */
  record(tx: Db, records: readonly StoreTakeRecord[], at: Date): Promise<void>;
  /**
   * After a refusal whose takes may have landed (StoreUnavailableError.takesInDoubt), once the
   * reservation's transaction is gone: Shopify may be lower by their units than Stockbridge knows,
   * so a value below zero there is our own take, not a sale beyond stock.
   */
  recordTakesInDoubt(db: Db, takes: readonly TakeInDoubt[], at: Date): Promise<void>;
}
