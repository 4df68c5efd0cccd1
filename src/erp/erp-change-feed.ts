import { z } from 'zod';
import { AppError } from '../shared/errors.js';

/**
 * The watermark arithmetic both connectors share, so that "late commits are not missed and a
 * change is reported once" is written (and tested) once.
 *
 * An ERP stamps each change record (a Tryton `stock.move`, an Odoo `stock.quant`) with its own
 * clock, and a transaction that commits late carries an older stamp than changes already read.
 * So each read goes back an overlap window before the watermark, and the watermark remembers
 * the records it has already reported inside that window (by id and stamp: a record written
 * again gets a new stamp and counts again). Stamps are numbers in the ERP's clock (a logical
 * tick for the simulated ERP, microseconds since the epoch for Tryton).
 */
export interface ChangeRecord {
  /** The record's id in the ERP (e.g. the stock move id). */
  readonly id: string;
  /** The record's last create-or-write stamp in the ERP's clock. */
  readonly stamp: number;
  /**
   * What the feed reports for this record: the SKU for the stock and product feeds; for a feed
   * of documents (customer shipments) the document's own id.
   */
  readonly sku: string;
}

export interface FeedPosition {
  /** The newest stamp read so far. */
  readonly stamp: number;
  /** Keys (`id@stamp`) of records already reported with a stamp inside the overlap window. */
  readonly seen: readonly string[];
}

/**
 * Past this many remembered records the oldest are forgotten, and a late re-read may report
 * their SKUs again: a duplicate costs one re-read of stock, a miss costs an oversell.
 */
const MAX_SEEN = 20_000;

const keyOf = (record: ChangeRecord): string => `${record.id}@${record.stamp}`;

/**
 * The first position of a feed. `now` is the ERP's current stamp (the newest record's stamp
 * will do); `recent` are the records with a stamp after `now − overlap`, taken as reported.
 */
export function startFeed(now: number, recent: readonly ChangeRecord[], overlap: number): FeedPosition {
  let stamp = now;
  for (const record of recent) if (record.stamp > stamp) stamp = record.stamp;
  return { stamp, seen: remember([], recent, stamp, overlap) };
}

/** The stamp from which to read records for the next step: `position.stamp − overlap`, exclusive. */
export function readFrom(position: FeedPosition, overlap: number): number {
  return position.stamp - overlap;
}

/**
 * One step of the feed: `records` are every record with a stamp after `readFrom(position)`.
 * Returns the SKUs of records not reported before (sorted, each once) and the next position.
 * `now`, when the ERP tells it, lets the position move on through quiet periods.
 */
export function advanceFeed(
  position: FeedPosition,
  records: readonly ChangeRecord[],
  overlap: number,
  now?: number,
): { skus: string[]; next: FeedPosition } {
  const seen = new Set(position.seen);
  const fresh = records.filter((r) => !seen.has(keyOf(r)));
  const skus = [...new Set(fresh.map((r) => r.sku))].sort();
  let stamp = position.stamp;
  for (const record of records) if (record.stamp > stamp) stamp = record.stamp;
  if (now !== undefined && now > stamp) stamp = now;
  return { skus, next: { stamp, seen: remember(position.seen, records, stamp, overlap) } };
}

function remember(previous: readonly string[], records: readonly ChangeRecord[], stamp: number, overlap: number): string[] {
  const horizon = stamp - overlap;
  const kept = new Map<string, number>();
  for (const key of previous) {
    const at = Number(key.slice(key.lastIndexOf('@') + 1));
    if (at > horizon) kept.set(key, at);
  }
  for (const record of records) if (record.stamp > horizon) kept.set(keyOf(record), record.stamp);
  const keys = [...kept.entries()].sort((a, b) => a[1] - b[1]).map(([key]) => key);
  return keys.length > MAX_SEEN ? keys.slice(keys.length - MAX_SEEN) : keys;
}

const positionSchema = z.object({ stamp: z.number().finite(), seen: z.array(z.string()) });

/** Serialises a position into an opaque watermark tagged with the feed's kind. */
export function encodeWatermark(kind: string, position: FeedPosition): string {
  return `${kind}:${Buffer.from(JSON.stringify(position)).toString('base64url')}`;
}

/**
 * Reads a watermark this feed issued; anything else (another ERP's watermark, a truncated
 * value) is `ERP_INVALID_WATERMARK`, so a misconfigured switch of ERP fails loudly.
 */
export function decodeWatermark(kind: string, watermark: string): FeedPosition {
  const prefix = `${kind}:`;
  if (!watermark.startsWith(prefix)) throw invalid(kind);
  try {
    return positionSchema.parse(JSON.parse(Buffer.from(watermark.slice(prefix.length), 'base64url').toString('utf8')));
  } catch (error) {
    throw invalid(kind, error);
  }
}

function invalid(kind: string, cause?: unknown): AppError {
  return new AppError('ERP_INVALID_WATERMARK', `The watermark was not issued by this ${kind} feed`, { kind }, { cause });
}
