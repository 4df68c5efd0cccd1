import type { Logger } from '../logger.js';
import type { MerchantEditsService } from './merchant-edits.service.js';

/**
 * The loop behind the `inventory_levels/update` inbox: looks at stored deliveries within moments
 * of `wake()` (called when one is stored), at the latest every `pollMs` (deliveries another
 * instance stored), and exactly when a held fall's grace period ends. The inbox rows are the
 * durable part; a lost wake only delays the look to the next poll. Runs on every instance with
 * the scheduler on; two instances never take the same delivery (claims skip locked rows).
 */
export interface MerchantEditsWorkerOptions {
  readonly service: Pick<MerchantEditsService, 'drain' | 'nextDue' | 'prune'>;
  readonly log: Logger;
  readonly now: () => Date;
  /** Longest sleep between two looks (default 5 s). */
  readonly pollMs?: number;
}

const PRUNE_EVERY_MS = 60 * 60_000;

export class MerchantEditsWorker {
  #running: Promise<void> | null = null;
  #stopped = false;
  #woken = false;
  #wakeUp: (() => void) | null = null;
  #prunedAt = 0;

  constructor(private readonly options: MerchantEditsWorkerOptions) {}

  start(): void {
    if (this.#running) return;
    this.#stopped = false;
    this.#running = this.#loop();
  }

  wake(): void {
    this.#woken = true;
    this.#wakeUp?.();
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    this.#wakeUp?.();
    await this.#running;
    this.#running = null;
  }

  async #loop(): Promise<void> {
    const { service, log, now } = this.options;
    const pollMs = this.options.pollMs ?? 5_000;
    while (!this.#stopped) {
      this.#woken = false;
      try {
        const outcomes = await service.drain();
        if (Object.keys(outcomes).length > 0) log.debug({ outcomes }, 'inventory level updates looked at');
        if (now().getTime() - this.#prunedAt > PRUNE_EVERY_MS) {
          this.#prunedAt = now().getTime();
          await service.prune();
        }
      } catch (error) {
        log.error({ err: error }, 'looking at inventory level updates failed; trying again at the next poll');
      }
      if (this.#stopped || this.#woken) continue;
      let delay = pollMs;
      try {
        const next = await service.nextDue();
        if (next) delay = Math.max(10, Math.min(pollMs, next.getTime() - now().getTime() + 10));
      } catch {
        // The database is away: the poll interval stands.
      }
      await new Promise<void>((resolve) => {
        if (this.#stopped || this.#woken) return resolve();
        const timer = setTimeout(done, delay);
        this.#wakeUp = done;
        function done() {
          clearTimeout(timer);
          resolve();
        }
      });
      this.#wakeUp = null;
    }
  }
}
