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
}

export interface AlertSender {
  send(alert: Alert): void;
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

  return {
    send(alert) {
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
