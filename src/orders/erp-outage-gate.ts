/**
 * While the ERP is down, the order pipeline holds off instead of sending every due order into
 * the outage: at a peak each of those is a failed attempt, a retry the ERP must absorb when it
 * comes back, and noise that drowns the one alert that matters.
 *
 * - The first `ERP_UNAVAILABLE` of an order's ERP step opens the gate: nothing more is claimed,
 *   and orders already claimed but not yet sent are given back untouched (no attempt counted,
 *   due when the gate next lets one through), as are those sent before it opened that come back
 *   `ERP_UNAVAILABLE` after it did: the outage counts once per instance, then once per probe.
 * - After a pause one order goes alone, as a probe. The ERP answering it in any way (the order
 *   sent, or refused for a reason of its own) closes the gate, and everything due flows again at
 *   once. Another `ERP_UNAVAILABLE` doubles the pause, up to `maxPauseMs`. Only the probe (or a
 *   replay a person asked for) closes it: an answer to a request sent before the outage, arriving
 *   late, says nothing of the ERP now (taking it for the end of the outage let every due order
 *   flow into the outage again).
 * - Per process: each instance finds the outage, and its end, for itself; at most one probe per
 *   instance and pause reaches the ERP while it is down.
 */
export interface ErpOutageGate {
  /** How many orders may be claimed now: unlimited when closed, 1 when a probe may go, else 0. */
  allowance(): number;
  /** The probe was claimed: no other goes until it ends. Returns its ticket for `probeEnded`. */
  probeStarted(): number;
  /** The probe's work ended. Unless it opened the gate again, the ERP answered it: closed. */
  probeEnded(ticket: number): void;
  /** Whether an order claimed before the gate opened must be given back instead of sent. */
  holdingOff(): boolean;
  /** An ERP step failed with `ERP_UNAVAILABLE`; `ticket` when it was the probe's. */
  unavailable(ticket?: number): void;
  /** When the next probe may go, while the gate is open. */
  reopensAt(): Date | null;
  /** `closed`, or `open` (holding off, a probe out or not). */
  state(): 'closed' | 'open';
}

export interface ErpOutageGateOptions {
  /** The first pause after the ERP was found unavailable (default 1 s). */
  readonly pauseMs?: number;
  /** The longest pause between two probes (default 15 s). */
  readonly maxPauseMs?: number;
  readonly now?: () => number;
  /** Told when the gate opens (with the pause) and when it closes (after how long). */
  readonly onChange?: (event: { state: 'open'; pauseMs: number } | { state: 'closed'; openMs: number }) => void;
}

export function createErpOutageGate(options: ErpOutageGateOptions = {}): ErpOutageGate {
  const basePause = Math.max(1, options.pauseMs ?? 1_000);
  const maxPause = Math.max(basePause, options.maxPauseMs ?? 15_000);
  const now = options.now ?? Date.now;
  let open = false;
  let openedAt = 0;
  let pause = basePause;
  let until = 0;
  /** The probe out, by ticket; 0 when none. */
  let probe = 0;
  let tickets = 0;
  /** Bumped each time the gate opens or a probe finds the ERP still down. */
  let generation = 0;
  let probeGeneration = 0;

  function close(): void {
    if (!open) return;
    open = false;
    probe = 0;
    pause = basePause;
    options.onChange?.({ state: 'closed', openMs: now() - openedAt });
  }

  return {
    allowance() {
      if (!open) return Number.POSITIVE_INFINITY;
      return probe === 0 && now() >= until ? 1 : 0;
    },
    probeStarted() {
      tickets += 1;
      probe = tickets;
      probeGeneration = generation;
      return probe;
    },
    probeEnded(ticket) {
      if (!open || probe !== ticket) return;
      probe = 0;
      // Nothing opened the gate again while the probe was out: the ERP answered it.
      if (generation === probeGeneration) close();
    },
    holdingOff() {
      return open;
    },
    unavailable(ticket) {
      if (!open) {
        open = true;
        openedAt = now();
        pause = basePause;
        until = openedAt + pause;
        generation += 1;
        options.onChange?.({ state: 'open', pauseMs: pause });
        return;
      }
      // Orders sent before the gate opened fail one after another: only the probe's failure counts.
      if (ticket === undefined || ticket !== probe || generation !== probeGeneration) return;
      pause = Math.min(maxPause, pause * 2);
      until = now() + pause;
      generation += 1;
    },
    reopensAt() {
      return open ? new Date(until) : null;
    },
    state() {
      return open ? 'open' : 'closed';
    },
  };
}
