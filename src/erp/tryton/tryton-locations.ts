import { z } from 'zod';
import type { Location } from '../erp-connector.js';
import { compareStrings } from '../erp-inputs.js';

/**
 * Tryton's location tree (`stock.location`) and what the port makes of it. Every location of the
 * ERP is kept (suppliers, customers, input and output zones too: stock moves are attributed
 * through them), and the port sees the warehouses plus the storage locations of each warehouse's
 * storage zone that carry a code.
 */

export const locationRecordSchema = z.object({
  id: z.number().int(),
  name: z.string(),
  code: z.string().nullable(),
  type: z.string(),
  parent: z.number().int().nullable(),
  input_location: z.number().int().nullable(),
  output_location: z.number().int().nullable(),
  storage_location: z.number().int().nullable(),
  picking_location: z.number().int().nullable(),
});
export type LocationRecord = z.output<typeof locationRecordSchema>;
export const LOCATION_FIELDS = ['name', 'code', 'type', 'parent', 'input_location', 'output_location', 'storage_location', 'picking_location'] as const;

export interface WarehouseLayout {
  readonly id: number;
  readonly code: string;
  /** Where customer shipments take stock from (the picking zone if set, else storage). */
  readonly pickFrom: number;
  readonly output: number;
  /**
   * True when output and storage differ: customer shipments then assign and pick "inventory
   * moves" (storage → output) and only later the "outgoing moves" (output → customer).
   */
  readonly twoStep: boolean;
}

export class TrytonLocationTree {
  readonly byId: ReadonlyMap<number, LocationRecord>;
  /** The port's view, parents before children. */
  readonly locations: readonly Location[];
  private readonly idByCode: ReadonlyMap<string, number>;
  private readonly offered: ReadonlySet<string>;
  private readonly warehouseOf: ReadonlyMap<number, WarehouseLayout>;
  /** Codes that several locations share: the port uses the first (lowest id) only. */
  readonly duplicateCodes: readonly string[];

  constructor(records: readonly LocationRecord[]) {
    this.byId = new Map(records.map((r) => [r.id, r]));
    const children = new Map<number, LocationRecord[]>();
    for (const record of records) {
      if (record.parent !== null) children.set(record.parent, [...(children.get(record.parent) ?? []), record]);
    }
    const codes = new Map<string, number>();
    const duplicates = new Set<string>();
    const warehouses = records.filter((r) => r.type === 'warehouse' && r.code).sort((a, b) => compareStrings(a.code!, b.code!) || a.id - b.id);
    const locations: Location[] = [];
    const claim = (record: LocationRecord): boolean => {
      const code = record.code!;
      if (codes.has(code)) {
        duplicates.add(code);
        return false;
      }
      codes.set(code, record.id);
      return true;
    };
    const layouts = new Map<number, WarehouseLayout>();
    for (const warehouse of warehouses) {
      if (!claim(warehouse)) continue;
      const storage = warehouse.storage_location;
      const output = warehouse.output_location ?? storage ?? warehouse.id;
      layouts.set(warehouse.id, {
        id: warehouse.id,
        code: warehouse.code!,
        pickFrom: warehouse.picking_location ?? storage ?? warehouse.id,
        output,
        twoStep: output !== storage,
      });
      locations.push({ code: warehouse.code!, name: warehouse.name, kind: 'warehouse', parentCode: null, warehouseCode: warehouse.code! });
      // Walk the storage zone breadth-first so that parents come before children; locations
      // without a code are skipped but their children are attached to the nearest coded parent.
      const queue: { record: LocationRecord; parentCode: string }[] = storage !== null && this.byId.has(storage) ? [{ record: this.byId.get(storage)!, parentCode: warehouse.code! }] : [];
      while (queue.length > 0) {
        const { record, parentCode } = queue.shift()!;
        let ownCode = parentCode;
        if (record.code && (record.type === 'storage' || record.type === 'view') && claim(record)) {
          locations.push({ code: record.code, name: record.name, kind: 'storage', parentCode, warehouseCode: warehouse.code! });
          ownCode = record.code;
        }
        const kids = [...(children.get(record.id) ?? [])].sort((a, b) => compareStrings(a.code ?? '', b.code ?? '') || a.id - b.id);
        for (const kid of kids) queue.push({ record: kid, parentCode: ownCode });
      }
    }
    // Other coded locations (input/output zones, customers, suppliers) still own their code, so
    // that a code names one location only; they are not offered to the gateway.
    for (const record of [...records].sort((a, b) => a.id - b.id)) {
      if (record.code && !codes.has(record.code)) codes.set(record.code, record.id);
    }
    this.locations = locations;
    this.offered = new Set(locations.map((l) => l.code));
    this.idByCode = codes;
    this.duplicateCodes = [...duplicates];
    this.warehouseOf = layouts;
  }

  /** The id of a location the port offers (warehouse or storage), or undefined. */
  idOf(code: string): number | undefined {
    const id = this.idByCode.get(code);
    return id !== undefined && this.offered.has(code) ? id : undefined;
  }

  codeOf(id: number): string | undefined {
    return this.byId.get(id)?.code ?? undefined;
  }

  get warehouseCodes(): string[] {
    return this.locations.filter((l) => l.kind === 'warehouse').map((l) => l.code);
  }

  /** The location itself and its ancestors, nearest first. */
  ancestry(id: number): number[] {
    const chain: number[] = [];
    const visited = new Set<number>();
    for (let current: number | null | undefined = id; current !== null && current !== undefined && !visited.has(current); ) {
      visited.add(current);
      chain.push(current);
      current = this.byId.get(current)?.parent;
    }
    return chain;
  }

  /** The warehouse whose tree holds this location, if any. */
  warehouseContaining(id: number): WarehouseLayout | undefined {
    for (const ancestor of this.ancestry(id)) {
      const layout = this.warehouseOf.get(ancestor);
      if (layout) return layout;
    }
    return undefined;
  }

  warehouseByCode(code: string): WarehouseLayout | undefined {
    const id = this.idByCode.get(code);
    return id === undefined ? undefined : this.warehouseOf.get(id);
  }

  /** Whether `id` is `ancestor` or lies below it. */
  isWithin(id: number, ancestor: number): boolean {
    return this.ancestry(id).includes(ancestor);
  }

  typeOf(id: number): string | undefined {
    return this.byId.get(id)?.type;
  }
}
