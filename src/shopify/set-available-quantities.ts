import { createHash } from 'node:crypto';
import type { Logger } from '../logger.js';
import type { SetInventoryQuantitiesMutation } from './__generated__/admin.types.js';
import { prepareOperation, type AdminApiTransport } from './admin-api-transport.js';
import { setInventoryQuantitiesDocument } from './operations/inventory.operations.js';
import { chunk } from '../shared/collections.js';
import { isAppError } from '../shared/errors.js';
import type {
  InventoryItemLocation,
  InventoryLevelQuantities,
  SetAvailableQuantitiesOptions,
  SetAvailableQuantity,
  SetQuantityOutcome,
} from './shopify-client.js';

/**
 * `ShopifyClient.setAvailableQuantities` on `inventorySetQuantities`: chunks of at most 250, a
 * deterministic `@idempotent` key per request, and splitting so that refused items never block
 * the others. Shopify applies a call all-or-nothing when it reports userErrors (a null adjustment
 * group); if it ever reports a group together with errors, the items it did not name are taken as
 * applied, so either behaviour leaves every item with a true outcome.
 */

export const MAX_QUANTITIES_PER_CALL = 250;

const setQuantitiesOperation = prepareOperation(setInventoryQuantitiesDocument);

/** Codes that concern the whole call, not one quantity: every item in it fails with the code. */
const CALL_WIDE_CODES = new Set(['INVALID_REASON', 'INVALID_REFERENCE_DOCUMENT', 'INVALID_NAME']);
/** Retry the same request under a new key (Shopify: "Retry with a new idempotency key"). */
const NEW_KEY_CODES = new Set(['IDEMPOTENCY_PREVIOUS_ATTEMPT_FAILED', 'IDEMPOTENCY_KEY_PARAMETER_MISMATCH']);
const MAX_NEW_KEYS = 2;
const MAX_CONCURRENT_REQUEST_RETRIES = 5;

type ItemResult =
  | { status: 'applied' }
  | { status: 'stale' }
  | { status: 'failed'; code: string; message: string };

interface Entry {
  index: number;
  item: SetAvailableQuantity;
}

/**
 * The idempotency key of one request: a UUID-shaped digest of the caller's batch id, the chunk
 * index, a salt (bumped only when Shopify asks for a new key) and everything the request sends.
 * The same request after a crash or a lost response gets the same key, so Shopify applies it
 * once; a request with other contents (a split, fresh compare values) gets a new one.
 */
export function idempotencyKey(
  batchId: string,
  chunkIndex: number,
  salt: number,
  request: { reason: string; referenceDocumentUri: string; quantities: readonly SetAvailableQuantity[] },
): string {
  const hash = createHash('sha256')
    .update(
      JSON.stringify([
        batchId,
        chunkIndex,
        salt,
        request.reason,
        request.referenceDocumentUri,
        request.quantities.map((q) => [q.inventoryItemId, q.locationId, q.quantity, q.changeFromQuantity]),
      ]),
    )
    .digest('hex');
  const variant = ((parseInt(hash.slice(16, 17), 16) & 0x3) | 0x8).toString(16);
  return `${hash.slice(0, 8)}-${hash.slice(8, 12)}-5${hash.slice(13, 16)}-${variant}${hash.slice(17, 20)}-${hash.slice(20, 32)}`;
}

/** Position in the request's `quantities` named by a userError field path (`["input","quantities","3","changeFromQuantity"]`). */
export function quantityPosition(field: readonly string[] | null | undefined): number | null {
  if (!field) return null;
  const at = field.indexOf('quantities');
  if (at < 0) return null;
  const position = Number(field[at + 1]);
  return Number.isInteger(position) && position >= 0 ? position : null;
}

export interface QuantityWriterDependencies {
  transport: AdminApiTransport;
  logger: Logger;
  /** Fresh levels for stale items. */
  readLevels: (pairs: readonly InventoryItemLocation[]) => Promise<InventoryLevelQuantities[]>;
  /** Chunks sent at once (each still waits for the cost bucket). */
  chunkConcurrency: number;
  sleep: (ms: number) => Promise<void>;
}

const pairKey = (pair: InventoryItemLocation) => `${pair.inventoryItemId}|${pair.locationId}`;

