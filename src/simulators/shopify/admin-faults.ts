import type { Random } from './random.js';

/**
 * Faults the Admin API endpoint can inject, to exercise a client's retry paths. Rates are shares
 * of requests (0 to 1) drawn from the simulator's seeded generator; `script` lists exact faults
 * for the next requests, one per request, before any rate applies, for deterministic tests.
 */
export type AdminFaultKind = 'http429' | 'http503' | 'http500' | 'drop' | 'dropAfterExecute' | 'none';

export interface AdminApiFaults {
  /** HTTP 429 with `Retry-After` (the REST-style rate limit some proxies answer GraphQL with). */
  http429Rate?: number;
  http503Rate?: number;
  http500Rate?: number;
  /** Seconds sent in `Retry-After` on 429 and 503 answers (Shopify sends e.g. "2.0"). */
  retryAfterSeconds?: number;
  /** Real milliseconds added before each answer. */
  latencyMs?: number;
  /** Share of requests whose connection is closed without an answer, before anything runs. */
  dropRate?: number;
  /** Share of requests that run (mutations apply) and then lose their answer. */
  dropAfterExecuteRate?: number;
  script?: AdminFaultKind[];
}

export function pickAdminFault(faults: AdminApiFaults, random: Random): AdminFaultKind {
  const scripted = faults.script?.shift();
  if (scripted) return scripted;
  const draws: [AdminFaultKind, number | undefined][] = [
    ['drop', faults.dropRate],
    ['http429', faults.http429Rate],
    ['http503', faults.http503Rate],
    ['http500', faults.http500Rate],
    ['dropAfterExecute', faults.dropAfterExecuteRate],
  ];
  for (const [kind, rate] of draws) {
    if (rate && rate > 0 && random() < rate) return kind;
  }
  return 'none';
}
