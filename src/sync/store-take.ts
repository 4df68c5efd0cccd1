// The sync domain's side of a reservation's take (the StoreTakePort of src/inventory/store-take.port.ts):
// which Shopify levels a reservation's positions are pushed to, the Shopify calls of the take
// within a short budget, and what the take teaches the read model (baselines, unexplained drops).
// The arithmetic and the decision are the reservations domain's (src/reservations/store-take.ts).
import { sql } from 'drizzle-orm';
import type { Db } from '../db/database.js';
import { syncItemStates } from '../db/schema/index.js';
import { createInventoryLevelsWriter } from '../inventory/read-model/inventory-levels.writer.js';
import {
  groupPushTargets,
  StoreUnavailableError,
  type MappingService,
  type PositionKey,
  type StoreTakeGroup,
  type StoreTakePort,
  type StoreTakeRecord,
  type TakeInDoubt,
} from '../inventory/inventory.port.js';
import type { Logger } from '../logger.js';
import { isAppError } from '../shared/errors.js';
import type { ShopifyClient } from '../shopify/shopify-client.js';

export interface StoreTakeDeps {
  readonly shop: string;
  readonly shopify: ShopifyClient;
  readonly mapping: Pick<MappingService, 'getPushTargets'>;
  /** INVENTORY_PUSH now: takes apply only when it is `on` (shadow and off decide locally). */
  readonly pushMode: () => Promise<'on' | 'shadow' | 'off'>;
  /** Positions run from Shopify (FOLLOW_SHOPIFY, `sku|location`): never written by Stockbridge, so no take either. */
  readonly policies?: { findFollowShopify(skus: readonly string[]): Promise<Set<string>> };
  readonly log: Logger;
  /** How long a take may wait for Shopify in all, retries included (default 3 s). */
  readonly budgetMs?: number;
  readonly sleep?: (ms: number) => Promise<void>;
}

/** Shopify's codes that mean the request never ran or may be sent again under the same key. */
const RETRYABLE = new Set(['SHOPIFY_UNAVAILABLE', 'SHOPIFY_BAD_RESPONSE', 'SHOPIFY_IN_DOUBT']);

class BudgetSpent extends Error {}

/** `work`'s answer if it comes within `ms`; otherwise BudgetSpent (the work goes on, its answer ignored). */
function within<T>(work: Promise<T>, ms: number): Promise<T> {
  work.catch(() => undefined);
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new BudgetSpent(`no answer within ${ms} ms`)), Math.max(0, ms));
  });
  return Promise.race([work, timeout]).finally(() => clearTimeout(timer));
}

