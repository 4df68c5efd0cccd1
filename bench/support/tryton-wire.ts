/**
 * Shared by the benchmarks that run against a real trytond (order-drain, erp-to-shopify-latency,
 * tryton-sale-batch): Tryton's JSON-RPC calls counted on the wire, by method, with the time each
 * round trip took (logins and preferences included), through the `fetch` the connector is given.
 */

export interface WireEntry {
  calls: number;
  ms: number;
}

export interface WireCounter {
  /** Pass this as the connector's (or the RPC client's) `fetch`. */
  readonly fetch: typeof fetch;
  /** Calls and total milliseconds per JSON-RPC method since the last `reset`. */
  entries(): ReadonlyMap<string, WireEntry>;
  /** Calls of every method since the last `reset`. */
  total(): number;
  reset(): void;
}

export function createWireCounter(): WireCounter {
  const wire = new Map<string, WireEntry>();
  const timedFetch: typeof fetch = async (input, init) => {
    let method = 'unknown';
    try {
      method = (JSON.parse(String(init?.body)) as { method?: string }).method ?? method;
    } catch {
      // not a JSON-RPC body
    }
    const started = performance.now();
    try {
      return await fetch(input, init);
    } finally {
      const entry = wire.get(method) ?? { calls: 0, ms: 0 };
      entry.calls += 1;
      entry.ms += performance.now() - started;
      wire.set(method, entry);
    }
  };
  return {
    fetch: timedFetch,
    entries: () => wire,
    total: () => [...wire.values()].reduce((sum, entry) => sum + entry.calls, 0),
    reset: () => wire.clear(),
  };
}

/** One line per method, the most time first: calls (per `per` units when given), mean time, total time. */
export function wireLines(entries: ReadonlyMap<string, WireEntry>, per?: { count: number; unit: string }): string[] {
  return [...entries]
    .sort((a, b) => b[1].ms - a[1].ms)
    .map(([method, entry]) => {
      const calls = per ? `${(entry.calls / per.count).toFixed(2).padStart(7)} calls/${per.unit}` : `${String(entry.calls).padStart(5)} calls`;
      const total = per ? `${(entry.ms / per.count / 1000).toFixed(3).padStart(7)} s of wire time per ${per.unit}` : `${(entry.ms / 1000).toFixed(2).padStart(7)} s in all`;
      return `  ${method.padEnd(44)} ${calls}  mean ${(entry.ms / entry.calls).toFixed(1).padStart(7)} ms  ${total}`;
    });
}
