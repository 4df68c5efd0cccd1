import { z } from 'zod';
import type { KitComponent } from '../../src/erp/erp-connector.js';
import { TrytonDate, TrytonDecimal } from '../../src/erp/tryton/tryton-codec.js';
import type { TrytonRpcClient } from '../../src/erp/tryton/tryton-rpc-client.js';

/**
 * The other actors of the factory, played over Tryton's JSON-RPC with the ERP's own workflow (a
 * goods receipt from a supplier, lots with an expiry date, a clerk assigning a shipment, the
 * warehouse picking, packing and shipping it with a tracking reference, a wholesale order typed
 * in by sales staff). Never the connector under test, and with its own client so that round
 * trips are counted apart.
 *
 * It lives here, not in test/ nor src/: the seed script (`scripts/tryton-seed.ts`), the ERP
 * benchmark (`bench/`) and the Tryton tests (`test/`) all use it, and nothing outside test/
 * imports from test/; the gateway itself never drives Tryton's workflow, so it is not in src/.
 * `scripts/tryton.sh` hashes this file into the key of its seeded template database: editing it
 * costs one re-seed. The tests pass it where the contract suite wants an `ErpContractFixture`
 * (`test/erp/erp-connector.contract.ts`), which it matches by shape.
 */

const ids = z.array(z.number().int());
const idRow = z.object({ id: z.number().int() });
const locationRow = z.object({
  id: z.number().int(),
  code: z.string().nullable(),
  type: z.string(),
  storage_location: z.number().int().nullable().optional(),
  output_location: z.number().int().nullable().optional(),
});
const shipmentRow = z.object({
  id: z.number().int(),
  state: z.string(),
  number: z.string().nullable(),
  inventory_moves: z.array(z.number().int()),
  outgoing_moves: z.array(z.number().int()),
});
const moveRow = z.object({ id: z.number().int(), product: z.number().int(), 'product.': z.object({ code: z.string().nullable() }).nullable() });
const productRow = z.object({ id: z.number().int(), code: z.string().nullable(), default_uom: z.number().int() });

export interface NewProduct {
  readonly sku: string;
  readonly name: string;
  readonly components?: readonly KitComponent[];
  readonly lotTracked?: boolean;
  /** `goods` by default; `service` for a product that is not stock-tracked. */
  readonly type?: 'goods' | 'service';
  readonly listPrice?: string;
}

/** What `shipSalesOrder` ships; absent `lines`: everything the shipment holds. */
export interface ShipOptions {
  /** Written in the shipment's `reference`, which the connector reads as the tracking number. */
  readonly trackingNumber?: string | null;
  /** Units per SKU to ship now, from the named lot (which must exist) when given; the rest ships later. */
  readonly lines?: readonly { readonly sku: string; readonly quantity: number; readonly lotNumber?: string }[];
}

export interface TrytonFixtureOptions {
  /** The two warehouses the contract suite uses. */
  readonly locations?: readonly [string, string];
  /** The party wholesale orders are made for (found by name; created if missing). */
  readonly wholesaleCustomer?: string;
}

export class TrytonErpFixture {
  readonly locations: readonly [string, string];
  readonly lotExpiry = true;
  private readonly wholesaleCustomerName: string;
  private cache: Promise<{ supplier: number; currency: number; wholesaleParty: number; wholesaleAddress: number }> | null = null;

  constructor(
    private readonly client: TrytonRpcClient,
    options: TrytonFixtureOptions = {},
  ) {
    this.locations = options.locations ?? ['WH', 'WH-EAST'];
    this.wholesaleCustomerName = options.wholesaleCustomer ?? 'Wholesale Customer Ltd';
  }

  private basics() {
    this.cache ??= (async () => {
      const [supplier] = await this.client.model('stock.location', 'search', [[['type', '=', 'supplier']], 0, 1, null], ids);
      const [currency] = await this.client.model('currency.currency', 'search', [[['code', '=', 'EUR']], 0, 1, null], ids);
      if (supplier === undefined || currency === undefined) throw new Error('Tryton is not seeded (no supplier location or EUR)');
      const party = await this.findOrCreateParty(this.wholesaleCustomerName);
      return { supplier, currency, wholesaleParty: party.id, wholesaleAddress: party.address };
    })();
    return this.cache;
  }

