import { createAdminApiClient, type AdminApiClient } from '@shopify/admin-api-client';
import Bottleneck from 'bottleneck';
import type { DocumentNode } from 'graphql';
import type { Registry } from 'prom-client';
import { z } from 'zod';
import type { Logger } from '../logger.js';
import { CostBucket, currentShopifyLane, systemClock, throttledWaitMs, type Clock, type ShopifyLane, type ThrottleStatus } from './cost-bucket.js';
import { parseOperation, requestedQueryCost, SINGLE_QUERY_MAX_COST } from './query-cost.js';
import { createStaticTokenProvider, type ShopifyTokenProvider } from './credentials/token-provider.js';
import { ShopifyError } from './shopify.errors.js';
import { createShopifyMetrics, type ShopifyMetrics } from './shopify.metrics.js';

/**
 * One shop's Admin API GraphQL endpoint, made safe to call in a loop: every call waits for its
 * cost in the shop's bucket, THROTTLED answers wait exactly what Shopify asks and retry, HTTP
 * 429/5xx and network failures retry with bounded exponential backoff and jitter (Retry-After
 * read in seconds, for the whole shop), queries over Shopify's single-query limit are refused
 * before sending, and every exchange is logged (debug) and counted.
 *
 * Built on `@shopify/admin-api-client` with `retries: 0`: its own retry reads Retry-After as
 * milliseconds and never retries THROTTLED (reference §5.2), so all retrying happens here.
 */

export interface AdminApiTransportOptions {
  /** `acme.myshopify.com`. */
  shopDomain: string;
  /** A fixed token; or give `tokens`, asked for the token before every request. */
  accessToken?: string;
  /** Where each request's token comes from (credentials/token-provider.ts); a 401 asks it for one renewal. */
  tokens?: ShopifyTokenProvider;
  apiVersion: string;
  /** `SHOPIFY_ADMIN_URL`: send to `${adminUrl}/admin/api/${version}/graphql.json` instead of https://shop (simulator, proxy). */
  adminUrl?: string;
  logger: Logger;
  metrics: Registry;
  /** Calls in flight at once for this shop (default 4); the cost bucket still gates each one. */
  maxConcurrent?: number;
  retry?: Partial<RetryPolicy>;
  /** Per-exchange timeout (default 30 s); a timeout counts as a network failure. */
  requestTimeoutMs?: number;
  clock?: Clock;
  random?: () => number;
}

export interface RetryPolicy {
  /** Attempts for HTTP 429/5xx and network failures, the first included. */
  maxAttempts: number;
  baseDelayMs: number;
  maxDelayMs: number;
  /** THROTTLED answers tolerated for one call; each waits for the bucket, so this only stops a runaway. */
  maxThrottledRetries: number;
}

const defaultRetryPolicy: RetryPolicy = { maxAttempts: 6, baseDelayMs: 500, maxDelayMs: 30_000, maxThrottledRetries: 25 };

/** A `#graphql` document parsed once. */
export interface PreparedOperation {
  readonly source: string;
  readonly document: DocumentNode;
  readonly name: string;
  readonly isMutation: boolean;
}

export function prepareOperation(source: string): PreparedOperation {
  const { document, operationName, isMutation } = parseOperation(source);
  return { source, document, name: operationName, isMutation };
}

export interface CallResult<TData> {
  data: TData;
  requestedCost: number | null;
  actualCost: number | null;
}

const throttleStatusSchema = z.object({
  maximumAvailable: z.number(),
  currentlyAvailable: z.number(),
  restoreRate: z.number(),
});
const costSchema = z
  .object({
    requestedQueryCost: z.number().nullish(),
    actualQueryCost: z.number().nullish(),
    throttleStatus: throttleStatusSchema.nullish(),
  })
  .nullish();