export function createStoreTake(deps: StoreTakeDeps): StoreTakePort {
  const budgetMs = deps.budgetMs ?? 3_000;
  const sleep = deps.sleep ?? ((ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms)));

  /** Runs `call` until it answers, again (same arguments, so the same idempotency key) while the budget lasts. */
  async function withinBudget<T>(what: string, call: () => Promise<T>): Promise<T> {
    const deadline = Date.now() + budgetMs;
    let last: unknown;
    for (let attempt = 1; ; attempt++) {
      const remaining = deadline - Date.now();
      if (remaining <= 0) break;
      try {
        return await within(call(), remaining);
      } catch (error) {
        last = error;
        if (error instanceof BudgetSpent) break;
        if (isAppError(error) && !RETRYABLE.has(error.code)) {
          throw new StoreUnavailableError(`Shopify refused the ${what}: ${error.message}`, { retryable: false }, { cause: error });
        }
        if (!isAppError(error)) throw error;
        await sleep(Math.min(100 * attempt, Math.max(0, deadline - Date.now())));
      }
    }
    deps.log.warn({ err: last, budgetMs }, `Shopify did not answer the ${what} within its budget`);
    throw new StoreUnavailableError(`the Shopify store did not answer within ${budgetMs / 1000} s; nothing was held, try again`, { retryAfterSeconds: 1 }, { cause: last });
  }

  return {
    async groupsFor(positions: readonly PositionKey[]): Promise<StoreTakeGroup[]> {
      if (positions.length === 0 || (await deps.pushMode()) !== 'on') return [];
      const skus = [...new Set(positions.map((position) => position.sku))];
      const wanted = new Set(positions.map((position) => `${position.sku}|${position.location}`));
      // Both reads at once (a hot SKU's batches wait for this lookup): the policies are usually not needed.
      const [targets, followed] = await Promise.all([
        deps.mapping.getPushTargets(skus),
        deps.policies ? deps.policies.findFollowShopify(skus) : Promise.resolve(new Set<string>()),
      ]);
      const groups = groupPushTargets(targets).filter((group) => group.erpLocations.some((location) => wanted.has(`${group.sku}|${location}`)));
      if (groups.length === 0) return [];
      return groups
        .filter((group) => !group.erpLocations.some((location) => followed.has(`${group.sku}|${location}`)))
        .map((group) => ({
          key: `${group.inventoryItemId}|${group.shopifyLocationId}`,
          sku: group.sku,
          inventoryItemId: group.inventoryItemId,
          shopifyLocationId: group.shopifyLocationId,
          erpLocations: group.erpLocations,
          conversion: group.conversion,
        }));
    },

    async readLevels(groups: readonly StoreTakeGroup[]): Promise<Map<string, number>> {
      if (groups.length === 0) return new Map();
      const levels = await withinBudget('level read', () =>
        deps.shopify.getInventoryLevels(groups.map((group) => ({ inventoryItemId: group.inventoryItemId, locationId: group.shopifyLocationId }))),
      );
      const read = new Map(levels.map((level) => [`${level.inventoryItemId}|${level.locationId}`, level.available]));
      // No level at the location: Shopify offers nothing there.
      return new Map(groups.map((group) => [group.key, read.get(group.key) ?? 0]));
    },

    async adjust(changes, options): Promise<Map<string, number>> {
      const sent = changes.filter((change) => change.delta !== 0);
      if (sent.length === 0) return new Map();
      const adjusted = await withinBudget('take', () =>
        deps.shopify.adjustAvailableQuantities(
          sent.map((change) => ({ inventoryItemId: change.group.inventoryItemId, locationId: change.group.shopifyLocationId, delta: change.delta })),
          { idempotencyKey: options.idempotencyKey, reason: 'reservation_created', referenceDocumentUri: options.referenceDocumentUri },
        ),
      );
      return new Map(adjusted.map((change) => [`${change.inventoryItemId}|${change.locationId}`, change.quantityAfterChange]));
    },

    async record(tx: Db, records: readonly StoreTakeRecord[], at: Date): Promise<void> {
      if (records.length === 0) return;
      const writer = createInventoryLevelsWriter(tx, deps.shop);
      // Shopify's value after the take is the baseline: the push's next compare-and-set matches it,
      // and the inventory_levels/update webhook of the take is an echo.
      await writer.recordShopifyReadings(records.flatMap((record) => record.group.erpLocations.map((location) => ({ sku: record.group.sku, location, available: record.available, at }))));
      const unconfirmed = records.filter((record) => (record.unconfirmedTake ?? 0) > 0);
      if (unconfirmed.length > 0) await writer.recordUnconfirmedTakes(unconfirmedUnits(unconfirmed.map((record) => ({ group: record.group, units: record.unconfirmedTake! }))), at);
      const drops = records.flatMap((record) => record.drops.filter((drop) => drop.delta !== 0));
      if (drops.length === 0) return;
      await writer.addUnexplainedDrop(drops, at);
      const dropped = records.filter((record) => record.drops.some((drop) => drop.delta > 0));
      if (dropped.length > 0) {
        await tx
          .insert(syncItemStates)
          .values(dropped.map((record) => ({ shop: deps.shop, inventoryItemId: record.group.inventoryItemId, shopifyLocationId: record.group.shopifyLocationId, lastUnexplainedDropAt: at })))
          .onConflictDoUpdate({
            target: [syncItemStates.shop, syncItemStates.inventoryItemId, syncItemStates.shopifyLocationId],
            set: { lastUnexplainedDropAt: sql`excluded.last_unexplained_drop_at` },
          });
      }
    },

    async recordTakesInDoubt(db: Db, takes: readonly TakeInDoubt[], at: Date): Promise<void> {
      if (takes.length === 0) return;
      deps.log.warn({ takes: takes.map((take) => ({ group: take.group.key, units: take.units })) }, 'a reservation take may have landed in Shopify without its answer; recorded as our own');
      await createInventoryLevelsWriter(db, deps.shop).recordUnconfirmedTakes(unconfirmedUnits(takes), at);
    },
  };
}

/** Every ERP position of a group holds the group's Shopify value, so each carries the take's whole units. */
function unconfirmedUnits(takes: readonly TakeInDoubt[]): (PositionKey & { units: number })[] {
  return takes.flatMap((take) => take.group.erpLocations.map((location) => ({ sku: take.group.sku, location, units: take.units })));
}
