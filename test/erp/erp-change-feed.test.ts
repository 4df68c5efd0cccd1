import { describe, expect, it } from 'vitest';
import { advanceFeed, decodeWatermark, encodeWatermark, readFrom, startFeed, type ChangeRecord } from '../../src/erp/erp-change-feed.js';

const record = (id: number, stamp: number, sku: string): ChangeRecord => ({ id: String(id), stamp, sku });

describe('change feed positions', () => {
  const overlap = 10;

  it('reports records after the watermark once, and not again from the overlap window', () => {
    const start = startFeed(100, [record(1, 95, 'A')], overlap);
    const window = [record(1, 95, 'A'), record(2, 101, 'B')];

    const first = advanceFeed(start, window, overlap);
    const second = advanceFeed(first.next, window.filter((r) => r.stamp > readFrom(first.next, overlap)), overlap);

    expect(first.skus).toEqual(['B']);
    expect(second.skus).toEqual([]);
  });

  it('reports a late commit whose stamp is older than the watermark but inside the window', () => {
    const start = startFeed(100, [], overlap);
    const late = advanceFeed(start, [record(7, 94, 'LATE')], overlap);
    expect(late.skus).toEqual(['LATE']);
    expect(late.next.stamp).toBe(100);
  });

  it('reports a record again when it is written again (a new stamp)', () => {
    const start = startFeed(100, [record(1, 100, 'A')], overlap);
    expect(advanceFeed(start, [record(1, 100, 'A'), record(1, 103, 'A')], overlap).skus).toEqual(['A']);
  });

  it('moves through quiet periods with the ERP clock and forgets what fell out of the window', () => {
    const start = startFeed(100, [record(1, 99, 'A')], overlap);
    const quiet = advanceFeed(start, [record(1, 99, 'A')], overlap, 150);
    expect(quiet.next).toEqual({ stamp: 150, seen: [] });
  });

  it('sorts and de-duplicates the SKUs of a step', () => {
    const start = startFeed(0, [], overlap);
    expect(advanceFeed(start, [record(1, 1, 'B'), record(2, 2, 'A'), record(3, 3, 'B')], overlap).skus).toEqual(['A', 'B']);
  });

  it('round-trips a position through an opaque watermark of its own kind only', () => {
    const position = startFeed(42, [record(9, 40, 'X')], overlap);
    expect(decodeWatermark('stock', encodeWatermark('stock', position))).toEqual(position);
    expect(() => decodeWatermark('products', encodeWatermark('stock', position))).toThrow(/not issued/);
    expect(() => decodeWatermark('stock', 'stock:not-base64-json')).toThrow(/not issued/);
  });
});
