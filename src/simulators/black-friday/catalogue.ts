import type { ShopSeed } from '../shopify/index.js';
import { positionKey } from './ledger.js';

/**
 * The store's catalogue and the stock plan: a tenth of the SKUs are hot (most of the demand goes
 * to them and they sell out unless receipts come in time), the rest cold with plenty of stock
 * (the ERP's other channels sell those). Two warehouses, named alike in the ERP and Shopify: the
 * simulated ERP's own two, or the configured ERP's (Tryton's seeded WH and WH-EAST).
 */
export const WAREHOUSES = ['BF-NORTH', 'BF-SOUTH'] as const;

export interface StockPlan {
  readonly hot: readonly string[];
  readonly cold: readonly string[];
  readonly all: readonly string[];
  /** The two warehouse codes, in the ERP and (as location names) in Shopify. */
  readonly locations: readonly [string, string];
}

export function planCatalogue(options: { skus: number; totalOrders: number; runId: string; locations?: readonly [string, string] }): StockPlan & { initial: Map<string, number> } {
  const locations = options.locations ?? WAREHOUSES;
  const count = Math.max(4, options.skus);
  const hotCount = Math.max(2, Math.round(count / 10));
  const all = Array.from({ length: count }, (_, i) => `BF${options.runId}-${i < hotCount ? 'HOT' : 'STD'}-${String(i).padStart(3, '0')}`);
  const hot = all.slice(0, hotCount);
  const cold = all.slice(hotCount);
  // 70 % of orders go to hot SKUs (1.5 units each on average): each hot position starts with about
  // half of its expected demand, so receipts decide whether it sells out.
  const hotDemand = (options.totalOrders * 0.7 * 1.5) / (hot.length * locations.length);
  const coldDemand = (options.totalOrders * 0.3 * 2) / (cold.length * locations.length);
  const initial = new Map<string, number>();
  for (const location of locations) {
    for (const sku of hot) initial.set(positionKey(sku, location), Math.max(5, Math.round(hotDemand * 0.5)));
    for (const sku of cold) initial.set(positionKey(sku, location), Math.max(50, Math.round(coldDemand * 3)));
  }
  return { hot, cold, all, locations, initial };
}

/** The Shopify store's catalogue: every SKU stocked at both locations, at 0 until the gateway pushes. */
export function shopCatalogue(plan: StockPlan): ShopSeed {
  return {
    locations: plan.locations.map((code) => ({ key: code, name: code })),
    products: plan.all.map((sku) => ({
      title: sku,
      variants: [{ sku, price: plan.hot.includes(sku) ? '49.00' : '12.00', levels: Object.fromEntries(plan.locations.map((code) => [code, 0])) }],
    })),
  } as ShopSeed;
}
