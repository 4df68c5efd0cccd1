import type { Random } from '../shopify/random.js';
import type { FaultName } from './options.js';

/**
 * When each fault strikes: on a script (the faults one after another, evenly spread over the
 * load phase, in the order of FAULT_NAMES) or at random moments drawn from the seed. Each fault
 * lasts a while and then ends (a kill or a cut is one moment; the instance comes back at once).
 */
export interface PlannedFault {
  readonly fault: FaultName;
  readonly startMs: number;
  readonly durationMs: number;
}

/** How long a fault lasts in a run of `runMs` (an ERP outage of a minute, shorter in short runs). */
export function faultDuration(fault: FaultName, runMs: number): number {
  switch (fault) {
    case 'erp-outage':
      return Math.min(60_000, Math.round(runMs / 4));
    case 'instance-kill':
    case 'db-cut':
      return Math.min(3_000, Math.round(runMs / 20));
    default:
      return Math.min(60_000, Math.round(runMs / 5));
  }
}

export function planFaults(faults: readonly FaultName[], runMs: number, mode: 'script' | 'random', random: Random): PlannedFault[] {
  const planned = faults.map((fault, index) => {
    const durationMs = faultDuration(fault, runMs);
    const latestStart = Math.max(0, runMs * 0.85 - durationMs);
    const startMs = mode === 'script' ? Math.round(((index + 1) / (faults.length + 1)) * latestStart) : Math.round(runMs * 0.05 + random() * Math.max(0, latestStart - runMs * 0.05));
    return { fault, startMs, durationMs };
  });
  return planned.sort((a, b) => a.startMs - b.startMs);
}

/** What a fault does when it starts and when it ends. */
export interface FaultActions {
  start(fault: FaultName): Promise<string>;
  stop(fault: FaultName): Promise<void>;
}

export interface FaultEvent {
  readonly fault: FaultName;
  /** Epoch ms. */
  readonly startedAt: number;
  endedAt: number | null;
  readonly detail: string;
}

/** Runs the plan against the clock from `startedAt`; resolves when every fault has ended. */
export async function runFaults(plan: readonly PlannedFault[], actions: FaultActions, startedAt: number, signal: AbortSignal, events: FaultEvent[]): Promise<void> {
  await Promise.all(
    plan.map(async (planned) => {
      await sleepUntil(startedAt + planned.startMs, signal);
      if (signal.aborted) return;
      let detail: string;
      try {
        detail = await actions.start(planned.fault);
      } catch (error) {
        detail = `failed to start: ${error instanceof Error ? error.message : String(error)}`;
      }
      const event: FaultEvent = { fault: planned.fault, startedAt: Date.now(), endedAt: null, detail };
      events.push(event);
      await sleepUntil(event.startedAt + planned.durationMs, signal);
      await actions.stop(planned.fault).catch(() => {});
      event.endedAt = Date.now();
    }),
  );
}

function sleepUntil(at: number, signal: AbortSignal): Promise<void> {
  const wait = at - Date.now();
  if (wait <= 0 || signal.aborted) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(done, wait);
    function done() {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    }
    signal.addEventListener('abort', done, { once: true });
  });
}
