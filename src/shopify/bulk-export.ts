import type { Logger } from '../logger.js';
import type { BulkOperationStatusQuery, RunBulkQueryMutation } from './__generated__/admin.types.js';
import { prepareOperation, type AdminApiTransport } from './admin-api-transport.js';
import type { Clock } from './cost-bucket.js';
import { bulkOperationStatusDocument, runBulkQueryDocument } from './operations/bulk.operations.js';
import { ShopifyError } from './shopify.errors.js';

const runBulkQuery = prepareOperation(runBulkQueryDocument);
const bulkOperationStatus = prepareOperation(bulkOperationStatusDocument);

export interface BulkExportOptions {
  transport: AdminApiTransport;
  logger: Logger;
  clock: Clock;
  /** Give up waiting for Shopify to finish the export after this long (default 2 h). */
  timeoutMs?: number;
  /** First poll interval; it grows to `maxPollIntervalMs` (defaults 250 ms and 10 s). */
  pollIntervalMs?: number;
  maxPollIntervalMs?: number;
}

/**
 * Runs one bulk query and yields each JSONL line of its result as parsed JSON, reading the file
 * as a stream. Polling costs one point per status read, so the interval grows while Shopify works.
 */
export async function* runBulkExport(options: BulkExportOptions, query: string): AsyncGenerator<Record<string, unknown>> {
  const { transport, logger, clock } = options;
  const started = await transport.request<RunBulkQueryMutation>(runBulkQuery, { query });
  const payload = started.data.bulkOperationRunQuery;
  const operation = payload?.bulkOperation;
  if (!operation || (payload?.userErrors.length ?? 0) > 0) {
    throw new ShopifyError('SHOPIFY_BULK_OPERATION_FAILED', `Shopify refused the bulk export: ${payload?.userErrors.map((error) => error.message).join('; ') ?? 'no payload'}`, {
      userErrors: payload?.userErrors ?? [],
    });
  }

  const deadline = clock.now() + (options.timeoutMs ?? 2 * 60 * 60 * 1000);
  let interval = options.pollIntervalMs ?? 250;
  let url: string | null = null;
  for (;;) {
    const { data } = await transport.request<BulkOperationStatusQuery>(bulkOperationStatus, { id: operation.id });
    const status = data.bulkOperation;
    if (!status) throw new ShopifyError('SHOPIFY_BULK_OPERATION_FAILED', `bulk operation ${operation.id} disappeared`, { id: operation.id });
    if (status.status === 'COMPLETED') {
      url = status.url;
      logger.debug({ id: operation.id, objectCount: status.objectCount }, 'bulk export completed');
      break;
    }
    if (status.status !== 'CREATED' && status.status !== 'RUNNING') {
      throw new ShopifyError('SHOPIFY_BULK_OPERATION_FAILED', `bulk operation ${operation.id} ended ${status.status}${status.errorCode ? ` (${status.errorCode})` : ''}`, {
        id: operation.id,
        status: status.status,
        errorCode: status.errorCode,
      });
    }
    if (clock.now() >= deadline) {
      throw new ShopifyError('SHOPIFY_BULK_OPERATION_FAILED', `bulk operation ${operation.id} still ${status.status} at the deadline`, { id: operation.id });
    }
    await clock.sleep(interval);
    interval = Math.min(options.maxPollIntervalMs ?? 10_000, interval * 1.5);
  }
  // No objects: Shopify gives no file.
  if (!url) return;

  const response = await fetchResult(url);
  if (!response.body) return;
  const decoder = new TextDecoder();
  let buffered = '';
  const lines: Record<string, unknown>[] = [];
  const take = (text: string) => {
    const line = text.trim();
    if (!line) return;
    try {
      lines.push(JSON.parse(line) as Record<string, unknown>);
    } catch (error) {
      throw new ShopifyError('SHOPIFY_BAD_RESPONSE', 'bulk export result holds a line that is not JSON', { id: operation.id }, { cause: error });
    }
  };
  const chunks = response.body as unknown as AsyncIterable<Uint8Array>;
  const iterator = chunks[Symbol.asyncIterator]();
  for (;;) {
    let next: IteratorResult<Uint8Array>;
    try {
      next = await iterator.next();
    } catch (error) {
      throw new ShopifyError('SHOPIFY_BULK_OPERATION_FAILED', 'the bulk export download broke off', { id: operation.id }, { cause: error });
    }
    if (next.done) break;
    buffered += decoder.decode(next.value, { stream: true });
    let newline = buffered.indexOf('\n');
    while (newline >= 0) {
      take(buffered.slice(0, newline));
      buffered = buffered.slice(newline + 1);
      newline = buffered.indexOf('\n');
    }
    yield* lines.splice(0);
  }
  take(buffered + decoder.decode());
  yield* lines.splice(0);
}

/** The result file lives on Shopify's storage, outside the Admin API and its bucket; a few plain retries. */
async function fetchResult(url: string): Promise<Response> {
  let lastError: unknown = null;
  for (let attempt = 1; attempt <= 3; attempt++) {
    try {
      const response = await fetch(url, { signal: AbortSignal.timeout(10 * 60 * 1000) });
      if (response.ok) return response;
      lastError = new Error(`HTTP ${response.status}`);
      if (response.status < 500) break;
    } catch (error) {
      lastError = error;
    }
    await new Promise((resolve) => setTimeout(resolve, 500 * attempt));
  }
  throw new ShopifyError('SHOPIFY_BULK_OPERATION_FAILED', 'could not download the bulk export result', {}, { cause: lastError });
}
