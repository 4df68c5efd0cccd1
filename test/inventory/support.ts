import { drizzle as drizzlePglite } from 'drizzle-orm/pglite';
import { drizzle as drizzlePostgres } from 'drizzle-orm/postgres-js';
import type { PGlite } from '@electric-sql/pglite';
import type { Sql } from 'postgres';
import { sql } from 'drizzle-orm';
import type { Database, Db } from '../../src/db/database.js';
import * as schema from '../../src/db/schema/index.js';
import { inventoryLevels } from '../../src/db/schema/index.js';
import { atpExpression } from '../../src/inventory/read-model/atp-formula.js';
import { SimulatedErp } from '../../src/erp/simulated/simulated-erp.js';
import { SimulatedErpConnector } from '../../src/erp/simulated/simulated-erp-connector.js';
import type { PushSignal } from '../../src/inventory/push-requests.js';
import { createMemoryLogger } from '../support/gateway.js';

/** A Drizzle handle on the same database that counts every statement it sends (not BEGIN/COMMIT). */
export function countingDb(database: Database): { db: Db; queries: () => number; reset: () => void } {
  let count = 0;
  const logger = { logQuery: () => void count++ };
  const client = (database.db as unknown as { $client: unknown }).$client;
  const db = (database.kind === 'pglite' ? drizzlePglite(client as PGlite, { schema, logger }) : drizzlePostgres(client as Sql, { schema, logger })) as unknown as Db;
  return { db, queries: () => count, reset: () => void (count = 0) };
}

export function countingPushSignal(): PushSignal & { wakes: () => number } {
  let wakes = 0;
  return { wake: () => void wakes++, wakes: () => wakes };
}

/** A simulated ERP with two warehouses, LDS and BHM, and its connector. */
export function createTestErp() {
  const erp = new SimulatedErp();
  erp.addWarehouse({ code: 'LDS', name: 'Leeds plant' });
  erp.addWarehouse({ code: 'BHM', name: 'Birmingham distribution centre' });
  const connector = new SimulatedErpConnector(erp, { logger: createMemoryLogger().log });
  return { erp, connector };
}

/** What another domain does to a term it owns: set it, then recompute ATP with the formula. */
export async function setOwnedTerm(
  db: Db,
  shop: string,
  position: { sku: string; location: string },
  terms: Partial<{ reserved: number; pendingOrders: number; unexplainedShopifyDrop: number }>,
): Promise<void> {
  await db
    .update(inventoryLevels)
    .set(terms)
    .where(sql`${inventoryLevels.shop} = ${shop} and ${inventoryLevels.sku} = ${position.sku} and ${inventoryLevels.location} = ${position.location}`);
  await db
    .update(inventoryLevels)
    .set({ availableToPromise: atpExpression })
    .where(sql`${inventoryLevels.shop} = ${shop} and ${inventoryLevels.sku} = ${position.sku} and ${inventoryLevels.location} = ${position.location}`);
}
