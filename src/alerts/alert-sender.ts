import type { Logger } from '../logger.js';

/**
 * Alerts for people on call: a sync run that failed, items failing again and again, an order the
 * ERP refused, an oversell. Each goes out as one error log line and, when `ALERT_WEBHOOK_URL` is
 * set, a JSON POST there (Slack/Teams/PagerDuty relays, or anything that takes JSON).
 *
 * Rate limited per code: in each window the first few alerts of a code go out as they come, the
 * rest are counted and, when the window ends, sent as one summary with a few samples, so a storm
 * of thousands sends a handful of messages. Sending never throws and never blocks the caller.
 */
export interface Alert {
  /** Stable SCREAMING_SNAKE code, e.g. `SYNC_RUN_FAILED`; the unit of rate limiting. */
  readonly code: string;
  readonly severity: 'warning' | 'critical';
  readonly message: string;
  readonly details?: Readonly<Record<string, unknown>>;
  /**
   * What makes two alerts the same one (stored once, counted); default: the code and the
   * details. Carry the affected records in `details` (ids, and a `query` that lists them).
   */
  readonly key?: string;
}

/**
 * The durable record of alerts (src/alerts/alerts.repository.ts, the `alerts` table): `record`
 * answers whether the alert is fresh (first seen, or raised again after it was resolved).
 */
export interface AlertStore {
  record(alert: Alert & { readonly key: string }, at: Date): Promise<{ readonly fresh: boolean }>;
  resolve(key: string, at: Date): Promise<boolean>;
}

export interface AlertSender {
  /** Sends as it comes (rate limited per code) and, with a store, records it (deduplicated by key). */
  send(alert: Alert): void;
  /**
   * Records the alert and sends it only when it is fresh: once per crossing of a threshold, once
   * per incident, once per digest key, however many instances and evaluations raise it.
   * Answers whether it was sent. Without a store, always sends.
   */
  raise(alert: Alert & { readonly key: string }): Promise<boolean>;
  /** Marks an alert's condition over (a threshold back under its limit): raising it again is a new crossing. */
  resolve(key: string): Promise<void>;
  /** Sends the summaries of windows that are over and waits for every POST in flight (tests, shutdown). */
  flush(): Promise<void>;
  /** Flushes, then stops the window timers. */
  close(): Promise<void>;
}

/** The JSON body POSTed to the webhook. */
export interface AlertPayload {
  readonly source: 'stockbridge';
  readonly code: string;
  readonly severity: 'warning' | 'critical';
  readonly message: string;
  readonly details: Readonly<Record<string, unknown>>;
  readonly at: string;
  /** For a summary: how many alerts of this code were held back in the window, and a few of their messages. */
  readonly suppressed?: number;
  readonly samples?: readonly string[];
  readonly windowStartedAt?: string;
}

export interface AlertSenderOptions {
  readonly log: Logger;
  readonly webhookUrl?: string | undefined;
  /** Window of the rate limit (default 5 minutes). */
  readonly windowMs?: number;
  /** Alerts of one code sent as they come in each window (default 3). */
  readonly burst?: number;
  readonly timeoutMs?: number;
  readonly now?: () => Date;
  readonly fetch?: typeof fetch;
  /** Where alerts are kept (deduplicated, acknowledged); without it alerts only go out. */
  readonly store?: AlertStore;
}

/** The default deduplication key of an alert: its code and its details. */
export function alertKeyOf(alert: Alert): string {
  return alert.key ?? `${alert.code}:${JSON.stringify(alert.details ?? {})}`;
}

interface Window {
  startedAt: number;
  sent: number;
  suppressed: number;
  severity: 'warning' | 'critical';
  samples: string[];
  timer: NodeJS.Timeout | null;
}

const MAX_SAMPLES = 5;

