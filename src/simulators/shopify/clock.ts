/**
 * The simulator's sense of time: the leaky bucket restores against it, timestamps come from it
 * and webhook retries are scheduled on it. Tests use `ManualClock` to move time forward without
 * sleeping; everything else uses `systemClock`.
 */
export interface SimulatorClock {
  /** Milliseconds since the epoch. */
  now(): number;
  /** Runs `callback` once, `ms` from now on this clock. */
  setTimeout(callback: () => void, ms: number): TimerHandle;
  clearTimeout(handle: TimerHandle): void;
}

export interface TimerHandle {
  readonly id: number;
}

let nextTimerId = 1;

export const systemClock: SimulatorClock = {
  now: () => Date.now(),
  setTimeout(callback, ms) {
    const timer = setTimeout(callback, Math.max(0, ms));
    timer.unref?.();
    return { id: nextTimerId++, timer } as TimerHandle & { timer: NodeJS.Timeout };
  },
  clearTimeout(handle) {
    clearTimeout((handle as TimerHandle & { timer: NodeJS.Timeout }).timer);
  },
};

interface ScheduledTimer {
  id: number;
  at: number;
  callback: () => void;
}

/** A clock that only moves when told to; due timers fire in time order inside `advance`. */
export class ManualClock implements SimulatorClock {
  private current: number;
  private readonly timers = new Map<number, ScheduledTimer>();

  constructor(start: number | Date = Date.parse('2026-11-27T09:00:00Z')) {
    this.current = typeof start === 'number' ? start : start.getTime();
  }

  now(): number {
    return this.current;
  }

  setTimeout(callback: () => void, ms: number): TimerHandle {
    const id = nextTimerId++;
    this.timers.set(id, { id, at: this.current + Math.max(0, ms), callback });
    return { id };
  }

  clearTimeout(handle: TimerHandle): void {
    this.timers.delete(handle.id);
  }

  /** Moves time forward by `ms`, firing every timer that falls due on the way, in order. */
  advance(ms: number): void {
    const target = this.current + ms;
    for (;;) {
      let next: ScheduledTimer | undefined;
      for (const timer of this.timers.values()) {
        if (timer.at <= target && (!next || timer.at < next.at || (timer.at === next.at && timer.id < next.id))) next = timer;
      }
      if (!next) break;
      this.timers.delete(next.id);
      this.current = Math.max(this.current, next.at);
      next.callback();
    }
    this.current = target;
  }

  /** Number of timers waiting to fire. */
  pendingTimers(): number {
    return this.timers.size;
  }
}
