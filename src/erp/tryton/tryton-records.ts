import { z } from 'zod';
import { chunk } from '../../shared/collections.js';
import { advanceFeed, decodeWatermark, encodeWatermark, readFrom, startFeed, type ChangeRecord } from '../erp-change-feed.js';
import type { ErpWatermark, KitComponent, Location, Page, PageRequest, Product, ProductChanges } from '../erp-connector.js';
import { UnknownSkuError } from '../erp-errors.js';
import { decodeSkuCursor, encodeSkuCursor, pageSize, uniqueInOrder } from '../erp-inputs.js';
import { TrytonDateTime } from './tryton-codec.js';
import { bool, isoFromStamp, roundQuantity, stamp, stampOf, type TrytonCalls } from './tryton-calls.js';

/**
 * The catalogue side of the Tryton connector: locations, products (`product.product` with a
 * code), kit components from their first `production.bom`, the product change feed, and the
 * SKU → product resolution every write does before it sends anything.
 */

const productRecord = z.object({
  id: z.number().int(),
  code: z.string().nullable(),
  name: z.string(),
  type: z.string(),
  consumable: bool.optional(),
  default_uom: z.number().int(),
  'default_uom.': z.object({ name: z.string() }).nullable().optional(),
  boms: z.array(z.number().int()).optional(),
});
type ProductRecord = z.output<typeof productRecord>;
// `default_uom.name`: the unit's name comes in the same read (Tryton answers it as `default_uom.`).
const PRODUCT_FIELDS = ['code', 'name', 'type', 'consumable', 'default_uom', 'default_uom.name', 'boms'];

const bomLinkRecord = z.object({ id: z.number().int(), product: z.number().int(), bom: z.number().int(), sequence: z.number().nullable().optional() });
const bomLineRecord = z.object({
  bom: z.number().int(),
  product: z.number().int(),
  quantity: z.number(),
  uom: z.number().int(),
  'product.': z.object({ code: z.string().nullable(), default_uom: z.number().int() }).nullable(),
});
const uomRecord = z.object({ id: z.number().int(), factor: z.number(), category: z.number().int() });

const changedProductRecord = z.object({
  id: z.number().int(),
  code: z.string().nullable(),
  create_date: stamp,
  write_date: stamp,
  'template.': z.object({ create_date: stamp, write_date: stamp }).nullable(),
});

/** A product as the connector resolved it from a SKU. */
export interface ResolvedProduct {
  readonly id: number;
  readonly sku: string;
  readonly name: string;
  readonly uom: number;
}

export class TrytonRecords {
  constructor(private readonly calls: TrytonCalls) {}

  async listLocations(): Promise<readonly Location[]> {
    return (await this.calls.locationTree({ fresh: true })).locations;
  }

  async listProducts(page: PageRequest = {}): Promise<Page<Product>> {
    const limit = pageSize(page.limit, this.calls.maxSkusPerRequest);
    const after = decodeSkuCursor(page.cursor);
    const domain: unknown[] = [['code', '!=', null]];
    if (after !== null) domain.push(['code', '>', after]);
    const records = await this.calls.searchRead('product.product', domain, PRODUCT_FIELDS, productRecord, { order: [['code', 'ASC']], limit });
    const items = await this.withComponents(records);
    return { items, nextCursor: records.length === limit ? encodeSkuCursor(items[items.length - 1]!.sku) : null };
  }

  async getProductsBySkus(skus: readonly string[]): Promise<{ readonly products: readonly Product[]; readonly unknownSkus: readonly string[] }> {
    const wanted = uniqueInOrder(skus);
    const found = new Map<string, Product>();
    for (const page of chunk(wanted, this.calls.maxSkusPerRequest)) {
      const records = await this.calls.searchRead('product.product', [['code', 'in', page]], PRODUCT_FIELDS, productRecord);
      for (const product of await this.withComponents(records)) found.set(product.sku, product);
    }
    return { products: wanted.filter((s) => found.has(s)).map((s) => found.get(s)!), unknownSkus: wanted.filter((s) => !found.has(s)) };
  }

  async getProductsChangedSince(watermark: ErpWatermark | null): Promise<ProductChanges> {
    const kind = 'tryton-products';
    const overlap = this.calls.overlap;
    if (watermark === null) {
      const now = await this.calls.latestStamp(['product.product', 'product.template']);
      const recent = await this.changedProducts(now - overlap);
      return { products: [], nextWatermark: encodeWatermark(kind, startFeed(now, recent, overlap)) };
    }
    const position = decodeWatermark(kind, watermark);
    const records = await this.changedProducts(readFrom(position, overlap));
    const { skus, next } = advanceFeed(position, records, overlap);
    const { products } = await this.getProductsBySkus(skus);
    return { products, nextWatermark: encodeWatermark(kind, next) };
  }

