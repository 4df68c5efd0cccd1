import { z } from 'zod';
import type { AlertSender } from '../alerts/alert-sender.js';
import type { LocationPolicy } from '../db/schema/index.js';
import type { ErpSource } from '../inventory/inventory.port.js';
import { toErpUnits, toShopifyUnits, type MappingService, type ShopifyPushGroup } from '../inventory/inventory.port.js';
import type { Logger } from '../logger.js';
import type { InventoryItemLocation } from '../shopify/shopify-client.js';
import type { LevelEventRecord, MerchantEditsRepository, NewDriftEvent, DriftEventRecord } from './merchant-edits.repository.js';
import { baselineOf, levelKey, type PushPosition } from './push-plan.js';
import type { PushRepository } from './push.repository.js';

/**
 * Edits made in Shopify, noticed within seconds: every `inventory_levels/update` delivery is
 * stored before Shopify gets its 200 (`receive`), then looked at (`drain`) against what
 * Stockbridge knows of the level:
 *
 * - its own write coming back (the value it last set or has in flight, or a change older than
 *   what it last read or set) is an echo: nothing to do;
 * - a value equal to what Stockbridge would set now, or a fall that orders Stockbridge already
 *   knows of explain (their units subtracted from the unexplained drop, see src/sync/README.md),
 *   is recorded as Shopify's value and nothing else;
 * - a rise, which no sale makes, is drift from a merchant's edit: recorded (`MERCHANT_EDIT`,
 *   value before and after), alerted once per SKU and location in a window, and corrected at
 *   once by a push of the ERP's value;
 * - a fall no known order explains may be a sale whose order is on its way: it is held back like
 *   every unexplained drop, and looked at again after a grace period; still unexplained, it is
 *   drift from a merchant's edit and released, so the next push corrects it;
 * - at a position set to follow Shopify (`setLocationPolicy`, FOLLOW_SHOPIFY) the edit is
 *   recorded as drift that is followed: Shopify's value stands and pushes never overwrite it.
 *
 * The decisions are the push executor's arithmetic (the readings go through it), so the
 * oversell invariant holds whatever order deliveries, orders and pushes arrive in.
 */

export const INVENTORY_LEVELS_UPDATE = 'inventory_levels/update';
/** Deliveries taken per pass. */
const EVENTS_PER_CLAIM = 200;
/** A claimed delivery not settled within this comes due again (a crash mid-pass). */
const CLAIM_LEASE_MS = 60_000;
/** Shopify's `updated_at` has whole seconds: within this of our own write it may be that write. */
const TIMESTAMP_SLACK_MS = 1_000;
const RETENTION_MS = 30 * 24 * 60 * 60_000;

/** The part of an `inventory_levels/update` body the check reads (REST ids, numeric). */
const levelUpdateBody = z.object({
  inventory_item_id: z.union([z.number().int(), z.string().regex(/^\d+$/)]),
  location_id: z.union([z.number().int(), z.string().regex(/^\d+$/)]),
  available: z.number().int().nullable(),
  updated_at: z.string().nullable().optional(),
});

/** A signed delivery as the webhook route hands it over. */
export interface LevelUpdateDelivery {
  readonly webhookId: string | undefined;
  readonly eventId: string | undefined;
  readonly body: Buffer;
}

export interface MerchantEditsDeps {
  readonly repository: MerchantEditsRepository;
  readonly positions: Pick<PushRepository, 'getPositionsBySkus' | 'getInFlight' | 'applyDropChanges' | 'markForPushAt' | 'recordReadings'>;
  readonly mapping: Pick<MappingService, 'getErpSources'>;
  /** Pushes groups with Shopify readings (the executor's arithmetic) under INVENTORY_PUSH. */
  readonly push: {
    pushMode(): Promise<'on' | 'shadow' | 'off'>;
    /** `times`: when each reading was Shopify's value (the webhook's `updated_at`); `at` otherwise. */
    pushWithReadings(groups: readonly ShopifyPushGroup[], readings: ReadonlyMap<string, number>, at: Date, times?: ReadonlyMap<string, Date>): Promise<unknown>;
  };
  /** Wakes the event push (positions marked for push). */
  readonly wakePush: () => void;
  readonly alerts: AlertSender;
  readonly log: Logger;
  readonly now: () => Date;
  /** How long a fall waits for the order that may explain it (default 60 s). */
  readonly graceMs?: number;
  /** One alert per SKU and location within this (default 1 h). */
  readonly alertWindowMs?: number;
}

export interface SetLocationPolicyResult {
  readonly policy: { readonly sku: string; readonly location: string; readonly policy: LocationPolicy } | null;
  readonly userErrors: Array<{ field: string[]; message: string; code: 'BLANK_SKU' | 'BLANK_LOCATION' }>;
}

