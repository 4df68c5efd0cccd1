import { AsyncLocalStorage } from 'node:async_hooks';
import type { ErpConnector, ErpLane, ErpLaneOptions } from './erp-connector.js';
import { ErpBusyError, ErpUnavailableError } from './erp-errors.js';

/**
 * Lanes: how one ERP's small capacity (trytond answers with a few worker threads) is shared
 * between the work that must never wait behind a crowd (the order pipeline, the sync,
 * reservations: the background lane) and GraphQL reads (the interactive lane).
 *
 * Why one scheduler with two queues rather than Bottleneck priorities or two limiters:
 * - Priorities alone let a flood of interactive reads take every slot; a background call that
 *   arrives then still waits for a whole interactive round trip (Tryton: ~0.5 s for a page of
 *   stock), and Bottleneck cannot take a queued job back when its caller gives up.
 * - Two limiters would either overbook the ERP (the sum of both shares) or leave background
 *   capacity idle while reads queue.
 * Here the interactive lane may hold at most `interactiveShare` of the `maxConcurrent` slots,
 * so at least `maxConcurrent − interactiveShare` slots are always free of reads; background
 * calls go first whenever a slot frees; the interactive queue is bounded (a read beyond the
 * bound is refused at once with `ERP_BUSY`); every wait is bounded, and a queued call whose
 * signal aborts leaves the queue at once (nothing was sent).
 */

export interface ErpLaneContext {
  readonly lane: ErpLane;
  readonly signal?: AbortSignal;
}

const laneStorage = new AsyncLocalStorage<ErpLaneContext>();

/** The lane of the call being made (background when no view set one). */
export function currentLane(): ErpLaneContext {
  return laneStorage.getStore() ?? { lane: 'background' };
}

/**
 * A view of `connector` whose method calls (and every round trip they make, however deep) run in
 * `lane`: the connector's call policy reads the lane from the async context. Properties other
 * than methods (`capabilities`, counters) are the connector's own.
 */
export function createLaneView<C extends ErpConnector>(connector: C, lane: ErpLane, options: ErpLaneOptions = {}): ErpConnector {
  const context: ErpLaneContext = { lane, signal: options.signal };
  return new Proxy(connector, {
    get(target, property) {
      const value: unknown = Reflect.get(target, property, target);
      if (typeof value !== 'function' || property === 'constructor') return value;
      if (property === 'forLane') return (next: ErpLane, nextOptions?: ErpLaneOptions) => target.forLane(next, nextOptions);
      return (...args: unknown[]) => laneStorage.run(context, () => (value as (...a: unknown[]) => unknown).apply(target, args));
    },
  });
}

export interface LaneSchedulerOptions {
  readonly erp: string;
  /** Round trips in flight at once, both lanes together. */
  readonly maxConcurrent: number;
  /** Minimum spacing between the starts of two round trips. */
  readonly minTimeMs?: number;
  /** Slots the interactive lane may hold at once (default: half, at least one, never all but one lane). */
  readonly interactiveShare?: number;
  /** Interactive calls that may wait; one more is refused at once with `ERP_BUSY`. */
  readonly interactiveQueueLimit?: number;
  /** Longest wait in the interactive queue before `ERP_BUSY`. */
  readonly interactiveMaxWaitMs?: number;
  /** Longest wait in the background queue before `ERP_BUSY` (a claim's lease must outlast it). */
  readonly backgroundMaxWaitMs?: number;
  /** Called with every slot handed out: which lane, how long it waited (metrics, tests). */
  readonly onStart?: (event: { lane: ErpLane; queuedMs: number }) => void;
}

interface Waiter {
  readonly lane: ErpLane;
  readonly enqueuedAt: number;
  readonly grant: () => void;
}

export interface LaneStats {
  readonly inFlight: Readonly<Record<ErpLane, number>>;
  readonly queued: Readonly<Record<ErpLane, number>>;
}

/**
 * Hands out the ERP's slots. `acquire` resolves with a release function once the call may
 * start, or rejects with `ERP_BUSY` (queue full, waited too long, aborted) having taken nothing.
 */
export class LaneScheduler {
  private readonly maxConcurrent: number;
  private readonly interactiveShare: number;
  private readonly interactiveQueueLimit: number;
  private readonly maxWaitMs: Record<ErpLane, number>;
  private readonly minTimeMs: number;
  private readonly inFlight: Record<ErpLane, number> = { interactive: 0, background: 0 };
  private readonly queues: Record<ErpLane, Waiter[]> = { interactive: [], background: [] };
  private lastStart = Number.NEGATIVE_INFINITY;
  private spacingTimer: NodeJS.Timeout | undefined;
  private stopped = false;
  private idle: (() => void) | null = null;

