import { and, eq } from 'drizzle-orm';
import { createMetricsRegistry } from '../../src/metrics.js';
import type { Db } from '../../src/db/database.js';
import { inventoryLevels } from '../../src/db/schema/index.js';
import { availableToPromise } from '../../src/inventory/read-model/atp-formula.js';
import type { PushSignal } from '../../src/inventory/push-requests.js';
import { createReservationsRepository } from '../../src/reservations/reservations.repository.js';
import { createReservationsService, type ReservationAtpPort, type ReservationsService } from '../../src/reservations/reservations.service.js';
import { createMemoryLogger } from '../support/gateway.js';

export const SHOP = 'reservations-test.myshopify.com';

export interface LevelTerms {
  onHand?: number;
  allocated?: number;
  wholesaleCommitted?: number;
  safetyStock?: number;
  reserved?: number;
  pendingOrders?: number;
  unexplainedShopifyDrop?: number;
  expiringLotUnits?: number;
  erpReadAt?: Date | null;
}

/** Writes a read-model row as the ATP engine would, with the ATP computed by THE formula. */
export async function seedLevel(db: Db, sku: string, location: string, terms: LevelTerms = {}, shop = SHOP): Promise<void> {
  const full = {
    onHand: terms.onHand ?? 0,
    allocated: terms.allocated ?? 0,
    wholesaleCommitted: terms.wholesaleCommitted ?? 0,
    safetyStock: terms.safetyStock ?? 0,
    reserved: terms.reserved ?? 0,
    pendingOrders: terms.pendingOrders ?? 0,
    unexplainedShopifyDrop: terms.unexplainedShopifyDrop ?? 0,
    expiringLotUnits: terms.expiringLotUnits ?? 0,
  };
  await db.insert(inventoryLevels).values({
    shop,
    sku,
    location,
    ...full,
    availableToPromise: availableToPromise(full),
    erpReadAt: terms.erpReadAt ?? null,
  });
}

export async function readLevel(db: Db, sku: string, location: string, shop = SHOP) {
  const [row] = await db
    .select()
    .from(inventoryLevels)
    .where(and(eq(inventoryLevels.shop, shop), eq(inventoryLevels.sku, sku), eq(inventoryLevels.location, location)));
  if (!row) throw new Error(`no level for ${sku} at ${location}`);
  return row;
}

/** A PushSignal that counts wakes (the port's fake; the real one lives in the sync domain). */
export function countingPushSignal(): PushSignal & { wakes: number } {
  return {
    wakes: 0,
    wake() {
      this.wakes++;
    },
  };
}

export interface TestClock {
  now: () => Date;
  set(at: Date | string): void;
  advance(ms: number): void;
}

export function testClock(start = '2026-11-27T10:00:00.000Z'): TestClock {
  let current = new Date(start);
  return {
    now: () => new Date(current),
    set(at) {
      current = new Date(at);
    },
    advance(ms) {
      current = new Date(current.getTime() + ms);
    },
  };
}

export function createTestReservations(
  db: Db,
  options: {
    now?: () => Date;
    pushSignal?: PushSignal;
    defaultTtlSeconds?: number;
    shop?: string;
    erpReadMarginMs?: number;
    atp?: ReservationAtpPort;
  } = {},
): ReservationsService {
  return createReservationsService({
    repository: createReservationsRepository(db, options.shop ?? SHOP),
    log: createMemoryLogger().log,
    now: options.now ?? (() => new Date()),
    defaultTtlSeconds: options.defaultTtlSeconds ?? 3600,
    metrics: createMetricsRegistry({ defaultMetrics: false }),
    pushSignal: options.pushSignal,
    erpReadMarginMs: options.erpReadMarginMs,
    atp: options.atp,
  });
}

let counter = 0;
/** A SKU no other test in the file uses (tests share one database per file). */
export function uniqueSku(label = 'SKU'): string {
  counter += 1;
  return `${label}-${process.pid}-${counter}`;
}
