import { z } from 'zod';
import { NotFoundError } from '../../shared/errors.js';
import type { CustomerReturnInput, CustomerReturnResult } from '../erp-connector.js';
import { ErpInDoubtError, ErpRejectedError } from '../erp-errors.js';
import { parseCustomerReturnInput } from '../erp-inputs.js';
import { TrytonDecimal } from './tryton-codec.js';
import { ids, type TrytonCalls } from './tryton-calls.js';
import type { TrytonRecords } from './tryton-records.js';
import type { TrytonSales } from './tryton-sales.js';

/**
 * Customer returns: a draft `stock.shipment.out.return` with `reference` = the return's external
 * reference, to be received by the warehouse when the parcel arrives, priced as the sale was.
 */

const linePriceRecord = z.object({
  id: z.number().int(),
  unit_price: z.string().nullable(),
  'product.': z.object({ code: z.string().nullable() }).nullable(),
});

export class TrytonReturns {
  constructor(
    private readonly calls: TrytonCalls,
    private readonly records: TrytonRecords,
    private readonly sales: TrytonSales,
  ) {}

  async createCustomerReturn(input: CustomerReturnInput): Promise<CustomerReturnResult> {
    const request = parseCustomerReturnInput(input);
    const sale = await this.sales.findSale(request.salesOrderReference);
    if (!sale) throw new NotFoundError('Sales order', request.salesOrderReference);
    const { tree, locations } = await this.calls.resolveLocations(request.lines.map((l) => l.location));
    const warehouses = new Set(locations.map((l) => tree.warehouseContaining(l.id)?.code));
    if (warehouses.size !== 1 || warehouses.has(undefined)) {
      throw new ErpRejectedError('A Tryton customer return is received at one warehouse: split the return per warehouse', { externalReference: request.externalReference });
    }
    const products = await this.records.resolveProducts(request.lines.map((l) => l.sku));

    const existing = await this.findCustomerReturn(request.externalReference);
    if (existing) return { supported: true, erpReference: existing.erpReference, created: false };

    const warehouse = tree.warehouseByCode([...warehouses][0]!)!;
    const [warehouseRecord] = await this.calls.read('stock.location', 'read', [[warehouse.id], ['input_location']], z.array(z.object({ input_location: z.number().int().nullable() })));
    const [customerLocation] = await this.calls.read('stock.location', 'search', [[['type', '=', 'customer']], 0, 1, [['id', 'ASC']]], ids);
    const prices = new Map(
      (await this.calls.searchRead('sale.line', [['sale', '=', sale.id]], ['unit_price', 'product.code'], linePriceRecord)).map((l) => [
        l['product.']?.code ?? '',
        l.unit_price ?? '0',
      ]),
    );
    let id: number | undefined;
    try {
      [id] = await this.calls.write(
        'stock.shipment.out.return',
        'create',
        [
          [
            {
              customer: sale.party,
              delivery_address: sale.shipment_address,
              warehouse: warehouse.id,
              reference: request.externalReference,
              incoming_moves: [
                [
                  'create',
                  request.lines.map((line) => {
                    const product = products.get(line.sku)!;
                    return {
                      product: product.id,
                      uom: product.uom,
                      quantity: line.quantity,
                      from_location: customerLocation,
                      to_location: warehouseRecord?.input_location ?? warehouse.pickFrom,
                      unit_price: new TrytonDecimal(prices.get(line.sku) ?? '0'),
                      currency: sale.currency,
                    };
                  }),
                ],
              ],
            },
          ],
        ],
        ids,
      );
    } catch (error) {
      if (!(error instanceof ErpInDoubtError)) throw error;
      const committed = await this.findCustomerReturn(request.externalReference).catch(() => null);
      if (!committed) throw error.about('createCustomerReturn', { externalReference: request.externalReference });
      return { supported: true, erpReference: committed.erpReference, created: true };
    }
    const [made] = await this.calls.read('stock.shipment.out.return', 'read', [[id], ['number']], z.array(z.object({ number: z.string().nullable() })));
    return { supported: true, erpReference: made?.number ?? `return:${id}`, created: true };
  }

  async findCustomerReturn(externalReference: string): Promise<{ readonly erpReference: string } | null> {
    const [found] = await this.calls.searchRead('stock.shipment.out.return', [['reference', '=', externalReference]], ['number'], z.object({ id: z.number().int(), number: z.string().nullable() }), {
      limit: 1,
      order: [['id', 'ASC']],
    });
    return found ? { erpReference: found.number ?? `return:${found.id}` } : null;
  }
}