export type DrainOutcome = Record<LevelEventRecord['outcome'], number>;

export class MerchantEditsService {
  constructor(private readonly deps: MerchantEditsDeps) {}

  /** Stores a signed delivery (the only work before the answer); the check runs after it. */
  async receive(delivery: LevelUpdateDelivery, log: Logger): Promise<{ result: 'stored' | 'duplicate' | 'malformed' | 'ignored' }> {
    let parsed: z.infer<typeof levelUpdateBody>;
    try {
      parsed = levelUpdateBody.parse(JSON.parse(delivery.body.toString('utf8')));
    } catch {
      log.warn({ webhookId: delivery.webhookId }, 'inventory_levels/update body is not what the topic promises; ignored');
      return { result: 'malformed' };
    }
    // Untracked items have no `available`: nothing Stockbridge pushes.
    if (parsed.available === null) return { result: 'ignored' };
    const updatedAt = parsed.updated_at ? new Date(parsed.updated_at) : null;
    const stored = await this.deps.repository.storeLevelEvent({
      webhookId: delivery.webhookId ?? delivery.eventId ?? `body:${delivery.body.toString('base64url').slice(0, 200)}`,
      eventId: delivery.eventId ?? null,
      inventoryItemId: `gid://shopify/InventoryItem/${parsed.inventory_item_id}`,
      shopifyLocationId: `gid://shopify/Location/${parsed.location_id}`,
      available: parsed.available,
      shopifyUpdatedAt: updatedAt && !Number.isNaN(updatedAt.getTime()) ? updatedAt : null,
      at: this.deps.now(),
    });
    return { result: stored ? 'stored' : 'duplicate' };
  }

  /** Looks at every due delivery; returns how many ended how. */
  async drain(): Promise<DrainOutcome> {
    const counts = {} as DrainOutcome;
    for (;;) {
      const events = await this.deps.repository.claimDue(this.deps.now(), EVENTS_PER_CLAIM, CLAIM_LEASE_MS);
      if (events.length === 0) return counts;
      const outcomes = await this.#check(events);
      for (const [outcome, ids] of outcomes) counts[outcome] = (counts[outcome] ?? 0) + ids.length;
    }
  }

  nextDue(): Promise<Date | null> {
    return this.deps.repository.findNextDue(this.deps.now());
  }

  /** Old settled deliveries and drift records go after 30 days. */
  async prune(): Promise<void> {
    const before = new Date(this.deps.now().getTime() - RETENTION_MS);
    await this.deps.repository.deleteSettledBefore(before);
    await this.deps.repository.deleteDriftBefore(before);
  }

  /** Sets a position's policy; blank input is refused as user errors (nothing stored). */
  async setLocationPolicy(input: { sku: string; location: string; policy: LocationPolicy }): Promise<SetLocationPolicyResult> {
    const sku = input.sku.trim();
    const location = input.location.trim();
    const userErrors: SetLocationPolicyResult['userErrors'][number][] = [];
    if (!sku) userErrors.push({ field: ['input', 'sku'], message: 'sku must not be blank', code: 'BLANK_SKU' });
    if (!location) userErrors.push({ field: ['input', 'location'], message: 'location must not be blank', code: 'BLANK_LOCATION' });
    if (userErrors.length > 0) return { policy: null, userErrors };
    await this.deps.repository.setPolicy(sku, location, input.policy, this.deps.now());
    // Back to the ERP: the position is pushed again from the ERP's numbers.
    if (input.policy === 'ERP_IS_TRUTH') {
      await this.deps.positions.markForPushAt([{ sku, location, at: this.deps.now() }], 'earliest');
      this.deps.wakePush();
    }
    return { policy: { sku, location, policy: input.policy }, userErrors: [] };
  }

  findLatestDrift(items: readonly { inventoryItemId: string; shopifyLocationId: string }[]): Promise<Map<string, DriftEventRecord>> {
    return this.deps.repository.findLatestDrift(items);
  }

  listDrift(filter: { sku?: string | null; location?: string | null; source?: 'MERCHANT_EDIT' | 'RECONCILE' | null }, limit: number, beforeId: number | null): Promise<DriftEventRecord[]> {
    return this.deps.repository.listDrift(filter, limit, beforeId);
  }

  /** Drift a full reconcile read (recorded by the executor through this, so one place writes drift). */
  async recordReconcileDrift(events: readonly NewDriftEvent[]): Promise<void> {
    if (events.length > 0) await this.deps.repository.recordDrift(events, this.deps.now());
  }

  async #check(events: readonly LevelEventRecord[]): Promise<Map<LevelEventRecord['outcome'], number[]>> {
    const { repository, positions, mapping, log } = this.deps;
    const now = this.deps.now();
    const outcomes = new Map<LevelEventRecord['outcome'], number[]>();
    const settle = (outcome: LevelEventRecord['outcome'], id: number) => outcomes.set(outcome, [...(outcomes.get(outcome) ?? []), id]);

