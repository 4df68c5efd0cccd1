/**
 * A leaky bucket of cost points per API key, as Shopify's: a key holds at most `size` points,
 * which come back at `restoreRate` per second; a request takes its requested cost before it runs
 * and gets back what it did not use. Kept in this instance's memory: with several instances
 * behind a load balancer each grants its own bucket (documented in the README), which is the
 * price of not touching the database on every request.
 *
 * The clock is injected so tests can move time instead of sleeping.
 */
export interface ThrottleStatus {
  maximumAvailable: number;
  currentlyAvailable: number;
  restoreRate: number;
}

export interface CostBuckets {
  /** Takes `cost` points if the bucket holds them; the status is after the decision. */
  take(key: string, cost: number): { granted: boolean; status: ThrottleStatus };
  /** Gives back points a request reserved but did not use. */
  refund(key: string, points: number): ThrottleStatus;
  status(key: string): ThrottleStatus;
}

interface Bucket {
  available: number;
  at: number;
}

export function createCostBuckets(options: { size: number; restoreRate: number; now?: () => number }): CostBuckets {
  const now = options.now ?? (() => Date.now());
  const buckets = new Map<string, Bucket>();

  function current(key: string): Bucket {
    const at = now();
    const bucket = buckets.get(key);
    if (!bucket) {
      const fresh = { available: options.size, at };
      buckets.set(key, fresh);
      return fresh;
    }
    const elapsedSeconds = Math.max(0, at - bucket.at) / 1000;
    bucket.available = Math.min(options.size, bucket.available + elapsedSeconds * options.restoreRate);
    bucket.at = at;
    return bucket;
  }

  const statusOf = (bucket: Bucket): ThrottleStatus => ({
    maximumAvailable: options.size,
    // Whole points, as Shopify reports them.
    currentlyAvailable: Math.floor(bucket.available),
    restoreRate: options.restoreRate,
  });

  return {
    take(key, cost) {
      const bucket = current(key);
      if (cost > bucket.available) return { granted: false, status: statusOf(bucket) };
      bucket.available -= cost;
      return { granted: true, status: statusOf(bucket) };
    },
    refund(key, points) {
      const bucket = current(key);
      if (points > 0) bucket.available = Math.min(options.size, bucket.available + points);
      return statusOf(bucket);
    },
    status: (key) => statusOf(current(key)),
  };
}
