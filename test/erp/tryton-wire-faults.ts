import { setTimeout as sleep } from 'node:timers/promises';

/**
 * Faults on the HTTP wire between a Tryton connector and a real trytond, for the contract
 * suite's in-doubt and conflict cases. The connector under test gets `fetch` from here; every
 * request goes to trytond unchanged unless a one-shot rule matches it:
 * - `lose`: the caller sees a connection reset at once, and the request reaches trytond
 *   `delayMs` later (so trytond commits it after the client gave up, and a look-up made at once
 *   finds nothing);
 * - `before`: another actor's work runs first (e.g. another process creating the same customer).
 * trytond itself is real: what it commits, and the errors it answers, are its own.
 */
export interface WireRule {
  readonly match: (method: string, params: readonly unknown[]) => boolean;
  readonly lose?: { readonly delayMs: number };
  readonly before?: () => Promise<void>;
}

export class TrytonWireFaults {
  private readonly rules: WireRule[] = [];
  private readonly late = new Set<Promise<unknown>>();

  /** The fetch to give the connector under test. */
  readonly fetch: typeof fetch = async (input, init) => {
    const body = typeof init?.body === 'string' ? init.body : '';
    const { method, params } = parse(body);
    const index = this.rules.findIndex((rule) => rule.match(method, params));
    const rule = index >= 0 ? this.rules.splice(index, 1)[0] : undefined;
    if (rule?.before) await rule.before();
    if (rule?.lose) {
      const { signal: _ignored, ...rest } = init ?? {};
      const delivery = sleep(rule.lose.delayMs).then(() => fetch(input, rest).then((response) => response.text()));
      this.late.add(delivery);
      void delivery.catch(() => undefined).finally(() => this.late.delete(delivery));
      throw new TypeError('fetch failed', { cause: Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' }) });
    }
    return fetch(input, init);
  };

  add(rule: WireRule): void {
    this.rules.push(rule);
  }

  /** Waits until every request whose answer was lost has been answered by trytond. */
  async settled(): Promise<void> {
    while (this.late.size > 0) await Promise.allSettled([...this.late]);
  }
}

function parse(body: string): { method: string; params: readonly unknown[] } {
  try {
    const parsed = JSON.parse(body) as { method?: unknown; params?: unknown };
    return { method: typeof parsed.method === 'string' ? parsed.method : '', params: Array.isArray(parsed.params) ? parsed.params : [] };
  } catch {
    return { method: '', params: [] };
  }
}