  async findOrCreateParty(name: string): Promise<{ id: number; address: number }> {
    const found = await this.client.model('party.party', 'search_read', [[['name', '=', name]], 0, 1, null, ['addresses']], z.array(z.object({ id: z.number(), addresses: ids })));
    if (found[0] && found[0].addresses[0] !== undefined) return { id: found[0].id, address: found[0].addresses[0] };
    const [id] = await this.client.model('party.party', 'create', [[{ name, addresses: [['create', [{ street: '1 Trade Park', city: 'Leeds', postal_code: 'LS1 1AA' }]]] }]], ids);
    const [party] = await this.client.model('party.party', 'read', [[id], ['addresses']], z.array(z.object({ addresses: ids })));
    return { id: id!, address: party!.addresses[0]! };
  }

  /** Warehouse code → {warehouse id, storage id, output id}. */
  async warehouse(code: string): Promise<{ id: number; storage: number; output: number }> {
    const rows = await this.client.model(
      'stock.location',
      'search_read',
      [[['code', '=', code]], 0, null, null, ['code', 'type', 'storage_location', 'output_location']],
      z.array(locationRow),
    );
    const row = rows[0];
    if (!row) throw new Error(`no location with code ${code}`);
    if (row.type === 'warehouse') return { id: row.id, storage: row.storage_location!, output: row.output_location! };
    return { id: row.id, storage: row.id, output: row.id };
  }

  async productsBySku(skus: readonly string[]): Promise<Map<string, { id: number; uom: number }>> {
    const rows = await this.client.model('product.product', 'search_read', [[['code', 'in', [...skus]]], 0, null, null, ['code', 'default_uom']], z.array(productRow));
    return new Map(rows.map((r) => [r.code ?? '', { id: r.id, uom: r.default_uom }]));
  }

  async createProducts(products: readonly NewProduct[]): Promise<void> {
    const [unit] = await this.client.model('product.uom', 'search', [[['symbol', '=', 'u']], 0, 1, null], ids);
    // Batches keep each request (and its transaction) to a bounded size.
    for (let start = 0; start < products.length; start += 500) {
      const batch = products.slice(start, start + 500);
      await this.client.model(
        'product.template',
        'create',
        [
          batch.map((p) => ({
            name: p.name,
            code: p.sku,
            type: p.type ?? 'goods',
            default_uom: unit,
            sale_uom: unit,
            salable: true,
            producible: (p.components?.length ?? 0) > 0,
            list_price: new TrytonDecimal(p.listPrice ?? '10'),
            products: [['create', [{ cost_price: new TrytonDecimal('4') }]]],
          })),
        ],
        ids,
      );
    }
    const kits = products.filter((p) => (p.components?.length ?? 0) > 0);
    if (kits.length === 0) return;
    const known = await this.productsBySku([...kits.map((k) => k.sku), ...kits.flatMap((k) => k.components!.map((c) => c.sku))]);
    for (const kit of kits) {
      const output = known.get(kit.sku)!;
      const [bom] = await this.client.model(
        'production.bom',
        'create',
        [
          [
            {
              name: `${kit.name} BOM`,
              inputs: [['create', kit.components!.map((c) => ({ product: known.get(c.sku)!.id, quantity: c.quantity, uom: known.get(c.sku)!.uom }))]],
              outputs: [['create', [{ product: output.id, quantity: 1, uom: output.uom }]]],
            },
          ],
        ],
        ids,
      );
      await this.client.model('product.product', 'write', [[output.id], { boms: [['create', [{ bom }]]] }], z.null());
    }
  }

