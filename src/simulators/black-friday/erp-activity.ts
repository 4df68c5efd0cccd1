import { setTimeout as sleep } from 'node:timers/promises';
import type { Random } from '../shopify/random.js';
import type { StockPlan } from './catalogue.js';
import { addUnits, positionKey, type Ledger } from './ledger.js';
import type { RunErp } from './run-erp.js';
import type { SyncWatch } from './sync-watch.js';

/**
 * The ERP's own day, behind the gateway's back, every `everyMs`: goods receipts on hot SKUs
 * (entered in the ledger as existing, and timed by the sync watch until the store shows them),
 * the warehouse reserving and shipping the sales of orders placed a while ago (not cancelled
 * ones; at most the ERP's `shipmentsPerRound`; an order not in the ERP yet, as with a slow real
 * ERP, is tried again in later rounds), and other channels selling cold SKUs in the ERP directly
 * (an ERP-side sale).
 */
export interface ErpActivityStats {
  receipts: number;
  unitsReceived: number;
  shipments: number;
  erpSales: number;
  errors: number;
}

export async function runErpActivity(options: {
  erp: RunErp;
  plan: StockPlan;
  ledger: Ledger;
  random: Random;
  runId: string;
  everyMs: number;
  /** Orders older than this are shipped by the warehouse. */
  shipAfterMs: number;
  receiptUnits: number;
  syncWatch: SyncWatch;
  signal: AbortSignal;
}): Promise<ErpActivityStats> {
  const { erp, plan, ledger, random } = options;
  const stats: ErpActivityStats = { receipts: 0, unitsReceived: 0, shipments: 0, erpSales: 0, errors: 0 };
  const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)]!;
  let shippedUpTo = 0;
  /** Orders chosen for shipping that the ERP could not ship yet (not there yet): tried first next round. */
  let waiting: { index: number; tries: number }[] = [];
  const MAX_TRIES = 20;
  for (let round = 1; !options.signal.aborted; round++) {
    try {
      // A receipt on a hot SKU.
      const sku = pick(plan.hot);
      const location = pick(plan.locations);
      const units = Math.max(1, Math.round(options.receiptUnits * (0.5 + random())));
      await options.syncWatch.receipt(sku, location, units, () => erp.receiveStock(sku, location, units));
      addUnits(ledger.existed, positionKey(sku, location), units);
      stats.receipts += 1;
      stats.unitsReceived += units;

      // The warehouse ships what it can of the orders placed a while ago.
      const cutoff = Date.now() - options.shipAfterMs;
      let shipped = 0;
      const ship = async (index: number, tries: number) => {
        shipped += 1;
        const order = ledger.accepted[index]!;
        if (await erp.shipSale(order.reference, `BF${options.runId}${index}`)) stats.shipments += 1;
        else if (tries + 1 < MAX_TRIES) waiting.push({ index, tries: tries + 1 });
      };
      const retried = waiting;
      waiting = [];
      for (const [position, attempt] of retried.entries()) {
        if (shipped >= erp.shipmentsPerRound) {
          waiting.push(...retried.slice(position));
          break;
        }
        if (!ledger.accepted[attempt.index]!.cancelled) await ship(attempt.index, attempt.tries);
      }
      for (; shippedUpTo < ledger.accepted.length && ledger.accepted[shippedUpTo]!.placedAt < cutoff && shipped < erp.shipmentsPerRound; shippedUpTo++) {
        const order = ledger.accepted[shippedUpTo]!;
        if (order.cancelled || random() < 0.5) continue;
        await ship(shippedUpTo, 0);
      }

      // Another channel sells a cold SKU in the ERP, within its free stock there.
      const cold = pick(plan.cold);
      const where = pick(plan.locations);
      const free = await erp.freeStock(cold, where, ledger);
      const quantity = Math.min(1 + Math.floor(random() * 3), Math.floor(free / 4));
      if (quantity > 0) {
        await erp.otherChannelSale(`ERP-BF${options.runId}-${round}`, cold, where, quantity);
        addUnits(ledger.erpSales, positionKey(cold, where), quantity);
        stats.erpSales += 1;
      }
    } catch {
      stats.errors += 1;
    }
    await sleep(options.everyMs, undefined, { signal: options.signal }).catch(() => {});
  }
  return stats;
}
