import { pino, type Logger, type LoggerOptions } from 'pino';

export type { Logger };

/**
 * Keys whose values never reach a log line, wherever they sit in the logged object: credentials
 * and tokens, and customers' personal data (Shopify bodies and order snapshots carry both
 * spellings, REST `shipping_address` and our `shippingAddress`).
 */
const secretKeys = ['password', 'accessToken', 'access_token', 'refreshToken', 'refresh_token', 'apiSecret', 'apiKeyPlain', 'clientSecret', 'client_secret', 'encryptionKey', 'authorization', 'cookie'];
const personalKeys = [
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
];

/**
 * pino's redaction (fast-redact) has no "any depth" wildcard, so each key is listed at the top
 * level and under one to three levels of objects: `{ order: { customer: { email } } }` is covered
 * three ways. Deeper nesting is not logged by this codebase (bodies are never logged whole).
 */
const depths = ['', '*.', '*.*.', '*.*.*.'];
const bracketed = (key: string) => (/^[A-Za-z_$][\w$]*$/.test(key) ? key : `["${key}"]`);

/** Paths that never reach a log line: credentials, tokens and customer personal data. */
export const redactPaths = [
  ...[...secretKeys, ...personalKeys].flatMap((key) => depths.map((prefix) => `${prefix}${bracketed(key)}`)),
  'req.headers["x-shopify-access-token"]',
  'req.headers["x-shopify-hmac-sha256"]',
  '*.headers["x-shopify-access-token"]',
  '*.headers["x-shopify-hmac-sha256"]',
  'config.shopify.apiSecret',
  'config.erp.password',
  'config.metrics.token',
  'config.webhookSecretPrevious',
];

/** The one root logger; everything else receives a child of it. */
export function createLogger(level: string, destination?: pino.DestinationStream): Logger {
  const options: LoggerOptions = {
    level,
    base: { service: 'stockbridge' },
    redact: { paths: redactPaths, censor: '[redacted]' },
    timestamp: pino.stdTimeFunctions.isoTime,
  };
  return destination ? pino(options, destination) : pino(options);
}
