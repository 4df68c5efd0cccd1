/**
 * Group commit for the order pipeline's database steps: calls made while a batch is running (or
 * in the same turn of the event loop) are run together as the next batch, in one statement or
 * transaction, each caller getting its own answer. An idle pipeline waits no longer than one
 * turn; a busy one sends fewer, larger statements instead of one round trip per order.
 */
export interface MicroBatch<I, O> {
  /** Runs `item` with the next batch; rejects with the batch's error when the batch fails. */
  run(item: I): Promise<O>;
}

interface Waiting<I, O> {
  readonly item: I;
  readonly resolve: (value: O) => void;
  readonly reject: (error: unknown) => void;
}

/** A batch that did not end within its `timeoutMs`: its callers are answered with this, its place freed. */
export class BatchTimedOut extends Error {
  /** Read as the database being unreachable (src/db/database-errors.ts): the batch's statement never came back. */
  readonly code = 'BATCH_TIMEOUT';
  constructor(timeoutMs: number) {
    super(`the batch did not end within ${timeoutMs} ms (a database connection that never answers); its callers are answered with this error`);
    this.name = 'BatchTimedOut';
  }
}

/**
 * `work` gets the items of one batch and answers one result per item, in order. `maxSize` bounds a
 * batch; `maxInFlight` bounds the batches running at once (each holds a pooled connection).
 * `timeoutMs` bounds a batch's wait: past it the callers get BatchTimedOut and the place is freed
 * for the next batch. Without it, a statement that never came back (a connection left hung by a
 * database failover was seen) held its place for good, and with both places so held every later
 * call of the process waited forever.
 */
export function microBatch<I, O>(
  work: (items: readonly I[]) => Promise<readonly O[]>,
  options: { maxSize?: number; maxInFlight?: number; timeoutMs?: number } = {},
): MicroBatch<I, O> {
  const maxSize = Math.max(1, options.maxSize ?? 200);
  const maxInFlight = Math.max(1, options.maxInFlight ?? 1);
  const timeoutMs = options.timeoutMs ?? 0;
  const queue: Array<Waiting<I, O>> = [];
  let inFlight = 0;
  let scheduled = false;

  function schedule(): void {
    if (scheduled || inFlight >= maxInFlight || queue.length === 0) return;
    scheduled = true;
    setImmediate(flush);
  }

  function flush(): void {
    scheduled = false;
    if (inFlight >= maxInFlight || queue.length === 0) return;
    const batch = queue.splice(0, maxSize);
    inFlight += 1;
    let ended = false;
    const end = () => {
      if (ended) return;
      ended = true;
      if (timer) clearTimeout(timer);
      inFlight -= 1;
      schedule();
    };
    const timer = timeoutMs > 0 ? setTimeout(() => {
      // Answered now; whatever the batch answers later is ignored (a promise settles once).
      for (const waiting of batch) waiting.reject(new BatchTimedOut(timeoutMs));
      end();
    }, timeoutMs) : null;
    timer?.unref?.();
    work(batch.map((waiting) => waiting.item))
      .then(
        (results) => {
          if (results.length !== batch.length) throw new Error(`a batch of ${batch.length} answered ${results.length} results`);
          batch.forEach((waiting, index) => waiting.resolve(results[index]!));
        },
        (error: unknown) => {
          for (const waiting of batch) waiting.reject(error);
        },
      )
      .catch((error: unknown) => {
        for (const waiting of batch) waiting.reject(error);
      })
      .finally(end);
    schedule();
  }

  return {
    run(item) {
      return new Promise<O>((resolve, reject) => {
        queue.push({ item, resolve, reject });
        schedule();
      });
    },
  };
}
