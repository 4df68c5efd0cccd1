import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildSchema, isEnumType, type GraphQLInputObjectType, type GraphQLObjectType } from 'graphql';
import { describe, expect, it } from 'vitest';
import { FULFILMENT_ERROR_CODES, fulfilmentErrorCodeOf } from '../../src/fulfilments/fulfilments.models.js';
import { loadTypeDefs } from '../../src/http/graphql-schema.js';
import { ORDER_ERROR_CODES, orderErrorCodeOf } from '../../src/orders/order.models.js';
import type { ShopifyErrorCode } from '../../src/shopify/shopify.errors.js';

/**
 * `Order.lastErrorCode`, `ReplayOrdersInput.errorCode` and `Fulfilment.lastErrorCode` are enums:
 * the codes the code stores (the constants, which the repositories' write types require) are the
 * enums' values, and every code the ERP connector, the Shopify client and the two domains raise is
 * among them (else it would be stored as INTERNAL_ERROR).
 */
const schema = buildSchema(loadTypeDefs());
const root = fileURLToPath(new URL('../..', import.meta.url));

function enumValues(name: string): string[] {
  const type = schema.getType(name);
  if (!isEnumType(type)) throw new Error(`${name} is not an enum`);
  return type.getValues().map((value) => value.name);
}

function sourceFiles(dir: string): string[] {
  return readdirSync(join(root, dir), { withFileTypes: true }).flatMap((entry) =>
    entry.isDirectory() ? sourceFiles(join(dir, entry.name)) : entry.name.endsWith('.ts') ? [join(dir, entry.name)] : [],
  );
}

/** Codes given to AppError (or a subclass's `super`) in the files under `dir`. */
function raisedIn(dir: string): string[] {
  const codes = new Set<string>();
  for (const file of sourceFiles(dir)) {
    const text = readFileSync(join(root, file), 'utf8');
    for (const match of text.matchAll(/(?:new AppError|super)\(\s*'([A-Z][A-Z0-9_]+)'/g)) codes.add(match[1]!);
  }
  return [...codes].sort();
}

/** Every ShopifyErrorCode (a new code fails to compile here until it is listed). */
const SHOPIFY_CODES: Record<ShopifyErrorCode, true> = {
  SHOPIFY_UNAVAILABLE: true,
  SHOPIFY_UNAUTHORIZED: true,
  SHOPIFY_QUERY_REFUSED: true,
  SHOPIFY_QUERY_TOO_COSTLY: true,
  SHOPIFY_USER_ERROR: true,
  SHOPIFY_BAD_RESPONSE: true,
  SHOPIFY_BULK_OPERATION_FAILED: true,
  SHOPIFY_IN_DOUBT: true,
};

describe('the error codes orders and fulfilments store are closed sets', () => {
  it('OrderErrorCode lists exactly the codes an order may store', () => {
    expect(enumValues('OrderErrorCode').sort()).toEqual([...ORDER_ERROR_CODES].sort());
    const order = schema.getType('Order') as GraphQLObjectType;
    expect(String(order.getFields().lastErrorCode!.type)).toBe('OrderErrorCode');
    const input = schema.getType('ReplayOrdersInput') as GraphQLInputObjectType;
    expect(String(input.getFields().errorCode!.type)).toBe('OrderErrorCode');
  });

  it('FulfilmentErrorCode lists exactly the codes a fulfilment may store', () => {
    expect(enumValues('FulfilmentErrorCode').sort()).toEqual([...FULFILMENT_ERROR_CODES].sort());
  });

  it("every code the ERP connector, the Shopify client and the orders pipeline raise is an order's code", () => {
    const raised = [...raisedIn('src/erp'), ...raisedIn('src/orders'), ...raisedIn('src/shopify'), ...Object.keys(SHOPIFY_CODES)];
    // Codes that never reach an order's row: the connector's configuration and start-up checks,
    // the inbox's 503, the replay's refusals (answered to the caller, not stored).
    const notStored = new Set(['CONFIG_INVALID', 'ERP_INVALID_WATERMARK', 'ORDERS_TO_ERP_OFF', 'WEBHOOK_INBOX_FULL']);
    const missing = raised.filter((code) => !notStored.has(code) && !(ORDER_ERROR_CODES as readonly string[]).includes(code));
    expect(missing).toEqual([]);
    // Written directly by the pipeline.
    for (const code of ['UNMAPPED_LINE', 'ERP_IN_DOUBT', 'INTERNAL_ERROR']) expect(ORDER_ERROR_CODES).toContain(code);
  });

  it("every code the fulfilments domain and the Shopify client raise is a fulfilment's code", () => {
    const raised = [...raisedIn('src/fulfilments'), ...raisedIn('src/shopify'), ...Object.keys(SHOPIFY_CODES)];
    const missing = raised.filter((code) => code !== 'CONFIG_INVALID' && !(FULFILMENT_ERROR_CODES as readonly string[]).includes(code));
    expect(missing).toEqual([]);
  });

  it('a code outside the set is stored as INTERNAL_ERROR; a listed one as itself', () => {
    expect(orderErrorCodeOf('ERP_REJECTED')).toBe('ERP_REJECTED');
    expect(orderErrorCodeOf('SOMETHING_NEW')).toBe('INTERNAL_ERROR');
    expect(fulfilmentErrorCodeOf('SHOPIFY_IN_DOUBT')).toBe('SHOPIFY_IN_DOUBT');
    expect(fulfilmentErrorCodeOf('ERP_UNAVAILABLE')).toBe('INTERNAL_ERROR');
  });

  it("ErrorResult's errorCode is an enum of the reservations' three codes", () => {
    expect(enumValues('ErrorResultCode').sort()).toEqual(['INSUFFICIENT_STOCK', 'LOCATION_NOT_FOUND', 'SKU_NOT_FOUND']);
    const resolvers = readFileSync(join(root, 'src/reservations/reservations.resolvers.ts'), 'utf8');
    const used = [...resolvers.matchAll(/'(INSUFFICIENT_STOCK|[A-Z]+_NOT_FOUND)'/g)].map((match) => match[1]!);
    expect([...new Set(used)].sort()).toEqual(['INSUFFICIENT_STOCK', 'LOCATION_NOT_FOUND', 'SKU_NOT_FOUND']);
  });
});
