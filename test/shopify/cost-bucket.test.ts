import { describe, expect, it } from 'vitest';
import { CostBucket, throttledWaitMs } from '../../src/shopify/cost-bucket.js';
import { FakeClock, flush } from './fake-clock.js';

const standard = (currentlyAvailable: number) => ({ maximumAvailable: 2000, currentlyAvailable, restoreRate: 100 });

describe('CostBucket', () => {
  it('sends one call at a time until a response teaches it the plan', async () => {
    const clock = new FakeClock();
    const bucket = new CostBucket(clock);
    const first = await bucket.acquire(10);
    let secondStarted = false;
    const second = bucket.acquire(10).then((reservation) => {
      secondStarted = true;
      return reservation;
    });
    await clock.advance(60_000);
    expect(secondStarted).toBe(false);

    bucket.release(first, standard(1990));
    await second;
    expect(secondStarted).toBe(true);
    expect(bucket.plan()).toEqual({ bucketSize: 2000, restoreRatePerSecond: 100 });
  });

  it('learns a different plan from the next response, without configuration', async () => {
    const bucket = new CostBucket(new FakeClock());
    bucket.release(await bucket.acquire(10), standard(1990));
    bucket.release(await bucket.acquire(10), { maximumAvailable: 20_000, currentlyAvailable: 19_990, restoreRate: 1000 });
    expect(bucket.plan()).toEqual({ bucketSize: 20_000, restoreRatePerSecond: 1000 });
  });

  it('holds a call back until the bucket has restored its cost', async () => {
    const clock = new FakeClock();
    const bucket = new CostBucket(clock);
    bucket.release(await bucket.acquire(10), standard(0));

    let sentAt: number | null = null;
    const pending = bucket.acquire(250).then((reservation) => {
      sentAt = clock.now();
      return reservation;
    });
    await clock.advance(2_499);
    expect(sentAt).toBeNull();
    await clock.advance(1);
    await pending;
    expect(sentAt).toBe(2_500);
  });

  it('counts calls in flight against the bucket until their response arrives', async () => {
    const clock = new FakeClock();
    const bucket = new CostBucket(clock);
    bucket.release(await bucket.acquire(1), standard(100));

    const inFlight = await bucket.acquire(80);
    let secondSent = false;
    const second = bucket.acquire(80).then((reservation) => {
      secondSent = true;
      return reservation;
    });
    await clock.advance(500);
    expect(secondSent).toBe(false); // 100 + 50 restored − 80 in flight = 70 < 80

    // The response reports the real level: the first call cost 80 and 0.5 s restored 50.
    bucket.release(inFlight, standard(70));
    await clock.advance(99);
    expect(secondSent).toBe(false);
    await clock.advance(1);
    await second;
    expect(secondSent).toBe(true);
  });

  it('lets callers through in arrival order, so a large call is not starved by small ones', async () => {
    const clock = new FakeClock();
    const bucket = new CostBucket(clock);
    bucket.release(await bucket.acquire(1), standard(0));
    const order: string[] = [];
    const big = bucket.acquire(500).then((r) => (order.push('big'), r));
    const small = bucket.acquire(10).then((r) => (order.push('small'), r));
    await clock.advance(4_000);
    expect(order).toEqual([]);
    await clock.advance(1_000);
    await big;
    bucket.release(await big, standard(0));
    await clock.advance(100);
    await small;
    expect(order).toEqual(['big', 'small']);
  });

  it('after THROTTLED waits (requested − available) / restoreRate before the retry', async () => {
    const clock = new FakeClock();
    const bucket = new CostBucket(clock);
    const status = standard(118);
    expect(throttledWaitMs(202, status)).toBeCloseTo(840);

    bucket.release(await bucket.acquire(202), status);
    let retriedAt: number | null = null;
    const retry = bucket.acquire(202).then((r) => ((retriedAt = clock.now()), r));
    await clock.advance(839);
    expect(retriedAt).toBeNull();
    await clock.advance(1);
    await retry;
    expect(retriedAt).toBe(840);
  });

  it('never lets the estimate exceed the bucket size, however long it was idle', async () => {
    const clock = new FakeClock();
    const bucket = new CostBucket(clock);
    bucket.release(await bucket.acquire(1), standard(1000));
    await clock.advance(3_600_000);
    expect(bucket.available()).toBe(2000);
  });

  it('honours a pause for the whole shop (Retry-After)', async () => {
    const clock = new FakeClock();
    const bucket = new CostBucket(clock);
    bucket.release(await bucket.acquire(1), standard(2000));
    bucket.pauseUntil(clock.now() + 2_000);
    let sent = false;
    const pending = bucket.acquire(1).then((r) => ((sent = true), r));
    await clock.advance(1_999);
    expect(sent).toBe(false);
    await clock.advance(1);
    await pending;
    await flush();
    expect(sent).toBe(true);
  });

  it('leaves no timer behind when a response wakes a waiting call early', async () => {
    const clock = new FakeClock();
    const bucket = new CostBucket(clock);
    bucket.release(await bucket.acquire(1), standard(0));
    const inFlight = await bucket.acquire(0);
    const waiting = bucket.acquire(500);
    await flush();
    expect(clock.pendingSleepers()).toBe(1);
    bucket.release(inFlight, standard(2000)); // a refund: plenty of room now
    await waiting;
    expect(clock.pendingSleepers()).toBe(0);
  });

  it('treats a call that got no answer as spent', async () => {
    const clock = new FakeClock();
    const bucket = new CostBucket(clock);
    bucket.release(await bucket.acquire(1), standard(500));
    bucket.release(await bucket.acquire(300), null);
    expect(bucket.available()).toBe(200);
  });
});
