import { z } from 'zod';
import type { Logger } from '../../logger.js';
import type { ErpCallPolicy } from '../erp-call-policy.js';
import type { ErpLane } from '../erp-connector.js';
import { ErpInDoubtError, ErpUnavailableError, UnknownLocationError } from '../erp-errors.js';
import { currentLane } from '../erp-lanes.js';
import { uniqueInOrder } from '../erp-inputs.js';
import { LOCATION_FIELDS, TrytonLocationTree, locationRecordSchema } from './tryton-locations.js';
import type { TrytonContext, TrytonRpcClient } from './tryton-rpc-client.js';

/**
 * What every unit of the Tryton connector (records, stock, sales, returns, shipments) shares:
 * the round trips through the one call policy (limiter, lanes, retries, in-doubt writes), the
 * location tree read once and cached, the ERP's clock, and the conventions the units must agree
 * on (the mark on the sales Stockbridge makes, quantity rounding). One instance per connector.
 */

/**
 * Marks the sales Stockbridge creates (in `sale.sale.description`, read-only once the sale is
 * confirmed), so that stock reads can leave them out of `wholesaleCommitted` and the shipment
 * feed can keep to them.
 */
export const STOCKBRIDGE_SALE_MARKER = '[Stockbridge]';

export const ids = z.array(z.number().int());
export const nothing = z.unknown();
/** SQLite answers booleans as 0/1 (P11). */
export const bool = z.union([z.boolean(), z.number()]).transform((v) => Boolean(v));
export const stamp = z.string().nullable();
const stampRecord = z.object({ id: z.number().int(), create_date: stamp.optional(), write_date: stamp.optional() });

export interface TrytonCallsOptions {
  readonly client: TrytonRpcClient;
  readonly policy: ErpCallPolicy;
  readonly logger: Logger;
  /** How long the location tree is trusted before it is read again. */
  readonly locationTtlMs: number;
  /** SKUs per page of batch reads (and per `code in [...]` domain). */
  readonly maxSkusPerRequest: number;
  /** How far back each change-feed read goes before the watermark, in microseconds (late commits, P8). */
  readonly overlap: number;
}

export class TrytonCalls {
  readonly client: TrytonRpcClient;
  readonly policy: ErpCallPolicy;
  readonly logger: Logger;
  readonly maxSkusPerRequest: number;
  readonly overlap: number;
  private readonly locationTtlMs: number;
  private tree: { value: Promise<TrytonLocationTree>; loadedAt: number; lane: ErpLane; settled: boolean } | null = null;

  constructor(options: TrytonCallsOptions) {
    this.client = options.client;
    this.policy = options.policy;
    this.logger = options.logger;
    this.locationTtlMs = options.locationTtlMs;
    this.maxSkusPerRequest = options.maxSkusPerRequest;
    this.overlap = options.overlap;
  }

  read<T>(model: string, method: string, args: readonly unknown[], schema: z.ZodType<T>, extra: TrytonContext = {}): Promise<T> {
    return this.policy.run(`${model}.${method}`, (signal) => this.client.model(model, method, args, schema, extra, signal));
  }

  /**
   * Writes are resent only when nothing was applied; a lost answer is `ERP_IN_DOUBT` (the
   * caller looks before writing again). `retryConflicts: false` hands a conflict back at once.
   */
  write<T>(model: string, method: string, args: readonly unknown[], schema: z.ZodType<T>, options: { retryConflicts?: boolean } = {}): Promise<T> {
    return this.policy.run(`${model}.${method}`, (signal) => this.client.model(model, method, args, schema, {}, signal), { write: true, ...options });
  }

  /**
   * A write whose effect a later call completes anyway (a workflow step, a record found again by
   * its natural key): a lost answer is reported `ERP_UNAVAILABLE`, retryable, not in doubt.
   */
  async writeResumable<T>(what: string, write: () => Promise<T>): Promise<T> {
    try {
      return await write();
    } catch (error) {
      if (!(error instanceof ErpInDoubtError)) throw error;
      throw new ErpUnavailableError(`Tryton lost the answer to ${what}; calling again resumes it`, { operation: what }, { cause: error, notApplied: true });
    }
  }

