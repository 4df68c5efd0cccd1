import type { PushSignal } from './push-requests.js';

/**
 * An in-process PushSignal the event pusher subscribes to. `wake()` never throws and never
 * waits: a listener that fails is the listener's problem, and the durable part is the push mark
 * in the database, not this signal.
 */
export interface PushSignalHub extends PushSignal {
  /** Calls `listener` on every wake; returns the unsubscribe function. */
  subscribe(listener: () => void): () => void;
}

export function createPushSignal(): PushSignalHub {
  const listeners = new Set<() => void>();
  return {
    wake() {
      for (const listener of listeners) {
        try {
          listener();
        } catch {
          // A listener's failure must not stop the change that woke it (see the guarantee above).
        }
      }
    },
    subscribe(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
  };
}
