/**
 * Group commit for reservations. Every reservation of one SKU at one location needs that
 * position's row lock, held until its transaction commits and the WAL is flushed (~2 ms on an
 * ordinary disk). One transaction per request therefore caps a hot SKU at a few hundred
 * reservations per second however many connections wait, and the waiters make it worse. So each
 * instance queues requests in a few lanes (a position always maps to the same lane) and each lane
 * runs one transaction at a time with everything that queued while the previous one ran. With no
 * contention a batch holds one request and adds no delay; under load a batch amortises the commit.
 *
 * Guarantee: every submitted request is run exactly once in some batch and settles with its own
 * result; a batch never holds two requests with the same `dedupeKey` (the later one waits for the
 * next batch, where it sees the earlier one's committed outcome). When a batch of several fails
 * with an unexpected error, its requests are retried one by one, so one bad request fails alone.
 * Correctness never depends on the batching: the database decides each request (see
 * ReservationsRepository.reserveBatch); batching only decides how many share a commit.
 */
export interface BatcherOptions<I, O> {
  readonly lanes: number;
  readonly maxBatch: number;
  /** Which lane an input goes to (requests that contend for a row should share one). */
  laneKey(input: I): string;
  /** Inputs with the same key never share a batch. */
  dedupeKey(input: I): string;
  /** Runs one batch; returns one output per input, in order. */
  run(batch: readonly I[]): Promise<readonly O[]>;
  /** Told of each batch's size (for metrics). */
  onBatch?(size: number): void;
}

interface Pending<I, O> {
  readonly input: I;
  resolve(output: O): void;
  reject(error: unknown): void;
}

function hash(text: string): number {
  let h = 2166136261;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 16777619);
  return h >>> 0;
}

export function createBatcher<I, O>(options: BatcherOptions<I, O>) {
  const lanes = Array.from({ length: Math.max(1, options.lanes) }, () => ({ queue: [] as Pending<I, O>[], running: false }));

  function takeBatch(queue: Pending<I, O>[]): Pending<I, O>[] {
    const batch: Pending<I, O>[] = [];
    const keys = new Set<string>();
    for (let i = 0; i < queue.length && batch.length < options.maxBatch; ) {
      const key = options.dedupeKey(queue[i]!.input);
      if (keys.has(key)) {
        i += 1;
        continue;
      }
      keys.add(key);
      batch.push(queue.splice(i, 1)[0]!);
    }
    return batch;
  }

  async function runOne(batch: Pending<I, O>[]): Promise<void> {
    options.onBatch?.(batch.length);
    try {
      const outputs = await options.run(batch.map((pending) => pending.input));
      batch.forEach((pending, index) => pending.resolve(outputs[index]!));
    } catch (error) {
      if (batch.length === 1) {
        batch[0]!.reject(error);
        return;
      }
      for (const pending of batch) await runOne([pending]);
    }
  }

  async function drain(lane: (typeof lanes)[number]): Promise<void> {
    if (lane.running) return;
    lane.running = true;
    try {
      while (lane.queue.length > 0) await runOne(takeBatch(lane.queue));
    } finally {
      lane.running = false;
    }
  }

  return {
    submit(input: I): Promise<O> {
      return new Promise<O>((resolve, reject) => {
        const lane = lanes[hash(options.laneKey(input)) % lanes.length]!;
        lane.queue.push({ input, resolve, reject });
        void drain(lane);
      });
    },
  };
}
