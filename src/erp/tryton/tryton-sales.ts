import { z } from 'zod';
import { NotFoundError } from '../../shared/errors.js';
import type { CancelSalesOrderResult, CreateSalesOrderResult, SalesOrder, SalesOrderInput, SalesOrderLine, SalesOrderStatus } from '../erp-connector.js';
import { ErpInDoubtError, ErpRejectedError } from '../erp-errors.js';
import { parseSalesOrderInput } from '../erp-inputs.js';
import { groupBy } from '../../shared/collections.js';
import { TrytonDecimal } from './tryton-codec.js';
import { ids, nothing, roundQuantity, STOCKBRIDGE_SALE_MARKER, type TrytonCalls } from './tryton-calls.js';
import type { TrytonCustomers } from './tryton-customers.js';
import type { TrytonLocationTree } from './tryton-locations.js';
import type { TrytonRecords } from './tryton-records.js';
import type { TrytonContext } from './tryton-rpc-client.js';

/**
 * The sales orders Stockbridge makes in Tryton: `sale.sale` with `reference` = external
 * reference and a description marked `[Stockbridge]`; created, quoted and confirmed (invoice
 * method `manual`, P6), read back with each line's allocated and shipped quantities from its
 * moves, and cancelled. Tryton 6.0 cannot cancel a confirmed sale: cancelling cancels its
 * shipments and ignores their moves (the "handle shipment exception" wizard), after which Tryton
 * calls the sale done; the port reports such a sale (nothing shipped, every move cancelled) as
 * `cancelled`.
 */

export const saleRecord = z.object({
  id: z.number().int(),
  number: z.string().nullable(),
  reference: z.string().nullable(),
  description: z.string().nullable(),
  state: z.string(),
  warehouse: z.number().int().nullable(),
  party: z.number().int(),
  shipment_address: z.number().int().nullable(),
  currency: z.number().int(),
});
export type SaleRecord = z.output<typeof saleRecord>;
const SALE_FIELDS = ['number', 'reference', 'description', 'state', 'warehouse', 'party', 'shipment_address', 'currency'];
const saleLineRecord = z.object({
  id: z.number().int(),
  sale: z.number().int(),
  type: z.string(),
  quantity: z.number().nullable(),
  unit_price: z.string().nullable(),
  'product.': z.object({ code: z.string().nullable() }).nullable(),
});
const lineMoveRecord = z.object({
  id: z.number().int(),
  origin: z.string().nullable(),
  state: z.string(),
  internal_quantity: z.number(),
  to_location: z.number().int(),
});
type SaleView = { status: SalesOrderStatus; allocated: boolean; lines: SalesOrderLine[] };
const wizardStart = z.tuple([z.number().int(), z.string(), z.string()]);
const wizardAsk = z.object({ view: z.object({ defaults: z.object({ domain_moves: ids }) }) });

export class TrytonSales {
  /** Currency ids by ISO code: reference data, read once per code (a miss is not remembered). */
  private readonly currencies = new Map<string, number>();

  constructor(
    private readonly calls: TrytonCalls,
    private readonly records: TrytonRecords,
    private readonly customers: TrytonCustomers,
  ) {}

