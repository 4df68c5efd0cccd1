/**
 * The one way tests wait for something that happens in the background (a job, a webhook, a
 * push): poll on real timers, and fail with what was last seen when the time is up.
 */

export interface WaitOptions {
  /** How long to keep trying before failing (default 10 s). */
  readonly timeoutMs?: number;
  /** Pause between tries (default 20 ms). */
  readonly intervalMs?: number;
  /** What is awaited, for the failure message. */
  readonly what?: string;
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

function optionsOf(options: WaitOptions | number | undefined): Required<Omit<WaitOptions, 'what'>> & { what: string } {
  const given = typeof options === 'number' ? { timeoutMs: options } : (options ?? {});
  return { timeoutMs: given.timeoutMs ?? 10_000, intervalMs: given.intervalMs ?? 20, what: given.what ?? 'condition' };
}

/** Reads until `accept` holds and returns that value; `options` as a number is the timeout. */
export async function waitFor<T, S extends T>(read: () => T | Promise<T>, accept: (value: T) => value is S, options?: WaitOptions | number): Promise<S>;
export async function waitFor<T>(read: () => T | Promise<T>, accept: (value: T) => boolean, options?: WaitOptions | number): Promise<T>;
export async function waitFor<T>(read: () => T | Promise<T>, accept: (value: T) => boolean, options?: WaitOptions | number): Promise<T> {
  const { timeoutMs, intervalMs, what } = optionsOf(options);
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await read();
    if (accept(value)) return value;
    if (Date.now() > deadline) throw new Error(`${what} not met within ${timeoutMs} ms; last value: ${JSON.stringify(value)}`);
    await sleep(intervalMs);
  }
}

/** Waits until `condition` holds; `options` as a number is the timeout. */
export async function waitUntil(condition: () => boolean | Promise<boolean>, options?: WaitOptions | number): Promise<void> {
  await waitFor(condition, (met) => met, options);
}