  /** A done goods receipt from the supplier into the location (a warehouse's storage zone). */
  async receiveStock(input: { sku: string; location: string; quantity: number; lot?: { number: string; expiresOn: string | null } }): Promise<void> {
    await this.receiveMany(input.location, [input]);
  }

  /** Several receipts into one location in two requests (create, do), for seeding in bulk. */
  async receiveMany(location: string, lines: readonly { sku: string; quantity: number; lot?: { number: string; expiresOn: string | null } }[]): Promise<void> {
    const { supplier, currency } = await this.basics();
    const target = await this.warehouse(location);
    const products = await this.productsBySku(lines.map((l) => l.sku));
    const lotIds = new Map<string, number>();
    const lotted = lines.filter((l) => l.lot);
    if (lotted.length > 0) {
      const existing = await this.client.model(
        'stock.lot',
        'search_read',
        [[['number', 'in', lotted.map((l) => l.lot!.number)]], 0, null, null, ['number', 'product']],
        z.array(z.object({ id: z.number(), number: z.string(), product: z.number() })),
      );
      for (const lot of existing) lotIds.set(`${lot.product}/${lot.number}`, lot.id);
      const missing = lotted.filter((l) => !lotIds.has(`${products.get(l.sku)!.id}/${l.lot!.number}`));
      if (missing.length > 0) {
        const created = await this.client.model(
          'stock.lot',
          'create',
          [missing.map((l) => ({ number: l.lot!.number, product: products.get(l.sku)!.id, expiration_date: l.lot!.expiresOn ? new TrytonDate(l.lot!.expiresOn) : null }))],
          ids,
        );
        missing.forEach((l, i) => lotIds.set(`${products.get(l.sku)!.id}/${l.lot!.number}`, created[i]!));
      }
    }
    const today = new TrytonDate(new Date().toISOString().slice(0, 10));
    for (let start = 0; start < lines.length; start += 1000) {
      const batch = lines.slice(start, start + 1000);
      const moves = await this.client.model(
        'stock.move',
        'create',
        [
          batch.map((l) => {
            const product = products.get(l.sku);
            if (!product) throw new Error(`unknown SKU ${l.sku}`);
            return {
              product: product.id,
              uom: product.uom,
              quantity: l.quantity,
              from_location: supplier,
              to_location: target.storage,
              unit_price: new TrytonDecimal('4'),
              currency,
              planned_date: today,
              effective_date: today,
              lot: l.lot ? lotIds.get(`${product.id}/${l.lot.number}`) : null,
            };
          }),
        ],
        ids,
      );
      await this.client.model('stock.move', 'do', [moves], z.null());
    }
  }

  /** What a clerk does: assign the sale's customer shipments; fails if stock is short. */
  async assignSalesOrder(externalReference: string): Promise<void> {
    const shipments = await this.client.model(
      'stock.shipment.out',
      'search',
      [[['moves.sale.reference', '=', externalReference], ['state', 'in', ['waiting', 'draft']]], 0, null, null],
      ids,
    );
    if (shipments.length === 0) throw new Error(`no shipment to assign for ${externalReference}`);
    const draft = await this.client.model('stock.shipment.out', 'search', [[['id', 'in', shipments], ['state', '=', 'draft']], 0, null, null], ids);
    if (draft.length > 0) await this.client.model('stock.shipment.out', 'wait', [draft], z.null());
    const assigned = await this.client.model('stock.shipment.out', 'assign_try', [shipments], z.boolean());
    if (!assigned) throw new Error(`not enough stock to assign ${externalReference}`);
  }