  searchRead<T>(model: string, domain: unknown[], fields: readonly string[], schema: z.ZodType<T>, options: { order?: unknown; limit?: number | null; context?: TrytonContext } = {}): Promise<T[]> {
    return this.read(model, 'search_read', [domain, 0, options.limit ?? null, options.order ?? null, fields], z.array(schema), options.context ?? {});
  }

  /** The location tree, cached for `locationTtlMs`; `fresh` reads it again. */
  locationTree(options: { fresh?: boolean } = {}): Promise<TrytonLocationTree> {
    const now = Date.now();
    const lane = currentLane().lane;
    if (!options.fresh && this.tree && now - this.tree.loadedAt < this.locationTtlMs) {
      // A read still waiting in the interactive queue must not hold a background caller up: it
      // joins only a read of its own lane, or one that has already answered.
      if (this.tree.settled || this.tree.lane === lane || lane === 'interactive') return this.tree.value;
    }
    const value = this.searchRead('stock.location', [], LOCATION_FIELDS, locationRecordSchema).then((records) => {
      const tree = new TrytonLocationTree(records);
      if (tree.duplicateCodes.length > 0) this.logger.warn({ codes: tree.duplicateCodes }, 'several Tryton locations share a code; the first one is used');
      return tree;
    });
    const entry = { value, loadedAt: now, lane, settled: false };
    this.tree = entry;
    value.then(
      () => {
        entry.settled = true;
      },
      () => {
        if (this.tree === entry) this.tree = null;
      },
    );
    return value;
  }

  /** Location codes → ids (default: every warehouse); unknown codes throw after one re-read. */
  async resolveLocations(codes: readonly string[] | undefined): Promise<{ tree: TrytonLocationTree; locations: { id: number; code: string }[] }> {
    let tree = await this.locationTree();
    const wanted = codes ? uniqueInOrder(codes) : tree.warehouseCodes;
    if (wanted.some((code) => tree.idOf(code) === undefined)) {
      tree = await this.locationTree({ fresh: true });
      const unknown = wanted.filter((code) => tree.idOf(code) === undefined);
      if (unknown.length > 0) throw new UnknownLocationError(unknown);
    }
    return { tree, locations: wanted.map((code) => ({ id: tree.idOf(code)!, code })) };
  }

  /** The newest create/write stamp of these models: the ERP's clock, read from its own records. */
  async latestStamp(models: readonly string[]): Promise<number> {
    let latest = 0;
    for (const model of models) {
      for (const field of ['create_date', 'write_date']) {
        const [row] = await this.searchRead(model, [[field, '!=', null]], [field], stampRecord, { order: [[field, 'DESC']], limit: 1 });
        latest = Math.max(latest, stampOf(row?.[field as 'create_date'] ?? null));
      }
    }
    return latest;
  }
}

/**
 * The domain clause on `stock.move` that keeps the moves of sales Stockbridge made: outgoing
 * moves come from sale lines; inventory moves come from those outgoing moves.
 */
export function ourSaleClause(): unknown[] {
  const pattern = `${STOCKBRIDGE_SALE_MARKER}%`;
  return ['OR', ['sale.description', 'like', pattern], ['origin.sale.description', 'like', pattern, 'stock.move']];
}

/** Quantities are floats in Tryton; sums of them should not show binary noise. */
export function roundQuantity(value: number): number {
  return Math.round(value * 1e6) / 1e6;
}

/** Naive server datetime (`YYYY-MM-DDTHH:MM:SS.ffffff`) → microseconds, for the feed arithmetic. */
export function stampOf(iso: string | null): number {
  if (iso === null) return 0;
  const match = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})\.(\d{6})$/.exec(iso);
  if (!match) return 0;
  const [, y, mo, d, h, mi, s, micro] = match.map(Number) as number[];
  return Date.UTC(y!, mo! - 1, d!, h!, mi!, s!) * 1000 + micro!;
}

export function isoFromStamp(value: number): string {
  const clamped = Math.max(0, Math.floor(value));
  const seconds = Math.floor(clamped / 1_000_000);
  const micro = clamped - seconds * 1_000_000;
  return `${new Date(seconds * 1000).toISOString().slice(0, 19)}.${String(micro).padStart(6, '0')}`;
}
