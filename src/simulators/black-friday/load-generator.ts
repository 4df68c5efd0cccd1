import { setTimeout as sleep } from 'node:timers/promises';
import type { ShopifySimulator } from '../shopify/index.js';
import type { Random } from '../shopify/random.js';
import type { StockPlan } from './catalogue.js';
import type { Ledger, LedgerOrder } from './ledger.js';

/**
 * Customers placing orders at the store: `ordersPerMinute` spread evenly over the run (caught up
 * every 50 ms), 70 % on the hot SKUs, from a pool of simulated customers; one order in fifty is
 * cancelled by its customer within seconds. Every outcome goes to the ledger (accepted with its
 * lines, refused when Shopify had no stock, cancelled).
 */
export interface LoadGeneratorOptions {
  readonly simulator: ShopifySimulator;
  readonly plan: StockPlan;
  readonly ledger: Ledger;
  readonly random: Random;
  readonly ordersPerMinute: number;
  readonly durationMs: number;
  readonly runId: string;
  readonly signal: AbortSignal;
}

export interface LoadTimeline {
  /** Per second of the run: orders placed and orders accepted. */
  readonly placedPerSecond: number[];
  readonly acceptedPerSecond: number[];
  /** Orders the simulator threw on (not a stock refusal). */
  errors: number;
}

export async function generateLoad(options: LoadGeneratorOptions): Promise<LoadTimeline> {
  const { simulator, plan, ledger, random } = options;
  const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)]!;
  const timeline: LoadTimeline = { placedPerSecond: [], acceptedPerSecond: [], errors: 0 };
  const total = Math.round((options.ordersPerMinute * options.durationMs) / 60_000);
  const recent: LedgerOrder[] = [];
  const started = Date.now();
  let placed = 0;
  while (placed < total && !options.signal.aborted) {
    const elapsed = Date.now() - started;
    const due = Math.min(total, Math.floor((elapsed / options.durationMs) * total) + 1);
    for (; placed < due; placed++) {
      const second = Math.floor((Date.now() - started) / 1000);
      timeline.placedPerSecond[second] = (timeline.placedPerSecond[second] ?? 0) + 1;
      const hot = random() < 0.7;
      const sku = pick(hot ? plan.hot : plan.cold);
      const quantity = hot ? 1 + Math.floor(random() * 2) : 1 + Math.floor(random() * 3);
      const location = pick(plan.locations);
      const customer = Math.floor(random() * 2_000);
      try {
        const result = simulator.state.placeOrder({
          lines: [{ sku, quantity }],
          location,
          customer: { firstName: 'Shopper', lastName: `${customer}`, email: `shopper-${options.runId.toLowerCase()}-${customer}@example.com` },
        });
        if (!result.placed) {
          ledger.refused += 1;
          continue;
        }
        const order: LedgerOrder = {
          reference: result.order.id.startsWith('gid://') ? result.order.id : `gid://shopify/Order/${result.order.legacyId}`,
          placedAt: Date.now(),
          lines: [{ sku, location, quantity }],
          cancelled: false,
        };
        ledger.accepted.push(order);
        timeline.acceptedPerSecond[second] = (timeline.acceptedPerSecond[second] ?? 0) + 1;
        recent.push(order);
        if (recent.length > 200) recent.shift();
      } catch {
        timeline.errors += 1;
        ledger.refused += 1;
      }
      // A customer changes their mind: an order of the last few seconds is cancelled.
      if (random() < 0.02 && recent.length > 0) {
        const victim = recent.splice(Math.floor(random() * recent.length), 1)[0]!;
        if (Date.now() - victim.placedAt < 5_000 && !victim.cancelled) {
          try {
            simulator.state.cancelOrder(victim.reference);
            victim.cancelled = true;
          } catch {
            // already cancelled or unknown: leave it as it was
          }
        }
      }
    }
    await sleep(50);
  }
  return timeline;
}
