import { createHash } from 'node:crypto';
import type { PushTarget } from '../inventory/inventory.port.js';
import type { Logger } from '../logger.js';
import type { GuardedVariantMetafield, MetafieldWriteOutcome, ShopifyClient, VariantMetafieldDefinition } from '../shopify/shopify-client.js';
import type { InventoryLotsReader, StoredLot } from '../inventory/read-model/inventory-lots.reader.js';
import type { LotMetafieldState, LotMetafieldsRepository } from './lots-metafields.repository.js';

/**
 * Lots to Shopify: per variant, the lots on hand at the ERP locations mapped to Shopify
 * locations (number, quantity in the ERP's unit, expiry, location), soonest expiry first, as the
 * JSON metafield `stockbridge.lots`.
 *
 * Guarantees:
 * - A variant whose value did not change since Stockbridge last wrote it costs no Shopify call
 *   (the value's digest is kept per variant in `sync_lot_metafields`); a variant that never had
 *   lots gets no metafield.
 * - Every write is guarded by the `compareDigest` of the last write (or read): a metafield
 *   changed meanwhile in Shopify (a merchant, another instance) is re-read and the write retried
 *   once with the fresh digest; still stale, it is counted failed and tried again at the next push
 *   (its recorded digest is unchanged, so the variant still differs).
 * - Writes go 25 variants per `metafieldsSet`, through the client's cost bucket (the background
 *   lane, like the quantity pushes); one refused variant never blocks the others.
 * - The definition (type `json`, a name and description merchants see) is created once per
 *   process before the first write, and again an hour after a failure; a failure never holds
 *   the writes back (Shopify takes `json` metafields without one).
 */

export const LOTS_METAFIELD_NAMESPACE = 'stockbridge';
export const LOTS_METAFIELD_KEY = 'lots';
export const LOTS_METAFIELD_DEFINITION: VariantMetafieldDefinition = {
  namespace: LOTS_METAFIELD_NAMESPACE,
  key: LOTS_METAFIELD_KEY,
  type: 'json',
  name: 'Lots on hand',
  description:
    'Lots (batches) on hand at each location: number, quantity, expiry date (soonest first). Written by Stockbridge from the ERP whenever they change; edits made here are overwritten.',
};
/** Lots kept per variant (soonest expiry first): a metafield value stays far below Shopify's size limit. */
const MAX_LOTS_PER_VARIANT = 250;
const DEFINITION_RETRY_MS = 60 * 60_000;

/** One lot as written in the metafield. */
export interface MetafieldLot {
  readonly number: string;
  readonly location: string;
  readonly shopifyLocationId: string;
  readonly quantity: number;
  readonly expiresOn: string | null;
}

export interface LotsMetafieldValue {
  readonly lots: readonly MetafieldLot[];
  /** Lots left out beyond the first 250 (latest expiry). */
  readonly omitted?: number;
}

export interface LotsPushTally {
  /** Variants compared. */
  considered: number;
  /** Variants written (dry: would be written). */
  written: number;
  unchanged: number;
  failed: number;
  /** Writes refused as stale and retried with a fresh digest. */
  staleRetried: number;
}

export const emptyLotsTally = (): LotsPushTally => ({ considered: 0, written: 0, unchanged: 0, failed: 0, staleRetried: 0 });

export interface LotsPusherDeps {
  readonly shopify: Pick<ShopifyClient, 'writeVariantMetafields' | 'getVariantMetafields' | 'ensureVariantMetafieldDefinition'>;
  readonly mapping: { getPushTargets(skus: readonly string[]): Promise<PushTarget[]> };
  /** The read model's lots (written by the ATP engine with the positions): no ERP call. */
  readonly reader: Pick<InventoryLotsReader, 'lotsBySkus'>;
  readonly lots: LotMetafieldsRepository;
  readonly log: Logger;
  readonly now: () => Date;
}

/** The value of one variant: its lots at its mapped locations, soonest expiry first (no expiry last). */
export function lotsValueOf(lots: readonly StoredLot[], locations: ReadonlyMap<string, string>): LotsMetafieldValue {
  const sorted = lots
    .filter((lot) => locations.has(lot.location) && lot.quantity !== 0)
    .map((lot) => ({ number: lot.number, location: lot.location, shopifyLocationId: locations.get(lot.location)!, quantity: lot.quantity, expiresOn: lot.expiresOn }))
    .sort(
      (a, b) =>
        (a.expiresOn ?? '9999-99-99').localeCompare(b.expiresOn ?? '9999-99-99') || a.number.localeCompare(b.number) || a.location.localeCompare(b.location),
    );
  if (sorted.length <= MAX_LOTS_PER_VARIANT) return { lots: sorted };
  return { lots: sorted.slice(0, MAX_LOTS_PER_VARIANT), omitted: sorted.length - MAX_LOTS_PER_VARIANT };
}

const digestOf = (value: string) => createHash('sha256').update(value).digest('hex');

interface PlannedWrite {
  readonly variantId: string;
  readonly sku: string;
  readonly value: string;
  readonly valueDigest: string;
  readonly lotsDigest: string | null;
  compareDigest: string | null;
}

export class LotsPusher {
  #definitionTriedAt: number | null = null;
  #definitionReady = false;

  constructor(private readonly deps: LotsPusherDeps) {}

