import type { PushSignalHub } from '../inventory/inventory.port.js';
import type { Logger } from '../logger.js';
import type { PushRepository } from './push.repository.js';
import type { SyncService } from './sync.service.js';

/**
 * The event push loop: pushes positions marked for push (`push_requested_at` due) within
 * seconds of a `PushSignal.wake()`, and at the latest every `pollMs` (marks written by another
 * instance, or by this one when a wake was lost), or exactly when a future mark (a retry, a held
 * drop's release) comes due. The marks in PostgreSQL are the durable part; the wake only makes
 * it prompt. Wakes during a pass start another pass right after it, so a burst of changes costs
 * a few passes, not one each.
 *
 * Every instance with the scheduler on runs one. Two instances pushing the same item is safe:
 * compare-and-set refuses the second write and the intents show the first was ours, not a sale.
 */
export interface EventPusherOptions {
  readonly service: Pick<SyncService, 'runEventPush'>;
  readonly positions: Pick<PushRepository, 'findNextFutureMark'>;
  readonly signal: PushSignalHub;
  readonly log: Logger;
  readonly now: () => Date;
  /** Longest sleep between two looks at the marks (default 5 s). */
  readonly pollMs?: number;
  /** Wait after a wake so a burst of changes goes out in one pass (default 50 ms). */
  readonly debounceMs?: number;
}

export class EventPusher {
  readonly #options: EventPusherOptions;
  #running: Promise<void> | null = null;
  #controller: AbortController | null = null;
  #woken = false;
  #wakeUp: (() => void) | null = null;
  #unsubscribe: (() => void) | null = null;

  constructor(options: EventPusherOptions) {
    this.#options = options;
  }

  start(): void {
    if (this.#running) return;
    this.#controller = new AbortController();
    this.#unsubscribe = this.#options.signal.subscribe(() => this.wake());
    this.#running = this.#loop(this.#controller.signal);
  }

  /** Pushes soon (what the PushSignal hub calls). */
  wake(): void {
    this.#woken = true;
    this.#wakeUp?.();
  }

  /** Stops after the pass in progress (which the abort signal cuts short between pages). */
  async stop(): Promise<void> {
    this.#unsubscribe?.();
    this.#unsubscribe = null;
    this.#controller?.abort();
    this.#wakeUp?.();
    await this.#running;
    this.#running = null;
  }

  async #loop(signal: AbortSignal): Promise<void> {
    const { service, positions, log, now } = this.#options;
    const pollMs = this.#options.pollMs ?? 5_000;
    const debounceMs = this.#options.debounceMs ?? 50;
    while (!signal.aborted) {
      this.#woken = false;
      try {
        await service.runEventPush({ signal });
      } catch (error) {
        // runEventPush records its own failures; this is the database being unreachable.
        log.error({ err: error }, 'event push pass failed; trying again at the next poll');
      }
      if (signal.aborted) break;
      if (this.#woken) {
        await this.#sleep(debounceMs, signal, false);
        continue;
      }
      let delay = pollMs;
      try {
        const next = await positions.findNextFutureMark(now());
        if (next) delay = Math.max(debounceMs, Math.min(pollMs, next.getTime() - now().getTime() + 10));
      } catch {
        // Same database problem: the poll interval stands.
      }
      await this.#sleep(delay, signal, true);
      if (this.#woken) await this.#sleep(debounceMs, signal, false);
    }
  }

  #sleep(ms: number, signal: AbortSignal, wakeable: boolean): Promise<void> {
    return new Promise((resolve) => {
      if (signal.aborted || (wakeable && this.#woken)) return resolve();
      const done = () => {
        clearTimeout(timer);
        this.#wakeUp = null;
        resolve();
      };
      const timer = setTimeout(done, ms);
      if (wakeable) this.#wakeUp = done;
      else this.#wakeUp = () => (signal.aborted ? done() : undefined);
    });
  }
}
