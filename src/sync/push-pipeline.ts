/**
 * A push in pages whose reads overlap its writes. Shopify's cost bucket bounds a large push: on
 * an empty bucket the writes alone reach the ceiling, so every moment spent reading (the ERP's
 * stock, the read model, Shopify's current levels) between two writes is lost throughput. Here
 * page n+1 is read and planned (`prepare`) while page n's writes (`write`) are in flight.
 *
 * Bounded: `add` waits while `maxQueued` prepared pages wait behind the one being written
 * (backpressure on the reader), so memory holds at most `maxQueued + 1` pages of plans. Writes
 * run one at a time, in the order pages were added. Pages must not share an item (see
 * `PushExecutor.prepareGroups`): callers add each SKU once and push SKUs met again after all
 * the pipeline's writes are done.
 *
 * A failed write stops the pipeline: the next `add` or `finish` throws its error, and no later
 * page is written.
 */
export interface PushPipelineStages<P> {
  /** Reads and plans one page; what it returns is handed to `write`. */
  prepare(skus: readonly string[], page: number): Promise<P>;
  /** Sends one prepared page and records its outcomes. */
  write(prepared: P, page: number): Promise<void>;
}

export interface PushPipelineOptions {
  /** SKUs per page. */
  readonly pageSize: number;
  /** Prepared pages that may wait behind the page being written (default 1). */
  readonly maxQueued?: number;
}

export class PushPipeline<P> {
  readonly #stages: PushPipelineStages<P>;
  readonly #pageSize: number;
  readonly #maxQueued: number;
  #pending: string[] = [];
  #page = 0;
  /** Pages prepared and not yet written (the one being written included). */
  #waiting = 0;
  #writes: Promise<void> = Promise.resolve();
  #failure: { error: unknown } | null = null;
  #room: Array<() => void> = [];

  constructor(stages: PushPipelineStages<P>, options: PushPipelineOptions) {
    if (!Number.isInteger(options.pageSize) || options.pageSize < 1) throw new RangeError('pageSize must be a positive integer');
    this.#stages = stages;
    this.#pageSize = options.pageSize;
    this.#maxQueued = Math.max(0, options.maxQueued ?? 1);
  }

  /** Pages written or queued so far. */
  get pages(): number {
    return this.#page;
  }

  /** Adds SKUs; full pages are prepared now and queued for writing (waiting while the queue is full). */
  async add(skus: readonly string[]): Promise<void> {
    this.#throwIfFailed();
    this.#pending.push(...skus);
    while (this.#pending.length >= this.#pageSize) await this.#submit(this.#pending.splice(0, this.#pageSize));
  }

  /** Prepares and writes what is left, then waits for every write. */
  async finish(): Promise<void> {
    if (this.#pending.length > 0 && !this.#failure) await this.#submit(this.#pending.splice(0));
    await this.#writes;
    this.#throwIfFailed();
  }

  /** Waits for the writes already queued (after a failure elsewhere: nothing is left running). */
  async drain(): Promise<void> {
    await this.#writes;
  }

  async #submit(skus: string[]): Promise<void> {
    // Backpressure: at most `maxQueued` prepared pages wait behind the write in flight.
    while (this.#waiting > this.#maxQueued) {
      await new Promise<void>((resolve) => this.#room.push(resolve));
      this.#throwIfFailed();
    }
    const page = this.#page++;
    const prepared = await this.#stages.prepare(skus, page);
    this.#throwIfFailed();
    this.#waiting += 1;
    this.#writes = this.#writes.then(async () => {
      try {
        if (!this.#failure) await this.#stages.write(prepared, page);
      } catch (error) {
        this.#failure ??= { error };
      } finally {
        this.#waiting -= 1;
        for (const wake of this.#room.splice(0)) wake();
      }
    });
  }

  #throwIfFailed(): void {
    if (this.#failure) throw this.#failure.error;
  }
}