export function createAlertSender(options: AlertSenderOptions): AlertSender {
  const log = options.log.child({ component: 'alerts' });
  const windowMs = options.windowMs ?? 5 * 60_000;
  const burst = options.burst ?? 3;
  const timeoutMs = options.timeoutMs ?? 5_000;
  const now = options.now ?? (() => new Date());
  const post = options.fetch ?? fetch;
  const windows = new Map<string, Window>();
  const inFlight = new Set<Promise<void>>();
  let closed = false;

  const deliver = (payload: AlertPayload) => {
    log.error({ alert: payload }, `ALERT ${payload.code}: ${payload.message}`);
    if (!options.webhookUrl) return;
    const url = options.webhookUrl;
    const attempt = async () => {
      // One retry: a webhook relay that blips should not lose the alert; one that is down must not pile up requests.
      for (let tries = 1; ; tries++) {
        try {
          const response = await post(url, {
            method: 'POST',
            headers: { 'content-type': 'application/json', 'user-agent': 'stockbridge-alerts' },
            body: JSON.stringify(payload),
            signal: AbortSignal.timeout(timeoutMs),
          });
          await response.body?.cancel();
          if (response.ok) return;
          if (tries >= 2) {
            log.warn({ code: payload.code, status: response.status }, 'alert webhook refused the alert');
            return;
          }
        } catch (error) {
          if (tries >= 2) {
            log.warn({ code: payload.code, err: error }, 'alert webhook unreachable');
            return;
          }
        }
      }
    };
    const promise = attempt();
    inFlight.add(promise);
    void promise.finally(() => inFlight.delete(promise));
  };

  const closeWindow = (code: string, window: Window) => {
    if (window.timer) clearTimeout(window.timer);
    windows.delete(code);
    if (window.suppressed === 0) return;
    deliver({
      source: 'stockbridge',
      code,
      severity: window.severity,
      message: `${window.suppressed} more ${code} alert${window.suppressed === 1 ? '' : 's'} in the last ${Math.round(windowMs / 1000)} s`,
      details: {},
      at: now().toISOString(),
      suppressed: window.suppressed,
      samples: window.samples,
      windowStartedAt: new Date(window.startedAt).toISOString(),
    });
  };

  const closeExpired = () => {
    const at = now().getTime();
    for (const [code, window] of windows) if (at - window.startedAt >= windowMs) closeWindow(code, window);
  };

  const track = (promise: Promise<void>) => {
    inFlight.add(promise);
    void promise.finally(() => inFlight.delete(promise));
  };

  const emit = (alert: Alert) => {
    try {
      closeExpired();
      const at = now();
      let window = windows.get(alert.code);
      if (!window) {
        window = { startedAt: at.getTime(), sent: 0, suppressed: 0, severity: alert.severity, samples: [], timer: null };
        windows.set(alert.code, window);
        if (!closed) {
          const opened = window;
          opened.timer = setTimeout(() => {
            if (windows.get(alert.code) === opened) closeWindow(alert.code, opened);
          }, windowMs);
          opened.timer.unref();
        }
      }
      if (alert.severity === 'critical') window.severity = 'critical';
      if (window.sent < burst) {
        window.sent += 1;
        deliver({ source: 'stockbridge', code: alert.code, severity: alert.severity, message: alert.message, details: alert.details ?? {}, at: at.toISOString() });
        return;
      }
      window.suppressed += 1;
      if (window.samples.length < MAX_SAMPLES) window.samples.push(alert.message);
      log.debug({ code: alert.code, suppressed: window.suppressed }, 'alert held back by the rate limit');
    } catch (error) {
      log.warn({ err: error, code: alert.code }, 'could not send an alert');
    }
  };

  return {
    send(alert) {
      emit(alert);
      const store = options.store;
      if (!store) return;
      track(
        store.record({ ...alert, key: alertKeyOf(alert) }, now()).then(
          () => undefined,
          (error: unknown) => log.warn({ err: error, code: alert.code }, 'could not record an alert'),
        ),
      );
    },
    async raise(alert) {
      if (options.store) {
        const { fresh } = await options.store.record(alert, now());
        if (!fresh) return false;
      }
      emit(alert);
      return true;
    },
    async resolve(key) {
      await options.store?.resolve(key, now());
    },
    async flush() {
      closeExpired();
      while (inFlight.size > 0) await Promise.allSettled([...inFlight]);
    },
    async close() {
      closed = true;
      await this.flush();
      for (const window of windows.values()) if (window.timer) clearTimeout(window.timer);
    },
  };
}
