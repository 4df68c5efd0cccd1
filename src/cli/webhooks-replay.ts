import { userInfo } from 'node:os';
import { setImmediate as yieldToEvents } from 'node:timers/promises';
import { webhookInboxStatuses, type WebhookInboxStatus } from '../db/schema/index.js';
import { createOperatorActions } from '../operator-actions/operator-actions.js';
import type { WebhookDeliveryRecord } from '../orders/order.models.js';
import { createWebhookInboxRepository } from '../orders/webhook-inbox.repository.js';
import { REPLAY_DELIVERIES_MAX_LIMIT, replayDeliveriesByFilter, type ReplayDeliveriesResult } from '../orders/webhook-inbox.replay.js';
import { withDatabase } from './cli-database.js';
import { booleanOption, listOption, startProgress, stringOption, UsageError, type CliIo, type ParsedArgs } from './command.js';

function timeOption(args: ParsedArgs, name: string): Date | null {
  const value = stringOption(args, name);
  if (value === undefined) return null;
  const time = new Date(value);
  if (Number.isNaN(time.getTime())) throw new UsageError(`--${name} must be an ISO 8601 time, got ${value}`);
  return time;
}

/**
 * `webhooks replay`: puts the FAILED and waiting webhook deliveries the ids and filter match back
 * in the inbox, due now, on the database directly (src/orders/webhook-inbox.replay.ts, as the
 * replayWebhookDeliveries mutation does); the running gateways' inbox drains apply them. Many
 * deliveries (after an outage) go in batches of 500, with progress lines on stderr; `--limit`
 * caps the total. Each queued delivery is recorded as an operator action of `cli:<user>`.
 */
export async function runWebhooksReplay(args: ParsedArgs, io: CliIo): Promise<number> {
  const status = stringOption(args, 'status');
  if (status !== undefined && !webhookInboxStatuses.includes(status as WebhookInboxStatus)) throw new UsageError(`--status must be one of ${webhookInboxStatuses.join(', ')}`);
  const limitText = stringOption(args, 'limit');
  const limit = limitText === undefined ? null : Number(limitText);
  if (limit !== null && !(Number.isInteger(limit) && limit >= 1)) throw new UsageError('--limit must be a whole number from 1');
  if (args.values.address !== undefined) throw new UsageError('replay takes no --address');
  const json = booleanOption(args, 'json');
  const dryRun = booleanOption(args, 'dry-run');
  const input = {
    ids: listOption(args, 'id'),
    filter: {
      topic: stringOption(args, 'topic') ?? null,
      status: (status as WebhookInboxStatus | undefined) ?? null,
      receivedAfter: timeOption(args, 'received-after'),
      receivedBefore: timeOption(args, 'received-before'),
    },
  };
  return withDatabase(io, async (database, config) => {
    // The configured store's deliveries; the demo's (whose shop the CLI does not know) all of them.
    const options = { shop: config.shopify.shop && !config.demo ? config.shopify.shop : null, inbox: createWebhookInboxRepository(database.db) };
    const actions = createOperatorActions(database.db);
    const actor = `cli:${userInfo().username}`;
    // First what matches (nothing changed): the counts, the first deliveries and any refusal.
    const first = await replayDeliveriesByFilter(options, { ...input, dryRun: true, limit: Math.min(limit ?? REPLAY_DELIVERIES_MAX_LIMIT, REPLAY_DELIVERIES_MAX_LIMIT) });
    const refused = first.userErrors.some((error) => error.code === 'NO_FILTER' || error.code === 'LIMIT_TOO_LARGE');
    const queued: WebhookDeliveryRecord[] = [];
    let stopped = false;
    if (!dryRun && !refused && first.replayableCount > 0) {
      const total = Math.min(limit ?? first.replayableCount, first.replayableCount);
      const progress = startProgress(io, { unit: 'deliveries queued', silent: json, read: () => ({ done: queued.length, total }) });
      const seen = new Set<number>();
      try {
        // Batch by batch, each one statement; a delivery queued here and failed again meanwhile
        // (a running gateway drains at once) is not taken twice: the total is fixed at the start.
        while (queued.length < total) {
          // The embedded database answers without leaving the microtask queue: let the timers
          // (progress lines) and signals (Ctrl-C) have their turn between batches.
          await yieldToEvents();
          if (io.signal?.aborted) {
            stopped = true;
            break;
          }
          const batch: ReplayDeliveriesResult = await replayDeliveriesByFilter(options, { ...input, dryRun: false, limit: Math.min(REPLAY_DELIVERIES_MAX_LIMIT, total - queued.length) });
          const fresh = batch.queued.filter((delivery) => !seen.has(delivery.id));
          if (fresh.length === 0) break;
          for (const delivery of fresh) seen.add(delivery.id);
          queued.push(...fresh);
          await actions.recordMany(
            fresh.map((delivery) => ({ action: 'replayWebhookDelivery', actor, target: delivery.webhookId, details: { deliveryId: delivery.id, topic: delivery.topic, byFilter: input.ids.length === 0 } })),
          );
        }
      } finally {
        progress.stop();
      }
    }
    const matched = first.matched.edges.map((edge) => edge.node);
    const brief = (delivery: WebhookDeliveryRecord) => ({
      id: String(delivery.id),
      webhookId: delivery.webhookId,
      topic: delivery.topic,
      status: delivery.status,
      attempts: delivery.attempts,
      receivedAt: delivery.receivedAt,
      lastError: delivery.lastError,
    });
    if (json) {
      io.stdout.write(
        `${JSON.stringify({ dryRun, matchedCount: first.matchedCount, replayableCount: first.replayableCount, matched: matched.map(brief), queued: queued.map(brief), stopped, userErrors: first.userErrors }, null, 2)}\n`,
      );
    } else {
      for (const delivery of matched) io.stdout.write(`${delivery.id}  ${delivery.topic.padEnd(16)}  ${delivery.status.padEnd(7)}  ${delivery.lastError ?? '-'}\n`);
      for (const error of first.userErrors) io.stderr.write(`${error.code}: ${error.message}\n`);
      if (stopped) io.stderr.write('stopped: the rest was not queued\n');
      io.stdout.write(`${first.matchedCount} matched, ${first.replayableCount} replayable, ${dryRun ? 'dry run: nothing queued' : `${queued.length} queued`}\n`);
    }
    return refused || stopped ? 1 : 0;
  });
}
