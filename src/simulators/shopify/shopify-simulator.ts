import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { pino, type Logger } from 'pino';
import { AdminApi } from './admin-api.handler.js';
import type { AdminApiFaults } from './admin-faults.js';
import { ADMIN_API_VERSION, loadAdminSchema } from './admin-schema.js';
import { BulkOperations } from './bulk-operations.js';
import { systemClock, type SimulatorClock } from './clock.js';
import { createControlRoutes } from './control-api.routes.js';
import { CostBucket, type PlanLimits, type ShopifyPlanName } from './cost-bucket.js';
import { IdempotencyStore } from './idempotency.js';
import { SimulatedOAuth, type OAuthOptions } from './oauth.routes.js';
import { seededRandom } from './random.js';
import { RequestLog } from './request-log.js';
import type { ShopSeed } from './seed.schema.js';
import { ShopState } from './shop-state.js';
import { resolvePlan, SimulatorControl } from './simulator-control.js';
import { WebhookDispatcher } from './webhook-dispatcher.js';

/**
 * A faithful stand-in for one Shopify store's GraphQL Admin API (2026-10), served over plain
 * HTTP on loopback: the real schema, Shopify's cost and throttling rules, inventory and order
 * semantics, signed webhooks with retries, and a control API to arrange scenarios and inject
 * faults. Used by the demo, the client's contract tests and the benchmarks.
 */

export interface ShopifySimulatorOptions {
  /** 0 (default) picks a free port. */
  port?: number;
  host?: string;
  /** Rate-limit plan: standard (default), advanced, plus, enterprise, or custom limits. */
  plan?: ShopifyPlanName | PlanLimits;
  /** The access token apps use (`X-Shopify-Access-Token`); default a random `shpat_…`. */
  accessToken?: string;
  /**
   * Scopes granted to `accessToken`, e.g. `['read_products', 'write_inventory', 'read_orders']`;
   * a field needing another scope answers ACCESS_DENIED. Default: every scope.
   */
  accessScopes?: string[];
  /** More tokens (other apps), with every scope; each has its own leaky bucket. */
  additionalAccessTokens?: string[];
  /** The app's client secret that signs webhooks; default random. */
  apiSecret?: string;
  /** The app's client id, for the client-credentials grant; default random. */
  apiKey?: string;
  shopDomain?: string;
  shopName?: string;
  currency?: string;
  logger?: Logger;
  /** Seed of the generator behind fault injection and webhook chaos. */
  seed?: number;
  /** A catalogue to start from (see seed.schema.ts). */
  catalogue?: ShopSeed;
  /** Time source of the bucket, timestamps and webhook retries; default the system clock. */
  clock?: SimulatorClock;
  /** Multiplies Shopify's webhook retry schedule (8 retries over 4 hours); default 0.001 (14.4 s). */
  webhookTimeScale?: number;
  /** Real milliseconds a webhook receiver has to answer; default 5000, as Shopify. */
  webhookTimeoutMs?: number;
  /** Deliveries in flight at once; default 10. Shopify sends a busy shop's webhooks far more in parallel. */
  webhookConcurrency?: number;
  /** API versions served; default only 2026-10, the version of the vendored schema. */
  apiVersions?: string[];
  /** Accepted inventory `reason` values; default Shopify's documented list. */
  inventoryReasons?: string[];
  /** Token lifetimes and approved scopes of the OAuth endpoints (oauth.routes.ts). */
  oauth?: OAuthOptions;
}

export interface ShopifySimulator {
  /** e.g. `http://127.0.0.1:9100`; clients call `${adminUrl}/admin/api/${version}/graphql.json`. */
  readonly adminUrl: string;
  /** The GraphQL endpoint of a version (default 2026-10). */
  graphqlUrl(version?: string): string;
  readonly apiVersion: string;
  readonly shopDomain: string;
  readonly accessToken: string;
  readonly accessTokens: readonly string[];
  readonly apiSecret: string;
  readonly apiKey: string;
  /** The in-process control API. */
  readonly state: SimulatorControl;
  /** The OAuth endpoints' tokens: grants counted, revoke (uninstall), expire. */
  readonly oauth: SimulatedOAuth;
  close(): Promise<void>;
}

/** A write scope grants its read scope too, as Shopify's do. */
function impliedScopes(scopes: string[]): Set<string> {
  const granted = new Set(scopes);
  for (const scope of scopes) if (scope.startsWith('write_')) granted.add(`read_${scope.slice('write_'.length)}`);
  return granted;
}

function randomToken(prefix: string): string {
  return `${prefix}${randomBytes(16).toString('hex')}`;
}

