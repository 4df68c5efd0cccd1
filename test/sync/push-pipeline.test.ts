import { describe, expect, it } from 'vitest';
import { PushPipeline } from '../../src/sync/push-pipeline.js';

/**
 * The pipeline's order and bounds, with stages that record what happens when: writes one at a
 * time in page order, the next page prepared while a write is in flight, never more than
 * `maxQueued` prepared pages waiting, and a failed write stopping every later one.
 */
function gate() {
  let open!: () => void;
  const opened = new Promise<void>((resolve) => (open = resolve));
  return { opened, open };
}

describe('PushPipeline', () => {
  it('prepares the next page while the current one is written, writes in order, and keeps the queue bounded', async () => {
    const events: string[] = [];
    const writeGates = new Map<number, ReturnType<typeof gate>>();
    let preparedUnwritten = 0;
    let mostWaiting = 0;
    const pipeline = new PushPipeline<{ page: number; skus: readonly string[] }>(
      {
        async prepare(skus, page) {
          events.push(`prepare ${page}`);
          preparedUnwritten += 1;
          mostWaiting = Math.max(mostWaiting, preparedUnwritten);
          writeGates.set(page, gate());
          return { page, skus };
        },
        async write(prepared, page) {
          events.push(`write ${page} start`);
          await writeGates.get(page)!.opened;
          preparedUnwritten -= 1;
          events.push(`write ${page} end ${prepared.skus.join(',')}`);
        },
      },
      { pageSize: 2, maxQueued: 1 },
    );

    await pipeline.add(['a', 'b', 'c']); // page 0 prepared and written in the background; "c" waits
    await pipeline.add(['d']); // page 1 prepared while page 0 is still being written
    expect(events).toEqual(['prepare 0', 'write 0 start', 'prepare 1']);

    // A third page must wait: page 0 in flight and page 1 queued fill the queue.
    let thirdAdded = false;
    const third = pipeline.add(['e', 'f']).then(() => (thirdAdded = true));
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(thirdAdded).toBe(false);
    expect(events).not.toContain('prepare 2');

    writeGates.get(0)!.open();
    await third;
    expect(events.slice(0, 4)).toEqual(['prepare 0', 'write 0 start', 'prepare 1', 'write 0 end a,b']);
    // Page 1's write and page 2's preparation now run side by side.
    expect(events.slice(4, 6).sort()).toEqual(['prepare 2', 'write 1 start']);

    const finished = pipeline.finish();
    writeGates.get(1)!.open();
    writeGates.get(2)!.open();
    await finished;
    expect(events.filter((e) => e.includes('end'))).toEqual(['write 0 end a,b', 'write 1 end c,d', 'write 2 end e,f']);
    expect(mostWaiting).toBeLessThanOrEqual(3);
    expect(pipeline.pages).toBe(3);
  });

  it('a failed write stops the pipeline: later pages are not written and the error reaches the caller', async () => {
    const written: number[] = [];
    const pipeline = new PushPipeline<number>(
      {
        prepare: async (_skus, page) => page,
        async write(page) {
          if (page === 1) throw new Error('lease lost');
          written.push(page);
        },
      },
      { pageSize: 1, maxQueued: 1 },
    );
    await expect(
      (async () => {
        for (const sku of ['a', 'b', 'c', 'd', 'e']) await pipeline.add([sku]);
        await pipeline.finish();
      })(),
    ).rejects.toThrow('lease lost');
    await pipeline.drain();
    expect(written).toEqual([0]);
  });

  it('a short last page is written by finish', async () => {
    const written: string[][] = [];
    const pipeline = new PushPipeline<readonly string[]>({ prepare: async (skus) => skus, write: async (skus) => void written.push([...skus]) }, { pageSize: 1_000 });
    await pipeline.add(['x', 'y']);
    expect(written).toEqual([]);
    await pipeline.finish();
    expect(written).toEqual([['x', 'y']]);
  });
});