    // The newest delivery of an item × location is Shopify's value; earlier ones are history.
    const latest = new Map<string, LevelEventRecord>();
    for (const event of events) {
      const key = levelKey(event.inventoryItemId, event.shopifyLocationId);
      const previous = latest.get(key);
      if (previous) settle(previous.outcome === 'HELD' ? 'EXPLAINED' : 'STALE', previous.id);
      latest.set(key, event);
    }
    const pairs: InventoryItemLocation[] = [...latest.values()].map((event) => ({ inventoryItemId: event.inventoryItemId, locationId: event.shopifyLocationId }));
    const sources = new Map((await mapping.getErpSources(pairs)).map((source) => [levelKey(source.inventoryItemId, source.shopifyLocationId), source]));
    const skus = [...new Set([...sources.values()].map((source) => source.sku))];
    const [rows, lastPushed, followed, inFlight, mode] = await Promise.all([
      positions.getPositionsBySkus(skus),
      repository.getLastPushed(skus),
      repository.findFollowShopify(skus),
      positions.getInFlight([...sources.values()]),
      this.deps.push.pushMode(),
    ]);
    const byPosition = new Map(rows.map((row) => [`${row.sku}|${row.location}`, row]));

    const toPush: ShopifyPushGroup[] = [];
    const readings = new Map<string, number>();
    const readingTimes = new Map<string, Date>();
    const drift: Array<{ event: NewDriftEvent; alert: boolean }> = [];
    const releases: Array<{ sku: string; location: string; delta: number }> = [];
    const released: Array<{ inventoryItemId: string; shopifyLocationId: string; lastUnexplainedDropAt: Date | null }> = [];
    const marks: Array<{ sku: string; location: string; at: Date }> = [];
    const followedReadings: Array<{ sku: string; location: string; available: number; at: Date }> = [];
    const correcting = mode === 'on';

    for (const [key, event] of latest) {
      const source = sources.get(key);
      const groupPositions = source ? source.erpLocations.map((location) => byPosition.get(`${source.sku}|${location}`)).filter((p): p is PushPosition => p !== undefined) : [];
      if (!source || groupPositions.length === 0) {
        settle('UNMAPPED', event.id);
        continue;
      }
      const group = groupOf(source);
      const location = source.erpLocations.join('+');
      const target = toShopifyUnits(groupPositions.reduce((sum, p) => sum + p.availableToPromise, 0), source.conversion);
      const baseline = baselineOf(groupPositions);
      const driftOf = (before: number | null, expected: number, action: NewDriftEvent['action']): NewDriftEvent => ({
        sku: source.sku,
        location,
        inventoryItemId: source.inventoryItemId,
        shopifyLocationId: source.shopifyLocationId,
        source: 'MERCHANT_EDIT',
        before,
        after: event.available,
        expected,
        action,
      });

      if (event.outcome === 'HELD') {
        // The grace is over: what of the fall is still unexplained was not a sale we will hear of.
        const fall = (event.before ?? event.available) - event.available;
        let remaining = Math.min(
          groupPositions.reduce((sum, p) => sum + Math.max(0, p.unexplainedShopifyDrop), 0),
          toErpUnits(Math.max(0, fall), source.conversion),
        );
        if (remaining <= 1e-9) {
          settle('EXPLAINED', event.id);
          continue;
        }
        const units = remaining;
        drift.push({ event: driftOf(event.before, toShopifyUnits(groupPositions.reduce((sum, p) => sum + p.availableToPromise, 0) + units, source.conversion), correcting ? 'CORRECTED' : 'SHADOW'), alert: true });
        if (correcting) {
          for (const position of groupPositions) {
            const share = Math.min(remaining, Math.max(0, position.unexplainedShopifyDrop));
            if (share <= 0) continue;
            releases.push({ sku: position.sku, location: position.location, delta: -share });
            remaining -= share;
          }
          released.push({ inventoryItemId: source.inventoryItemId, shopifyLocationId: source.shopifyLocationId, lastUnexplainedDropAt: null });
          for (const position of groupPositions) marks.push({ sku: position.sku, location: position.location, at: now });
        }
        settle('DRIFT', event.id);
        continue;
      }

      const pushed = source.erpLocations
        .map((erpLocation) => lastPushed.get(`${source.sku}|${erpLocation}`))
        .filter((row) => row?.lastPushedAt)
        .sort((a, b) => b!.lastPushedAt!.getTime() - a!.lastPushedAt!.getTime())[0];
      const updatedAt = event.shopifyUpdatedAt?.getTime() ?? null;
      const ownWrite =
        baseline?.available === event.available ||
        (inFlight.get(`${source.inventoryItemId}|${source.shopifyLocationId}`) ?? []).includes(event.available) ||
        (pushed?.lastPushedQuantity === event.available && (updatedAt === null || updatedAt <= pushed.lastPushedAt!.getTime() + TIMESTAMP_SLACK_MS));
      if (ownWrite) {
        settle('ECHO', event.id);
        continue;
      }
      if (updatedAt !== null && baseline?.at && updatedAt + TIMESTAMP_SLACK_MS < baseline.at.getTime()) {
        settle('STALE', event.id);
        continue;
      }
      if (source.erpLocations.some((erpLocation) => followed.has(`${source.sku}|${erpLocation}`))) {
        drift.push({ event: driftOf(baseline?.available ?? null, target, 'FOLLOWED'), alert: false });
        for (const position of groupPositions) followedReadings.push({ sku: position.sku, location: position.location, available: event.available, at: now });
        settle('FOLLOWED', event.id);
        continue;
      }

      // Every other reading goes through the push's arithmetic (drops held, credits released,
      // the difference corrected), like a reconcile of this one level.
      toPush.push(group);
      readings.set(key, event.available);
      // Dated when Shopify held that value, not when we processed it: orders counted since may
      // have sold after it, and the push's arithmetic must not take their credit for this reading.
      readingTimes.set(key, event.shopifyUpdatedAt ?? event.receivedAt);
      if (baseline === null || event.available === target) {
        settle('CONSISTENT', event.id);
      } else if (event.available > baseline.available) {
        drift.push({ event: driftOf(baseline.available, target, correcting ? 'CORRECTED' : 'SHADOW'), alert: true });
        settle('DRIFT', event.id);
      } else {
        const credit = Math.max(0, -groupPositions.reduce((sum, p) => sum + p.unexplainedShopifyDrop, 0));
        const fall = baseline.available - event.available;
        if (fall <= toShopifyUnits(credit, source.conversion)) settle('EXPLAINED', event.id);
        else {
          await repository.hold(event.id, baseline.available, new Date(now.getTime() + (this.deps.graceMs ?? 60_000)));
          outcomes.set('HELD', [...(outcomes.get('HELD') ?? []), event.id]);
        }
      }
    }

