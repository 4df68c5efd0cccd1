import { describe, expect, it } from 'vitest';
import { CostBucket, currentShopifyLane, runInShopifyLane } from '../../src/shopify/cost-bucket.js';
import { FakeClock, flush } from './fake-clock.js';

const standard = (currentlyAvailable: number) => ({ maximumAvailable: 2000, currentlyAvailable, restoreRate: 100 });

describe('CostBucket lanes: API reads never starve the sync, the orders and reservations', () => {
  it('lets a background call through ahead of interactive reads that were waiting before it', async () => {
    const clock = new FakeClock();
    const bucket = new CostBucket(clock);
    bucket.release(await bucket.acquire(1, 'background'), standard(0));
    const order: string[] = [];
    const reads = Array.from({ length: 5 }, (_, index) => bucket.acquire(100, 'interactive').then((r) => (order.push(`read-${index}`), r)));
    await flush();
    const push = bucket.acquire(100, 'background').then((r) => (order.push('push'), r));

    await clock.advance(60_000);
    await Promise.all([...reads, push]);
    expect(order[0]).toBe('push');
  });

  it('keeps the background share of the bucket out of reach of interactive reads', async () => {
    const clock = new FakeClock();
    const bucket = new CostBucket(clock, { backgroundShare: 0.5 });
    bucket.release(await bucket.acquire(1, 'background'), standard(1100));

    // 1,100 points: one 100-point read fits above the 1,000-point share, the second does not.
    const firstRead = await bucket.acquire(100, 'interactive');
    let secondRead = false;
    const pending = bucket.acquire(100, 'interactive').then(() => (secondRead = true));
    await flush();
    expect(secondRead).toBe(false);

    // Background work still finds its share at once.
    const push = await bucket.acquire(900, 'background');
    expect(bucket.inFlight()).toBe(1000);
    expect(secondRead).toBe(false);
    bucket.release(firstRead);
    bucket.release(push);
    await clock.advance(60_000);
    await pending;
    expect(secondRead).toBe(true);
  });

  it('takes the lane from the caller: background unless runInShopifyLane says interactive', async () => {
    expect(currentShopifyLane()).toBe('background');
    const seen = await runInShopifyLane('interactive', async () => {
      await Promise.resolve();
      return currentShopifyLane();
    });
    expect(seen).toBe('interactive');
  });
});
