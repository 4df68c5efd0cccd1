import type { SyncRunKind, SyncRunStatus } from '../db/schema/sync.js';

export type { SyncRunKind, SyncRunStatus };

/** One push run as stored and as the API shows it. */
export interface SyncRunRecord {
  readonly id: string;
  readonly kind: SyncRunKind;
  readonly status: SyncRunStatus;
  readonly dryRun: boolean;
  readonly full: boolean;
  readonly request: Readonly<Record<string, unknown>>;
  readonly startedAt: Date;
  readonly finishedAt: Date | null;
  readonly attempts: number;
  readonly itemsConsidered: number;
  readonly itemsPushed: number;
  readonly itemsUnchanged: number;
  readonly itemsFailed: number;
  readonly driftFound: number | null;
  readonly failure: { readonly code: string; readonly message: string } | null;
}

export interface SyncRunErrorRecord {
  readonly sku: string;
  readonly location: string;
  readonly inventoryItemId: string | null;
  readonly shopifyLocationId: string | null;
  readonly code: string;
  readonly message: string;
}

export interface SyncRunChangeRecord {
  readonly sku: string;
  readonly location: string;
  readonly inventoryItemId: string;
  readonly shopifyLocationId: string;
  readonly fromQuantity: number | null;
  readonly toQuantity: number;
  readonly applied: boolean;
}

/** What a run counted, per Shopify item × location. */
export interface RunTally {
  considered: number;
  pushed: number;
  unchanged: number;
  failed: number;
  /** Items whose Shopify value, when read, differed from the target. */
  drift: number;
}

export function emptyTally(): RunTally {
  return { considered: 0, pushed: 0, unchanged: 0, failed: 0, drift: 0 };
}

export function addTally(into: RunTally, from: RunTally): RunTally {
  into.considered += from.considered;
  into.pushed += from.pushed;
  into.unchanged += from.unchanged;
  into.failed += from.failed;
  into.drift += from.drift;
  return into;
}

/** `pushInventory`'s input: which SKUs (default all) at which ERP locations (default all). */
export interface PushInventoryInput {
  readonly skus?: readonly string[] | null;
  readonly locations?: readonly string[] | null;
  /** Read every Shopify level and correct every difference (a full reconcile). */
  readonly full?: boolean | null;
  /** Compute and record what would change; write nothing to Shopify or the read model. */
  readonly dryRun?: boolean | null;
}
