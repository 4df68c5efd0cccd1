import { readFileSync } from 'node:fs';
import { z } from 'zod';

/**
 * The gateway's configuration, parsed once from the environment by the composition root.
 * Every variable may instead be given as `NAME_FILE` pointing at a file that holds the value
 * (for secrets mounted by an orchestrator). A bad or missing value stops start-up with one
 * error that names every problem at once.
 */

const intFromString = (min: number, max: number) =>
  z
    .string()
    .trim()
    .regex(/^\d+$/, 'must be a whole number')
    .transform(Number)
    .pipe(z.number().int().min(min).max(max));

const optionalString = z.string().trim().min(1).optional();

const urlString = z
  .string()
  .trim()
  .refine((value) => {
    try {
      new URL(value);
      return true;
    } catch {
      return false;
    }
  }, 'must be an absolute URL');

const envSchema = z
  .object({
    PORT: intFromString(0, 65535).default(4000),
    HOST: z.string().trim().min(1).default('127.0.0.1'),
    DATABASE_URL: z
      .string()
      .trim()
      .regex(/^postgres(ql)?:\/\//, 'must be a postgres:// or postgresql:// URL')
      .optional(),
    DATA_DIR: z.string().trim().min(1).default('./.data'),
    SHOPIFY_SHOP: z
      .string()
      .trim()
      .regex(/^[a-z0-9][a-z0-9-]*\.myshopify\.com$/i, 'must be a shop domain such as acme.myshopify.com')
      .optional(),
    SHOPIFY_ACCESS_TOKEN: optionalString,
    SHOPIFY_API_KEY: optionalString,
    SHOPIFY_API_SECRET: optionalString,
    SHOPIFY_API_VERSION: z
      .string()
      .trim()
      .regex(/^\d{4}-(01|04|07|10)$|^unstable$/, 'must be a Shopify API version such as 2026-10')
      .default('2026-10'),
    SHOPIFY_ADMIN_URL: urlString.optional(),
    ERP_CONNECTOR: z.enum(['tryton', 'odoo', 'simulated']).default('simulated'),
    ERP_URL: urlString.optional(),
    ERP_DATABASE: optionalString,
    ERP_USER: optionalString,
    ERP_PASSWORD: optionalString,
    SYNC_INTERVAL_SECONDS: intFromString(1, 86_400 * 7).default(60),
    RECONCILE_INTERVAL_SECONDS: intFromString(60, 86_400 * 30).default(86_400),
    STOCK_WATCH_INTERVAL_SECONDS: intFromString(0, 3_600).default(3),
    ORDER_POLL_INTERVAL_SECONDS: intFromString(5, 86_400).default(300),
    SCHEDULER: z.enum(['on', 'off']).default('on'),
    PUBLIC_URL: urlString.optional(),
    ALERT_WEBHOOK_URL: urlString.optional(),
    ENCRYPTION_KEY: z
      .string()
      .trim()
      .refine((value) => Buffer.from(value, 'base64').length === 32, 'must be 32 bytes, base64-encoded')
      .optional(),
    LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
    WEBHOOK_MAX_BYTES: intFromString(1024, 100 * 1024 * 1024).default(1024 * 1024),
    RESERVATION_DEFAULT_TTL_SECONDS: intFromString(1, 86_400 * 90).default(86_400),
    SELLABLE_SHELF_LIFE_DAYS: intFromString(0, 3650).default(0),
    HEALTH_SYNC_LATENCY_P99_SECONDS: z.coerce.number().positive().default(300),
    HEALTH_ERROR_RATE: z.coerce.number().min(0).max(1).default(0.001),
    HEALTH_OVERSELL_INCIDENTS: intFromString(0, 1_000_000).default(0),
    HEALTH_MANUAL_INTERVENTIONS_PER_WEEK: intFromString(0, 1_000_000).default(5),
    NODE_ENV: z.string().trim().optional(),
    GRAPHQL_INTROSPECTION: z.enum(['on', 'off']).optional(),
    GRAPHQL_MAX_DEPTH: intFromString(1, 100).default(12),
    GRAPHQL_MAX_ALIASES: intFromString(0, 10_000).default(30),
    GRAPHQL_MAX_TOKENS: intFromString(100, 1_000_000).default(5_000),
    GRAPHQL_MAX_COST: intFromString(1, 1_000_000).default(1_000),
    GRAPHQL_BUCKET_SIZE: intFromString(1, 10_000_000).default(1_000),
    GRAPHQL_RESTORE_RATE: intFromString(1, 1_000_000).default(50),
    SHOPIFY_API_SECRET_PREVIOUS: optionalString,
    GRAPHQL_MAX_BYTES: intFromString(1024, 1024 * 1024).default(256 * 1024),
    GRAPHQL_BATCHING: z.enum(['on', 'off']).default('off'),
    HTTP_REQUEST_TIMEOUT_SECONDS: intFromString(1, 600).default(30),
    HTTP_CONNECTION_TIMEOUT_SECONDS: intFromString(1, 3600).default(120),
    HTTP_KEEP_ALIVE_TIMEOUT_SECONDS: intFromString(1, 3600).default(72),
    METRICS_TOKEN: z.string().trim().min(16, 'must be at least 16 characters').optional(),
    METRICS_PORT: intFromString(0, 65535).optional(),
    RETENTION_DAYS: intFromString(1, 3650).default(30),
    DEMO: z.enum(['1', '0']).optional(),
    INVENTORY_PUSH: z.enum(['on', 'shadow', 'off']).optional(),
    ORDERS_TO_ERP: z.enum(['on', 'off']).optional(),
    FULFILMENT_NOTIFY_CUSTOMER: z.enum(['on', 'off']).default('on'),
    SHOPIFY_GRANT: z.enum(['static', 'client_credentials', 'authorization_code']).optional(),
    ENCRYPTION_KEY_PREVIOUS: z
      .string()
      .trim()
      .refine((value) => Buffer.from(value, 'base64').length === 32, 'must be 32 bytes, base64-encoded')
      .optional(),
  });

/** How the gateway gets its Admin API token: SHOPIFY_GRANT, else a given token, else the client-credentials grant when a client id is set. */
function shopifyGrantOf(env: Record<string, string | undefined>): 'static' | 'client_credentials' | 'authorization_code' {
  const given = env.SHOPIFY_GRANT;
  if (given === 'static' || given === 'client_credentials' || given === 'authorization_code') return given;
  return env.SHOPIFY_ACCESS_TOKEN || !env.SHOPIFY_API_KEY ? 'static' : 'client_credentials';
}

/** A simulator or a test store on this machine (127.0.0.0/8, ::1, localhost): never a real store. */
function isLoopbackUrl(value: string | undefined): boolean {
  if (!value) return false;
  try {
    const host = new URL(value).hostname.replace(/^\[|\]$/g, '');
    return host === 'localhost' || host === '::1' || /^127\.\d+\.\d+\.\d+$/.test(host);
  } catch {
    return false;
  }
}

/**
 * Rules between variables. They read the raw values, so they are reported together with the
 * per-variable problems (zod would skip refinements when any field fails).
 */
function crossVariableProblems(env: Record<string, string | undefined>): string[] {
  const problems: string[] = [];
  const grant = shopifyGrantOf(env);
  if (env.SHOPIFY_SHOP && grant === 'static' && !env.SHOPIFY_ACCESS_TOKEN) {
    problems.push(
      'SHOPIFY_ACCESS_TOKEN: is required with SHOPIFY_SHOP (an Admin API access token of the app), unless the gateway obtains its own: set SHOPIFY_API_KEY and SHOPIFY_API_SECRET (client-credentials grant) or SHOPIFY_GRANT=authorization_code',
    );
  }
  if (env.SHOPIFY_SHOP && grant !== 'static') {
    if (!env.SHOPIFY_API_KEY) problems.push(`SHOPIFY_API_KEY: is required with SHOPIFY_GRANT=${grant} (the app's client id)`);
    if (!env.ENCRYPTION_KEY) problems.push(`ENCRYPTION_KEY: is required with SHOPIFY_GRANT=${grant}: the tokens the gateway obtains are stored encrypted under it`);
    if (grant === 'authorization_code' && !env.PUBLIC_URL) problems.push('PUBLIC_URL: is required with SHOPIFY_GRANT=authorization_code (the install callback is PUBLIC_URL/auth/shopify/callback)');
  }
  const erpConnector = env.ERP_CONNECTOR ?? 'simulated';
  if (env.SHOPIFY_SHOP && erpConnector === 'simulated' && env.DEMO !== '1' && !isLoopbackUrl(env.SHOPIFY_ADMIN_URL)) {
    problems.push(
      `ERP_CONNECTOR: is ${env.ERP_CONNECTOR ? 'simulated' : 'simulated (the default)'} while SHOPIFY_SHOP names a real store (${env.SHOPIFY_SHOP}): the simulated ERP would push invented stock to it and forget its orders. Set ERP_CONNECTOR=tryton with ERP_URL, ERP_DATABASE, ERP_USER and ERP_PASSWORD; or unset SHOPIFY_SHOP (or set DEMO=1) for the demo`,
    );
  }
  if (env.DEMO === '1' && (erpConnector === 'tryton' || erpConnector === 'odoo')) {
    problems.push(`DEMO: DEMO=1 runs the simulated ERP and store, never with a real ERP (ERP_CONNECTOR=${erpConnector}); unset DEMO`);
  }
  if (env.SHOPIFY_SHOP && !env.SHOPIFY_API_SECRET) {
    problems.push('SHOPIFY_API_SECRET: is required with SHOPIFY_SHOP to verify webhooks');
  }
  if (env.METRICS_PORT && env.METRICS_PORT !== '0' && env.METRICS_PORT === (env.PORT ?? '4000')) {
    problems.push('METRICS_PORT: must differ from PORT (unset it to serve /metrics on the main port)');
  }
  const connector = env.ERP_CONNECTOR ?? 'simulated';
  if (connector === 'tryton' || connector === 'odoo') {
    for (const name of ['ERP_URL', 'ERP_DATABASE', 'ERP_USER', 'ERP_PASSWORD']) {
      if (!env[name]) problems.push(`${name}: is required when ERP_CONNECTOR is ${connector}`);
    }
  }
  return problems;
}

export type Config = ReturnType<typeof toConfig>;

export class ConfigError extends Error {
  readonly code = 'CONFIG_INVALID';
  constructor(readonly problems: string[]) {
    super(`Invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

/** Names of every variable the schema knows, for documentation and the README check. */
export const configVariableNames: string[] = Object.keys(envSchema.shape);

const knownVariables = new Set(Object.keys(envSchema.shape));

function resolveFileVariables(env: Record<string, string | undefined>, problems: string[]) {
  const resolved: Record<string, string | undefined> = {};
  for (const [key, value] of Object.entries(env)) {
    if (value === undefined || value === '') continue;
    if (knownVariables.has(key)) resolved[key] = value;
  }
  for (const [key, path] of Object.entries(env)) {
    if (!key.endsWith('_FILE') || !path) continue;
    const name = key.slice(0, -'_FILE'.length);
    // Only the gateway's own variables; other tools' *_FILE variables are none of our business.
    if (!knownVariables.has(name)) continue;
    if (env[name]) {
      problems.push(`${name}: set both ${name} and ${key}; set only one`);
      continue;
    }
    try {
      resolved[name] = readFileSync(path, 'utf8').replace(/\r?\n$/, '');
    } catch (error) {
      problems.push(`${key}: cannot read ${path} (${(error as NodeJS.ErrnoException).code ?? 'error'})`);
    }
  }
  return resolved;
}

function toConfig(env: z.output<typeof envSchema>) {
  return {
    port: env.PORT,
    host: env.HOST,
    databaseUrl: env.DATABASE_URL,
    dataDir: env.DATA_DIR,
    shopify: {
      shop: env.SHOPIFY_SHOP,
      accessToken: env.SHOPIFY_ACCESS_TOKEN,
      apiKey: env.SHOPIFY_API_KEY,
      apiSecret: env.SHOPIFY_API_SECRET,
      apiVersion: env.SHOPIFY_API_VERSION,
      adminUrl: env.SHOPIFY_ADMIN_URL,
      grant: shopifyGrantOf({ SHOPIFY_GRANT: env.SHOPIFY_GRANT, SHOPIFY_ACCESS_TOKEN: env.SHOPIFY_ACCESS_TOKEN, SHOPIFY_API_KEY: env.SHOPIFY_API_KEY }),
    },
    erp: {
      connector: env.ERP_CONNECTOR,
      url: env.ERP_URL,
      database: env.ERP_DATABASE,
      user: env.ERP_USER,
      password: env.ERP_PASSWORD,
    },
    syncIntervalSeconds: env.SYNC_INTERVAL_SECONDS,
    reconcileIntervalSeconds: env.RECONCILE_INTERVAL_SECONDS,
    stockWatchIntervalSeconds: env.STOCK_WATCH_INTERVAL_SECONDS,
    orderPollIntervalSeconds: env.ORDER_POLL_INTERVAL_SECONDS,
    scheduler: env.SCHEDULER === 'on',
    publicUrl: env.PUBLIC_URL,
    alertWebhookUrl: env.ALERT_WEBHOOK_URL,
    encryptionKey: env.ENCRYPTION_KEY ? Buffer.from(env.ENCRYPTION_KEY, 'base64') : undefined,
    logLevel: env.LOG_LEVEL,
    webhookMaxBytes: env.WEBHOOK_MAX_BYTES,
    reservationDefaultTtlSeconds: env.RESERVATION_DEFAULT_TTL_SECONDS,
    sellableShelfLifeDays: env.SELLABLE_SHELF_LIFE_DAYS,
    /** The success metrics' thresholds (health query, /metrics, alerts). */
    health: {
      syncLatencyP99Seconds: env.HEALTH_SYNC_LATENCY_P99_SECONDS,
      errorRate: env.HEALTH_ERROR_RATE,
      oversellIncidents: env.HEALTH_OVERSELL_INCIDENTS,
      manualInterventionsPerWeek: env.HEALTH_MANUAL_INTERVENTIONS_PER_WEEK,
    },
    /** DEMO=1: the demo's simulated store and ERP even where a store is configured. */
    demo: env.DEMO === '1',
    /** INVENTORY_PUSH / ORDERS_TO_ERP when set: written to the shared switches at this instance's start. */
    switchesAtStart: { inventoryPush: env.INVENTORY_PUSH, ordersToErp: env.ORDERS_TO_ERP },
    encryptionKeyPrevious: env.ENCRYPTION_KEY_PREVIOUS ? Buffer.from(env.ENCRYPTION_KEY_PREVIOUS, 'base64') : undefined,
    graphql: {
      // Introspection shows the whole API to any valid key: off by default in production.
      introspection: (env.GRAPHQL_INTROSPECTION ?? (env.NODE_ENV === 'production' ? 'off' : 'on')) === 'on',
      maxDepth: env.GRAPHQL_MAX_DEPTH,
      maxAliases: env.GRAPHQL_MAX_ALIASES,
      maxTokens: env.GRAPHQL_MAX_TOKENS,
      maxCost: env.GRAPHQL_MAX_COST,
      bucketSize: env.GRAPHQL_BUCKET_SIZE,
      restoreRate: env.GRAPHQL_RESTORE_RATE,
    },
    webhookSecretPrevious: env.SHOPIFY_API_SECRET_PREVIOUS,
    http: {
      graphqlMaxBytes: env.GRAPHQL_MAX_BYTES,
      graphqlBatching: env.GRAPHQL_BATCHING === 'on',
      requestTimeoutMs: env.HTTP_REQUEST_TIMEOUT_SECONDS * 1000,
      connectionTimeoutMs: env.HTTP_CONNECTION_TIMEOUT_SECONDS * 1000,
      keepAliveTimeoutMs: env.HTTP_KEEP_ALIVE_TIMEOUT_SECONDS * 1000,
    },
    metrics: { token: env.METRICS_TOKEN, port: env.METRICS_PORT },
    retentionDays: env.RETENTION_DAYS,
    /** Whether Shopify e-mails the customer when a shipment becomes a fulfilment. */
    fulfilmentNotifyCustomer: env.FULFILMENT_NOTIFY_CUSTOMER === 'on',
  };
}

/** Parses the environment; throws ConfigError naming every problem. */
export function loadConfig(env: Record<string, string | undefined>): Config {
  const problems: string[] = [];
  const resolved = resolveFileVariables(env, problems);
  const parsed = envSchema.safeParse(resolved);
  problems.push(...crossVariableProblems(resolved));
  if (!parsed.success) {
    for (const issue of parsed.error.issues) {
      problems.push(`${issue.path.join('.') || '(environment)'}: ${issue.message}`);
    }
  }
  if (problems.length > 0 || !parsed.success) throw new ConfigError(problems);
  return toConfig(parsed.data);
}
