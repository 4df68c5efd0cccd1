import { setTimeout as sleepFor } from 'node:timers/promises';
import type { z } from 'zod';
import type { Logger } from '../logger.js';
import { isAppError } from '../shared/errors.js';
import type { ErpLane } from './erp-connector.js';
import { ErpConflictError, ErpInDoubtError, ErpInvalidResponseError, ErpUnavailableError, isErpError } from './erp-errors.js';
import { currentLane, LaneScheduler, type LaneStats } from './erp-lanes.js';

export interface ErpCallPolicyOptions {
  /** Names the ERP in errors and logs, e.g. `tryton`. */
  readonly erp: string;
  /** Round trips in flight at once, both lanes; an ERP's worker pool is small (trytond: a few threads). */
  readonly maxConcurrent?: number;
  /** Minimum spacing between the starts of two round trips. */
  readonly minTimeMs?: number;
  /** Upper bound of one attempt; past it the attempt is aborted and counts as unavailable. */
  readonly timeoutMs?: number;
  /** Attempts per call, the first included, for failures that may pass (`retryable`). */
  readonly maxAttempts?: number;
  /** Base of the exponential backoff between attempts (full jitter, capped at 5 s). */
  readonly backoffMs?: number;
  /** `capabilities.inDoubtSettleMs` of the connector: carried by every `ERP_IN_DOUBT`. */
  readonly inDoubtSettleMs?: number;
  /** Slots the interactive lane may hold (default: half of `maxConcurrent`, at least one). */
  readonly interactiveShare?: number;
  /** Interactive calls that may wait; one more is refused at once with `ERP_BUSY` (default 20). */
  readonly interactiveQueueLimit?: number;
  /** Longest wait in the interactive queue before `ERP_BUSY` (default 10 s). */
  readonly interactiveMaxWaitMs?: number;
  /** Longest wait in the background queue before `ERP_BUSY` (default 60 s). */
  readonly backgroundMaxWaitMs?: number;
  readonly logger?: Logger;
  /** Injected by tests to skip the backoff waits. */
  readonly sleep?: (ms: number) => Promise<void>;
  readonly random?: () => number;
  /** Told of every round trip as it starts: its lane, operation and time queued (tests, metrics). */
  readonly onDispatch?: (event: { lane: ErpLane; operation: string; queuedMs: number }) => void;
}

export interface ErpCallOptions {
  /** False: a single attempt whatever the failure. */
  readonly retry?: boolean;
  /**
   * The call changes the ERP. It is sent again only when its failure proves that nothing was
   * applied (`ERP_UNAVAILABLE` with `notApplied`, `ERP_CONFLICT`); any other lost answer (the
   * attempt's timeout, a reset connection, HTTP 5xx) becomes `ERP_IN_DOUBT`.
   */
  readonly write?: boolean;
  /** For a write: throw `ERP_CONFLICT` at once (a find-or-create looks again instead of resending). */
  readonly retryConflicts?: boolean;
}

/**
 * Guarantee: every round trip to one ERP goes through one lane scheduler (bounded concurrency
 * and spacing; the background lane keeps its share and goes first; the interactive queue is
 * bounded, see `erp-lanes.ts`), waits a bounded time for its slot (else `ERP_BUSY`, nothing
 * sent), ends within `timeoutMs` per attempt whether or not the call honours its abort signal,
 * is retried only when its error is retryable and at most `maxAttempts` times, and rejects
 * with a typed `AppError`: ERP errors as thrown, anything else as `ERP_UNAVAILABLE`. A write is
 * never sent again once it may have been applied: its lost answer is `ERP_IN_DOUBT`.
 */
export interface ErpCallPolicy {
  run<T>(operation: string, call: (signal: AbortSignal) => Promise<T>, options?: ErpCallOptions): Promise<T>;
  /** Slots in use and calls waiting, per lane. */
  stats(): LaneStats;
  /** Refuses new calls and waits for those queued and in flight. */
  stop(): Promise<void>;
}

const MAX_BACKOFF_MS = 5_000;
/** Errors of a connection that was never made: the request did not leave. */
const NOT_SENT_CODES = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH']);

