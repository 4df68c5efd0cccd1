import type { Connection } from '../shared/pagination.js';

/** The answer of a replay by ids or filter (orders, webhook deliveries): what matched and what was queued. */
export interface ReplayResult<Item, Code extends string> {
  readonly dryRun: boolean;
  /** Every item the ids and filter match. */
  readonly matchedCount: number;
  /** Of those, the ones a replay can help (FAILED, or waiting after an error). */
  readonly replayableCount: number;
  /** The first `limit` matched items, newest first. */
  readonly matched: Connection<Item>;
  /** Queued again, due now (none on a dry run or a refusal). */
  readonly queued: readonly Item[];
  readonly userErrors: ReadonlyArray<{ field: string[]; message: string; code: Code }>;
}

/** A replay refused before anything was read: nothing matched, nothing queued, one user error. */
export function refusedReplay<Item, Code extends string>(dryRun: boolean, code: Code, field: string[], message: string): ReplayResult<Item, Code> {
  return {
    dryRun,
    matchedCount: 0,
    replayableCount: 0,
    matched: { edges: [], pageInfo: { hasNextPage: false, hasPreviousPage: false, startCursor: null, endCursor: null }, totalCount: 0 },
    queued: [],
    userErrors: [{ field, message, code }],
  };
}