  /**
   * What the warehouse does to ship a sale: it takes the sale's open customer shipment, and when
   * `lines` are given ships only those (a partial shipment: the clerk sets the quantities and lots
   * to pick on the shipment's moves before assigning it; once it is done, Tryton's sale process
   * makes a new shipment for the rest), writes the tracking number in the shipment's `reference`,
   * then assigns, picks, packs and marks it done. Fails if stock is short. Returns the shipment.
   */
  async shipSalesOrder(externalReference: string, options: ShipOptions = {}): Promise<{ id: number; number: string | null }> {
    const [shipment] = await this.client.model(
      'stock.shipment.out',
      'search',
      [[['moves.sale.reference', '=', externalReference], ['state', 'in', ['draft', 'waiting']]], 0, 1, [['id', 'ASC']]],
      ids,
    );
    if (shipment === undefined) throw new Error(`no open shipment to ship for ${externalReference}`);
    const read = async () => {
      const [row] = await this.client.model('stock.shipment.out', 'read', [[shipment], ['state', 'number', 'inventory_moves', 'outgoing_moves']], z.array(shipmentRow));
      return row!;
    };
    if ((await read()).state === 'draft') await this.client.model('stock.shipment.out', 'wait', [[shipment]], z.null());
    if (options.lines) await this.pickOnly(await read(), options.lines);
    if (options.trackingNumber !== undefined) {
      await this.client.model('stock.shipment.out', 'write', [[shipment], { reference: options.trackingNumber }], z.null());
    }
    const assigned = await this.client.model('stock.shipment.out', 'assign_try', [[shipment]], z.boolean());
    if (!assigned) throw new Error(`not enough stock to ship ${externalReference}`);
    for (const step of ['pick', 'pack', 'done']) await this.client.model('stock.shipment.out', step, [[shipment]], z.unknown());
    const done = await read();
    return { id: shipment, number: done.number };
  }

  /**
   * Sets the moves a waiting shipment picks (its inventory moves; its outgoing moves when the
   * warehouse ships from storage in one step) to exactly `lines`: one move per line, in the
   * line's lot; moves of SKUs not named are removed. Picking syncs the outgoing moves to them.
   */
  private async pickOnly(shipment: z.output<typeof shipmentRow>, lines: NonNullable<ShipOptions['lines']>): Promise<void> {
    const moveIds = shipment.inventory_moves.length > 0 ? shipment.inventory_moves : shipment.outgoing_moves;
    const moves = await this.client.model('stock.move', 'read', [moveIds, ['product', 'product.code']], z.array(moveRow));
    const lotIds = await this.lotIds(lines.filter((l) => l.lotNumber !== undefined).map((l) => ({ sku: l.sku, number: l.lotNumber! })));
    const unknown = lines.filter((l) => !moves.some((m) => m['product.']?.code === l.sku));
    if (unknown.length > 0) throw new Error(`shipment ${shipment.id} has no move of ${unknown.map((l) => l.sku).join(', ')}`);
    const remove: number[] = [];
    for (const sku of new Set(moves.map((m) => m['product.']?.code ?? ''))) {
      const ofSku = moves.filter((m) => (m['product.']?.code ?? '') === sku);
      const wanted = lines.filter((l) => l.sku === sku);
      const values = (line: (typeof wanted)[number]) => ({ quantity: line.quantity, lot: line.lotNumber !== undefined ? lotIds.get(`${sku}/${line.lotNumber}`)! : null });
      for (const [index, line] of wanted.entries()) {
        if (index < ofSku.length) await this.client.model('stock.move', 'write', [[ofSku[index]!.id], values(line)], z.null());
        else await this.client.model('stock.move', 'copy', [[ofSku[0]!.id], values(line)], ids);
      }
      remove.push(...ofSku.slice(wanted.length).map((m) => m.id));
    }
    if (remove.length > 0) await this.client.model('stock.move', 'delete', [remove], z.null());
  }

  /** `${sku}/${number}` → lot id, for lots that must exist already. */
  private async lotIds(lots: readonly { sku: string; number: string }[]): Promise<Map<string, number>> {
    if (lots.length === 0) return new Map();
    const rows = await this.client.model(
      'stock.lot',
      'search_read',
      [[['number', 'in', lots.map((l) => l.number)]], 0, null, null, ['number', 'product.code']],
      z.array(z.object({ id: z.number(), number: z.string(), 'product.': z.object({ code: z.string().nullable() }).nullable() })),
    );
    const found = new Map(rows.map((r) => [`${r['product.']?.code ?? ''}/${r.number}`, r.id]));
    const missing = lots.filter((l) => !found.has(`${l.sku}/${l.number}`));
    if (missing.length > 0) throw new Error(`no lot ${missing.map((l) => `${l.number} of ${l.sku}`).join(', ')}`);
    return found;
  }