  /** Creates the metafield definition unless this process did (or tried within the hour). */
  async ensureDefinition(): Promise<void> {
    if (this.#definitionReady) return;
    const now = this.deps.now().getTime();
    if (this.#definitionTriedAt !== null && now - this.#definitionTriedAt < DEFINITION_RETRY_MS) return;
    this.#definitionTriedAt = now;
    try {
      const result = await this.deps.shopify.ensureVariantMetafieldDefinition(LOTS_METAFIELD_DEFINITION);
      this.#definitionReady = true;
      this.deps.log.info({ namespace: LOTS_METAFIELD_NAMESPACE, key: LOTS_METAFIELD_KEY, result }, 'lots metafield definition in place');
    } catch (error) {
      this.deps.log.warn({ err: error }, 'could not create the lots metafield definition; lots are written without it, retried in an hour');
    }
  }

  /**
   * Brings the lots metafield of every variant of these SKUs up to date; `dryRun` only counts
   * what would be written. Shopify failures of single variants are counted, never thrown.
   */
  async pushSkus(skus: readonly string[], options: { dryRun?: boolean } = {}): Promise<LotsPushTally> {
    const tally = emptyLotsTally();
    if (skus.length === 0) return tally;
    const { lots: repository, mapping } = this.deps;
    const targets = await mapping.getPushTargets(skus);
    if (targets.length === 0) return tally;
    const variants = new Map<string, { sku: string; locations: Map<string, string> }>();
    for (const target of targets) {
      const entry = variants.get(target.variantId) ?? { sku: target.sku, locations: new Map<string, string>() };
      entry.locations.set(target.location, target.shopifyLocationId);
      variants.set(target.variantId, entry);
    }
    const mappedSkus = [...new Set(targets.map((target) => target.sku))];
    const [lotsBySku, states] = await Promise.all([this.deps.reader.lotsBySkus(mappedSkus), repository.getStates([...variants.keys()])]);

    const writes: PlannedWrite[] = [];
    for (const [variantId, { sku, locations }] of [...variants].sort(([a], [b]) => a.localeCompare(b))) {
      const skuLots = lotsBySku.get(sku);
      const value = lotsValueOf(skuLots?.lots ?? [], locations);
      const state = states.get(variantId);
      if (!state && value.lots.length === 0) continue;
      tally.considered += 1;
      const json = JSON.stringify(value);
      const valueDigest = digestOf(json);
      if (state?.valueDigest === valueDigest) {
        tally.unchanged += 1;
        continue;
      }
      writes.push({ variantId, sku, value: json, valueDigest, lotsDigest: skuLots?.digest ?? null, compareDigest: state?.compareDigest ?? null });
    }
    if (writes.length === 0) return tally;
    if (options.dryRun) {
      tally.written += writes.length;
      return tally;
    }
    await this.ensureDefinition();
    await this.#write(writes, tally);
    return tally;
  }

  async #write(writes: PlannedWrite[], tally: LotsPushTally): Promise<void> {
    const { shopify, log } = this.deps;
    const first = await shopify.writeVariantMetafields(writes.map(toInput));
    const stale = await this.#settle(writes, first, tally);
    if (stale.length === 0) return;

    // Changed in Shopify since our last write (or never written by us but present): read the
    // current digest and write once more over it (the ERP is the source of the lots).
    tally.staleRetried += stale.length;
    const current = await shopify.getVariantMetafields(stale.map((write) => write.variantId), LOTS_METAFIELD_NAMESPACE);
    const fresh = new Map(current.filter((field) => field.key === LOTS_METAFIELD_KEY).map((field) => [field.variantId, field.compareDigest ?? null]));
    for (const write of stale) write.compareDigest = fresh.get(write.variantId) ?? null;
    const second = await shopify.writeVariantMetafields(stale.map(toInput));
    const staleAgain = await this.#settle(stale, second, tally);
    if (staleAgain.length > 0) {
      tally.failed += staleAgain.length;
      log.warn({ variants: staleAgain.slice(0, 5).map((write) => write.variantId), count: staleAgain.length }, 'lots metafields kept changing in Shopify during the push; tried again at the next push');
    }
  }

  /** Records the applied writes, counts the failed ones, returns the stale ones. */
  async #settle(writes: readonly PlannedWrite[], outcomes: readonly MetafieldWriteOutcome[], tally: LotsPushTally): Promise<PlannedWrite[]> {
    const applied: Omit<LotMetafieldState, 'writtenAt'>[] = [];
    const stale: PlannedWrite[] = [];
    const failed: { variantId: string; code: string; message: string }[] = [];
    writes.forEach((write, index) => {
      const outcome = outcomes[index]!;
      if (outcome.status === 'applied') {
        applied.push({ variantId: write.variantId, sku: write.sku, valueDigest: write.valueDigest, lotsDigest: write.lotsDigest, compareDigest: outcome.compareDigest });
      } else if (outcome.status === 'stale') stale.push(write);
      else failed.push({ variantId: write.variantId, code: outcome.code, message: outcome.message });
    });
    await this.deps.lots.recordWritten(applied, this.deps.now());
    tally.written += applied.length;
    tally.failed += failed.length;
    if (failed.length > 0) this.deps.log.warn({ count: failed.length, sample: failed.slice(0, 5) }, 'Shopify refused some lots metafields; tried again at the next push');
    return stale;
  }
}

function toInput(write: PlannedWrite): GuardedVariantMetafield {
  return { variantId: write.variantId, namespace: LOTS_METAFIELD_NAMESPACE, key: LOTS_METAFIELD_KEY, type: 'json', value: write.value, compareDigest: write.compareDigest };
}
