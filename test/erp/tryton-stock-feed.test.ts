import { afterEach, describe, expect, it, vi } from 'vitest';
import { TrytonErpConnector } from '../../src/erp/tryton/tryton-erp-connector.js';
import { isoFromStamp, stampOf } from '../../src/erp/tryton/tryton-calls.js';
import { decodeTrytonJson } from '../../src/erp/tryton/tryton-codec.js';
import { createLogger } from '../../src/logger.js';

/**
 * How far back the Tryton stock feed reads, against a scripted trytond on the connector's
 * `fetch` (no Tryton needed): the `since` of each `stock.move` read is recorded, and late
 * commits are records added with a stamp older than the watermark. The real trytond runs the
 * same feed in the contract suite (test/erp/tryton-erp-connector.int.test.ts).
 */

interface Move {
  readonly id: number;
  readonly stamp: number;
  readonly sku: string;
}

const SECOND = 1_000_000;
const T0 = Date.UTC(2026, 11, 6, 12, 0, 0) * 1000;

function scriptedTryton(moves: Move[]): { fetch: typeof fetch; sinces: number[] } {
  const sinces: number[] = [];
  const answer = (id: unknown, result: unknown) => new Response(JSON.stringify({ id, result }), { status: 200, headers: { 'content-type': 'application/json' } });
  const fake: typeof fetch = async (_input, init) => {
    const request = decodeTrytonJson(String(init?.body)) as { id: number; method: string; params: unknown[] };
    if (request.method === 'common.db.login') return answer(request.id, [1, 'session-key']);
    if (request.method === 'model.res.user.get_preferences') return answer(request.id, { company: 1 });
    if (request.method === 'model.stock.lot.search_read') return answer(request.id, []);
    if (request.method !== 'model.stock.move.search_read') throw new Error(`unexpected ${request.method}`);
    const [domain, , limit] = request.params as [unknown[], number, number | null];
    const row = (move: Move) => ({ id: move.id, create_date: isoFromStamp(move.stamp), write_date: null, 'product.': { code: move.sku } });
    // The ERP's clock (`latestStamp`): the newest record by one field, limit 1.
    if (limit === 1) return answer(request.id, [...moves].sort((a, b) => b.stamp - a.stamp).slice(0, 1).map(row));
    const since = stampOf(((domain[0] as unknown[])[1] as unknown[])[2] as string);
    sinces.push(since);
    return answer(request.id, moves.filter((m) => m.stamp > since).map(row));
  };
  return { fetch: fake, sinces };
}

const connectorOn = (fetchFn: typeof globalThis.fetch) =>
  new TrytonErpConnector({ url: 'http://tryton.invalid/', database: 'erp', user: 'admin', password: 'secret-pw-1', logger: createLogger('silent'), fetch: fetchFn });

afterEach(() => {
  vi.useRealTimers();
});

describe('Tryton stock feed: what each look reads back', () => {
  it('reads back 30 s between whole-window reads, and a late commit older than that is reported by the next whole read, once', async () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    vi.setSystemTime(new Date('2026-12-06T12:00:00Z'));
    const moves: Move[] = [{ id: 1, stamp: T0, sku: 'A' }];
    const tryton = scriptedTryton(moves);
    const connector = connectorOn(tryton.fetch);

    const start = await connector.getStockChangesSince(null);
    expect(tryton.sinces.at(-1)).toBe(T0 - 300 * SECOND);

    moves.push({ id: 2, stamp: T0 + 2 * SECOND, sku: 'B' });
    vi.setSystemTime(new Date('2026-12-06T12:00:03Z'));
    const first = await connector.getStockChangesSince(start.nextWatermark);
    expect(first.skus).toEqual(['B']);
    expect(tryton.sinces.at(-1)).toBe(T0 - 30 * SECOND);

    // A transaction that began 100 s before the newest stamp commits only now.
    moves.push({ id: 3, stamp: T0 + 2 * SECOND - 100 * SECOND, sku: 'LATE' });
    vi.setSystemTime(new Date('2026-12-06T12:00:06Z'));
    const second = await connector.getStockChangesSince(first.nextWatermark);
    expect(second.skus).toEqual([]);
    expect(tryton.sinces.at(-1)).toBe(T0 + 2 * SECOND - 30 * SECOND);

    vi.setSystemTime(new Date('2026-12-06T12:01:00Z'));
    const third = await connector.getStockChangesSince(second.nextWatermark);
    expect(third.skus).toEqual(['LATE']);
    expect(tryton.sinces.at(-1)).toBe(T0 + 2 * SECOND - 300 * SECOND);

    vi.setSystemTime(new Date('2026-12-06T12:02:00Z'));
    const fourth = await connector.getStockChangesSince(third.nextWatermark);
    expect(fourth.skus).toEqual([]);
    await connector.close();
  });

  it('reads the whole window for a watermark it did not issue (another instance, a restart)', async () => {
    const moves: Move[] = [{ id: 1, stamp: T0, sku: 'A' }];
    const issuer = connectorOn(scriptedTryton(moves).fetch);
    const start = await issuer.getStockChangesSince(null);
    moves.push({ id: 2, stamp: T0 - 120 * SECOND, sku: 'LATE' });

    const tryton = scriptedTryton(moves);
    const restarted = connectorOn(tryton.fetch);
    expect((await restarted.getStockChangesSince(start.nextWatermark)).skus).toEqual(['LATE']);
    expect(tryton.sinces).toEqual([T0 - 300 * SECOND]);
    await Promise.all([issuer.close(), restarted.close()]);
  });
});
