import type { ErpConnector, Location, Product, StockLevel } from '../erp/erp-connector.js';
import { createDemoErp, seededRandom } from '../erp/simulated/demo-catalogue.js';
import type { SimulatedErp } from '../erp/simulated/simulated-erp.js';
import { SimulatedErpConnector } from '../erp/simulated/simulated-erp-connector.js';
import type { Logger } from '../logger.js';
import { startShopifySimulator, type ShopifySimulator, type ShopifySimulatorOptions } from '../simulators/shopify/index.js';
import type { SeedProduct } from '../simulators/shopify/seed.schema.js';

/**
 * The no-configuration demo: a simulated ERP (a few hundred SKUs in three warehouses, lots,
 * kits, stock that moves) and a simulated Shopify store on loopback whose catalogue mostly
 * matches it, with the untidiness real shops have: SKUs typed differently (`bracket-v2-blue`
 * for `BRACKET-V2-BLU`), products not on Shopify, Shopify-only products, and duplicate SKUs.
 */
export interface DemoEnvironment {
  readonly erp: SimulatedErp;
  readonly erpConnector: ErpConnector;
  readonly shopify: ShopifySimulator;
  close(): Promise<void>;
}

export const DEMO_FINISH_WORDS: Readonly<Record<string, string>> = {
  BLU: 'blue',
  RED: 'red',
  BLK: 'black',
  WHT: 'white',
  GRY: 'grey',
  CLR: 'clear',
};

/** How the demo shop spells an ERP SKU: mostly the same, sometimes lower-case with words. */
function shopifySkuFor(sku: string, index: number): string {
  if (index % 9 !== 4) return sku;
  return sku
    .split('-')
    .map((part) => DEMO_FINISH_WORDS[part] ?? part)
    .join('-')
    .toLowerCase();
}

export interface DemoOptions {
  log: Logger;
  skus?: number;
  /** Loopback port of the simulated store (0 = any free port). */
  shopifyPort?: number;
  /** ERP stock movements per minute (0 = still). */
  activityPerMinute?: number;
  seed?: number;
  /** More options for the simulated store (tests: OAuth token lifetimes, granted scopes). */
  shopify?: Pick<ShopifySimulatorOptions, 'oauth' | 'accessScopes' | 'apiKey' | 'apiSecret'>;
}

async function readAll<T>(next: (cursor: string | undefined) => Promise<{ items: readonly T[]; nextCursor: string | null }>): Promise<T[]> {
  const all: T[] = [];
  let cursor: string | undefined;
  for (;;) {
    const page = await next(cursor);
    all.push(...page.items);
    if (!page.nextCursor) return all;
    cursor = page.nextCursor;
  }
}

export async function startDemoEnvironment(options: DemoOptions): Promise<DemoEnvironment> {
  const random = seededRandom(options.seed ?? 7);
  const erp = createDemoErp({ skus: options.skus ?? 300, locations: 3, seed: options.seed ?? 1 });
  const erpConnector = new SimulatedErpConnector(erp, { logger: options.log.child({ component: 'simulated-erp' }) });

  const locations: readonly Location[] = (await erpConnector.listLocations()).filter((l) => l.kind === 'warehouse');
  const products: Product[] = await readAll((cursor) => erpConnector.listProducts({ cursor, limit: 500 }));
  const stock: StockLevel[] = await readAll((cursor) => erpConnector.listAllStock({ cursor, limit: 1000 }));
  const onHand = new Map(stock.map((level) => [`${level.sku}|${level.location}`, level.onHand - level.allocated]));

  const seedProducts: SeedProduct[] = [];
  products.forEach((product, index) => {
    if (index % 13 === 7) return; // on the ERP only: never listed in the shop
    const sku = shopifySkuFor(product.sku, index);
    const levels: Record<string, number> = {};
    for (const location of locations) {
      // Shopify's numbers start out of date: roughly the ERP's, as if typed in by hand weeks ago.
      const erpFree = Math.max(0, Math.floor(onHand.get(`${product.sku}|${location.code}`) ?? 0));
      levels[location.code] = Math.max(0, erpFree + Math.floor(random() * 11) - 5);
    }
    const variants = [{ sku, title: 'Default Title', price: (5 + Math.floor(random() * 9500) / 100).toFixed(2), levels }];
    if (index % 29 === 11) variants.push({ ...variants[0]!, title: 'Duplicate listing' }); // same SKU twice
    seedProducts.push({ title: product.name, variants });
  });
  for (const extra of ['GIFT-CARD-25', 'MERCH-TSHIRT-M', 'SAMPLE-PACK']) {
    seedProducts.push({ title: extra, variants: [{ sku: extra, levels: { [locations[0]!.code]: 100 } }] });
  }

  const shopify = await startShopifySimulator({
    ...options.shopify,
    port: options.shopifyPort ?? 0,
    plan: 'standard',
    shopDomain: 'stockbridge-demo.myshopify.com',
    logger: options.log.child({ component: 'shopify-simulator' }),
    catalogue: {
      shop: { name: 'Stockbridge Demo Hardware', currency: 'GBP' },
      locations: locations.map((location) => ({ key: location.code, name: location.name })),
      products: seedProducts,
    },
  });

  const perMinute = options.activityPerMinute ?? 30;
  const timer =
    perMinute > 0
      ? setInterval(() => {
          const changed = erp.simulateActivity(Math.max(1, Math.round(perMinute / 6)), random);
          if (changed.length > 0) options.log.debug({ changed: changed.length }, 'demo ERP stock moved');
        }, 10_000)
      : undefined;
  timer?.unref();

  return {
    erp,
    erpConnector,
    shopify,
    async close() {
      if (timer) clearInterval(timer);
      await shopify.close();
    },
  };
}
