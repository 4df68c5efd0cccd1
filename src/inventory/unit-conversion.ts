import { ValidationError } from '../shared/errors.js';
import type { UnitConversion } from './inventory.models.js';

export const IDENTITY_CONVERSION: UnitConversion = { erpUnits: 1, shopifyUnits: 1 };

/** Whole Shopify units for an ERP quantity, rounded down: never promise a part of a Shopify unit. */
export function toShopifyUnits(erpQuantity: number, conversion: UnitConversion): number {
  if (erpQuantity <= 0) return 0;
  // The epsilon keeps 35.99999999 (float sums of fractional ERP units) from flooring to 35.
  return Math.floor((erpQuantity * conversion.shopifyUnits) / conversion.erpUnits + 1e-9);
}

/** ERP units for a Shopify quantity (exact; may be fractional, as ERP quantities may be). */
export function toErpUnits(shopifyQuantity: number, conversion: UnitConversion): number {
  return (shopifyQuantity * conversion.erpUnits) / conversion.shopifyUnits;
}

export function checkConversion(conversion: UnitConversion): UnitConversion {
  const { erpUnits, shopifyUnits } = conversion;
  for (const [name, value] of [
    ['erpUnits', erpUnits],
    ['shopifyUnits', shopifyUnits],
  ] as const) {
    if (!Number.isInteger(value) || value < 1 || value > 1_000_000) {
      throw new ValidationError(`${name} must be a whole number from 1 to 1,000,000`, { code: 'INVALID_UNIT_CONVERSION', [name]: value });
    }
  }
  return { erpUnits, shopifyUnits };
}
