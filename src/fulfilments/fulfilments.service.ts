import type { AlertSender } from '../alerts/alert-sender.js';
import type { ErpConnector } from '../erp/erp-connector.js';
import type { Logger } from '../logger.js';
import type { JobFence } from '../scheduler/fence.js';
import { AppError, isAppError } from '../shared/errors.js';
import type { ShopifyClient } from '../shopify/shopify-client.js';
import { findOwnFulfillment, planFulfilment, type ItemIdentity } from './fulfilment-plan.js';
import {
  fulfilmentErrorCodeOf,
  shopifyOrderGid,
  shopifyOrderIdOfReference,
  type ClaimedFulfilment,
  type FulfilmentMappingLookup,
  type FulfilmentRecord,
  type FulfilmentShipmentLine,
} from './fulfilments.models.js';
import type { FulfilmentsRepository, FulfilmentUpdate } from './fulfilments.repository.js';

export interface FulfilmentsServiceOptions {
  readonly repository: FulfilmentsRepository;
  readonly erp: ErpConnector;
  readonly shopify: ShopifyClient;
  /** The inventory domain's SKU and location mapping; without it SKUs are matched as they are. */
  readonly mapping?: FulfilmentMappingLookup;
  readonly alerts?: AlertSender;
  readonly log: Logger;
  readonly now: () => Date;
  /**
   * Told the Shopify orders (numeric ids) of the shipments just recorded: the orders domain
   * releases their pending units at once (OrderProcessor.checkShipped). A failure is logged; the
   * periodic allocation check still covers them.
   */
  readonly onShipped?: (shopifyOrderIds: readonly string[], signal?: AbortSignal) => Promise<unknown>;
  /** FULFILMENT_NOTIFY_CUSTOMER: Shopify e-mails the customer the shipment and its tracking. */
  readonly notifyCustomer: boolean;
  /**
   * How long a worker holds a row (default 10 min): longer than a fulfilment can spend queued
   * for Shopify's cost bucket and in flight, so no other worker looks it up while it is sent.
   */
  readonly claimMs?: number;
  /**
   * How long after a fulfilment was sent a look-up that does not find it is conclusive (default
   * 2 min, beyond the Admin API call's own timeout): before, Shopify may still be applying it.
   */
  readonly settleMs?: number;
  /** First retry delay after a failure (default 30 s), doubling up to `retryMaxMs` (default 1 h). */
  readonly retryBaseMs?: number;
  readonly retryMaxMs?: number;
  /** Failures of one shipment after which it is FAILED and alerted (default 5); it is still retried. */
  readonly failAfterAttempts?: number;
  /** Rows claimed at a time (default 20). */
  readonly batchSize?: number;
}

export type FulfilmentOutcome = 'fulfilled' | 'skipped' | 'waiting' | 'retrying' | 'failed' | 'lost-claim';

export interface FulfilmentsService {
  /**
   * One step of the ERP shipment feed: the shipments done since the stored watermark are recorded
   * (each once) and only then the watermark moves, both under the feed job's fence. The first
   * step starts from now: shipments done before the gateway followed the feed are not written.
   */
  pollShipments(context: { readonly fence: JobFence; readonly signal?: AbortSignal }): Promise<{ supported: boolean; reported: number; recorded: number }>;
  /** Writes every due shipment to Shopify (claimed, one at a time per order); returns the outcomes. */
  processDue(context?: { readonly signal?: AbortSignal }): Promise<Record<FulfilmentOutcome, number>>;
  /** The fulfilments of these Shopify orders (numeric ids), oldest shipment first. */
  fulfilmentsOfOrders(shopifyOrderIds: readonly string[]): Promise<FulfilmentRecord[]>;
  findByShipmentId(shipmentId: string): Promise<FulfilmentRecord | null>;
}

/** Failures no retry by itself will mend: FAILED and alerted at once (still retried slowly, in case the cause is fixed). */
const NEEDS_PEOPLE = new Set(['FULFILMENT_LINES_UNMATCHED', 'FULFILMENT_ORDER_UNKNOWN', 'SHOPIFY_UNAUTHORIZED']);

/** What `lastError` says per code: written by the gateway (Shopify's and the ERP's own words go to the log). */
function describe(code: string, error: unknown): string {
  switch (code) {
    case 'FULFILMENT_LINES_UNMATCHED':
    case 'FULFILMENT_ORDER_UNKNOWN':
    case 'SHOPIFY_ORDER_NOT_FOUND':
      return (error as AppError).message;
    case 'SHOPIFY_USER_ERROR':
      return 'Shopify refused the fulfilment (the order changed in Shopify?); it is planned again on the next attempt';
    case 'SHOPIFY_IN_DOUBT':
      return "Shopify's answer to the fulfilment was lost; the order's fulfilments are checked before anything is sent again";
    case 'SHOPIFY_UNAVAILABLE':
      return 'Shopify could not be reached; retrying';
    case 'SHOPIFY_UNAUTHORIZED':
      return 'Shopify refused the access token or a scope (write_merchant_managed_fulfillment_orders?)';
    default:
      return `The fulfilment failed (${code}); retrying`;
  }
}