  async createSalesOrder(input: SalesOrderInput): Promise<CreateSalesOrderResult> {
    const order = parseSalesOrderInput(input);
    // Everything is checked before the first write: an invalid order leaves nothing behind.
    const { tree, locations } = await this.calls.resolveLocations(order.lines.map((l) => l.location));
    const warehouses = new Set(locations.map((l) => tree.warehouseContaining(l.id)?.code));
    if (warehouses.size !== 1 || warehouses.has(undefined)) {
      throw new ErpRejectedError('A Tryton sale ships from one warehouse: split the order per warehouse', {
        externalReference: order.externalReference,
        warehouses: [...warehouses].filter(Boolean),
      });
    }
    const warehouse = tree.warehouseByCode([...warehouses][0]!)!;
    const products = await this.records.resolveProducts(order.lines.map((l) => l.sku));

    const existing = await this.findSale(order.externalReference);
    if (existing) {
      const sale = await this.completeWorkflow(existing);
      const view = await this.salesOrderView(sale, tree);
      return { externalReference: order.externalReference, erpReference: erpReferenceOf(sale), status: view.status, created: false };
    }

    let currency = this.currencies.get(order.currency);
    if (currency === undefined) {
      [currency] = await this.calls.read('currency.currency', 'search', [[['code', '=', order.currency]], 0, 1, null], ids);
      if (currency === undefined) throw new ErpRejectedError(`Tryton has no currency ${order.currency}`, { currency: order.currency });
      this.currencies.set(order.currency, currency);
    }
    const customer = await this.customers.customerParty(order);

    let saleId: number;
    try {
      [saleId] = (await this.calls.write(
        'sale.sale',
        'create',
        [
          [
            {
              party: customer.party,
              invoice_address: customer.address,
              shipment_address: customer.address,
              currency,
              warehouse: warehouse.id,
              invoice_method: 'manual',
              shipment_method: 'order',
              reference: order.externalReference,
              description: `${STOCKBRIDGE_SALE_MARKER} Shopify order ${order.name}`,
              lines: [
                [
                  'create',
                  order.lines.map((line) => {
                    const product = products.get(line.sku)!;
                    return { type: 'line', product: product.id, quantity: line.quantity, unit: product.uom, unit_price: new TrytonDecimal(line.unitPrice), description: product.name };
                  }),
                ],
              ],
            },
          ],
        ],
        z.tuple([z.number().int()]),
      )) as [number];
    } catch (error) {
      if (!(error instanceof ErpInDoubtError)) throw error;
      // Found now: conclusive at once. Not found: proves nothing until the create has settled
      // (trytond may still commit it), so the caller must wait, not resend.
      const committed = await this.findSale(order.externalReference).catch(() => null);
      if (!committed) throw error.about('createSalesOrder', { externalReference: order.externalReference });
      saleId = committed.id;
    }
    const [created] = await this.readSales([saleId]);
    const sale = await this.completeWorkflow(created!);
    const view = await this.salesOrderView(sale, tree);
    return { externalReference: order.externalReference, erpReference: erpReferenceOf(sale), status: view.status, created: true };
  }

  /**
   * Quotes and confirms a sale left in draft or quotation (by this call, or by an earlier one
   * that failed half-way), so that a retried create finishes the job instead of leaving a draft.
   */
  private async completeWorkflow(sale: SaleRecord): Promise<SaleRecord> {
    if (sale.state !== 'draft' && sale.state !== 'quotation') return sale;
    if (!sale.description?.startsWith(STOCKBRIDGE_SALE_MARKER)) return sale;
    // A lost answer here leaves a draft or quoted sale that the next createSalesOrder completes.
    if (sale.state === 'draft') await this.calls.writeResumable('quoting the sale', () => this.calls.write('sale.sale', 'quote', [[sale.id]], nothing));
    // confirm runs the queued `process` at the end of the request: shipments exist when it returns.
    await this.calls.writeResumable('confirming the sale', () => this.calls.write('sale.sale', 'confirm', [[sale.id]], nothing));
    const [after] = await this.readSales([sale.id]);
    return after!;
  }

  async findSalesOrder(externalReference: string): Promise<SalesOrder | null> {
    const sale = await this.findSale(externalReference);
    if (!sale) return null;
    const view = await this.salesOrderView(sale, await this.calls.locationTree());
    return { externalReference, erpReference: erpReferenceOf(sale), status: view.status, allocated: view.allocated, lines: view.lines };
  }

  /** The sales of these references (the one Stockbridge made first) and their views, in four reads. */
  async findSalesOrders(externalReferences: readonly string[]): Promise<ReadonlyMap<string, SalesOrder>> {
    const wanted = [...new Set(externalReferences)];
    if (wanted.length === 0) return new Map();
    const found = await this.calls.searchRead('sale.sale', [['reference', 'in', wanted]], SALE_FIELDS, saleRecord, { order: [['id', 'ASC']] });
    const chosen = [...groupBy(found, (sale) => sale.reference ?? '')].filter(([reference]) => reference !== '').map(([, sales]) => preferredSale(sales)!);
    const views = await this.salesOrderViews(chosen, await this.calls.locationTree());
    return new Map(
      chosen.map((sale) => {
        const view = views.get(sale.id)!;
        return [sale.reference!, { externalReference: sale.reference!, erpReference: erpReferenceOf(sale), status: view.status, allocated: view.allocated, lines: view.lines }];
      }),
    );
  }

  async cancelSalesOrder(externalReference: string): Promise<CancelSalesOrderResult> {
    try {
      return await this.cancelSale(externalReference);
    } catch (error) {
      if (!(error instanceof ErpInDoubtError)) throw error;
      // Cancelled now: conclusive. Otherwise the caller reads the status again after settling.
      const now = await this.findSalesOrder(externalReference).catch(() => null);
      if (now?.status === 'cancelled') return { externalReference, erpReference: now.erpReference, status: 'cancelled', cancelled: true };
      throw error.about('cancelSalesOrder', { externalReference });
    }
  }

