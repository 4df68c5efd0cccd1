import { AsyncLocalStorage } from 'node:async_hooks';

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
 *
 * Lanes: the sync's pushes, the order pipeline and reservations (the background lane, the
 * default) must not wait behind a flood of API reads (the interactive lane, entered with
 * `runInShopifyLane('interactive', …)`). Each lane waits in its own arrival order; a background
 * call goes first whenever both wait, and an interactive call is let through only while it
 * leaves `backgroundShare` of the bucket (default half) for background work. So interactive
 * reads can never drain the bucket below the background's share, and a background call waits at
 * most for the calls already in flight plus what its own cost needs to restore.
 */

export type ShopifyLane = 'interactive' | 'background';

const laneStorage = new AsyncLocalStorage<ShopifyLane>();

/** Runs `work` with every Shopify call it makes (however deep) in `lane`. */
export function runInShopifyLane<T>(lane: ShopifyLane, work: () => T): T {
  return laneStorage.run(lane, work);
}

/** The lane of the Shopify call being made: background unless `runInShopifyLane` said otherwise. */
export function currentShopifyLane(): ShopifyLane {
  return laneStorage.getStore() ?? 'background';
}

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

export interface CostBucketOptions {
  /** Fraction of the bucket interactive calls must leave for background work (0–1, default 0.5). */
  readonly backgroundShare?: number;
}

export class CostBucket {
  #plan: BucketPlan | null = null;
  #observedAvailable = 0;
  #observedAt = 0;
  #inFlight = 0;
  #pausedUntil = 0;
  readonly #turns: Record<ShopifyLane, Promise<void>> = { interactive: Promise.resolve(), background: Promise.resolve() };
  /** Callers of each lane that hold their lane's turn or wait for it. */
  readonly #waiting: Record<ShopifyLane, number> = { interactive: 0, background: 0 };
  readonly #wakers = new Set<() => void>();
  readonly #backgroundShare: number;

  constructor(
    private readonly clock: Clock = systemClock,
    options: CostBucketOptions = {},
  ) {
    this.#backgroundShare = Math.min(1, Math.max(0, options.backgroundShare ?? 0.5));
  }

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

  /**
   * Waits until the bucket can hold `cost` for this lane (default: the caller's
   * `currentShopifyLane()`), then counts it as in flight until `release`.
   */
  async acquire(cost: number, lane: ShopifyLane = currentShopifyLane()): Promise<CostReservation> {
    const previous = this.#turns[lane];
    let passTurn!: () => void;
    this.#turns[lane] = new Promise<void>((resolve) => (passTurn = resolve));
    this.#waiting[lane] += 1;
    try {
      await previous;
      for (;;) {
        const now = this.clock.now();
        if (now < this.#pausedUntil) {
          await this.#sleepOrWake(this.#pausedUntil - now);
          continue;
        }
        // Background work waiting goes first; it wakes this caller when it passes.
        if (lane === 'interactive' && this.#waiting.background > 0) {
          await this.#sleepOrWake(Number.POSITIVE_INFINITY);
          continue;
        }
        if (!this.#plan) {
          if (this.#inFlight === 0) break;
          await this.#sleepOrWake(Number.POSITIVE_INFINITY);
          continue;
        }
        const deficit = cost + this.#reserveFor(lane, cost) - this.available(now);
        if (deficit <= 0) break;
        // Woken early when a response reports more room (refunded cost, finished calls).
        await this.#sleepOrWake((deficit / this.#plan.restoreRatePerSecond) * 1000);
      }
      this.#inFlight += cost;
      return { cost };
    } finally {
      this.#waiting[lane] -= 1;
      passTurn();
      if (lane === 'background') this.#notify();
    }
  }

  /**
   * Resolves once a call of `cost` in `lane` could pass now, reserving nothing: an interactive
   * caller waits here before it takes one of the shop's connection slots, so reads waiting for
   * the bucket never hold slots that background calls need.
   */
  async waitForRoom(cost: number, lane: ShopifyLane): Promise<void> {
    for (;;) {
      const now = this.clock.now();
      if (now < this.#pausedUntil) {
        await this.#sleepOrWake(this.#pausedUntil - now);
        continue;
      }
      if (!this.#plan) return;
      if (lane === 'interactive' && this.#waiting.background > 0) {
        await this.#sleepOrWake(Number.POSITIVE_INFINITY);
        continue;
      }
      const deficit = cost + this.#reserveFor(lane, cost) - this.available(now);
      if (deficit <= 0) return;
      await this.#sleepOrWake((deficit / this.#plan.restoreRatePerSecond) * 1000);
    }
  }

  /** Points a call of this lane must leave in the bucket: the background's share, for reads. */
  #reserveFor(lane: ShopifyLane, cost: number): number {
    if (lane === 'background' || !this.#plan) return 0;
    // A read bigger than the interactive part of the bucket still runs, on a full bucket.
    return Math.max(0, Math.min(this.#plan.bucketSize * this.#backgroundShare, this.#plan.bucketSize - cost));
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
    const wakers = [...this.#wakers];
    this.#wakers.clear();
    for (const wake of wakers) wake();
  }

  async #sleepOrWake(ms: number): Promise<void> {
    let wake!: () => void;
    const woken = new Promise<void>((resolve) => (wake = resolve));
    this.#wakers.add(wake);
    if (!Number.isFinite(ms)) return woken;
    // Cancel the timer when woken early, so no stray timer keeps a finished process alive.
    const cancel = new AbortController();
    await Promise.race([this.clock.sleep(ms, cancel.signal), woken]);
    cancel.abort();
    this.#wakers.delete(wake);
  }
}