export function createFulfilmentsService(options: FulfilmentsServiceOptions): FulfilmentsService {
  const { repository, shopify, log } = options;
  const claimMs = options.claimMs ?? 10 * 60_000;
  const settleMs = options.settleMs ?? 2 * 60_000;
  const retryBaseMs = options.retryBaseMs ?? 30_000;
  const retryMaxMs = options.retryMaxMs ?? 60 * 60_000;
  const failAfter = options.failAfterAttempts ?? 5;
  const batchSize = options.batchSize ?? 20;
  const later = (ms: number) => new Date(options.now().getTime() + ms);
  const backoff = (attempts: number) => Math.min(retryMaxMs, retryBaseMs * 2 ** Math.max(0, attempts - 1));

  async function identities(lines: readonly FulfilmentShipmentLine[]): Promise<{ items: Map<string, ItemIdentity>; locations: Map<string, Set<string>> }> {
    const items = new Map<string, ItemIdentity>();
    const locations = new Map<string, Set<string>>();
    if (!options.mapping) return { items, locations };
    const skus = [...new Set(lines.map((line) => line.sku))];
    for (const mapping of await options.mapping.findSkuMappingsBySkus(skus)) {
      const known = items.get(mapping.erpSku);
      const inventoryItemIds = new Set(known?.inventoryItemIds ?? []);
      const names = new Set(known?.skus ?? [mapping.erpSku.toLowerCase()]);
      if (mapping.shopifyInventoryItemId) inventoryItemIds.add(mapping.shopifyInventoryItemId);
      if (mapping.shopifySku) names.add(mapping.shopifySku.toLowerCase());
      items.set(mapping.erpSku, { inventoryItemIds, skus: names, conversion: known?.conversion ?? mapping.conversion });
    }
    for (const location of await options.mapping.listLocationMappings()) {
      const ids = locations.get(location.erpLocation) ?? new Set<string>();
      ids.add(location.shopifyLocationId);
      locations.set(location.erpLocation, ids);
    }
    return { items, locations };
  }

  async function write(row: ClaimedFulfilment, update: FulfilmentUpdate): Promise<boolean> {
    const written = await repository.update(row.id, row.token, update, options.now(), claimMs);
    if (!written) log.warn({ shipment: row.shipmentReference, fulfilmentId: row.id }, 'fulfilment claim lost before its write: another worker has it');
    return written;
  }

  async function fail(row: ClaimedFulfilment, error: unknown, inDoubt: boolean): Promise<FulfilmentOutcome> {
    const code = isAppError(error) ? fulfilmentErrorCodeOf(error.code) : 'INTERNAL_ERROR';
    const attempts = row.attempts + 1;
    const failed = attempts >= failAfter || NEEDS_PEOPLE.has(code);
    const message = describe(code, error);
    log.warn({ err: error, shipment: row.shipmentReference, shopifyOrderId: row.shopifyOrderId, attempts, code }, 'fulfilment attempt failed');
    const alert = failed && row.alertedAt === null;
    const written = await write(row, {
      status: failed ? 'FAILED' : inDoubt ? 'SUBMITTING' : 'PENDING',
      nextAttemptAt: later(inDoubt && !failed ? Math.max(settleMs, backoff(attempts)) : backoff(attempts)),
      ...(inDoubt ? {} : { submittedAt: null }),
      attempts,
      lastErrorCode: code,
      lastError: message,
      ...(alert ? { alertedAt: options.now() } : {}),
    });
    if (written && alert) {
      options.alerts?.send({
        code: 'FULFILMENT_FAILED',
        severity: 'warning',
        message: `Shipment ${row.shipmentReference} could not be written to Shopify as a fulfilment: ${message}`,
        details: { shipment: row.shipmentReference, salesOrder: row.salesOrderReference, shopifyOrderId: row.shopifyOrderId, code, attempts },
      });
    }
    return written ? (failed ? 'failed' : 'retrying') : 'lost-claim';
  }

  async function processOne(row: ClaimedFulfilment): Promise<FulfilmentOutcome> {
    if (row.shopifyOrderId === null) {
      return fail(row, new AppError('FULFILMENT_ORDER_UNKNOWN', `Sales order ${row.salesOrderReference} was not made from a Shopify order`), false);
    }
    let sent = false;
    try {
      const state = await shopify.getOrderFulfilments(shopifyOrderGid(row.shopifyOrderId));
      if (!state) throw new AppError('SHOPIFY_ORDER_NOT_FOUND', `Shopify has no order ${row.shopifyOrderId}`);
      if (row.submittedAt !== null) {
        const own = findOwnFulfillment(row, state, await repository.fulfillmentIdsOfOrder(row.shopifyOrderId, row.id));
        if (own !== null) {
          log.info({ shipment: row.shipmentReference, fulfillment: own }, 'fulfilment whose answer was lost found in Shopify: recorded, not sent again');
          const written = await write(row, { status: 'FULFILLED', shopifyFulfillmentIds: [own], submittedAt: null, lastErrorCode: null, lastError: null });
          return written ? 'fulfilled' : 'lost-claim';
        }
        const settlesAt = row.submittedAt.getTime() + settleMs;
        if (options.now().getTime() < settlesAt) {
          const written = await write(row, { status: row.status, nextAttemptAt: new Date(settlesAt) });
          return written ? 'waiting' : 'lost-claim';
        }
        log.info({ shipment: row.shipmentReference }, 'fulfilment sent before was not applied by Shopify (settled, not found): planning it again');
      }
      const { items, locations } = await identities(row.lines);
      const plan = planFulfilment({ lines: row.lines, state, items, locations });
      if (plan.kind === 'unmatched') {
        throw new AppError('FULFILMENT_LINES_UNMATCHED', `No line of the Shopify order is ${plan.skus.join(', ')} (check the SKU mapping)`, { skus: plan.skus });
      }
      if (plan.kind === 'nothing-left') {
        const note =
          state.cancelledAt !== null
            ? 'The order was cancelled in Shopify: nothing left to fulfil'
            : 'Every shipped unit was already fulfilled in Shopify (by hand or by another app): not fulfilled again';
        const written = await write(row, { status: 'SKIPPED_MANUAL', note, submittedAt: null, plannedLines: null, lastErrorCode: null, lastError: null });
        return written ? 'skipped' : 'lost-claim';
      }
      if (!(await write(row, { status: 'SUBMITTING', plannedLines: plan.lines, submittedAt: options.now(), keepClaim: true }))) return 'lost-claim';
      row = { ...row, status: 'SUBMITTING', submittedAt: options.now(), plannedLines: plan.lines };
      sent = true;
      const created = await shopify.createFulfillment({
        lines: plan.lines,
        tracking: row.trackingNumber || row.carrier || row.trackingUrl ? { number: row.trackingNumber, company: row.carrier, url: row.trackingUrl } : null,
        notifyCustomer: options.notifyCustomer,
      });
      const note =
        plan.leftOver.length > 0
          ? `Already fulfilled in Shopify, not fulfilled again: ${plan.leftOver.map((left) => `${left.units} × ${left.sku}`).join(', ')}`
          : null;
      const written = await write(row, { status: 'FULFILLED', shopifyFulfillmentIds: [created.id], submittedAt: null, note, lastErrorCode: null, lastError: null });
      return written ? 'fulfilled' : 'lost-claim';
    } catch (error) {
      // In doubt: sent, answer lost. Refused or failed before sending: nothing was applied.
      const inDoubt = row.submittedAt !== null && (!sent || (isAppError(error) && error.code === 'SHOPIFY_IN_DOUBT'));
      return fail(row, error, inDoubt);
    }
  }

  return {
    async pollShipments({ fence, signal }) {
      const erp = options.erp.forLane('background', { signal });
      if (!erp.getShipmentsChangedSince || erp.capabilities.shipments !== true) return { supported: false, reported: 0, recorded: 0 };
      const watermark = await repository.getWatermark();
      const changes = await erp.getShipmentsChangedSince(watermark);
      const recorded = await repository.recordShipments(
        changes.shipments.map((shipment) => ({
          shipmentId: shipment.id,
          shipmentReference: shipment.erpReference,
          salesOrderReference: shipment.salesOrderReference,
          shopifyOrderId: shopifyOrderIdOfReference(shipment.salesOrderReference),
          carrier: shipment.carrier,
          trackingNumber: shipment.trackingNumber,
          trackingUrl: shipment.trackingUrl,
          shippedAt: new Date(shipment.shippedAt),
          lines: shipment.lines.map((line) => ({ sku: line.sku, quantity: line.quantity, location: line.location, lotNumber: line.lotNumber })),
        })),
        changes.nextWatermark,
        options.now(),
        fence,
      );
      if (changes.shipments.length > 0) log.info({ reported: changes.shipments.length, recorded }, 'ERP shipments recorded for Shopify');
      const shipped = [...new Set(changes.shipments.map((shipment) => shopifyOrderIdOfReference(shipment.salesOrderReference)).filter((id): id is string => id !== null))];
      if (shipped.length > 0 && options.onShipped) {
        await options.onShipped(shipped, signal).catch((error: unknown) => log.warn({ err: error, orders: shipped.length }, "could not release shipped orders' pending units; the allocation check will"));
      }
      return { supported: true, reported: changes.shipments.length, recorded };
    },

    async processDue({ signal } = {}) {
      const outcomes: Record<FulfilmentOutcome, number> = { fulfilled: 0, skipped: 0, waiting: 0, retrying: 0, failed: 0, 'lost-claim': 0 };
      // Each row once per call: one that is due again at once (no backoff) waits for the next run.
      const seen: number[] = [];
      for (;;) {
        if (signal?.aborted) break;
        const claimed = await repository.claimDue(options.now(), claimMs, batchSize, seen);
        if (claimed.length === 0) break;
        for (const row of claimed) {
          seen.push(row.id);
          if (signal?.aborted) break;
          outcomes[await processOne(row)] += 1;
        }
      }
      return outcomes;
    },

    fulfilmentsOfOrders: (ids) => repository.findByShopifyOrderIds(ids),
    findByShipmentId: (id) => repository.findByShipmentId(id),
  };
}