export function createErpCallPolicy(options: ErpCallPolicyOptions): ErpCallPolicy {
  const timeoutMs = options.timeoutMs ?? 15_000;
  const maxAttempts = Math.max(1, options.maxAttempts ?? 3);
  const backoffMs = options.backoffMs ?? 250;
  const settleMs = options.inDoubtSettleMs ?? 2 * timeoutMs;
  const sleep = options.sleep ?? ((ms: number) => sleepFor(ms));
  const random = options.random ?? Math.random;
  const scheduler = new LaneScheduler({
    erp: options.erp,
    maxConcurrent: options.maxConcurrent ?? 4,
    minTimeMs: options.minTimeMs,
    interactiveShare: options.interactiveShare,
    interactiveQueueLimit: options.interactiveQueueLimit,
    interactiveMaxWaitMs: options.interactiveMaxWaitMs,
    backgroundMaxWaitMs: options.backgroundMaxWaitMs,
  });

  async function attempt<T>(operation: string, call: (signal: AbortSignal) => Promise<T>, laneSignal: AbortSignal | undefined): Promise<T> {
    const controller = new AbortController();
    let timer: NodeJS.Timeout | undefined;
    let onLaneAbort: (() => void) | undefined;
    const stopped = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        const error = new ErpUnavailableError(`${options.erp} did not answer ${operation} within ${timeoutMs} ms`, {
          erp: options.erp,
          operation,
          timeoutMs,
        });
        controller.abort(error);
        reject(error);
      }, timeoutMs);
      if (laneSignal) {
        onLaneAbort = () => {
          const error = new ErpUnavailableError(`The caller gave up ${operation} on ${options.erp}`, { erp: options.erp, operation, reason: 'ABORTED' }, { cause: laneSignal.reason });
          controller.abort(error);
          reject(error);
        };
        laneSignal.addEventListener('abort', onLaneAbort, { once: true });
      }
    });
    try {
      // The race, not the signal alone, bounds the attempt: a call that ignores its signal
      // still cannot hold the caller past the timeout.
      return await Promise.race([call(controller.signal), stopped]);
    } catch (error) {
      throw classify(error, operation);
    } finally {
      clearTimeout(timer);
      if (onLaneAbort) laneSignal?.removeEventListener('abort', onLaneAbort);
    }
  }

  function classify(error: unknown, operation: string): Error {
    if (isAppError(error)) return error;
    const message = error instanceof Error ? error.message : String(error);
    const code = errorCode(error);
    return new ErpUnavailableError(`${options.erp} ${operation} failed: ${message}`, { erp: options.erp, operation }, { cause: error, notApplied: code !== undefined && NOT_SENT_CODES.has(code) });
  }

  /** What a write's failure means: sent again (known not applied), in doubt, or as thrown. */
  function classifyWrite(error: unknown, operation: string, sentAt: Date): unknown {
    // An answer that does not parse is as good as lost: the write may well have been applied.
    if ((error instanceof ErpUnavailableError && !error.notApplied) || error instanceof ErpInvalidResponseError) {
      return new ErpInDoubtError(`${options.erp} may or may not have applied ${operation}: its answer was lost`, { erp: options.erp, operation, sentAt, settleMs }, { cause: error });
    }
    return error;
  }

  return {
    async run<T>(operation: string, call: (signal: AbortSignal) => Promise<T>, callOptions: ErpCallOptions = {}): Promise<T> {
      const attempts = callOptions.retry === false ? 1 : maxAttempts;
      const { lane, signal } = currentLane();
      for (let number = 1; ; number++) {
        let sentAt: Date | null = null;
        try {
          const enqueued = performance.now();
          const release = await scheduler.acquire(lane, signal);
          try {
            options.onDispatch?.({ lane, operation, queuedMs: performance.now() - enqueued });
            sentAt = new Date();
            return await attempt(operation, call, signal);
          } finally {
            release();
          }
        } catch (caught) {
          // A slot never given (queue full, waited too long, closed) sent nothing: no retry here.
          if (sentAt === null) throw caught;
          const error = callOptions.write ? classifyWrite(caught, operation, sentAt) : caught;
          const retryable =
            isErpError(error) && error.retryable && !(error instanceof ErpConflictError && callOptions.write && callOptions.retryConflicts === false) && !signal?.aborted;
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
    stats: () => scheduler.stats(),
    async stop(): Promise<void> {
      await scheduler.stop();
    },
  };
}

function errorCode(error: unknown): string | undefined {
  for (let current: unknown = error, depth = 0; current && depth < 4; depth++) {
    const code = (current as { code?: unknown }).code;
    if (typeof code === 'string') return code;
    current = (current as { cause?: unknown }).cause;
  }
  return undefined;
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
