import { pino, type Logger, type LoggerOptions } from 'pino';

export type { Logger };

/**
 * Keys whose values never reach a log line, wherever they sit in the logged object: credentials
 * and tokens, and customers' personal data (Shopify bodies and order snapshots carry both
 * spellings, REST `shipping_address` and our `shippingAddress`).
 */
export const redactedKeys: ReadonlySet<string> = new Set([
  // credentials and tokens
  'password',
  'accessToken',
  'access_token',
  'refreshToken',
  'refresh_token',
  'apiSecret',
  'apiKeyPlain',
  'clientSecret',
  'client_secret',
  'encryptionKey',
  'webhookSecretPrevious',
  'authorization',
  'cookie',
  'x-shopify-access-token',
  'x-shopify-hmac-sha256',
  // personal data
  'email',
  'contact_email',
  'phone',
  'customer',
  'shipping_address',
  'billing_address',
  'shippingAddress',
  'billingAddress',
  'address1',
  'address2',
  'first_name',
  'last_name',
  'firstName',
  'lastName',
]);

/** Nesting below this is logged as is; nothing in this codebase logs deeper (bodies are never logged whole). */
const MAX_DEPTH = 8;
const CENSOR = '[redacted]';

/**
 * The logged object with every value under a redacted key replaced, at any depth. Copy on write:
 * an object with nothing to hide is returned as it is, so a typical line costs one walk of its
 * few keys. (pino's own path-based redaction has no "any depth" wildcard, and listing each key at
 * each depth cost about 0.3 ms a line: bench/log-redaction.bench.ts.) Errors, buffers, dates and
 * class instances are left to pino's serializers.
 */
export function redactPersonalData(value: unknown, depth = 0): unknown {
  if (value === null || typeof value !== 'object' || depth > MAX_DEPTH) return value;
  if (Array.isArray(value)) {
    let copy: unknown[] | undefined;
    for (let i = 0; i < value.length; i++) {
      const scrubbed = redactPersonalData(value[i], depth + 1);
      if (scrubbed !== value[i]) (copy ??= value.slice())[i] = scrubbed;
    }
    return copy ?? value;
  }
  const prototype = Object.getPrototypeOf(value) as unknown;
  if (prototype !== Object.prototype && prototype !== null) return value;
  const record = value as Record<string, unknown>;
  let copy: Record<string, unknown> | undefined;
  for (const key of Object.keys(record)) {
    const original = record[key];
    const scrubbed = redactedKeys.has(key) ? CENSOR : redactPersonalData(original, depth + 1);
    if (scrubbed !== original) (copy ??= { ...record })[key] = scrubbed;
  }
  return copy ?? value;
}

/**
 * Fixed paths for what pino's serializers produce (a serialized request's headers), and the
 * configuration's secrets by name. Paths without wildcards cost next to nothing.
 */
export const redactPaths = [
  'req.headers.authorization',
  'req.headers["x-shopify-access-token"]',
  'req.headers["x-shopify-hmac-sha256"]',
  'config.shopify.apiSecret',
  'config.shopify.accessToken',
  'config.erp.password',
  'config.metrics.token',
  'config.encryptionKey',
];

/** The one root logger; everything else receives a child of it. */
export function createLogger(level: string, destination?: pino.DestinationStream): Logger {
  const options: LoggerOptions = {
    level,
    base: { service: 'stockbridge' },
    redact: { paths: redactPaths, censor: CENSOR },
    // Errors are serialized after the formatter ran: their own fields (an AppError's details) are
    // scrubbed here. Their message is free text and stays as written.
    serializers: { err: (error: unknown) => redactPersonalData(error instanceof Error ? { ...pino.stdSerializers.err(error) } : error) },
    formatters: {
      log: (object) => redactPersonalData(object) as Record<string, unknown>,
      bindings: (bindings) => redactPersonalData(bindings) as Record<string, unknown>,
    },
    timestamp: pino.stdTimeFunctions.isoTime,
  };
  return destination ? pino(options, destination) : pino(options);
}
