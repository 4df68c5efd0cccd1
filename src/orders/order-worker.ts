import type { PushSignal } from '../inventory/inventory.port.js';
import type { Logger } from '../logger.js';
import type { OrderProcessor } from './order-processor.service.js';
import type { OrderRepository } from './order.repository.js';
import type { WebhookInboxRepository } from './webhook-inbox.repository.js';
import type { WebhookInboxService } from './webhook-inbox.service.js';

/**
 * The in-process drive of the pipeline: one loop applies the inbox (woken by each stored
 * delivery), another works on due orders (woken by the first, and by timers for retries). Both
 * are best effort: the inbox and the due times are in PostgreSQL, and the scheduler's
 * `orders.pipeline` job drains them too, so a crashed or sleeping instance delays nothing for
 * long. Several instances run their loops side by side; their claims never overlap.
 */
export interface OrderWorker {
  /** Something was stored: apply it soon. Never throws, never waits. */
  wake(): void;
  /**
   * Orders became due outside the inbox (the poll, a replay, another instance's announcement):
   * work on them now. Never throws, never waits.
   */
  wakeOrders(): void;
  start(): void;
  /** Stops both loops and waits for the work in hand to finish. */
  stop(): Promise<void>;
  /** Applies every due delivery, then works on every due order (the job, and tests). */
  drainOnce(signal?: AbortSignal): Promise<{ deliveries: number; orders: number }>;
}

export interface OrderWorkerOptions {
  readonly inbox: WebhookInboxService;
  readonly processor: OrderProcessor;
  readonly inboxRepository: WebhookInboxRepository;
  readonly orderRepository: OrderRepository;
  readonly pushSignal: PushSignal;
  readonly log: Logger;
  /** Longest sleep between looks at the database when nothing wakes a loop (default 60 s). */
  readonly idleMs?: number;
  /** Pause after a loop failed (the database away), before it tries again (default 2 s). */
  readonly errorPauseMs?: number;
  /**
   * The go-live switch ORDERS_TO_ERP (switches.service.ts; default on). Off: deliveries are still
   * applied (orders recorded, counted as pending, shown), no order is sent to the ERP; the
   * orders loop looks again every few seconds, so switching on sends the waiting ones at once.
   */
  readonly ordersToErp?: () => Promise<'on' | 'off'>;
  /** Called when applying the inbox made orders due (tells the other instances; order-work-signal.ts). */
  readonly onOrdersDue?: () => void;
}

class Loop {
  private dirty = true;
  private timer: NodeJS.Timeout | null = null;
  private wakeUp: (() => void) | null = null;
  private running = false;
  private done: Promise<void> = Promise.resolve();

  constructor(
    private readonly name: string,
    private readonly pass: (signal: AbortSignal) => Promise<{ busy: boolean; nextDueAt: Date | null }>,
    private readonly log: Logger,
    private readonly idleMs: number,
    private readonly errorPauseMs: number,
  ) {}

  private readonly controller = new AbortController();

  wake(): void {
    this.dirty = true;
    this.wakeUp?.();
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    this.done = this.run();
  }

  async stop(): Promise<void> {
    this.running = false;
    this.controller.abort();
    this.wakeUp?.();
    await this.done;
  }

  private async sleep(ms: number): Promise<void> {
    if (!this.running || this.dirty) return;
    await new Promise<void>((resolve) => {
      this.wakeUp = resolve;
      this.timer = setTimeout(resolve, Math.max(0, ms));
      this.timer.unref?.();
    });
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    this.wakeUp = null;
  }

  private async run(): Promise<void> {
    while (this.running) {
      this.dirty = false;
      try {
        const { busy, nextDueAt } = await this.pass(this.controller.signal);
        if (busy) continue;
        const untilDue = nextDueAt ? nextDueAt.getTime() - Date.now() : this.idleMs;
        await this.sleep(Math.min(this.idleMs, Math.max(10, untilDue)));
      } catch (error) {
        if (!this.running) break;
        this.log.error({ err: error, loop: this.name }, 'order pipeline loop failed; trying again shortly');
        this.dirty = false;
        await this.sleep(this.errorPauseMs);
      }
    }
  }
}

/** How soon an orders loop held by ORDERS_TO_ERP=off looks at the switch again. */
const SWITCH_RECHECK_MS = 3_000;

export function createOrderWorker(options: OrderWorkerOptions): OrderWorker {
  const { log } = options;
  const idleMs = options.idleMs ?? 60_000;
  const errorPauseMs = options.errorPauseMs ?? 2_000;

  // Orders that became due while a pass of the orders loop is under way: the pass claims them
  // at once (processDue's `moreDue`) instead of after the orders it holds, so waves overlap.
  let arrival: { promise: Promise<void>; resolve: () => void } | null = null;
  /** A wake no pass was waiting for: the next wait ends at once (one more claim, nothing lost). */
  let unseen = false;
  const moreDue = (): Promise<void> => {
    if (unseen) {
      unseen = false;
      return Promise.resolve();
    }
    if (!arrival) {
      let resolve!: () => void;
      const promise = new Promise<void>((done) => (resolve = done));
      arrival = { promise, resolve };
    }
    return arrival.promise;
  };
  function ordersDue(): void {
    ordersLoop.wake();
    if (arrival) arrival.resolve();
    else unseen = true;
    arrival = null;
  }

  async function applyInbox(): Promise<{ claimed: number; settled: number }> {
    const result = await options.inbox.drain();
    if (result.pendingChanged) options.pushSignal.wake();
    if (result.dueOrderIds.length > 0) {
      ordersDue();
      options.onOrdersDue?.();
    }
    return result;
  }

  const inboxLoop = new Loop(
    'inbox',
    async () => {
      const { claimed } = await applyInbox();
      if (claimed > 0) return { busy: true, nextDueAt: null };
      return { busy: false, nextDueAt: await options.inboxRepository.nextDueAt() };
    },
    log,
    idleMs,
    errorPauseMs,
  );

  const ordersLoop = new Loop(
    'orders',
    async (signal) => {
      if ((await options.ordersToErp?.()) === 'off') return { busy: false, nextDueAt: new Date(Date.now() + SWITCH_RECHECK_MS) };
      // The ERP found down: nothing goes before the gate lets the next probe through, however
      // many deliveries wake this loop meanwhile.
      const heldOff = options.processor.erpHeldOffUntil();
      if (heldOff && heldOff.getTime() > Date.now()) return { busy: false, nextDueAt: heldOff };
      await options.processor.processDue({ signal, moreDue });
      const due = await options.orderRepository.nextDueAt();
      const stillHeldOff = options.processor.erpHeldOffUntil();
      return { busy: false, nextDueAt: due && stillHeldOff && stillHeldOff > due ? stillHeldOff : due };
    },
    log,
    idleMs,
    errorPauseMs,
  );

  return {
    wake() {
      inboxLoop.wake();
    },
    wakeOrders() {
      ordersDue();
    },
    start() {
      inboxLoop.start();
      ordersLoop.start();
    },
    async stop() {
      await Promise.all([inboxLoop.stop(), ordersLoop.stop()]);
    },
    async drainOnce(signal) {
      let deliveries = 0;
      for (;;) {
        if (signal?.aborted) break;
        const { claimed, settled } = await applyInbox();
        deliveries += settled;
        if (claimed === 0) break;
      }
      if ((await options.ordersToErp?.()) === 'off') return { deliveries, orders: 0 };
      const orders = await options.processor.processDue({ signal });
      return { deliveries, orders };
    },
  };
}
