import { randomBytes } from 'node:crypto';

/**
 * The one naming scheme for what a test creates in shared places (a PostgreSQL database, a
 * scheduler lease, a shop, a SKU): what it is for, then a random suffix, so tests sharing a
 * database never see each other's rows and a leftover says which test made it.
 */

/** `<what>-<8 hex>`: job names, idempotency keys, run labels. */
export function uniqueName(what: string): string {
  return `${what}-${randomBytes(4).toString('hex')}`;
}

/** `<what>-<8 hex>.myshopify.com`: a shop no other test uses. */
export function uniqueShop(what: string): string {
  return `${uniqueName(what)}.myshopify.com`;
}

/** `<WHAT>-<8 HEX>`: a SKU no other test uses (ERP SKUs are upper case by convention here). */
export function uniqueSku(what: string): string {
  return uniqueName(what).toUpperCase();
}
