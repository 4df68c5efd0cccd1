import { AppError } from '../shared/errors.js';

/**
 * Typed failures of an ERP connector. `retryable` tells the caller whether the same request
 * may succeed later (the shared call policy retries only those, a bounded number of times).
 */
export abstract class ErpError extends AppError {
  abstract readonly retryable: boolean;
}

/** The ERP could not be reached or did not answer in time (network, timeout, 5xx, 429). */
export class ErpUnavailableError extends ErpError {
  readonly retryable = true;
  /**
   * True when the request is known to have changed nothing in the ERP: it was refused before it
   * was sent (connection refused, no session), or the ERP answered that it rolled it back. A
   * write failing so may be sent again; any other unavailable write is in doubt.
   */
  readonly notApplied: boolean;
  constructor(message: string, details: Record<string, unknown> = {}, options?: { cause?: unknown; notApplied?: boolean }) {
    super('ERP_UNAVAILABLE', message, details, options);
    this.notApplied = options?.notApplied ?? false;
  }
}

/**
 * A write was sent and its answer was lost (timeout after sending, connection reset, HTTP 5xx):
 * the ERP may or may not have applied it. Sending it again blind could apply it twice, so it is
 * not retryable: the caller records the write as in doubt and looks the document up again once
 * `settlesAt` has passed (`capabilities.inDoubtSettleMs` after the request was sent), when a
 * look-up is conclusive.
 */
export class ErpInDoubtError extends ErpError {
  readonly retryable = false;
  /** When the request left (the start of the attempt whose answer was lost). */
  readonly sentAt: Date;
  /** From this moment on, a look-up tells whether the write was applied. */
  readonly settlesAt: Date;
  constructor(
    message: string,
    details: { readonly operation: string; readonly sentAt: Date; readonly settleMs: number } & Record<string, unknown>,
    options?: { cause?: unknown },
  ) {
    const { sentAt, settleMs, ...rest } = details;
    const settlesAt = new Date(sentAt.getTime() + settleMs);
    super('ERP_IN_DOUBT', message, { ...rest, sentAt: sentAt.toISOString(), settlesAt: settlesAt.toISOString() }, options);
    this.sentAt = sentAt;
    this.settlesAt = settlesAt;
  }

  /** The same doubt, named after the port's operation (e.g. `createSalesOrder`) and its document. */
  about(operation: string, details: Record<string, unknown> = {}): ErpInDoubtError {
    return new ErpInDoubtError(
      `The ERP may or may not have applied ${operation}: the answer to ${String(this.details.operation)} was lost`,
      { ...this.details, ...details, operation, wireOperation: this.details.operation, sentAt: this.sentAt, settleMs: this.settlesAt.getTime() - this.sentAt.getTime() },
      { cause: this },
    );
  }
}

/**
 * The ERP refused the request because of other work running at the same time (a uniqueness
 * conflict with a record another process just created, a lock timeout, a serialization failure,
 * a concurrent update). Nothing was applied; the same request may pass when tried again (after
 * looking again, for a create). Never a reason to fail an order.
 */
export class ErpConflictError extends ErpError {
  readonly retryable = true;
  constructor(message: string, details: Record<string, unknown> = {}, options?: { cause?: unknown }) {
    super('ERP_CONFLICT', message, details, options);
  }
}

/**
 * The gateway's own ERP queue refused the call: the lane's queue is full (an interactive read
 * beyond the bound), or the call waited longer than its lane allows or its signal was aborted
 * before it was sent. Nothing was sent; try again later.
 */
export class ErpBusyError extends ErpError {
  readonly retryable = true;
  constructor(message: string, details: Record<string, unknown> = {}, options?: { cause?: unknown }) {
    super('ERP_BUSY', message, details, options);
  }
}

/** The ERP understood the request and refused it; sending it again will not help. */
export class ErpRejectedError extends ErpError {
  readonly retryable = false;
  constructor(message: string, details: Record<string, unknown> = {}, options?: { cause?: unknown }) {
    super('ERP_REJECTED', message, details, options);
  }
}

/** The ERP answered something that does not parse as what the connector asked for. */
export class ErpInvalidResponseError extends ErpError {
  readonly retryable = false;
  constructor(message: string, details: Record<string, unknown> = {}, options?: { cause?: unknown }) {
    super('ERP_INVALID_RESPONSE', message, details, options);
  }
}

/** A write named SKUs the ERP does not know; nothing was written. */
export class UnknownSkuError extends ErpError {
  readonly retryable = false;
  readonly skus: readonly string[];
  constructor(skus: readonly string[]) {
    super('UNKNOWN_SKU', `The ERP does not know SKU ${skus.join(', ')}`, { skus: [...skus] });
    this.skus = [...skus];
  }
}

/** A request named location codes the ERP does not know; nothing was written. */
export class UnknownLocationError extends ErpError {
  readonly retryable = false;
  readonly locations: readonly string[];
  constructor(locations: readonly string[]) {
    super('UNKNOWN_LOCATION', `The ERP does not know location ${locations.join(', ')}`, { locations: [...locations] });
    this.locations = [...locations];
  }
}

export function isErpError(error: unknown): error is ErpError {
  return error instanceof ErpError;
}
