import { pino, type Logger, type LoggerOptions } from 'pino';

export type { Logger };

/** Paths that never reach a log line: credentials, tokens and customer personal data. */
export const redactPaths = [
  'authorization',
  'headers.authorization',
  'req.headers.authorization',
  'req.headers["x-shopify-access-token"]',
  'req.headers["x-shopify-hmac-sha256"]',
  '*.password',
  '*.accessToken',
  '*.apiSecret',
  '*.apiKeyPlain',
  'config.shopify.accessToken',
  'config.shopify.apiSecret',
  'config.erp.password',
  'config.encryptionKey',
  '*.email',
  '*.phone',
  '*.customer',
  '*.shipping_address',
  '*.billing_address',
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
