import { describe, expect, it } from 'vitest';
import { createBatcher } from '../../src/reservations/reservations.batcher.js';

interface Request {
  position: string;
  key: string;
}

function deferred() {
  let release!: () => void;
  const promise = new Promise<void>((resolve) => (release = resolve));
  return { promise, release };
}

function recordingBatcher(options: { lanes?: number; maxBatch?: number; fail?: (batch: readonly Request[]) => boolean } = {}) {
  const batches: string[][] = [];
  let gate = deferred();
  const batcher = createBatcher<Request, string>({
    lanes: options.lanes ?? 1,
    maxBatch: options.maxBatch ?? 100,
    laneKey: (request) => request.position,
    dedupeKey: (request) => request.key,
    async run(batch) {
      batches.push(batch.map((r) => r.key));
      await gate.promise;
      if (options.fail?.(batch)) throw new Error(`batch of ${batch.length} failed`);
      return batch.map((r) => `done:${r.key}`);
    },
  });
  return {
    batcher,
    batches,
    openGate() {
      gate.release();
      gate = deferred();
      gate.release();
    },
  };
}

describe('the reservation batcher', () => {
  it('runs a lone request at once, and everything that queued meanwhile as the next batch', async () => {
    const { batcher, batches, openGate } = recordingBatcher();
    const first = batcher.submit({ position: 'A', key: 'k1' });
    const rest = ['k2', 'k3', 'k4'].map((key) => batcher.submit({ position: 'A', key }));
    expect(batches).toEqual([['k1']]);
    openGate();
    expect(await first).toBe('done:k1');
    expect(await Promise.all(rest)).toEqual(['done:k2', 'done:k3', 'done:k4']);
    expect(batches).toEqual([['k1'], ['k2', 'k3', 'k4']]);
  });

  it('never puts two requests with the same key in one batch', async () => {
    const { batcher, batches, openGate } = recordingBatcher();
    const all = [batcher.submit({ position: 'A', key: 'blocker' })];
    for (const key of ['a', 'b', 'a', 'c', 'a']) all.push(batcher.submit({ position: 'A', key }));
    openGate();
    expect(await Promise.all(all)).toEqual(['done:blocker', 'done:a', 'done:b', 'done:a', 'done:c', 'done:a']);
    expect(batches).toEqual([['blocker'], ['a', 'b', 'c'], ['a'], ['a']]);
  });

  it('caps a batch at maxBatch', async () => {
    const { batcher, batches, openGate } = recordingBatcher({ maxBatch: 2 });
    const all = ['k0', 'k1', 'k2', 'k3', 'k4'].map((key) => batcher.submit({ position: 'A', key }));
    openGate();
    await Promise.all(all);
    expect(batches.map((b) => b.length)).toEqual([1, 2, 2]);
  });

  it('runs different lanes side by side and keeps one position in one lane', async () => {
    const { batcher, batches, openGate } = recordingBatcher({ lanes: 8 });
    const all = ['P1', 'P2', 'P3', 'P1', 'P1'].map((position, i) => batcher.submit({ position, key: `k${i}` }));
    // Each position's first request started its own lane; the later P1 requests wait together.
    expect(batches.filter((b) => b.length === 1).length).toBeGreaterThanOrEqual(2);
    openGate();
    await Promise.all(all);
    const p1Batches = batches.filter((b) => b.some((key) => ['k0', 'k3', 'k4'].includes(key)));
    expect(p1Batches).toEqual([['k0'], ['k3', 'k4']]);
  });

  it('retries a failed batch one request at a time, so only the bad request fails', async () => {
    const { batcher, openGate } = recordingBatcher({ fail: (batch) => batch.some((r) => r.key === 'bad') });
    const blocker = batcher.submit({ position: 'A', key: 'blocker' });
    const good = batcher.submit({ position: 'A', key: 'good' });
    const bad = batcher.submit({ position: 'A', key: 'bad' });
    const alsoGood = batcher.submit({ position: 'A', key: 'also-good' });
    openGate();
    await expect(blocker).resolves.toBe('done:blocker');
    await expect(good).resolves.toBe('done:good');
    await expect(bad).rejects.toThrow('batch of 1 failed');
    await expect(alsoGood).resolves.toBe('done:also-good');
  });
});