    if (followedReadings.length > 0) await positions.recordReadings(followedReadings);
    if (toPush.length > 0) await this.deps.push.pushWithReadings(toPush, readings, now, readingTimes);
    if (releases.length > 0 || released.length > 0) await positions.applyDropChanges(releases, released, now);
    if (marks.length > 0) {
      await positions.markForPushAt(marks, 'earliest');
      this.deps.wakePush();
    }
    if (drift.length > 0) await this.#recordAndAlert(drift, now);
    for (const [outcome, ids] of outcomes) if (outcome !== 'HELD') await repository.settle(ids, outcome, now);
    const found = drift.filter((d) => d.event.action !== 'FOLLOWED').length;
    if (found > 0) log.warn({ drift: found, sample: drift.slice(0, 5).map((d) => d.event) }, "Shopify levels changed outside Stockbridge (merchant edits); the ERP's values are pushed back");
    return outcomes;
  }

  async #recordAndAlert(drift: ReadonlyArray<{ event: NewDriftEvent; alert: boolean }>, now: Date): Promise<void> {
    const { repository, alerts } = this.deps;
    const recorded = await repository.recordDrift(drift.map((d) => d.event), now);
    const since = new Date(now.getTime() - (this.deps.alertWindowMs ?? 60 * 60_000));
    for (const [index, record] of recorded.entries()) {
      if (!drift[index]!.alert) continue;
      if (!(await repository.claimAlert(record.id, record, since, now))) continue;
      alerts.send({
        code: 'SHOPIFY_MERCHANT_EDIT',
        severity: 'warning',
        message: `${record.sku} at ${record.location}: Shopify's available was changed outside Stockbridge from ${record.before ?? 'unknown'} to ${record.after}; the ERP gives ${record.expected}${record.action === 'CORRECTED' ? ', pushed back' : ' (INVENTORY_PUSH is not on: not corrected)'}. To run this location from Shopify: setLocationPolicy(policy: FOLLOW_SHOPIFY).`,
        details: {
          sku: record.sku,
          location: record.location,
          inventoryItemId: record.inventoryItemId,
          shopifyLocationId: record.shopifyLocationId,
          before: record.before,
          after: record.after,
          expected: record.expected,
          action: record.action,
        },
      });
    }
  }
}

function groupOf(source: ErpSource): ShopifyPushGroup {
  return {
    sku: source.sku,
    inventoryItemId: source.inventoryItemId,
    variantId: source.variantId,
    shopifySku: null,
    shopifyLocationId: source.shopifyLocationId,
    erpLocations: source.erpLocations,
    conversion: source.conversion,
  };
}
