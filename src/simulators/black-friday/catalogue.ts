import { SimulatedErp } from '../../erp/simulated/simulated-erp.js';
import type { ShopSeed } from '../shopify/index.js';
import { addUnits, positionKey, type Ledger } from './ledger.js';

/**
 * The store's catalogue and the stock plan: a tenth of the SKUs are hot (most of the demand goes
 * to them and they sell out unless receipts come in time), the rest cold with plenty of stock
 * (the ERP's other channels sell those). Two warehouses, named alike in the ERP and Shopify.
 */
export const WAREHOUSES = ['BF-NORTH', 'BF-SOUTH'] as const;

export interface StockPlan {
  readonly hot: readonly string[];
  readonly cold: readonly string[];
  readonly all: readonly string[];
}

export function planCatalogue(options: { skus: number; totalOrders: number; runId: string }): StockPlan & { initial: Map<string, number> } {
  const count = Math.max(4, options.skus);
  const hotCount = Math.max(2, Math.round(count / 10));
  const all = Array.from({ length: count }, (_, i) => `BF${options.runId}-${i < hotCount ? 'HOT' : 'STD'}-${String(i).padStart(3, '0')}`);
  const hot = all.slice(0, hotCount);
  const cold = all.slice(hotCount);
  // 70 % of orders go to hot SKUs (1.5 units each on average): each hot position starts with about
  // half of its expected demand, so receipts decide whether it sells out.
  const hotDemand = (options.totalOrders * 0.7 * 1.5) / (hot.length * WAREHOUSES.length);
  const coldDemand = (options.totalOrders * 0.3 * 2) / (cold.length * WAREHOUSES.length);
  const initial = new Map<string, number>();
  for (const location of WAREHOUSES) {
    for (const sku of hot) initial.set(positionKey(sku, location), Math.max(5, Math.round(hotDemand * 0.5)));
    for (const sku of cold) initial.set(positionKey(sku, location), Math.max(50, Math.round(coldDemand * 3)));
  }
  return { hot, cold, all, initial };
}

/** The simulated ERP holding the catalogue and its initial stock (entered in the ledger as existing). */
export function buildErp(plan: StockPlan & { initial: Map<string, number> }, ledger: Ledger): SimulatedErp {
  const erp = new SimulatedErp();
  for (const code of WAREHOUSES) erp.addWarehouse({ code, name: `Black Friday ${code}` });
  for (const sku of plan.all) erp.addProduct({ sku, name: `Black Friday ${sku}` });
  for (const [key, quantity] of plan.initial) {
    const at = key.lastIndexOf('@');
    erp.receiveStock({ sku: key.slice(0, at), location: key.slice(at + 1), quantity });
    addUnits(ledger.existed, key, quantity);
  }
  return erp;
}

/** The Shopify store's catalogue: every SKU stocked at both locations, at 0 until the gateway pushes. */
export function shopCatalogue(plan: StockPlan): ShopSeed {
  return {
    locations: WAREHOUSES.map((code) => ({ key: code, name: code })),
    products: plan.all.map((sku) => ({
      title: sku,
      variants: [{ sku, price: plan.hot.includes(sku) ? '49.00' : '12.00', levels: Object.fromEntries(WAREHOUSES.map((code) => [code, 0])) }],
    })),
  } as ShopSeed;
}
