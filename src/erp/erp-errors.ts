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
  constructor(message: string, details: Record<string, unknown> = {}, options?: { cause?: unknown }) {
    super('ERP_UNAVAILABLE', message, details, options);
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
