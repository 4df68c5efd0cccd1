import type { KitComponent } from '../erp-connector.js';
import { SimulatedErp } from './simulated-erp.js';

/**
 * A deterministic catalogue for the demo and the benchmarks: a manufacturer of brackets,
 * hinges, fasteners, rails and the adhesives and sealants sold with them. The same options
 * always give the same ERP, SKU for SKU and unit for unit.
 */
export interface DemoErpOptions {
  /** Products in the catalogue, kits included. */
  readonly skus?: number;
  /** Warehouses (each with one storage location). */
  readonly locations?: number;
  readonly seed?: number;
  /** Reserve stock for sales orders on confirmation (the demo's default; see SimulatedErpOptions). */
  readonly autoAssign?: boolean;
}

interface Family {
  readonly stem: string;
  readonly name: string;
  readonly variants: readonly string[];
  readonly finishes: readonly string[];
  /** Fasteners are sold in packs: a pack size is part of the SKU. */
  readonly packs?: readonly number[];
  /** `expiring`: lots with a use-by date (chemicals); `heat`: lots without expiry (traceable steel). */
  readonly lots?: 'expiring' | 'heat';
  /** Typical units on hand per warehouse. */
  readonly stockScale: number;
}

const FINISH_NAMES: Record<string, string> = {
  BLU: 'blue', RED: 'red', BLK: 'black', GLV: 'galvanised', ZNC: 'zinc plated', WHT: 'white', SS: 'stainless',
  BRS: 'brass', A2: 'stainless A2', A4: 'stainless A4', '88': 'grade 8.8', NYL: 'nylon insert', SPR: 'spring',
  ALU: 'aluminium', STD: 'standard', FAST: 'fast cure', CLR: 'clear', GRY: 'grey',
};

const FAMILIES: readonly Family[] = [
  { stem: 'BRACKET', name: 'Bracket', variants: ['L', 'Z', 'V2', 'T', 'CORNER', 'SHELF'], finishes: ['BLU', 'RED', 'BLK', 'GLV', 'ZNC', 'WHT'], stockScale: 400 },
  { stem: 'HINGE', name: 'Hinge', variants: ['BUTT-75', 'BUTT-100', 'PIANO-600', 'STRAP-150'], finishes: ['SS', 'BRS', 'BLK', 'ZNC'], stockScale: 250 },
  { stem: 'BOLT', name: 'Hex bolt', variants: ['M6X40', 'M8X50', 'M10X60', 'M12X80', 'M16X100'], finishes: ['A2', 'A4', 'GLV', '88'], packs: [10, 50, 100], lots: 'heat', stockScale: 300 },
  { stem: 'NUT', name: 'Hex nut', variants: ['M6', 'M8', 'M10', 'M12', 'M16'], finishes: ['A2', 'A4', 'GLV', 'NYL'], packs: [10, 50, 100], stockScale: 600 },
  { stem: 'WASHER', name: 'Washer', variants: ['M6', 'M8', 'M10', 'M12', 'M16'], finishes: ['A2', 'GLV', 'SPR'], packs: [10, 50, 100], stockScale: 800 },
  { stem: 'SCREW', name: 'Screw', variants: ['WOOD-4X40', 'WOOD-5X60', 'SELF-4X16', 'MACH-M5X20'], finishes: ['ZNC', 'BLK', 'A2'], packs: [10, 50, 100], stockScale: 700 },
  { stem: 'ANCHOR', name: 'Anchor', variants: ['WEDGE-M10', 'WEDGE-M12', 'SLEEVE-M8', 'CHEM-M12'], finishes: ['GLV', 'A4'], packs: [10, 50, 100], stockScale: 200 },
  { stem: 'PLATE', name: 'Plate', variants: ['MEND-100', 'TIE-200', 'JOIST-150'], finishes: ['GLV', 'ZNC'], stockScale: 300 },
  { stem: 'RAIL', name: 'Rail', variants: ['DIN-1M', 'SLOT-2M', 'STRUT-3M'], finishes: ['GLV', 'ALU', 'BLK'], stockScale: 120 },
  { stem: 'ADHESIVE', name: 'Adhesive', variants: ['EPOXY-50ML', 'ANCHOR-300ML', 'THREAD-10ML'], finishes: ['STD', 'FAST'], lots: 'expiring', stockScale: 150 },
  { stem: 'SEALANT', name: 'Sealant', variants: ['SIL-310ML', 'PU-600ML'], finishes: ['CLR', 'WHT', 'GRY'], lots: 'expiring', stockScale: 150 },
  { stem: 'PRIMER', name: 'Primer', variants: ['ZINC-1L', 'ETCH-500ML'], finishes: ['GRY', 'RED'], lots: 'expiring', stockScale: 80 },
];

const WAREHOUSES: readonly { code: string; name: string }[] = [
  { code: 'LDS', name: 'Leeds plant' },
  { code: 'BHM', name: 'Birmingham distribution centre' },
  { code: 'GLA', name: 'Glasgow depot' },
  { code: 'BRS', name: 'Bristol depot' },
  { code: 'MAN', name: 'Manchester trade counter' },
];

interface Article {
  readonly sku: string;
  readonly name: string;
  readonly family: Family;
}

