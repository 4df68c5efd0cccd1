import type { SimulatorClock } from './clock.js';

/** A Shopify plan's GraphQL limits: the bucket size and how many points it restores per second. */
export interface PlanLimits {
  readonly name: string;
  readonly maximumAvailable: number;
  readonly restoreRate: number;
}

export const SHOPIFY_PLANS = {
  standard: { name: 'standard', maximumAvailable: 2000, restoreRate: 100 },
  advanced: { name: 'advanced', maximumAvailable: 4000, restoreRate: 200 },
  plus: { name: 'plus', maximumAvailable: 20000, restoreRate: 1000 },
  enterprise: { name: 'enterprise', maximumAvailable: 40000, restoreRate: 2000 },
} as const satisfies Record<string, PlanLimits>;

export type ShopifyPlanName = keyof typeof SHOPIFY_PLANS;

export interface ThrottleStatus {
  maximumAvailable: number;
  currentlyAvailable: number;
  restoreRate: number;
}

/**
 * Shopify's leaky bucket for one app-and-store pair: it holds up to `maximumAvailable` points and
 * restores `restoreRate` points per second, continuously. A query needs its requested cost in the
 * bucket before it runs; after it runs, the difference between requested and actual cost is
 * refunded.
 */
export class CostBucket {
  private available: number;
  private updatedAt: number;

  constructor(
    private limits: PlanLimits,
    private readonly clock: SimulatorClock,
  ) {
    this.available = limits.maximumAvailable;
    this.updatedAt = clock.now();
  }

  /** Points in the bucket now, after restoring for the time elapsed. */
  currentlyAvailable(): number {
    this.restore();
    return this.available;
  }

  /** Takes `cost` points if the bucket holds them; returns false (taking nothing) otherwise. */
  tryTake(cost: number): boolean {
    this.restore();
    if (this.available < cost) return false;
    this.available -= cost;
    return true;
  }

  refund(points: number): void {
    this.restore();
    this.available = Math.min(this.limits.maximumAvailable, this.available + Math.max(0, points));
  }

  status(): ThrottleStatus {
    this.restore();
    return {
      maximumAvailable: this.limits.maximumAvailable,
      currentlyAvailable: Math.floor(this.available),
      restoreRate: this.limits.restoreRate,
    };
  }

  /** Switches plan; the points held are kept, capped at the new bucket size. */
  setLimits(limits: PlanLimits): void {
    this.restore();
    this.limits = limits;
    this.available = Math.min(this.available, limits.maximumAvailable);
  }

  /** Sets the points held directly (tests that start from a drained bucket). */
  setAvailable(points: number): void {
    this.restore();
    this.available = Math.max(0, Math.min(this.limits.maximumAvailable, points));
  }

  private restore(): void {
    const now = this.clock.now();
    const elapsed = now - this.updatedAt;
    if (elapsed > 0) {
      this.available = Math.min(this.limits.maximumAvailable, this.available + (elapsed / 1000) * this.limits.restoreRate);
    }
    this.updatedAt = Math.max(this.updatedAt, now);
  }
}
