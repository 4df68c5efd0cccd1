/**
 * The client's picture of one shop's GraphQL cost bucket (Shopify's leaky bucket of points),
 * rebuilt from `extensions.cost.throttleStatus` on every response, and the gate every call waits
 * at before it is sent.
 *
 * Guarantee: a call is let through only when the bucket, as last reported by Shopify plus what it
 * has restored since, minus the requested cost of every call still in flight, can hold its
 * requested cost. Callers wait in arrival order, so a large query is not starved by small ones.
 * Until the first response teaches the plan (bucket size, restore rate) one call is sent at a
 * time. No configuration: an upgrade from Standard to Plus shows in the next response.
 *
 * Why not Bottleneck's reservoir: its `weight` also counts against `maxConcurrent`, its heartbeat
 * credits the reservoir in fixed ticks (late ticks lose capacity, a tick right after a resync
 * over-credits), and an absolute resync races with jobs it has registered but not yet started.
 * Those errors cost 10–30% of a Standard shop's 100 points/s, so the arithmetic lives here, with
 * an injectable clock so it is unit-tested without waiting; Bottleneck bounds concurrency per shop.
 */

export interface Clock {
  /** Milliseconds, monotonic enough for intervals. */
  now(): number;
  /** Resolves after `ms`, or as soon as `signal` aborts (its timer is then cleared). */
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
}

export const systemClock: Clock = {
  now: () => performance.now(),
  sleep: (ms, signal) =>
    new Promise((resolve) => {
      if (signal?.aborted) return resolve();
      const timer = setTimeout(done, Math.max(0, ms));
      function done() {
        clearTimeout(timer);
        signal?.removeEventListener('abort', done);
        resolve();
      }
      signal?.addEventListener('abort', done, { once: true });
    }),
};

export interface ThrottleStatus {
  maximumAvailable: number;
  currentlyAvailable: number;
  restoreRate: number;
}

export interface BucketPlan {
  bucketSize: number;
  restoreRatePerSecond: number;
}

export interface CostReservation {
  readonly cost: number;
}

/** Seconds Shopify asks a THROTTLED call to wait: `(requested − available) / restoreRate`. */
export function throttledWaitMs(requestedCost: number, status: ThrottleStatus): number {
  if (status.restoreRate <= 0) return 1000;
  return Math.max(0, ((requestedCost - status.currentlyAvailable) / status.restoreRate) * 1000);
}

export class CostBucket {
  #plan: BucketPlan | null = null;
  #observedAvailable = 0;
  #observedAt = 0;
  #inFlight = 0;
  #pausedUntil = 0;
  #turn: Promise<void> = Promise.resolve();
  #wake: (() => void) | null = null;

  constructor(private readonly clock: Clock = systemClock) {}

  plan(): BucketPlan | null {
    return this.#plan;
  }

  /** Points the bucket is estimated to hold now for a new call (may be negative while calls are in flight). */
  available(now: number = this.clock.now()): number {
    if (!this.#plan) return Number.POSITIVE_INFINITY;
    const restored = this.#observedAvailable + (this.#plan.restoreRatePerSecond * (now - this.#observedAt)) / 1000;
    return Math.min(this.#plan.bucketSize, restored) - this.#inFlight;
  }

  inFlight(): number {
    return this.#inFlight;
  }

  /** Waits until the bucket can hold `cost`, then counts it as in flight until `release`. */
  async acquire(cost: number): Promise<CostReservation> {
    const previous = this.#turn;
    let passTurn!: () => void;
    this.#turn = new Promise<void>((resolve) => (passTurn = resolve));
    await previous;
    try {
      for (;;) {
        const now = this.clock.now();
        if (now < this.#pausedUntil) {
          await this.#sleepOrWake(this.#pausedUntil - now);
          continue;
        }
        if (!this.#plan) {
          if (this.#inFlight === 0) break;
          await this.#sleepOrWake(Number.POSITIVE_INFINITY);
          continue;
        }
        const deficit = cost - this.available(now);
        if (deficit <= 0) break;
        // Woken early when a response reports more room (refunded cost, finished calls).
        await this.#sleepOrWake((deficit / this.#plan.restoreRatePerSecond) * 1000);
      }
      this.#inFlight += cost;
      return { cost };
    } finally {
      passTurn();
    }
  }

  /**
   * Ends a call: its cost is no longer in flight, and the throttle status from its response (if
   * any) becomes the new picture of the bucket. Without a status (network error, HTTP error) the
   * reserved cost is kept as spent until the next status arrives, which errs on the safe side.
   */
  release(reservation: CostReservation, status?: ThrottleStatus | null): void {
    this.#inFlight = Math.max(0, this.#inFlight - reservation.cost);
    const now = this.clock.now();
    if (status) {
      this.#plan = { bucketSize: status.maximumAvailable, restoreRatePerSecond: status.restoreRate };
      this.#observedAvailable = status.currentlyAvailable;
      this.#observedAt = now;
    } else if (this.#plan) {
      const current = this.available(now) + this.#inFlight;
      this.#observedAvailable = current - reservation.cost;
      this.#observedAt = now;
    }
    this.#notify();
  }

  /** No call is let through before `until` (ms on this bucket's clock): a Retry-After for the whole shop. */
  pauseUntil(until: number): void {
    this.#pausedUntil = Math.max(this.#pausedUntil, until);
  }

  #notify(): void {
    const wake = this.#wake;
    this.#wake = null;
    wake?.();
  }

  async #sleepOrWake(ms: number): Promise<void> {
    const woken = new Promise<void>((resolve) => (this.#wake = resolve));
    if (!Number.isFinite(ms)) return woken;
    // Cancel the timer when woken early, so no stray timer keeps a finished process alive.
    const cancel = new AbortController();
    await Promise.race([this.clock.sleep(ms, cancel.signal), woken]);
    cancel.abort();
  }
}
