import type { ShopifySimulator } from '../shopify/index.js';
import { positionKey, type Ledger, type LedgerOrder } from './ledger.js';
import { latencyFigures, receiptShown, type LatencyFigures, type TimedSample } from './probe-figures.js';

/**
 * Sync latency measured in the run itself: each goods receipt the ERP activity makes is timed
 * (when the ERP had it), and the store simulator's level at that position is watched until it
 * shows the receipt (`receiptShown`: the rise, net of Shopify's own sales and of wholesale
 * reservations there since). ERP stock change → Shopify `available`, end to end, as a shopper
 * would see it. A receipt not shown within `timeoutMs`, or still waiting when the watch stops,
 * is counted as not shown.
 */
export interface SyncWatchFigures extends LatencyFigures {
  readonly receipts: number;
  readonly notShown: number;
  /** Each shown receipt: when it was made in the ERP (epoch ms) and its latency in ms. */
  readonly timed: readonly TimedSample[];
}

export interface SyncWatch {
  /** Runs `receive` (the ERP receipt) and watches the store for its units from the moment it returns. */
  receipt(sku: string, location: string, units: number, receive: () => Promise<void> | void): Promise<void>;
  /** Units a wholesale app reserved at a position (they keep the pushed level down). */
  reserved(sku: string, location: string, units: number): void;
  stop(): SyncWatchFigures;
}

interface Watched {
  readonly key: string;
  readonly sku: string;
  readonly location: string;
  readonly units: number;
  readonly before: number;
  readonly soldAtStart: number;
  readonly reservedAtStart: number;
  at: number;
}

export function startSyncWatch(options: { simulator: ShopifySimulator; ledger: Ledger; everyMs?: number; timeoutMs?: number }): SyncWatch {
  const { simulator, ledger } = options;
  const timeoutMs = options.timeoutMs ?? 120_000;
  const sold = new Map<string, number>();
  const reserved = new Map<string, number>();
  let cursor = 0;
  const watching = new Set<Watched>();
  const timed: TimedSample[] = [];
  let receipts = 0;
  let notShown = 0;

  const available = (sku: string, location: string) => simulator.state.level({ sku, location })?.quantities.available ?? 0;
  const cancelled = new Set<string>();
  const count = (lines: LedgerOrder['lines'], sign: 1 | -1) => {
    for (const line of lines) {
      const key = positionKey(line.sku, line.location);
      sold.set(key, (sold.get(key) ?? 0) + sign * line.quantity);
    }
  };
  /**
   * Shopify's sales per position so far, net of cancellations (Shopify restocks them): the
   * ledger's new accepted orders, and the recent ones customers cancelled (within seconds, so
   * among the last few hundred).
   */
  const catchUp = () => {
    for (; cursor < ledger.accepted.length; cursor++) count(ledger.accepted[cursor]!.lines, 1);
    for (let i = Math.max(0, ledger.accepted.length - 1_000); i < ledger.accepted.length; i++) {
      const order = ledger.accepted[i]!;
      if (order.cancelled && !cancelled.has(order.reference)) {
        cancelled.add(order.reference);
        count(order.lines, -1);
      }
    }
  };
  const look = () => {
    catchUp();
    const now = Date.now();
    for (const watch of watching) {
      const shown = receiptShown(watch, {
        available: available(watch.sku, watch.location),
        soldSince: (sold.get(watch.key) ?? 0) - watch.soldAtStart,
        reservedSince: (reserved.get(watch.key) ?? 0) - watch.reservedAtStart,
      });
      if (shown) {
        timed.push({ at: watch.at, value: now - watch.at });
        watching.delete(watch);
      } else if (now - watch.at > timeoutMs) {
        notShown += 1;
        watching.delete(watch);
      }
    }
  };
  const timer = setInterval(look, options.everyMs ?? 100);
  timer.unref();

  return {
    async receipt(sku, location, units, receive) {
      catchUp();
      const key = positionKey(sku, location);
      // Read before the receipt: a push that lands while the ERP call returns is still seen.
      const watch: Watched = { key, sku, location, units, before: available(sku, location), soldAtStart: sold.get(key) ?? 0, reservedAtStart: reserved.get(key) ?? 0, at: 0 };
      await receive();
      watch.at = Date.now();
      receipts += 1;
      watching.add(watch);
    },
    reserved(sku, location, units) {
      const key = positionKey(sku, location);
      reserved.set(key, (reserved.get(key) ?? 0) + units);
    },
    stop() {
      clearInterval(timer);
      look();
      notShown += watching.size;
      watching.clear();
      return { ...latencyFigures(timed.map((sample) => sample.value)), receipts, notShown, timed };
    },
  };
}
