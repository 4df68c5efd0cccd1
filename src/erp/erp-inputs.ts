import { z } from 'zod';
import { ValidationError } from '../shared/errors.js';
import type { CustomerReturnInput, Lot, SalesOrderInput } from './erp-connector.js';
import { ErpRejectedError } from './erp-errors.js';

/**
 * What every connector checks before it talks to the ERP, so that a malformed request is refused
 * the same way by all of them (`ERP_REJECTED`, nothing sent) and batching and ordering rules are
 * written once.
 */

const decimal = z.string().regex(/^-?\d+(\.\d+)?$/, 'a decimal string such as "19.90"');
const code = z.string().min(1);
const quantity = z.number().finite().positive();

const salesOrderInputSchema = z.object({
  externalReference: z.string().min(1).max(255),
  name: z.string().min(1).max(255),
  customer: z.object({ name: z.string().min(1), email: z.string().nullable(), phone: z.string().nullable() }),
  shippingAddress: z
    .object({
      name: z.string().nullable(),
      company: z.string().nullable(),
      line1: z.string(),
      line2: z.string().nullable(),
      city: z.string(),
      postalCode: z.string().nullable(),
      countryCode: z.string().length(2),
      provinceCode: z.string().nullable(),
      phone: z.string().nullable(),
    })
    .nullable(),
  currency: z.string().regex(/^[A-Z]{3}$/, 'an ISO 4217 code'),
  lines: z.array(z.object({ sku: code, quantity, location: code, unitPrice: decimal })).min(1),
});

const customerReturnInputSchema = z.object({
  externalReference: z.string().min(1).max(255),
  salesOrderReference: z.string().min(1).max(255),
  lines: z.array(z.object({ sku: code, quantity, location: code })).min(1),
});

function parseInput<S extends z.ZodType>(schema: S, input: unknown, what: string): z.output<S> {
  const result = schema.safeParse(input);
  if (result.success) return result.data;
  const issues = result.error.issues.map((issue) => `${issue.path.join('.') || '(root)'}: ${issue.message}`);
  throw new ErpRejectedError(`The ${what} is not valid: ${issues.join('; ')}`, { what, issues });
}

export function parseSalesOrderInput(order: SalesOrderInput): SalesOrderInput {
  return parseInput(salesOrderInputSchema, order, 'sales order');
}

export function parseCustomerReturnInput(input: CustomerReturnInput): CustomerReturnInput {
  return parseInput(customerReturnInputSchema, input, 'customer return');
}

/** Each value once, in the order first seen. */
export function uniqueInOrder(values: readonly string[]): string[] {
  return [...new Set(values)];
}

/** The connectors page their SKU lists with the shared helper; re-exported for them. */
export { chunk } from '../shared/collections.js';

export function compareStrings(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** The port's lot order: SKU, location, soonest expiry first (non-expiring last), number. */
export function compareLots(a: Lot, b: Lot): number {
  return (
    compareStrings(a.sku, b.sku) ||
    compareStrings(a.location, b.location) ||
    compareStrings(a.expiresOn ?? '\uffff', b.expiresOn ?? '\uffff') ||
    compareStrings(a.number, b.number)
  );
}

const cursorSchema = z.object({ after: z.string() });

/** Keyset cursors (`after` the last SKU of the page): stable while the catalogue changes. */
export function encodeSkuCursor(after: string): string {
  return Buffer.from(JSON.stringify({ after })).toString('base64url');
}

export function decodeSkuCursor(cursor: string | null | undefined): string | null {
  if (cursor === null || cursor === undefined) return null;
  try {
    return cursorSchema.parse(JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'))).after;
  } catch {
    throw new ValidationError('The cursor is not one this connector issued', { cursor });
  }
}

/** A page size within 1..max (default max). */
export function pageSize(limit: number | undefined, max: number): number {
  if (limit === undefined) return max;
  if (!Number.isInteger(limit) || limit < 1) throw new ValidationError('A page size is a positive integer', { limit });
  return Math.min(limit, max);
}
