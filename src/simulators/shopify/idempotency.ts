/**
 * Shopify's `@idempotent(key:)` semantics for one shop: the first request with a key runs and
 * its result is stored; a later request with the same key and the same mutation arguments gets
 * the stored result back without running again; the same key with other arguments is refused
 * (`IDEMPOTENCY_KEY_PARAMETER_MISMATCH`); a key whose first request is still running is refused
 * (`IDEMPOTENCY_CONCURRENT_REQUEST`).
 */

export type IdempotencyOutcome<T> = { kind: 'ran'; result: T } | { kind: 'replayed'; result: T } | { kind: 'mismatch' } | { kind: 'concurrent' };

interface IdempotencyRecord {
  fingerprint: string;
  done: boolean;
  result: unknown;
  at: number;
}

/** JSON with object keys sorted, so equal arguments give equal fingerprints. */
export function stableJson(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value) ?? 'null';
  if (Array.isArray(value)) return `[${value.map(stableJson).join(',')}]`;
  const entries = Object.entries(value as Record<string, unknown>)
    .filter(([, entry]) => entry !== undefined)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return `{${entries.map(([key, entry]) => `${JSON.stringify(key)}:${stableJson(entry)}`).join(',')}}`;
}

export class IdempotencyStore {
  private readonly records = new Map<string, IdempotencyRecord>();

  constructor(private readonly limit = 200_000) {}

  run<T>(key: string, fingerprint: string, now: number, execute: () => T): IdempotencyOutcome<T> {
    const existing = this.records.get(key);
    if (existing) {
      if (existing.fingerprint !== fingerprint) return { kind: 'mismatch' };
      if (!existing.done) return { kind: 'concurrent' };
      return { kind: 'replayed', result: existing.result as T };
    }
    const record: IdempotencyRecord = { fingerprint, done: false, result: undefined, at: now };
    this.records.set(key, record);
    try {
      record.result = execute();
      record.done = true;
    } catch (error) {
      this.records.delete(key);
      throw error;
    }
    if (this.records.size > this.limit) {
      const oldest = this.records.keys().next().value;
      if (oldest !== undefined) this.records.delete(oldest);
    }
    return { kind: 'ran', result: record.result as T };
  }

  size(): number {
    return this.records.size;
  }
}
