import { describe, expect, it } from 'vitest';
import { TrytonLocationTree, type LocationRecord } from '../../src/erp/tryton/tryton-locations.js';
import { openDemandByLocation, type OpenShipmentMove } from '../../src/erp/tryton/tryton-stock-terms.js';

/** The layout trytond creates (WH with IN/OUT/STO) plus a one-step depot and a customer. */
function record(id: number, code: string | null, type: string, parent: number | null, extra: Partial<LocationRecord> = {}): LocationRecord {
  return { id, name: code ?? `location ${id}`, code, type, parent, input_location: null, output_location: null, storage_location: null, picking_location: null, ...extra };
}
const tree = new TrytonLocationTree([
  record(1, 'IN', 'storage', 5),
  record(2, 'OUT', 'storage', 5),
  record(3, 'STO', 'storage', 5),
  record(5, 'WH', 'warehouse', null, { input_location: 1, output_location: 2, storage_location: 3 }),
  record(7, 'CUS', 'customer', null),
  record(10, 'SHELF-A', 'storage', 3),
  record(11, null, 'storage', 3),
  record(12, 'BIN-7', 'storage', 11),
  record(20, 'DEPOT', 'warehouse', null, { input_location: 21, output_location: 21, storage_location: 21 }),
  record(21, 'DEPOT-STO', 'storage', 20),
  record(30, 'STO', 'storage', null),
]);

const move = (over: Partial<OpenShipmentMove>): OpenShipmentMove => ({ id: 1, state: 'draft', product: 100, quantity: 1, from: 3, to: 2, shipmentState: 'waiting', ours: false, ...over });

describe('Tryton location tree', () => {
  it('offers warehouses and coded storage locations of their storage zones, parents first', () => {
    expect(tree.locations).toEqual([
      { code: 'DEPOT', name: 'DEPOT', kind: 'warehouse', parentCode: null, warehouseCode: 'DEPOT' },
      { code: 'DEPOT-STO', name: 'DEPOT-STO', kind: 'storage', parentCode: 'DEPOT', warehouseCode: 'DEPOT' },
      { code: 'WH', name: 'WH', kind: 'warehouse', parentCode: null, warehouseCode: 'WH' },
      { code: 'STO', name: 'STO', kind: 'storage', parentCode: 'WH', warehouseCode: 'WH' },
      { code: 'SHELF-A', name: 'SHELF-A', kind: 'storage', parentCode: 'STO', warehouseCode: 'WH' },
      { code: 'BIN-7', name: 'BIN-7', kind: 'storage', parentCode: 'STO', warehouseCode: 'WH' },
    ]);
    expect(tree.idOf('IN')).toBeUndefined();
    expect(tree.idOf('STO')).toBe(3);
    expect(tree.duplicateCodes).toEqual([]);
  });
});

describe('open customer-shipment demand', () => {
  it('counts a draft inventory move of a two-step warehouse as committed, at the warehouse and its storage zone', () => {
    const demand = openDemandByLocation(tree, [move({ quantity: 4, from: 10 })], [5, 3, 10, 21]);
    expect(demand.get('100@5')).toEqual({ allocated: 0, committed: 4 });
    expect(demand.get('100@3')).toEqual({ allocated: 0, committed: 4 });
    expect(demand.get('100@10')).toEqual({ allocated: 0, committed: 4 });
    expect(demand.has('100@21')).toBe(false);
  });

  it('does not count the outgoing move of a two-step shipment until it is picked, then counts it as allocated', () => {
    const waiting = move({ from: 2, to: 7, quantity: 3 });
    expect(openDemandByLocation(tree, [waiting], [5]).size).toBe(0);
    expect(openDemandByLocation(tree, [{ ...waiting, shipmentState: 'picked' }], [5]).get('100@5')).toEqual({ allocated: 3, committed: 0 });
  });

  it('counts the outgoing move of a one-step warehouse as committed', () => {
    expect(openDemandByLocation(tree, [move({ from: 21, to: 7, quantity: 2 })], [20]).get('100@20')).toEqual({ allocated: 0, committed: 2 });
  });

  it('counts every assigned move leaving the location as allocated, ours included, internal moves too', () => {
    const demand = openDemandByLocation(tree, [move({ state: 'assigned', quantity: 2, ours: true }), move({ state: 'assigned', quantity: 1, from: 10, to: 3 })], [5, 10]);
    expect(demand.get('100@5')).toEqual({ allocated: 3, committed: 0 });
    expect(demand.get('100@10')).toEqual({ allocated: 1, committed: 0 });
  });

  it("leaves Stockbridge's own sales out of the commitment", () => {
    expect(openDemandByLocation(tree, [move({ ours: true }), move({ from: 21, to: 7, ours: true })], [5, 20]).size).toBe(0);
  });
});