  private async cancelSale(externalReference: string): Promise<CancelSalesOrderResult> {
    const sale = await this.findSale(externalReference);
    if (!sale) throw new NotFoundError('Sales order', externalReference);
    const tree = await this.calls.locationTree();
    const before = await this.salesOrderView(sale, tree);
    const result = (cancelled: boolean): CancelSalesOrderResult => ({ externalReference, erpReference: erpReferenceOf(sale), status: 'cancelled', cancelled });
    if (before.status === 'cancelled') return result(false);
    if (before.status === 'done' || before.lines.some((l) => l.shippedQuantity > 0)) {
      throw new ErpRejectedError('The sale has already shipped; it can no longer be cancelled', { externalReference, erpReference: erpReferenceOf(sale) });
    }
    if (sale.state === 'draft' || sale.state === 'quotation') {
      await this.calls.write('sale.sale', 'cancel', [[sale.id]], nothing);
      return result(true);
    }
    if (sale.state === 'confirmed') {
      // Not processed yet (a trytond with queue workers processes confirmed sales later): no
      // shipment exists, and Tryton lets a confirmed sale go back to draft. Not reachable in CI,
      // where trytond processes a sale within the confirming request.
      await this.calls.write('sale.sale', 'draft', [[sale.id]], nothing);
      await this.calls.write('sale.sale', 'cancel', [[sale.id]], nothing);
      return result(true);
    }
    // Confirmed: cancel the customer shipments (this frees their reservations), then tell the
    // sale to ignore the cancelled moves instead of recreating them.
    const shipments = await this.calls.read('stock.shipment.out', 'search', [[['moves.sale', '=', sale.id], ['state', 'not in', ['cancelled', 'done']]], 0, null, null], ids);
    if (shipments.length > 0) await this.calls.write('stock.shipment.out', 'cancel', [shipments], nothing);
    await this.ignoreCancelledMoves(sale.id);
    const after = await this.salesOrderView((await this.readSales([sale.id]))[0]!, tree);
    if (after.status !== 'cancelled') {
      throw new ErpRejectedError(`Tryton left the sale ${after.status} after cancelling its shipments`, { externalReference, status: after.status });
    }
    return result(true);
  }

  /** Runs the "handle shipment exception" wizard of the sale, recreating nothing. */
  private async ignoreCancelledMoves(saleId: number): Promise<void> {
    const wizard = 'wizard.sale.handle.shipment.exception';
    const active = { active_id: saleId, active_ids: [saleId], active_model: 'sale.sale' };
    const run = <T>(method: string, params: (context: TrytonContext) => unknown[], schema: z.ZodType<T>) =>
      this.calls.policy.run(`${wizard}.${method}`, (signal) => this.calls.client.authenticated(`${wizard}.${method}`, params, schema, signal), { write: true });
    const [session] = await run('create', (context) => [context], wizardStart);
    try {
      const ask = await run('execute', (context) => [session, {}, 'ask', { ...context, ...active }], wizardAsk);
      const moves = ask.view.defaults.domain_moves;
      if (moves.length > 0) {
        await run('execute', (context) => [session, { ask: { recreate_moves: [], domain_moves: moves } }, 'handle', { ...context, ...active }], nothing);
      }
    } finally {
      await run('delete', (context) => [session, { ...context, ...active }], nothing).catch((error: unknown) => {
        this.calls.logger.warn({ err: error, session }, 'could not delete a Tryton wizard session');
      });
    }
  }

  /** The sale with this external reference, preferring the one Stockbridge made. */
  async findSale(externalReference: string): Promise<SaleRecord | null> {
    const sales = await this.calls.searchRead('sale.sale', [['reference', '=', externalReference]], SALE_FIELDS, saleRecord, { order: [['id', 'ASC']] });
    return preferredSale(sales);
  }

  private readSales(saleIds: readonly number[]): Promise<SaleRecord[]> {
    return this.calls.read('sale.sale', 'read', [saleIds, SALE_FIELDS], z.array(saleRecord));
  }

  /** `salesOrderViews` of one sale. */
  private async salesOrderView(sale: SaleRecord, tree: TrytonLocationTree): Promise<SaleView> {
    return (await this.salesOrderViews([sale], tree)).get(sale.id)!;
  }

