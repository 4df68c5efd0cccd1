import type { WebhookInboxStatus } from '../db/schema/index.js';
import { toConnection } from '../shared/pagination.js';
import { refusedReplay, type ReplayResult } from './replay-result.js';
import type { WebhookDeliveryRecord } from './order.models.js';
import type { DeliveryFilter, WebhookInboxRepository } from './webhook-inbox.repository.js';

/**
 * Replaying stored webhook deliveries by hand: the failed ones (a body that did not parse, one
 * that could not be applied, a refund that gave up waiting for its order) and the ones waiting
 * after an error go back in the inbox, due now; the drain of whichever instance claims them
 * applies them again, exactly as on arrival (the inbox's claims never overlap). On the database
 * alone, so the GraphQL mutation and the operator CLI (`webhooks replay`) both run it.
 */

export interface ReplayDeliveriesInput {
  /** Inbox ids, as `WebhookDelivery.id` shows them. */
  readonly ids?: readonly string[] | null;
  readonly filter?: {
    readonly topic?: string | null;
    readonly status?: WebhookInboxStatus | null;
    readonly receivedAfter?: Date | null;
    readonly receivedBefore?: Date | null;
  } | null;
  readonly dryRun?: boolean | null;
  readonly limit?: number | null;
}

export type ReplayDeliveriesErrorCode = 'NO_FILTER' | 'LIMIT_TOO_LARGE' | 'NOT_FOUND' | 'NOT_REPLAYABLE';

/** `queued`: put back in the inbox, due now. */
export type ReplayDeliveriesResult = ReplayResult<WebhookDeliveryRecord, ReplayDeliveriesErrorCode>;

export const REPLAY_DELIVERIES_DEFAULT_LIMIT = 100;
export const REPLAY_DELIVERIES_MAX_LIMIT = 500;

/** A delivery a replay can help, as the repository's REPLAYABLE condition says (read back in memory). */
function replayable(delivery: WebhookDeliveryRecord, now: number): boolean {
  if (delivery.status === 'FAILED') return delivery.body !== '';
  return delivery.status === 'PENDING' && delivery.lastError !== null && delivery.nextAttemptAt !== null && delivery.nextAttemptAt.getTime() > now;
}

export async function replayDeliveriesByFilter(
  options: { readonly shop: string | null; readonly inbox: WebhookInboxRepository },
  input: ReplayDeliveriesInput,
): Promise<ReplayDeliveriesResult> {
  const dryRun = input.dryRun ?? false;
  const limit = input.limit ?? REPLAY_DELIVERIES_DEFAULT_LIMIT;
  const refuse = (code: ReplayDeliveriesErrorCode, field: string[], message: string): ReplayDeliveriesResult => refusedReplay(dryRun, code, field, message);
  if (!Number.isInteger(limit) || limit < 1 || limit > REPLAY_DELIVERIES_MAX_LIMIT) {
    return refuse('LIMIT_TOO_LARGE', ['input', 'limit'], `limit must be a whole number from 1 to ${REPLAY_DELIVERIES_MAX_LIMIT}`);
  }
  // An empty list names no delivery: no ids filter (the CLI passes one when no --id is given).
  const ids = input.ids?.length ? [...new Set(input.ids.map((id) => id.trim()))] : null;
  const given = input.filter ?? {};
  const topic = given.topic?.trim() || null;
  if (!ids && !topic && !given.status && !given.receivedAfter && !given.receivedBefore) {
    // Replaying the whole inbox is never what an operator means.
    return refuse('NO_FILTER', ['input'], 'give ids or at least one filter: topic, status, receivedAfter or receivedBefore');
  }
  const userErrors: Array<ReplayDeliveriesResult['userErrors'][number]> = [];
  const numeric = (id: string) => /^\d{1,15}$/.test(id);
  const badIds = ids?.filter((id) => !numeric(id)) ?? [];
  if (badIds.length > 0) userErrors.push({ field: ['input', 'ids'], message: `not a webhook delivery id: ${badIds.join(', ')}`, code: 'NOT_FOUND' });
  const filter: DeliveryFilter = {
    ids: ids ? ids.filter(numeric).map(Number) : null,
    topic,
    status: given.status ?? null,
    receivedAfter: given.receivedAfter ?? null,
    receivedBefore: given.receivedBefore ?? null,
  };
  const [rows, matchedCount, replayableCount] = await Promise.all([
    options.inbox.list(options.shop, filter, { first: limit + 1, afterId: null }),
    options.inbox.count(options.shop, filter),
    options.inbox.count(options.shop, { ...filter, replayable: true }),
  ]);
  const matched = toConnection('webhookDeliveries', rows, { first: limit, after: null, keyOf: (delivery) => [delivery.id], totalCount: matchedCount });
  if (filter.ids) {
    const found = new Set(rows.map((delivery) => delivery.id));
    const missing = filter.ids.filter((id) => !found.has(id));
    if (missing.length > 0 && matchedCount <= limit) userErrors.push({ field: ['input', 'ids'], message: `no such webhook delivery: ${missing.join(', ')}`, code: 'NOT_FOUND' });
    const now = Date.now();
    const named = rows.filter((delivery) => !replayable(delivery, now));
    if (named.length > 0) {
      userErrors.push({
        field: ['input', 'ids'],
        message: `a replay cannot help ${named.map((delivery) => `${delivery.id} (${delivery.status}${delivery.status === 'FAILED' ? ', body redacted' : ''})`).join(', ')}: only FAILED deliveries (with their body) and deliveries waiting after an error are replayed`,
        code: 'NOT_REPLAYABLE',
      });
    }
  }
  if (dryRun || replayableCount === 0) return { dryRun, matchedCount, replayableCount, matched, queued: [], userErrors };
  const queued = await options.inbox.queueReplay(options.shop, filter, limit);
  return { dryRun, matchedCount, replayableCount, matched, queued, userErrors };
}