/** Backoff for the n-th failed attempt (1-based): half fixed, half jitter, capped. */
export function backoffDelayMs(attempt: number, policy: Pick<RetryPolicy, 'baseDelayMs' | 'maxDelayMs'>, random: () => number): number {
  const ceiling = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** Math.max(0, attempt - 1));
  return ceiling / 2 + random() * (ceiling / 2);
}

/** Retry-After in seconds (Shopify sends e.g. `2.0`), or an HTTP date; null when absent or unreadable. */
export function retryAfterMs(header: string | null | undefined, nowEpochMs: number = Date.now()): number | null {
  if (!header) return null;
  const seconds = Number(header.trim());
  if (Number.isFinite(seconds)) return Math.max(0, seconds * 1000);
  const date = Date.parse(header);
  return Number.isNaN(date) ? null : Math.max(0, date - nowEpochMs);
}

type Attempt<TData> =
  | { kind: 'ok'; result: CallResult<TData> }
  | { kind: 'throttled'; waitMs: number }
  | { kind: 'retry'; code: string; delayMs: number | null; message: string }
  | { kind: 'fatal'; error: ShopifyError; token?: string };

/** Carries a request's token from `request` to `customFetchApi`; never sent. */
const TOKEN_HANDOFF_HEADER = 'X-Stockbridge-Access-Token';

export class AdminApiTransport {
  readonly shopDomain: string;
  readonly #client: AdminApiClient;
  readonly #bucket: CostBucket;
  readonly #limiter: Bottleneck;
  readonly #logger: Logger;
  readonly #metrics: ShopifyMetrics;
  readonly #retry: RetryPolicy;
  readonly #clock: Clock;
  readonly #random: () => number;
  readonly #timeoutMs: number;
  readonly #tokens: ShopifyTokenProvider;
  /** Per operation: Shopify's requestedQueryCost divided by ours, from the last response. */
  readonly #calibration = new Map<string, number>();
  #closed = false;