  /**
   * Lines with allocated and shipped quantities, read from the lines' moves: a done outgoing
   * move is shipped; an assigned one is allocated; a draft one is allocated as far as its
   * inventory moves (two-step warehouses) are assigned or done. Three reads for any number of
   * sales (lines, their moves, the moves' inventory moves), by sale id.
   */
  private async salesOrderViews(sales: readonly SaleRecord[], tree: TrytonLocationTree): Promise<Map<number, SaleView>> {
    const saleIds = sales.map((sale) => sale.id);
    const allLines =
      saleIds.length === 0
        ? []
        : (await this.calls.searchRead('sale.line', [['sale', 'in', saleIds]], ['sale', 'type', 'quantity', 'unit_price', 'product.code'], saleLineRecord, { order: [['id', 'ASC']] })).filter(
            (l) => l.type === 'line' && l['product.']?.code && (l.quantity ?? 0) > 0,
          );
    const moves = allLines.length === 0 ? [] : await this.calls.searchRead('stock.move', [['origin', 'in', allLines.map((l) => `sale.line,${l.id}`)]], ['origin', 'state', 'internal_quantity', 'to_location'], lineMoveRecord);
    const allOutgoing = moves.filter((m) => tree.typeOf(m.to_location) === 'customer');
    const inventory =
      allOutgoing.length === 0 ? [] : await this.calls.searchRead('stock.move', [['origin', 'in', allOutgoing.map((m) => `stock.move,${m.id}`)]], ['origin', 'state', 'internal_quantity', 'to_location'], lineMoveRecord);
    const outgoingOf = groupBy(allOutgoing, (m) => m.origin ?? '');
    const inventoryOf = groupBy(inventory, (m) => m.origin ?? '');
    const linesOf = groupBy(allLines, (l) => l.sale);
    const views = new Map<number, SaleView>();
    for (const sale of sales) {
      const lines = linesOf.get(sale.id) ?? [];
      const location = (sale.warehouse !== null ? tree.codeOf(sale.warehouse) : undefined) ?? '';
      let anyOutgoing = false;
      let everyMoveCancelled = true;
      const view: SalesOrderLine[] = lines.map((line) => {
        let allocated = 0;
        let shipped = 0;
        for (const move of outgoingOf.get(`sale.line,${line.id}`) ?? []) {
          anyOutgoing = true;
          if (move.state !== 'cancelled') everyMoveCancelled = false;
          if (move.state === 'done') shipped += move.internal_quantity;
          else if (move.state === 'assigned') allocated += move.internal_quantity;
          else if (move.state === 'draft') {
            const picked = (inventoryOf.get(`stock.move,${move.id}`) ?? []).filter((i) => i.state === 'assigned' || i.state === 'done').reduce((sum, i) => sum + i.internal_quantity, 0);
            allocated += Math.min(move.internal_quantity, picked);
          }
        }
        return { sku: line['product.']!.code!, location, quantity: line.quantity!, allocatedQuantity: roundQuantity(allocated), shippedQuantity: roundQuantity(shipped) };
      });
      const nothingShipped = view.every((l) => l.shippedQuantity === 0);
      const status = statusOf(sale.state, anyOutgoing && everyMoveCancelled && nothingShipped);
      const allocated = status !== 'cancelled' && status !== 'draft' && view.length > 0 && view.every((l) => l.allocatedQuantity + l.shippedQuantity >= l.quantity);
      views.set(sale.id, { status, allocated, lines: view });
    }
    return views;
  }

}

function statusOf(state: string, everythingCancelled: boolean): SalesOrderStatus {
  switch (state) {
    case 'draft':
    case 'quotation':
      return 'draft';
    case 'confirmed':
      return 'confirmed';
    case 'processing':
      return 'processing';
    case 'done':
      return everythingCancelled ? 'cancelled' : 'done';
    case 'cancelled':
      return 'cancelled';
    default:
      return 'processing';
  }
}

/** Of the sales with one reference (in id order), the one Stockbridge made, if a person happened to type the same reference. */
function preferredSale(sales: readonly SaleRecord[]): SaleRecord | null {
  return sales.find((s) => s.description?.startsWith(STOCKBRIDGE_SALE_MARKER)) ?? sales[0] ?? null;
}

function erpReferenceOf(sale: SaleRecord): string {
  return sale.number ?? `sale:${sale.id}`;
}
