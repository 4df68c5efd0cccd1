import { setTimeout as sleep } from 'node:timers/promises';
import type { SimulatedErp } from '../../erp/simulated/simulated-erp.js';
import type { Random } from '../shopify/random.js';
import { WAREHOUSES, type StockPlan } from './catalogue.js';
import { addUnits, positionKey, type Ledger } from './ledger.js';

/**
 * The ERP's own day, behind the gateway's back, every `everyMs`: goods receipts on hot SKUs
 * (entered in the ledger as existing), the warehouse reserving and shipping the sales of
 * orders placed a while ago (not cancelled ones), and other channels selling cold SKUs in the ERP
 * directly (a wholesale order made, allocated and shipped at once: an ERP-side sale).
 */
export interface ErpActivityStats {
  receipts: number;
  unitsReceived: number;
  shipments: number;
  erpSales: number;
  errors: number;
}

export async function runErpActivity(options: {
  erp: SimulatedErp;
  plan: StockPlan;
  ledger: Ledger;
  random: Random;
  runId: string;
  everyMs: number;
  /** Orders older than this are shipped by the warehouse. */
  shipAfterMs: number;
  receiptUnits: number;
  signal: AbortSignal;
}): Promise<ErpActivityStats> {
  const { erp, plan, ledger, random } = options;
  const stats: ErpActivityStats = { receipts: 0, unitsReceived: 0, shipments: 0, erpSales: 0, errors: 0 };
  let shippedUpTo = 0;
  for (let round = 1; !options.signal.aborted; round++) {
    try {
      // A receipt on a hot SKU.
      const sku = plan.hot[Math.floor(random() * plan.hot.length)]!;
      const location = WAREHOUSES[Math.floor(random() * WAREHOUSES.length)]!;
      const units = Math.max(1, Math.round(options.receiptUnits * (0.5 + random())));
      erp.receiveStock({ sku, location, quantity: units });
      addUnits(ledger.existed, positionKey(sku, location), units);
      stats.receipts += 1;
      stats.unitsReceived += units;

      // The warehouse ships what it can of the orders placed a while ago.
      const cutoff = Date.now() - options.shipAfterMs;
      for (; shippedUpTo < ledger.accepted.length && ledger.accepted[shippedUpTo]!.placedAt < cutoff; shippedUpTo++) {
        const order = ledger.accepted[shippedUpTo]!;
        if (order.cancelled || random() < 0.5) continue;
        erp.assignSalesOrder(order.reference);
        if (erp.shipSalesOrder(order.reference, { carrier: 'DemoPost', trackingNumber: `BF${options.runId}${shippedUpTo}` }).length > 0) stats.shipments += 1;
      }

      // Another channel sells a cold SKU in the ERP, within its free stock there.
      const cold = plan.cold[Math.floor(random() * plan.cold.length)]!;
      const where = WAREHOUSES[Math.floor(random() * WAREHOUSES.length)]!;
      const answer = (await erp.call('stock.read', { skus: [cold], locations: [where] })) as { result?: { on_hand: number; allocated: number; committed: number }[] };
      const row = answer.result?.[0];
      const free = row ? row.on_hand - row.allocated - row.committed : 0;
      const quantity = Math.min(1 + Math.floor(random() * 3), Math.floor(free / 4));
      if (quantity > 0) {
        const reference = `ERP-BF${options.runId}-${round}`;
        erp.createWholesaleOrder({ reference, lines: [{ sku: cold, location: where, quantity }] });
        erp.allocateWholesaleOrder(reference);
        erp.shipWholesaleOrder(reference);
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
