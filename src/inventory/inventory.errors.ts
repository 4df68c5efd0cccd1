import { AppError } from '../shared/errors.js';

/**
 * The inventory domain's stable error codes. Operators' mistakes in mapping and safety stock
 * are reported with what would fix them in `details`.
 */
export type InventoryErrorCode =
  | 'UNKNOWN_SKU'
  | 'UNKNOWN_LOCATION'
  | 'SHOPIFY_VARIANT_NOT_FOUND'
  | 'SHOPIFY_SKU_AMBIGUOUS'
  | 'SHOPIFY_VARIANT_ALREADY_MAPPED'
  | 'SHOPIFY_LOCATION_NOT_FOUND'
  | 'SHOPIFY_LOCATION_INACTIVE'
  | 'LOCATION_OVERLAP'
  /** The first start has not finished filling the catalogue: retry later (`retryAfterSeconds`). */
  | 'CATALOGUE_NOT_READY';

export class InventoryError extends AppError {
  constructor(code: InventoryErrorCode, message: string, details: Record<string, unknown> = {}) {
    super(code, message, details);
  }
}