  constructor(options: AdminApiTransportOptions) {
    this.shopDomain = options.shopDomain;
    this.#clock = options.clock ?? systemClock;
    this.#random = options.random ?? Math.random;
    this.#retry = { ...defaultRetryPolicy, ...options.retry };
    this.#timeoutMs = options.requestTimeoutMs ?? 30_000;
    if (!options.tokens && !options.accessToken) throw new ShopifyError('SHOPIFY_UNAUTHORIZED', 'the Admin API transport needs an access token or a token provider');
    this.#tokens = options.tokens ?? createStaticTokenProvider(options.accessToken!);
    this.#logger = options.logger.child({ component: 'shopify', shop: options.shopDomain });
    this.#metrics = createShopifyMetrics(options.metrics);
    this.#bucket = new CostBucket(this.#clock);
    this.#limiter = new Bottleneck({ maxConcurrent: options.maxConcurrent ?? 4, id: `shopify:${options.shopDomain}` });
    const adminUrl = options.adminUrl?.replace(/\/+$/, '');
    this.#client = createAdminApiClient({
      storeDomain: options.shopDomain,
      apiVersion: options.apiVersion,
      // Replaced per request by the provider's token (the client insists on one at creation).
      accessToken: options.accessToken ?? 'provided-per-request',
      userAgentPrefix: 'Stockbridge',
      retries: 0,
      // The client always builds https://<shop>/admin/api/...; a simulator or proxy speaks plain HTTP.
      // The client's own token header wins over a request's headers, so each request's token
      // travels under a private header and is put in place here.
      customFetchApi: (url, init) => {
        const headers = { ...(init?.headers as Record<string, string> | undefined) };
        const token = headers[TOKEN_HANDOFF_HEADER];
        delete headers[TOKEN_HANDOFF_HEADER];
        if (token) headers['X-Shopify-Access-Token'] = token;
        const sent = { ...init, headers };
        if (!adminUrl) return fetch(url, sent);
        const target = new URL(url);
        return fetch(`${adminUrl}${target.pathname}${target.search}`, sent);
      },
      logger: (entry) => {
        if (entry.type === 'HTTP-Response-GraphQL-Deprecation-Notice') {
          this.#logger.warn({ deprecation: entry.content.deprecationNotice }, 'Shopify reports deprecated API usage');
        } else if (entry.type === 'Unsupported_Api_Version') {
          this.#logger.warn({ apiVersion: options.apiVersion }, 'Shopify API version may be unsupported');
        }
      },
    });
  }

  /** The plan and bucket level as last reported, or null before the first response. */
  rateLimit(): { bucketSize: number; restoreRatePerSecond: number; currentlyAvailable: number } | null {
    const plan = this.#bucket.plan();
    if (!plan) return null;
    return { ...plan, currentlyAvailable: Math.max(0, Math.floor(this.#bucket.available() + this.#bucket.inFlight())) };
  }

  /** The requested cost this call would be charged, as we estimate it (calibrated by earlier responses). */
  estimateCost(operation: PreparedOperation, variables: Record<string, unknown>): number {
    const local = requestedQueryCost(operation.document, variables);
    const factor = this.#calibration.get(operation.name) ?? 1;
    return Math.ceil(local * factor);
  }

  /**
   * Sends the operation until it succeeds or fails for good; see the class comment for the rules.
   * With `lostAnswerInDoubt` (a mutation Shopify offers no idempotency key for), a failure after
   * the request may have reached Shopify (network error, HTTP 5xx, an unreadable or empty body)
   * is not retried: it throws `SHOPIFY_IN_DOUBT`, and the caller looks the effect up before
   * sending again. HTTP 429 and THROTTLED still wait and retry: Shopify ran nothing.
   */
  async request<TData>(operation: PreparedOperation, variables: Record<string, unknown>, options: { lostAnswerInDoubt?: boolean } = {}): Promise<CallResult<TData>> {
    let failures = 0;
    let throttled = 0;
    let renewed = false;
    // Taken here, from the caller: inside the limiter's job the async context is the limiter's.
    const lane = currentShopifyLane();
    for (;;) {
      const cost = this.estimateCost(operation, variables);
      if (cost > SINGLE_QUERY_MAX_COST) {
        throw new ShopifyError('SHOPIFY_QUERY_TOO_COSTLY', `${operation.name} would cost ${cost} points; Shopify refuses queries over ${SINGLE_QUERY_MAX_COST}`, {
          operation: operation.name,
          cost,
        });
      }
      // A read waits for the bucket before it takes a slot, and background jobs go first for slots.
      if (lane === 'interactive') await this.#bucket.waitForRoom(cost, lane);
      const attempt = await this.#limiter.schedule({ priority: lane === 'interactive' ? 9 : 5 }, () => this.#attempt<TData>(operation, variables, cost, failures + throttled + 1, lane));
      switch (attempt.kind) {
        case 'ok':
          return attempt.result;
        case 'fatal':
          // A 401 with a token the gateway obtains itself: one renewal, then one more try.
          if (!renewed && attempt.token !== undefined && attempt.error.details.httpStatus === 401 && (await this.#tokens.renewAfterRejection(attempt.token))) {
            renewed = true;
            this.#logger.info({ operation: operation.name }, 'Shopify refused the access token (HTTP 401): renewed it, trying again');
            continue;
          }
          throw attempt.error;
        case 'throttled': {
          throttled += 1;
          this.#metrics.throttledWaits.inc({ operation: operation.name });
          this.#metrics.throttledWaitSeconds.inc({ operation: operation.name }, attempt.waitMs / 1000);
          if (throttled > this.#retry.maxThrottledRetries) {
            throw new ShopifyError('SHOPIFY_UNAVAILABLE', `${operation.name} was throttled ${throttled} times in a row`, { operation: operation.name });
          }
          // The bucket now holds Shopify's reading, so the next acquire waits (requested − available) / restoreRate.
          continue;
        }
        case 'retry': {
          if (options.lostAnswerInDoubt && attempt.code !== 'HTTP_429') {
            this.#logger.warn({ operation: operation.name, code: attempt.code }, 'Shopify call answer lost: in doubt, not retried');
            throw new ShopifyError('SHOPIFY_IN_DOUBT', `${operation.name} may have been applied: ${attempt.message}`, { operation: operation.name, code: attempt.code });
          }
          failures += 1;
          if (failures >= this.#retry.maxAttempts) {
            this.#logger.warn({ operation: operation.name, code: attempt.code, attempts: failures }, 'Shopify call failed after retries');
            throw new ShopifyError('SHOPIFY_UNAVAILABLE', `${operation.name} failed after ${failures} attempts: ${attempt.message}`, {
              operation: operation.name,
              code: attempt.code,
            });
          }
          const delay = Math.max(attempt.delayMs ?? 0, backoffDelayMs(failures, this.#retry, this.#random));
          if (attempt.code === 'HTTP_429') {
            this.#metrics.throttledWaits.inc({ operation: operation.name });
            this.#metrics.throttledWaitSeconds.inc({ operation: operation.name }, delay / 1000);
            // Retry-After speaks for the whole shop, not just this call.
            this.#bucket.pauseUntil(this.#clock.now() + delay);
          }
          this.#logger.debug({ operation: operation.name, code: attempt.code, delayMs: Math.round(delay), attempt: failures }, 'retrying Shopify call');
          await this.#clock.sleep(delay);
          continue;
        }
      }
    }
  }

  async #attempt<TData>(operation: PreparedOperation, variables: Record<string, unknown>, cost: number, attemptNumber: number, lane: ShopifyLane): Promise<Attempt<TData>> {
    const token = await this.#tokens.getToken();
    const reservation = await this.#bucket.acquire(cost, lane);
    const started = this.#clock.now();
    let status: ThrottleStatus | null = null;
    const labels = { operation: operation.name };
    try {
      const response = await this.#client.request<TData>(operation.source, {
        variables,
        headers: { [TOKEN_HANDOFF_HEADER]: token },
        signal: AbortSignal.timeout(this.#timeoutMs),
      });
      const durationMs = this.#clock.now() - started;
      this.#metrics.duration.observe(labels, durationMs / 1000);
      const parsedCost = costSchema.safeParse((response.extensions as { cost?: unknown } | undefined)?.cost);
      const costInfo = parsedCost.success ? parsedCost.data : null;
      status = costInfo?.throttleStatus ?? null;
      if (costInfo?.requestedQueryCost != null && costInfo.requestedQueryCost > 0) {
        const local = requestedQueryCost(operation.document, variables);
        if (local > 0) this.#calibration.set(operation.name, costInfo.requestedQueryCost / local);
      }
      if (costInfo?.actualQueryCost != null) this.#metrics.costPoints.inc(labels, costInfo.actualQueryCost);
      if (status) this.#metrics.bucketAvailable.set({ shop: this.shopDomain }, status.currentlyAvailable);

      const outcome = this.#classify<TData>(operation, response, costInfo?.requestedQueryCost ?? cost, status);
      if (outcome.kind === 'fatal') outcome.token = token;
      if (outcome.kind === 'ok') {
        outcome.result.requestedCost = costInfo?.requestedQueryCost ?? null;
        outcome.result.actualCost = costInfo?.actualQueryCost ?? null;
      }
      this.#metrics.calls.inc({ ...labels, outcome: outcomeLabel(outcome) });
      this.#logger.debug(
        {
          operation: operation.name,
          attempt: attemptNumber,
          durationMs: Math.round(durationMs),
          estimatedCost: cost,
          requestedCost: costInfo?.requestedQueryCost ?? null,
          actualCost: costInfo?.actualQueryCost ?? null,
          throttleStatus: status,
          outcome: outcome.kind === 'retry' ? outcome.code : outcome.kind,
        },
        'Shopify call',
      );
      return outcome;
    } finally {
      this.#bucket.release(reservation, status);
    }
  }

  #classify<TData>(
    operation: PreparedOperation,
    response: Awaited<ReturnType<AdminApiClient['request']>>,
    requestedCost: number,
    status: ThrottleStatus | null,
  ): Attempt<TData> {
    const labels = { operation: operation.name };
    const errors = response.errors;
    if (!errors) {
      if (response.data == null) return { kind: 'retry', code: 'EMPTY_RESPONSE', delayMs: null, message: 'response without data' };
      return {
        kind: 'ok',
        result: { data: response.data as TData, requestedCost: null, actualCost: null },
      };
    }
    const httpStatus = errors.networkStatusCode;
    if (httpStatus === undefined) {
      this.#metrics.errors.inc({ ...labels, code: 'NETWORK' });
      return { kind: 'retry', code: 'NETWORK', delayMs: null, message: errors.message ?? 'network error' };
    }
    if (httpStatus !== 200) {
      const code = `HTTP_${httpStatus}`;
      this.#metrics.errors.inc({ ...labels, code });
      if (httpStatus === 429 || httpStatus >= 500) {
        return { kind: 'retry', code, delayMs: retryAfterMs(errors.response?.headers.get('retry-after')), message: errors.message ?? code };
      }
      if ([401, 402, 403, 423].includes(httpStatus)) {
        return { kind: 'fatal', error: new ShopifyError('SHOPIFY_UNAUTHORIZED', `Shopify answered HTTP ${httpStatus} to ${operation.name}`, { operation: operation.name, httpStatus }) };
      }
      return { kind: 'fatal', error: new ShopifyError('SHOPIFY_QUERY_REFUSED', `Shopify answered HTTP ${httpStatus} to ${operation.name}`, { operation: operation.name, httpStatus }) };
    }
    const graphQLErrors = errors.graphQLErrors ?? [];
    const codes = graphQLErrors.map((error) => String(error.extensions?.code ?? 'GRAPHQL_ERROR'));
    for (const code of new Set(codes)) this.#metrics.errors.inc({ ...labels, code });
    if (codes.includes('THROTTLED')) {
      const waitMs = status ? throttledWaitMs(requestedCost, status) : 1000;
      return { kind: 'throttled', waitMs };
    }
    if (graphQLErrors.length === 0) {
      // HTTP 200 whose body could not be read (a dropped connection mid-body, a proxy page).
      return { kind: 'retry', code: 'BAD_BODY', delayMs: null, message: errors.message ?? 'unreadable response' };
    }
    if (codes.includes('INTERNAL_SERVER_ERROR') || codes.includes('SERVICE_UNAVAILABLE')) {
      return { kind: 'retry', code: codes[0] ?? 'INTERNAL_SERVER_ERROR', delayMs: null, message: graphQLErrors[0]?.message ?? 'internal error' };
    }
    const details = { operation: operation.name, errors: graphQLErrors.map((error) => ({ message: error.message, code: error.extensions?.code ?? null })) };
    const message = `Shopify refused ${operation.name}: ${graphQLErrors.map((error) => error.message).join('; ')}`;
    if (codes.includes('ACCESS_DENIED') || codes.includes('SHOP_INACTIVE')) {
      return { kind: 'fatal', error: new ShopifyError('SHOPIFY_UNAUTHORIZED', message, details) };
    }
    return { kind: 'fatal', error: new ShopifyError('SHOPIFY_QUERY_REFUSED', message, details) };
  }

  /** Stops accepting calls and waits for those in flight. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.#limiter.stop({ dropWaitingJobs: false });
  }
}

function outcomeLabel(outcome: Attempt<unknown>): string {
  switch (outcome.kind) {
    case 'ok':
      return 'ok';
    case 'throttled':
      return 'throttled';
    case 'retry':
      return outcome.code === 'NETWORK' ? 'network_error' : outcome.code.startsWith('HTTP_') ? 'http_error' : 'graphql_error';
    case 'fatal':
      return outcome.error.code === 'SHOPIFY_UNAUTHORIZED' ? 'unauthorized' : 'graphql_error';
  }
}