  constructor(private readonly options: LaneSchedulerOptions) {
    this.maxConcurrent = Math.max(1, options.maxConcurrent);
    // With one slot there is nothing to share: reads then simply go after queued background work.
    const defaultShare = this.maxConcurrent === 1 ? 1 : Math.max(1, Math.floor(this.maxConcurrent / 2));
    this.interactiveShare = Math.min(this.maxConcurrent, Math.max(1, options.interactiveShare ?? defaultShare));
    this.interactiveQueueLimit = Math.max(0, options.interactiveQueueLimit ?? 20);
    this.maxWaitMs = { interactive: options.interactiveMaxWaitMs ?? 10_000, background: options.backgroundMaxWaitMs ?? 60_000 };
    this.minTimeMs = options.minTimeMs ?? 0;
  }

  stats(): LaneStats {
    return { inFlight: { ...this.inFlight }, queued: { interactive: this.queues.interactive.length, background: this.queues.background.length } };
  }

  acquire(lane: ErpLane, signal?: AbortSignal): Promise<() => void> {
    const erp = this.options.erp;
    if (this.stopped) return Promise.reject(new ErpUnavailableError(`The ${erp} connector is closed`, { erp }, { notApplied: true }));
    if (signal?.aborted) return Promise.reject(busy(erp, lane, 'ABORTED', signal.reason));
    if (lane === 'interactive' && this.queues.interactive.length >= this.interactiveQueueLimit && !this.canStart('interactive')) {
      return Promise.reject(busy(erp, lane, 'QUEUE_FULL'));
    }
    return new Promise((resolve, reject) => {
      const leave = (error: Error) => {
        const queue = this.queues[lane];
        const index = queue.indexOf(waiter);
        if (index < 0) return; // already granted
        queue.splice(index, 1);
        clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
        reject(error);
        this.settleIdle();
      };
      const onAbort = () => leave(busy(erp, lane, 'ABORTED', signal?.reason));
      const waiter: Waiter = {
        lane,
        enqueuedAt: performance.now(),
        grant: () => {
          clearTimeout(timer);
          signal?.removeEventListener('abort', onAbort);
          this.inFlight[lane] += 1;
          this.options.onStart?.({ lane, queuedMs: performance.now() - waiter.enqueuedAt });
          let released = false;
          resolve(() => {
            if (released) return;
            released = true;
            this.inFlight[lane] -= 1;
            this.dispatch();
            this.settleIdle();
          });
        },
      };
      this.queues[lane].push(waiter);
      const timer = setTimeout(() => leave(busy(erp, lane, 'QUEUE_TIMEOUT', undefined, this.maxWaitMs[lane])), this.maxWaitMs[lane]);
      timer.unref?.();
      signal?.addEventListener('abort', onAbort, { once: true });
      this.dispatch();
    });
  }

  /** Refuses new calls; resolves once nothing is queued or in flight. */
  stop(): Promise<void> {
    this.stopped = true;
    if (this.isIdle()) return Promise.resolve();
    return new Promise((resolve) => {
      this.idle = resolve;
    });
  }

  private canStart(lane: ErpLane): boolean {
    const total = this.inFlight.interactive + this.inFlight.background;
    if (total >= this.maxConcurrent) return false;
    return lane === 'background' || this.inFlight.interactive < this.interactiveShare;
  }

  private dispatch(): void {
    for (;;) {
      const lane: ErpLane | null =
        this.queues.background.length > 0 && this.canStart('background')
          ? 'background'
          : this.queues.interactive.length > 0 && this.canStart('interactive')
            ? 'interactive'
            : null;
      if (lane === null) return;
      if (this.minTimeMs > 0) {
        const wait = this.lastStart + this.minTimeMs - performance.now();
        if (wait > 0) {
          if (!this.spacingTimer) {
            this.spacingTimer = setTimeout(() => {
              this.spacingTimer = undefined;
              this.dispatch();
            }, wait);
          }
          return;
        }
        this.lastStart = performance.now();
      }
      this.queues[lane].shift()!.grant();
    }
  }

  private isIdle(): boolean {
    return this.inFlight.interactive + this.inFlight.background + this.queues.interactive.length + this.queues.background.length === 0;
  }

  private settleIdle(): void {
    if (this.idle && this.isIdle()) {
      const resolve = this.idle;
      this.idle = null;
      resolve();
    }
  }
}

function busy(erp: string, lane: ErpLane, reason: 'QUEUE_FULL' | 'QUEUE_TIMEOUT' | 'ABORTED', cause?: unknown, waitedMs?: number): ErpBusyError {
  const text =
    reason === 'QUEUE_FULL'
      ? `Too many ${lane} calls are waiting for ${erp}; try again shortly`
      : reason === 'QUEUE_TIMEOUT'
        ? `A ${lane} call waited ${waitedMs} ms for ${erp} without a free slot`
        : `A ${lane} call to ${erp} was given up before it was sent`;
  return new ErpBusyError(text, { erp, lane, reason }, cause === undefined ? undefined : { cause });
}
