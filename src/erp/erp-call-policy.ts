import { setTimeout as sleepFor } from 'node:timers/promises';
import Bottleneck from 'bottleneck';
import type { z } from 'zod';
import type { Logger } from '../logger.js';
import { isAppError } from '../shared/errors.js';
import { ErpInvalidResponseError, ErpUnavailableError, isErpError } from './erp-errors.js';

export interface ErpCallPolicyOptions {
  /** Names the ERP in errors and logs, e.g. `tryton`. */
  readonly erp: string;
  /** Round trips in flight at once; an ERP's worker pool is small (trytond: a few threads). */
  readonly maxConcurrent?: number;
  /** Minimum spacing between the starts of two round trips. */
  readonly minTimeMs?: number;
  /** Upper bound of one attempt; past it the attempt is aborted and counts as unavailable. */
  readonly timeoutMs?: number;
  /** Attempts per call, the first included, for failures that may pass (`retryable`). */
  readonly maxAttempts?: number;
  /** Base of the exponential backoff between attempts (full jitter, capped at 5 s). */
  readonly backoffMs?: number;
  readonly logger?: Logger;
  /** Injected by tests to skip the backoff waits. */
  readonly sleep?: (ms: number) => Promise<void>;
  readonly random?: () => number;
}

export interface ErpCallOptions {
  /**
   * False for writes that are not idempotent on the ERP's side: a timed-out create may have
   * committed, so the caller must look before it writes again.
   */
  readonly retry?: boolean;
}

/**
 * Guarantee: every round trip to one ERP goes through one limiter (bounded concurrency and
 * spacing), ends within `timeoutMs` per attempt whether or not the call honours its abort
 * signal, is retried only when its error is retryable and at most `maxAttempts` times, and
 * rejects with a typed `AppError`: ERP errors as thrown, anything else as `ERP_UNAVAILABLE`.
 */
export interface ErpCallPolicy {
  run<T>(operation: string, call: (signal: AbortSignal) => Promise<T>, options?: ErpCallOptions): Promise<T>;
  /** Refuses new calls and waits for those in flight. */
  stop(): Promise<void>;
}

const MAX_BACKOFF_MS = 5_000;

export function createErpCallPolicy(options: ErpCallPolicyOptions): ErpCallPolicy {
  const timeoutMs = options.timeoutMs ?? 15_000;
  const maxAttempts = Math.max(1, options.maxAttempts ?? 3);
  const backoffMs = options.backoffMs ?? 250;
  const sleep = options.sleep ?? ((ms: number) => sleepFor(ms));
  const random = options.random ?? Math.random;
  const limiter = new Bottleneck({ maxConcurrent: options.maxConcurrent ?? 4, minTime: options.minTimeMs ?? 0 });

  async function attempt<T>(operation: string, call: (signal: AbortSignal) => Promise<T>): Promise<T> {
    const controller = new AbortController();
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        const error = new ErpUnavailableError(`${options.erp} did not answer ${operation} within ${timeoutMs} ms`, {
          erp: options.erp,
          operation,
          timeoutMs,
        });
        controller.abort(error);
        reject(error);
      }, timeoutMs);
    });
    try {
      // The race, not the signal alone, bounds the attempt: a call that ignores its signal
      // still cannot hold the caller past the timeout.
      return await Promise.race([call(controller.signal), timedOut]);
    } catch (error) {
      throw classify(error, operation);
    } finally {
      clearTimeout(timer);
    }
  }

  function classify(error: unknown, operation: string): Error {
    if (isAppError(error)) return error;
    const message = error instanceof Error ? error.message : String(error);
    return new ErpUnavailableError(`${options.erp} ${operation} failed: ${message}`, { erp: options.erp, operation }, { cause: error });
  }

  return {
    async run<T>(operation: string, call: (signal: AbortSignal) => Promise<T>, callOptions: ErpCallOptions = {}): Promise<T> {
      const attempts = callOptions.retry === false ? 1 : maxAttempts;
      for (let number = 1; ; number++) {
        try {
          return await limiter.schedule(() => attempt(operation, call));
        } catch (error) {
          const retryable = isErpError(error) && error.retryable;
          if (!retryable || number >= attempts) {
            if (retryable && number > 1) {
              options.logger?.warn({ erp: options.erp, operation, attempts: number, code: (error as { code: string }).code }, 'ERP call failed after retries');
            }
            throw error;
          }
          const delay = Math.min(MAX_BACKOFF_MS, backoffMs * 2 ** (number - 1)) * random();
          options.logger?.debug({ erp: options.erp, operation, attempt: number, delayMs: Math.round(delay) }, 'retrying ERP call');
          await sleep(delay);
        }
      }
    },
    async stop(): Promise<void> {
      await limiter.stop({ dropWaitingJobs: false });
    },
  };
}

/**
 * Parses an ERP answer with its zod schema; a mismatch is `ERP_INVALID_RESPONSE` naming the
 * first problems by path (never echoing the answer itself, which may hold customer data).
 */
export function parseErpAnswer<S extends z.ZodType>(schema: S, answer: unknown, what: string): z.output<S> {
  const result = schema.safeParse(answer);
  if (result.success) return result.data;
  const issues = result.error.issues.slice(0, 5).map((issue) => `${issue.path.join('.') || '(root)'}: ${issue.message}`);
  throw new ErpInvalidResponseError(`The ERP's answer to ${what} is not what was expected: ${issues.join('; ')}`, { what, issues });
}
