import { sql, type SQL } from 'drizzle-orm';
import { inventoryLots, sellableShelfLifeRules } from '../../db/schema/index.js';

/**
 * Where expiry meets the ATP, decided once: which lot units are "expiring soon" for a position.
 * A lot counts as expiring when its `expires_on` is before today + the SKU's sellable shelf life
 * (the SKU's rule, else the shop's default `SELLABLE_SHELF_LIFE_DAYS`). With 0 days only lots
 * already expired (expiry before today) are excluded: a lot expiring today is still sold today.
 * Lots without an expiry never expire. "Today" is the UTC date of the caller's clock, so every
 * instance draws the line at the same moment.
 *
 * The sum is stored uncapped in `inventory_levels.expiring_lot_units`; the formula
 * (./atp-formula.ts) subtracts at most on hand − allocated of it.
 */
export interface ExpiryHorizon {
  /** Today, `YYYY-MM-DD` (UTC). */
  readonly today: string;
  /** The shop's default sellable shelf life in days (SKU rules override it). */
  readonly defaultDays: number;
}

/** The horizon at `now`: today's UTC date and the default shelf life. */
export function expiryHorizonAt(now: Date, defaultDays: number): ExpiryHorizon {
  return { today: now.toISOString().slice(0, 10), defaultDays };
}

/** The same rule in TypeScript: whether a lot expiring on `expiresOn` counts as expiring soon. */
export function isExpiringSoon(expiresOn: string | null, today: string, days: number): boolean {
  if (expiresOn === null) return false;
  const cutoff = new Date(`${today}T00:00:00Z`);
  cutoff.setUTCDate(cutoff.getUTCDate() + days);
  return expiresOn < cutoff.toISOString().slice(0, 10);
}

/** The SKU's sellable shelf life in days: its rule, else the default. */
export function shelfLifeDaysSql(shop: string, sku: SQL, horizon: ExpiryHorizon): SQL {
  return sql`coalesce((select r.days from ${sellableShelfLifeRules} r where r.shop = ${shop} and r.sku = ${sku}), ${horizon.defaultDays}::integer)`;
}

/** Units of the position's stored lots that expire before today + the SKU's shelf life (0 without any). */
export function expiringLotUnitsSql(shop: string, sku: SQL, location: SQL, horizon: ExpiryHorizon): SQL {
  return sql`coalesce((
    select sum(x.quantity) from ${inventoryLots} x
    where x.shop = ${shop} and x.sku = ${sku} and x.location = ${location}
      and x.expires_on < ${horizon.today}::date + ${shelfLifeDaysSql(shop, sku, horizon)}), 0)::float8`;
}