export async function startShopifySimulator(options: ShopifySimulatorOptions = {}): Promise<ShopifySimulator> {
  const clock = options.clock ?? systemClock;
  const logger = options.logger ?? pino({ level: 'silent' });
  const random = seededRandom(options.seed ?? 20261127);
  const adminSchema = loadAdminSchema();
  const shopDomain = options.shopDomain ?? 'stockbridge-demo.myshopify.com';
  const accessToken = options.accessToken ?? randomToken('shpat_');
  const accessTokens = [accessToken, ...(options.additionalAccessTokens ?? [])];
  const apiSecret = options.apiSecret ?? randomToken('shpss_');
  const apiKey = options.apiKey ?? randomBytes(16).toString('hex');
  let plan = resolvePlan(options.plan ?? 'standard');
  let adminFaults: AdminApiFaults = {};

  const shop = new ShopState({ clock, shopName: options.shopName ?? 'Stockbridge Demo Store', currency: options.currency ?? 'EUR', reasons: options.inventoryReasons });
  const buckets = new Map(accessTokens.map((token) => [token, new CostBucket(plan, clock)]));
  const grantedScopes = options.accessScopes ? impliedScopes(options.accessScopes) : null;
  const requestLog = new RequestLog();
  const defaultScopes = 'read_products,write_products,read_inventory,write_inventory,read_locations,read_orders,write_orders,write_merchant_managed_fulfillment_orders'.split(',');
  const oauth = new SimulatedOAuth({
    apiKey,
    apiSecret: () => apiSecret,
    shopDomain,
    clock,
    defaultScopes: () => options.accessScopes ?? defaultScopes,
    options: options.oauth ?? {},
  });
  const idempotency = new IdempotencyStore();
  const webhooks = new WebhookDispatcher({
    state: shop,
    clock,
    random,
    logger: logger.child({ component: 'shopify-simulator-webhooks' }),
    apiSecret: () => apiSecret,
    shopDomain,
    timeScale: options.webhookTimeScale ?? 0.001,
    timeoutMs: options.webhookTimeoutMs ?? 5000,
    ...(options.webhookConcurrency ? { maxConcurrent: options.webhookConcurrency } : {}),
  });
  let adminUrl = '';
  // The admin API executes bulk queries and bulk operations need the admin API's executor.
  const bulkRef: { current?: BulkOperations } = {};
  const shopInfo = { domain: shopDomain, name: () => shop.shopName, email: `owner@${shopDomain}`, plan: () => plan };
  const adminApi = new AdminApi({
    adminSchema,
    state: shop,
    clock,
    random,
    logger: logger.child({ component: 'shopify-simulator-admin-api' }),
    shop: shopInfo,
    idempotency,
    bulk: () => bulkRef.current!,
    apiVersions: new Set(options.apiVersions ?? [ADMIN_API_VERSION]),
    tokenFor: (token) => {
      const bucket = buckets.get(token);
      if (bucket) return { bucket, scopes: token === accessToken ? grantedScopes : null };
      // Tokens of the OAuth grants belong to the same app: they share its bucket.
      const issued = oauth.lookup(token);
      return issued ? { bucket: buckets.get(accessToken)!, scopes: impliedScopes([...issued.scopes]) } : undefined;
    },
    faults: () => adminFaults,
    requestLog,
  });
  const bulk = new BulkOperations({
    schema: adminSchema.schema,
    state: shop,
    clock,
    logger,
    resultBaseUrl: () => `${adminUrl}/_simulator/bulk`,
    executeUnbounded: (document) => adminApi.executeUnbounded(document),
  });
  bulkRef.current = bulk;
  const control = new SimulatorControl({
    shop,
    requestLog,
    webhooks,
    buckets,
    defaultToken: accessToken,
    plan: () => plan,
    setPlan: (limits) => {
      plan = limits;
      for (const bucket of buckets.values()) bucket.setLimits(limits);
    },
    adminFaults: () => ({ ...adminFaults, script: adminFaults.script ? [...adminFaults.script] : undefined }),
    setAdminFaults: (faults) => {
      adminFaults = faults;
    },
  });
  if (options.catalogue) shop.seed(options.catalogue);
  const controlRoutes = createControlRoutes(control, () => bulk);

  const handle = async (request: IncomingMessage, response: ServerResponse) => {
    const url = new URL(request.url ?? '/', 'http://simulator.invalid');
    const path = url.pathname;
    const admin = /^\/admin\/api\/([^/]+)\/graphql\.json$/.exec(path);
    if (admin) {
      await adminApi.handle(request, response, admin[1]!);
      return;
    }
    if (path === '/admin/oauth/access_token' && request.method === 'POST') {
      await oauth.handleAccessToken(request, response);
      return;
    }
    if (path === '/admin/oauth/authorize' && request.method === 'GET') {
      oauth.handleAuthorize(url, response);
      return;
    }
    if (path.startsWith('/_simulator/')) {
      await controlRoutes(request, response, path.slice('/_simulator'.length), url.searchParams);
      return;
    }
    response.writeHead(404, { 'Content-Type': 'application/json; charset=utf-8' });
    response.end(JSON.stringify({ errors: 'Not Found' }));
  };

  const server = createServer((request, response) => {
    handle(request, response).catch((error: unknown) => {
      logger.error({ err: error, url: request.url }, 'shopify simulator request failed');
      if (!response.headersSent) {
        response.writeHead(500, { 'Content-Type': 'application/json; charset=utf-8' });
        response.end(JSON.stringify({ errors: 'Internal Server Error' }));
      } else {
        response.destroy();
      }
    });
  });
  server.keepAliveTimeout = 5_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, options.host ?? '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address() as AddressInfo;
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  adminUrl = `http://${host}:${address.port}`;
  logger.info({ adminUrl, shopDomain, plan: plan.name }, 'shopify simulator listening');

  return {
    adminUrl,
    graphqlUrl: (version = ADMIN_API_VERSION) => `${adminUrl}/admin/api/${version}/graphql.json`,
    apiVersion: ADMIN_API_VERSION,
    shopDomain,
    accessToken,
    accessTokens,
    apiSecret,
    apiKey,
    state: control,
    oauth,
    close: async () => {
      webhooks.close();
      bulk.close();
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
    },
  };
}