export async function setAvailableQuantities(
  dependencies: QuantityWriterDependencies,
  items: readonly SetAvailableQuantity[],
  options: SetAvailableQuantitiesOptions,
): Promise<SetQuantityOutcome[]> {
  const { transport, logger } = dependencies;
  const outcomes: (SetQuantityOutcome | undefined)[] = new Array(items.length);

  const firstIndexOfPair = new Map<string, number>();
  const entries: Entry[] = [];
  items.forEach((item, index) => {
    const key = pairKey(item);
    if (firstIndexOfPair.has(key)) {
      outcomes[index] = {
        status: 'failed',
        inventoryItemId: item.inventoryItemId,
        locationId: item.locationId,
        quantity: item.quantity,
        code: 'NO_DUPLICATE_INVENTORY_ITEM_ID_GROUP_ID_PAIR',
        message: `the same item and location appear twice in the batch (first at ${firstIndexOfPair.get(key)})`,
      };
      return;
    }
    firstIndexOfPair.set(key, index);
    entries.push({ index, item });
  });

  // Once Shopify is unreachable or refuses our token, chunks not yet sent fail at once with the same
  // code instead of each going through the full retry schedule.
  let givenUp: { code: string; message: string } | null = null;

  const send = async (chunkIndex: number, group: Entry[], salt = 0, concurrentRetries = 0): Promise<Map<number, ItemResult>> => {
    const results = new Map<number, ItemResult>();
    if (givenUp) {
      for (const entry of group) results.set(entry.index, { status: 'failed', ...givenUp });
      return results;
    }
    const quantities = group.map((entry) => entry.item);
    const input = {
      name: 'available',
      reason: options.reason,
      referenceDocumentUri: options.referenceDocumentUri,
      // changeFromQuantity is sent on every quantity, null included: 2026-04+ refuses it missing.
      quantities: quantities.map((q) => ({
        inventoryItemId: q.inventoryItemId,
        locationId: q.locationId,
        quantity: q.quantity,
        changeFromQuantity: q.changeFromQuantity,
      })),
    };
    const key = idempotencyKey(options.batchId, chunkIndex, salt, { reason: options.reason, referenceDocumentUri: options.referenceDocumentUri, quantities });

    let payload: SetInventoryQuantitiesMutation['inventorySetQuantities'];
    try {
      const response = await transport.request<SetInventoryQuantitiesMutation>(setQuantitiesOperation, { input, idempotencyKey: key });
      payload = response.data.inventorySetQuantities;
    } catch (error) {
      if (!isAppError(error)) throw error;
      if (error.code === 'SHOPIFY_UNAVAILABLE' || error.code === 'SHOPIFY_UNAUTHORIZED') givenUp = { code: error.code, message: error.message };
      for (const entry of group) results.set(entry.index, { status: 'failed', code: error.code, message: error.message });
      return results;
    }
    if (!payload) {
      for (const entry of group) results.set(entry.index, { status: 'failed', code: 'SHOPIFY_BAD_RESPONSE', message: 'inventorySetQuantities returned null' });
      return results;
    }
    const userErrors = payload.userErrors;
    if (userErrors.length === 0) {
      for (const entry of group) results.set(entry.index, { status: 'applied' });
      return results;
    }

    const codes = userErrors.map((error) => error.code ?? 'UNKNOWN');
    if (codes.includes('IDEMPOTENCY_CONCURRENT_REQUEST') && concurrentRetries < MAX_CONCURRENT_REQUEST_RETRIES) {
      // The first attempt under this key is still running at Shopify; asking again with the same key is safe.
      await dependencies.sleep(500 * 2 ** concurrentRetries);
      return send(chunkIndex, group, salt, concurrentRetries + 1);
    }
    const newKeyCode = codes.find((code) => NEW_KEY_CODES.has(code));
    if (newKeyCode && salt < MAX_NEW_KEYS) {
      logger.warn({ code: newKeyCode, batchId: options.batchId, chunkIndex }, 'Shopify asked for a new idempotency key');
      return send(chunkIndex, group, salt + 1);
    }

    const callWide = userErrors.find((error) => CALL_WIDE_CODES.has(error.code ?? ''));
    if (callWide) {
      for (const entry of group) results.set(entry.index, { status: 'failed', code: callWide.code ?? 'UNKNOWN', message: callWide.message });
      return results;
    }

    const named = new Map<number, ItemResult>();
    let unattributed: { code: string; message: string } | null = null;
    for (const error of userErrors) {
      const position = quantityPosition(error.field);
      const entry = position === null ? undefined : group[position];
      const code = error.code ?? 'UNKNOWN';
      if (!entry) {
        unattributed ??= { code, message: error.message };
        continue;
      }
      if (named.has(entry.index)) continue;
      named.set(entry.index, code === 'CHANGE_FROM_QUANTITY_STALE' ? { status: 'stale' } : { status: 'failed', code, message: error.message });
    }
    for (const [index, result] of named) results.set(index, result);
    const rest = group.filter((entry) => !named.has(entry.index));
    if (rest.length === 0) return results;

    if (payload.inventoryAdjustmentGroup) {
      // Shopify applied the call despite errors: the items it did not name went through.
      for (const entry of rest) results.set(entry.index, { status: 'applied' });
      return results;
    }
    if (named.size > 0) {
      for (const [index, result] of await send(chunkIndex, rest)) results.set(index, result);
      return results;
    }
    // Nothing named: halve until the culprit stands alone.
    if (rest.length === 1) {
      const only = rest[0]!;
      const problem = unattributed ?? { code: 'UNKNOWN', message: 'refused without a reason' };
      results.set(only.index, problem.code === 'CHANGE_FROM_QUANTITY_STALE' ? { status: 'stale' } : { status: 'failed', ...problem });
      return results;
    }
    const middle = Math.ceil(rest.length / 2);
    const [left, right] = await Promise.all([send(chunkIndex, rest.slice(0, middle)), send(chunkIndex, rest.slice(middle))]);
    for (const [index, result] of [...left, ...right]) results.set(index, result);
    return results;
  };

  const runGroups = async (groups: Entry[][], chunkOffset: number): Promise<Map<number, ItemResult>> => {
    const results = new Map<number, ItemResult>();
    let next = 0;
    const worker = async () => {
      while (next < groups.length) {
        const chunkIndex = next++;
        for (const [index, result] of await send(chunkOffset + chunkIndex, groups[chunkIndex]!)) results.set(index, result);
      }
    };
    await Promise.all(Array.from({ length: Math.min(dependencies.chunkConcurrency, groups.length) }, worker));
    return results;
  };

  const firstGroups = chunk(entries, MAX_QUANTITIES_PER_CALL);
  const firstResults = await runGroups(firstGroups, 0);

  const freshAvailable = async (stale: Entry[]): Promise<Map<string, number>> => {
    const levels = await dependencies.readLevels(stale.map((entry) => entry.item));
    return new Map(levels.map((level) => [pairKey(level), level.available]));
  };

  const record = (entry: Entry, result: ItemResult, fresh: Map<string, number> | null) => {
    const base = { inventoryItemId: entry.item.inventoryItemId, locationId: entry.item.locationId, quantity: entry.item.quantity };
    if (result.status === 'applied') outcomes[entry.index] = { ...base, status: 'applied' };
    else if (result.status === 'failed') outcomes[entry.index] = { ...base, status: 'failed', code: result.code, message: result.message };
    else
      outcomes[entry.index] = {
        ...base,
        status: 'stale',
        changeFromQuantity: entry.item.changeFromQuantity,
        currentAvailable: fresh?.get(pairKey(entry.item)) ?? null,
      };
  };

  const stale = entries.filter((entry) => firstResults.get(entry.index)?.status === 'stale');
  for (const entry of entries) {
    const result = firstResults.get(entry.index);
    if (result && result.status !== 'stale') record(entry, result, null);
  }
  if (stale.length > 0) {
    const fresh = await freshAvailable(stale);
    if (!options.recomputeOnStale) {
      for (const entry of stale) record(entry, { status: 'stale' }, fresh);
    } else {
      const retries: Entry[] = [];
      for (const entry of stale) {
        const current = fresh.get(pairKey(entry.item));
        const quantity = current === undefined ? null : options.recomputeOnStale(entry.item, current);
        if (current === undefined) {
          record(entry, { status: 'stale' }, fresh);
        } else if (quantity === null) {
          outcomes[entry.index] = { inventoryItemId: entry.item.inventoryItemId, locationId: entry.item.locationId, quantity: entry.item.quantity, status: 'skipped', currentAvailable: current };
        } else {
          retries.push({ index: entry.index, item: { ...entry.item, quantity, changeFromQuantity: current } });
        }
      }
      if (retries.length > 0) {
        logger.debug({ batchId: options.batchId, items: retries.length }, 'retrying stale quantities once with fresh values');
        // Chunk indexes after the first pass keep these keys apart from the first pass's.
        const retryResults = await runGroups(chunk(retries, MAX_QUANTITIES_PER_CALL), firstGroups.length);
        const staleAgain = retries.filter((entry) => retryResults.get(entry.index)?.status === 'stale');
        const freshAgain = staleAgain.length > 0 ? await freshAvailable(staleAgain) : null;
        for (const entry of retries) record(entry, retryResults.get(entry.index) ?? { status: 'stale' }, freshAgain);
      }
    }
  }

  return outcomes.map((outcome, index) => {
    if (outcome) return outcome;
    const item = items[index]!;
    return { status: 'failed', inventoryItemId: item.inventoryItemId, locationId: item.locationId, quantity: item.quantity, code: 'UNKNOWN', message: 'no outcome recorded' };
  });
}
