import { sql, type SQL } from 'drizzle-orm';
import type { PgColumn } from 'drizzle-orm/pg-core';
import { inventoryLevels, inventoryLots } from '../db/schema/index.js';
import type { Lot } from '../erp/erp-connector.js';
import type { PositionRecord } from './inventory.models.js';
import { toPositionRecord } from './positions.repository.js';

/**
 * A products page's positions and lots as two JSON columns of the page's own statement (one
 * correlated subquery each per product row), so `products(first: 100)` with availability and
 * lots is one read-model round trip instead of three, and its rows are parsed by `JSON.parse`
 * instead of column by column. Each position and lot is a JSON array in the fixed order below;
 * timestamps travel as epoch milliseconds (truncated, as a JavaScript Date of the database's
 * text is). The result is the same `PositionRecord` and `Lot` the per-kind reads return
 * (`getPositionsBySkus`, `getLotsBySkus`), in the same order: positions by location, lots FEFO.
 */

/** What a page reads beside its products. */
export interface PageInclude {
  /** Every position of each product (`Product.availability`). */
  readonly positions: boolean;
  /** Each product's lots at the page's location scope, or everywhere (`Product.lots`). */
  readonly lots: boolean;
}

/** What a page's statement read beside one product. */
export interface PageTerms {
  readonly positions?: PositionRecord[];
  readonly lots?: Lot[];
}

const epochMs = (column: PgColumn): SQL => sql`floor(extract(epoch from ${column}) * 1000)`;

const l = inventoryLevels;
/** The order of a position's array. */
const positionFields: readonly SQL[] = [
  sql`${l.location}`,
  sql`${l.onHand}`,
  sql`${l.allocated}`,
  sql`${l.safetyStock}`,
  sql`${l.wholesaleCommitted}`,
  sql`${l.reserved}`,
  sql`${l.pendingOrders}`,
  sql`${l.unexplainedShopifyDrop}`,
  sql`${l.expiringLotUnits}`,
  sql`${l.availableToPromise}`,
  sql`${l.shopifyAvailable}`,
  sql`${l.lastPushedQuantity}`,
  epochMs(l.erpReadAt),
  epochMs(l.computedAt),
  epochMs(l.shopifyReadAt),
  epochMs(l.lastPushedAt),
  epochMs(l.pushRequestedAt),
  epochMs(l.pendingCountedAt),
];

type PositionArray = [
  location: string,
  onHand: number,
  allocated: number,
  safetyStock: number,
  wholesaleCommitted: number,
  reserved: number,
  pendingOrders: number,
  unexplainedShopifyDrop: number,
  expiringLotUnits: number,
  availableToPromise: number,
  shopifyAvailable: number | null,
  lastPushedQuantity: number | null,
  erpReadAt: number | null,
  computedAt: number,
  shopifyReadAt: number | null,
  lastPushedAt: number | null,
  pushRequestedAt: number | null,
  pendingCountedAt: number | null,
];

type LotArray = [number: string, location: string, quantity: number, expiresOn: string | null];

/** The positions of the product whose SKU is `sku` (an outer column), by location: a JSON array, or null when none. */
export function positionsColumn(shop: string, sku: PgColumn): SQL<unknown> {
  return sql`(select json_agg(json_build_array(${sql.join([...positionFields], sql`, `)}) order by ${l.location})
    from ${inventoryLevels} where ${l.shop} = ${shop} and ${l.sku} = ${sku})`;
}

/** The lots of the product whose SKU is `sku`, at `location` (null: everywhere), FEFO: a JSON array, or null when none. */
export function lotsColumn(shop: string, sku: PgColumn, location: string | null): SQL<unknown> {
  const lot = inventoryLots;
  return sql`(select json_agg(json_build_array(${lot.number}, ${lot.location}, ${lot.quantity}, ${lot.expiresOn})
      order by coalesce(${lot.expiresOn}, 'infinity'::date), ${lot.number}, ${lot.location})
    from ${inventoryLots} where ${lot.shop} = ${shop} and ${lot.sku} = ${sku}${location === null ? sql`` : sql` and ${lot.location} = ${location}`})`;
}

/** Both drivers parse json columns; a JSON text is read too. */
function arrays<T>(value: unknown): T[] {
  if (value === null || value === undefined) return [];
  return (typeof value === 'string' ? JSON.parse(value) : value) as T[];
}

const dateOf = (ms: number | null): Date | null => (ms === null ? null : new Date(ms));

export function parsePositions(shop: string, sku: string, value: unknown): PositionRecord[] {
  return arrays<PositionArray>(value).map((p) =>
    toPositionRecord({
      shop,
      sku,
      location: p[0],
      onHand: p[1],
      allocated: p[2],
      safetyStock: p[3],
      wholesaleCommitted: p[4],
      reserved: p[5],
      pendingOrders: p[6],
      unexplainedShopifyDrop: p[7],
      expiringLotUnits: p[8],
      availableToPromise: p[9],
      shopifyAvailable: p[10],
      lastPushedQuantity: p[11],
      erpReadAt: dateOf(p[12]),
      computedAt: new Date(p[13]),
      shopifyReadAt: dateOf(p[14]),
      lastPushedAt: dateOf(p[15]),
      pushRequestedAt: dateOf(p[16]),
      pendingCountedAt: dateOf(p[17]),
    }),
  );
}

export function parseLots(sku: string, value: unknown): Lot[] {
  return arrays<LotArray>(value).map(([number, location, quantity, expiresOn]) => ({ number, sku, location, quantity, expiresOn }));
}
