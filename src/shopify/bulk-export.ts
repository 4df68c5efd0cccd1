// Shopify bulk exports (whole-catalogue reads): start one, wait for Shopify to finish it, and stream
// its JSONL result line by line at the caller's pace.
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
  /** Give up on a result download whose headers have not come after this long (default 10 min). */
  downloadTimeoutMs?: number;
}

/** Per export: what the caller needs between Shopify's end of the export and the download. */
export interface BulkExportRun {
  /**
   * Awaited once the export is COMPLETED and before its result is fetched: a caller that cannot
   * take lines yet (a reconcile still refreshing the ERP) holds the download back here instead of
   * holding an open, stalled connection. A rejection ends the export with that error.
   */
  beforeDownload?: () => Promise<void>;
}

/**
 * Runs one bulk query and yields each JSONL line of its result as parsed JSON, one at a time, as
 * the result file is read: the body is split into lines chunk by chunk, and the next chunk is
 * read only once the caller has taken every line of this one (back-pressure: a slow caller slows
 * the download; memory holds about one chunk, never the file). Polling costs one point per status
 * read, so the interval grows while Shopify works. Ending the iteration early (break, throw)
 * cancels the download.
 */
export async function* runBulkExport(options: BulkExportOptions, query: string, run: BulkExportRun = {}): AsyncGenerator<Record<string, unknown>> {
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
  await run.beforeDownload?.();

  const response = await fetchResult(url, options.downloadTimeoutMs ?? 10 * 60 * 1000);
  if (!response.body) return;
  const reader = response.body.getReader();
  try {
    for await (const line of jsonlLines(reader)) {
      let parsed: Record<string, unknown>;
      try {
        parsed = JSON.parse(line) as Record<string, unknown>;
      } catch (error) {
        throw new ShopifyError('SHOPIFY_BAD_RESPONSE', 'bulk export result holds a line that is not JSON', { id: operation.id }, { cause: error });
      }
      yield parsed;
    }
  } catch (error) {
    if (error instanceof ShopifyError) throw error;
    throw new ShopifyError('SHOPIFY_BULK_OPERATION_FAILED', 'the bulk export download broke off', { id: operation.id }, { cause: error });
  } finally {
    // Stopped early (the caller broke off, or failed): the rest of the file is not read.
    await reader.cancel().catch(() => undefined);
  }
}

/**
 * The line splitter: the non-blank lines of a UTF-8 body, each yielded before the next chunk is
 * read. A chunk's lines are cut from one decoded string (no copy per line); only the unfinished
 * tail of a chunk is carried into the next.
 */
export async function* jsonlLines(reader: { read(): Promise<{ done: boolean; value?: Uint8Array | undefined }> }): AsyncGenerator<string> {
  const decoder = new TextDecoder();
  let tail = '';
  for (;;) {
    const { done, value } = await reader.read();
    const text = done ? tail + decoder.decode() : tail + decoder.decode(value, { stream: true });
    let from = 0;
    for (let newline = text.indexOf('\n'); newline >= 0; newline = text.indexOf('\n', from)) {
      const line = text.slice(from, newline).trim();
      from = newline + 1;
      if (line) yield line;
    }
    tail = text.slice(from);
    if (done) break;
  }
  const last = tail.trim();
  if (last) yield last;
}

/**
 * The result file lives on Shopify's storage, outside the Admin API and its bucket; a few plain
 * retries. The timeout covers the answer's headers only: the body is read at the caller's pace
 * (a reconcile comparing and pushing as it reads), however long that takes.
 */
async function fetchResult(url: string, timeoutMs: number): Promise<Response> {
  let lastError: unknown = null;
  for (let attempt = 1; attempt <= 3; attempt++) {
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
    timer.unref();
    try {
      const response = await fetch(url, { signal: controller.signal });
      if (response.ok) return response;
      await response.body?.cancel().catch(() => undefined);
      lastError = new Error(`HTTP ${response.status}`);
      if (response.status < 500) break;
    } catch (error) {
      lastError = error;
    } finally {
      clearTimeout(timer);
    }
    await new Promise((resolve) => setTimeout(resolve, 500 * attempt));
  }
  throw new ShopifyError('SHOPIFY_BULK_OPERATION_FAILED', 'could not download the bulk export result', {}, { cause: lastError });
}
