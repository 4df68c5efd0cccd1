/**
 * One line per Admin API request, for tests and benchmarks to assert how a client behaved (for
 * example: no request arrived while the bucket could not hold its cost).
 */
export interface AdminRequestLogEntry {
  sequence: number;
  /** Simulator-clock time the request arrived (ISO 8601) and in epoch ms. */
  timestamp: string;
  at: number;
  /** The last four characters of the access token (enough to tell tokens apart). */
  token: string | null;
  operationName: string | null;
  operationType: 'query' | 'mutation' | 'subscription' | null;
  rootFields: string[];
  requestedCost: number | null;
  actualCost: number | null;
  throttled: boolean;
  /** HTTP status answered, or null when the connection was dropped. */
  status: number | null;
  /**
   * `ok`, `throttled`, `max-cost-exceeded`, `graphql-errors` (executed, with errors),
   * `invalid-document`, `unauthorized`, `unknown-version`, `bad-request`, or the injected fault
   * (`fault-429`, `fault-503`, `fault-500`, `fault-drop`, `fault-drop-after-execute`).
   */
  outcome: string;
  /** `extensions.code` of every top-level error, and every user error code in the payload. */
  errorCodes: string[];
  /** Points in the token's bucket when the request arrived (after restoring). */
  currentlyAvailableBefore: number | null;
  currentlyAvailableAfter: number | null;
  maximumAvailable: number | null;
  restoreRate: number | null;
  durationMs: number;
}

export class RequestLog {
  private entries: AdminRequestLogEntry[] = [];
  private sequence = 0;

  constructor(private readonly limit = 200_000) {}

  add(entry: Omit<AdminRequestLogEntry, 'sequence'>): AdminRequestLogEntry {
    const complete = { sequence: ++this.sequence, ...entry };
    this.entries.push(complete);
    if (this.entries.length > this.limit) this.entries.splice(0, this.entries.length - this.limit);
    return complete;
  }

  list(): AdminRequestLogEntry[] {
    return [...this.entries];
  }

  clear(): void {
    this.entries = [];
  }
}