  /** The customer shipments of the sale with this reference, oldest first, with their state. */
  async shipmentsOf(externalReference: string): Promise<{ id: number; number: string | null; state: string; reference: string | null }[]> {
    return this.client.model(
      'stock.shipment.out',
      'search_read',
      [[['moves.sale.reference', '=', externalReference]], 0, null, [['id', 'ASC']], ['number', 'state', 'reference']],
      z.array(z.object({ id: z.number().int(), number: z.string().nullable(), state: z.string(), reference: z.string().nullable() })),
    );
  }

  /** A wholesale order entered in Tryton by sales staff: quoted and confirmed, one sale per warehouse. */
  async createOtherChannelOrder(input: { reference: string; lines: readonly { sku: string; location: string; quantity: number }[] }): Promise<void> {
    const { currency, wholesaleParty, wholesaleAddress } = await this.basics();
    const products = await this.productsBySku(input.lines.map((l) => l.sku));
    const byWarehouse = new Map<string, (typeof input.lines)[number][]>();
    for (const line of input.lines) byWarehouse.set(line.location, [...(byWarehouse.get(line.location) ?? []), line]);
    for (const [location, lines] of byWarehouse) {
      const warehouse = await this.warehouse(location);
      const [sale] = await this.client.model(
        'sale.sale',
        'create',
        [
          [
            {
              party: wholesaleParty,
              invoice_address: wholesaleAddress,
              shipment_address: wholesaleAddress,
              currency,
              warehouse: warehouse.id,
              invoice_method: 'manual',
              shipment_method: 'order',
              reference: input.reference,
              description: 'Wholesale order',
              lines: [
                [
                  'create',
                  lines.map((l) => ({
                    type: 'line',
                    product: products.get(l.sku)!.id,
                    quantity: l.quantity,
                    unit: products.get(l.sku)!.uom,
                    unit_price: new TrytonDecimal('8.00'),
                    description: l.sku,
                  })),
                ],
              ],
            },
          ],
        ],
        ids,
      );
      await this.client.model('sale.sale', 'quote', [[sale]], z.null());
      await this.client.model('sale.sale', 'confirm', [[sale]], z.null());
    }
  }

  async countSalesOrders(externalReference: string): Promise<number> {
    return this.client.model('sale.sale', 'search_count', [[['reference', '=', externalReference]]], z.number().int());
  }

  async countCustomers(email: string): Promise<number> {
    const rows = await this.client.model('party.contact_mechanism', 'search_read', [[['type', '=', 'email'], ['value', '=', email.trim().toLowerCase()]], 0, null, null, ['party']], z.array(z.object({ party: z.number().int() })));
    return new Set(rows.map((row) => row.party)).size;
  }

  /** A customer party made by another gateway process: the code it derives, the e-mail it names. */
  async createCustomer(input: { code: string; name: string; email: string | null }): Promise<number> {
    const mechanisms = input.email ? [{ type: 'email', value: input.email.trim().toLowerCase() }] : [];
    const [id] = await this.client.model('party.party', 'create', [[{ name: input.name, code: input.code, contact_mechanisms: [['create', mechanisms]] }]], ids);
    return id!;
  }

  /** Ids of every product with a code in `skus` (bench helper). */
  async existingSkus(skus: readonly string[]): Promise<Set<string>> {
    const found = new Set<string>();
    for (let start = 0; start < skus.length; start += 2000) {
      const rows = await this.client.model('product.product', 'search_read', [[['code', 'in', skus.slice(start, start + 2000)]], 0, null, null, ['code']], z.array(idRow.extend({ code: z.string().nullable() })));
      for (const row of rows) if (row.code) found.add(row.code);
    }
    return found;
  }
}