  /** SKU → product, or `UNKNOWN_SKU` naming every unknown one (before anything is written). */
  async resolveProducts(skus: readonly string[]): Promise<Map<string, ResolvedProduct>> {
    const wanted = uniqueInOrder(skus);
    const found = new Map<string, ResolvedProduct>();
    for (const page of chunk(wanted, this.calls.maxSkusPerRequest)) {
      const rows = await this.calls.searchRead('product.product', [['code', 'in', page]], ['code', 'name', 'default_uom'], productRecord.pick({ id: true, code: true, name: true, default_uom: true }));
      for (const row of rows) if (row.code) found.set(row.code, { id: row.id, sku: row.code, name: row.name, uom: row.default_uom });
    }
    const unknown = wanted.filter((s) => !found.has(s));
    if (unknown.length > 0) throw new UnknownSkuError(unknown);
    return found;
  }

  /** Products whose product, template or BOM was created or written after `from`. */
  private async changedProducts(from: number): Promise<ChangeRecord[]> {
    const since = new TrytonDateTime(isoFromStamp(from));
    const rows = await this.calls.searchRead(
      'product.product',
      [
        ['code', '!=', null],
        [
          'OR',
          ['create_date', '>', since],
          ['write_date', '>', since],
          ['template.create_date', '>', since],
          ['template.write_date', '>', since],
          ['boms.create_date', '>', since],
          ['boms.bom.write_date', '>', since],
        ],
      ],
      ['code', 'create_date', 'write_date', 'template.create_date', 'template.write_date'],
      changedProductRecord,
    );
    return rows.map((row) => ({
      id: String(row.id),
      sku: row.code!,
      // A change seen only through its BOM has no newer stamp of its own: it may be reported again.
      stamp: Math.max(stampOf(row.create_date), stampOf(row.write_date), stampOf(row['template.']?.create_date ?? null), stampOf(row['template.']?.write_date ?? null)),
    }));
  }

  /** Kit components from each product's first BOM, per one unit of the product's default unit. */
  private async withComponents(records: readonly ProductRecord[]): Promise<Product[]> {
    const withCode = records.filter((r): r is ProductRecord & { code: string } => r.code !== null);
    const linkIds = withCode.flatMap((r) => r.boms ?? []);
    const components = new Map<number, KitComponent[]>();
    if (linkIds.length > 0) {
      const links = await this.calls.read('product.product-production.bom', 'read', [linkIds, ['product', 'bom', 'sequence']], z.array(bomLinkRecord));
      const firstBom = new Map<number, number>();
      for (const link of [...links].sort((a, b) => (a.sequence ?? 0) - (b.sequence ?? 0) || a.id - b.id)) {
        if (!firstBom.has(link.product)) firstBom.set(link.product, link.bom);
      }
      const bomIds = [...new Set(firstBom.values())];
      const lineFields = ['bom', 'product', 'quantity', 'uom', 'product.code', 'product.default_uom'];
      const inputs = await this.calls.searchRead('production.bom.input', [['bom', 'in', bomIds]], lineFields, bomLineRecord);
      const outputs = await this.calls.searchRead('production.bom.output', [['bom', 'in', bomIds]], lineFields, bomLineRecord);
      const uomIds = [...new Set([...inputs, ...outputs].flatMap((l) => [l.uom, l['product.']?.default_uom ?? l.uom]))];
      const uoms = new Map((await this.calls.read('product.uom', 'read', [uomIds, ['factor', 'category']], z.array(uomRecord))).map((u) => [u.id, u]));
      const inDefaultUnit = (line: z.output<typeof bomLineRecord>): number => {
        const from = uoms.get(line.uom);
        const to = uoms.get(line['product.']?.default_uom ?? line.uom);
        return from && to && from.id !== to.id ? (line.quantity * from.factor) / to.factor : line.quantity;
      };
      for (const [productId, bomId] of firstBom) {
        const made = outputs.filter((o) => o.bom === bomId && o.product === productId).reduce((sum, o) => sum + inDefaultUnit(o), 0);
        if (made <= 0) continue;
        const perUnit = new Map<string, number>();
        for (const input of inputs.filter((i) => i.bom === bomId)) {
          const sku = input['product.']?.code;
          if (!sku) continue;
          perUnit.set(sku, (perUnit.get(sku) ?? 0) + inDefaultUnit(input) / made);
        }
        components.set(
          productId,
          [...perUnit].map(([sku, quantity]) => ({ sku, quantity: roundQuantity(quantity) })),
        );
      }
    }
    return withCode.map((r) => ({
      sku: r.code,
      name: r.name,
      stockTracked: r.type === 'goods' && !r.consumable,
      components: components.get(r.id) ?? [],
      unit: r['default_uom.']?.name ?? null,
    }));
  }
}