/** Every base article (family × variant × finish × pack), in a fixed order. */
function baseArticles(): Article[] {
  const articles: Article[] = [];
  for (const family of FAMILIES) {
    for (const variant of family.variants) {
      for (const finish of family.finishes) {
        for (const pack of family.packs ?? [null]) {
          const sku = [family.stem, variant, finish, pack === null ? null : `PK${pack}`].filter((p) => p !== null).join('-');
          const name = `${family.name} ${variant.toLowerCase().replace(/-/g, ' ')}, ${FINISH_NAMES[finish] ?? finish}${pack === null ? '' : `, pack of ${pack}`}`;
          articles.push({ sku, name, family });
        }
      }
    }
  }
  return articles;
}

/** mulberry32: a small, fast, seedable generator; enough for a believable catalogue. */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function shuffled<T>(items: readonly T[], random: () => number): T[] {
  const copy = [...items];
  for (let i = copy.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [copy[i], copy[j]] = [copy[j]!, copy[i]!];
  }
  return copy;
}

function addDays(isoDate: string, days: number): string {
  const date = new Date(`${isoDate}T00:00:00Z`);
  date.setUTCDate(date.getUTCDate() + days);
  return date.toISOString().slice(0, 10);
}

export function createDemoErp(options: DemoErpOptions = {}): SimulatedErp {
  const skuCount = options.skus ?? 300;
  const locationCount = options.locations ?? 3;
  const random = seededRandom(options.seed ?? 1);
  const erp = new SimulatedErp({ autoAssign: options.autoAssign ?? true });

  const warehouses = Array.from({ length: locationCount }, (_, i) => WAREHOUSES[i] ?? { code: `WH${i + 1}`, name: `Warehouse ${i + 1}` });
  for (const warehouse of warehouses) erp.addWarehouse(warehouse);

  // A kit for every fifty articles: assembled shelf and fixing sets made of catalogue parts.
  const kitCount = skuCount >= 10 ? Math.floor(skuCount / 50) : 0;
  const articleCount = skuCount - kitCount;
  const bases = shuffled(baseArticles(), random);
  const articles: Article[] = [];
  for (let i = 0; i < articleCount; i++) {
    const base = bases[i % bases.length]!;
    const series = Math.floor(i / bases.length) + 1;
    articles.push(series === 1 ? base : { sku: `${base.sku}-S${series}`, name: `${base.name} (series ${series})`, family: base.family });
  }

  let lotSequence = 0;
  for (const article of articles) {
    // Fasteners are counted in packs (the pack is their stock unit); everything else in units.
    erp.addProduct({ sku: article.sku, name: article.name, lotTracked: article.family.lots !== undefined, unit: article.family.packs ? 'Pack' : 'Unit' });
    for (const warehouse of warehouses) {
      if (random() < 0.1) continue; // not stocked at every site
      const quantity = Math.floor(random() * article.family.stockScale * 2);
      if (quantity === 0) continue;
      if (article.family.lots === undefined) {
        erp.seedStock({ sku: article.sku, location: warehouse.code, quantity });
        continue;
      }
      const lots = 1 + Math.floor(random() * 3);
      let left = quantity;
      for (let l = 0; l < lots && left > 0; l++) {
        const lotQuantity = l === lots - 1 ? left : Math.max(1, Math.floor(left * random()));
        left -= lotQuantity;
        lotSequence += 1;
        const expiresOn = article.family.lots === 'expiring' ? addDays('2026-12-01', Math.floor(random() * 720)) : null;
        const prefix = article.family.lots === 'expiring' ? 'LOT' : 'HEAT';
        erp.seedStock({ sku: article.sku, location: warehouse.code, quantity: lotQuantity, lot: { number: `${prefix}-${String(lotSequence).padStart(6, '0')}`, expiresOn } });
      }
    }
  }

  const brackets = articles.filter((a) => a.family.stem === 'BRACKET');
  const screws = articles.filter((a) => a.family.stem === 'SCREW' || a.family.stem === 'ANCHOR');
  const anyPart = articles.filter((a) => a.family.lots === undefined);
  for (let k = 0; k < kitCount; k++) {
    const main = (brackets.length > 0 ? brackets : anyPart)[Math.floor(random() * (brackets.length || anyPart.length))]!;
    const fixing = (screws.length > 0 ? screws : anyPart)[Math.floor(random() * (screws.length || anyPart.length))]!;
    const components: KitComponent[] = main.sku === fixing.sku ? [{ sku: main.sku, quantity: 2 }] : [{ sku: main.sku, quantity: 2 }, { sku: fixing.sku, quantity: 1 }];
    // Most kits are assembled on demand (no stock of their own); every third is made to stock.
    const madeToStock = k % 3 === 2;
    const sku = `KIT-${main.sku.replace(/^BRACKET-/, '')}-${String(k + 1).padStart(3, '0')}`;
    erp.addProduct({ sku, name: `Fixing kit: 2 × ${main.name} with ${fixing.name}`, stockTracked: madeToStock, components });
    if (madeToStock) for (const warehouse of warehouses) erp.seedStock({ sku, location: warehouse.code, quantity: Math.floor(random() * 40) });
  }

  // Wholesale orders of the trade channel: some confirmed and waiting, some already reserved.
  const wholesaleLines = Math.ceil(articleCount * 0.05);
  for (let w = 0; w < wholesaleLines; w++) {
    const article = articles[Math.floor(random() * articles.length)]!;
    const warehouse = warehouses[Math.floor(random() * warehouses.length)]!;
    const reference = `WS-${String(w + 1).padStart(6, '0')}`;
    erp.createWholesaleOrder({ reference, lines: [{ sku: article.sku, location: warehouse.code, quantity: 1 + Math.floor(random() * 24) }] });
    if (random() < 0.4) erp.allocateWholesaleOrder(reference);
  }
  return erp;
}
