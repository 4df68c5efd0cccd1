import { createLogger } from '../logger.js';
import { createMetricsRegistry } from '../metrics.js';
import { createWebhookSubscriptionService, webhookAddressOf } from '../orders/webhook-subscriptions.service.js';
import { openDatabase, type Database } from '../db/database.js';
import { AdminApiShopifyClient } from '../shopify/admin-api-shopify-client.js';
import { createShopifyCredentials } from '../shopify/credentials/credentials.js';
import { AppError } from '../shared/errors.js';
import { loadCliConfig } from './cli-database.js';
import { defineCommand, stringOption, UsageError } from './command.js';
import { runWebhooksReplay } from './webhooks-replay.js';

/**
 * `webhooks register --address URL`: creates the Shopify webhook subscriptions the order
 * pipeline needs (orders/create, orders/updated, orders/cancelled, refunds/create) to the
 * gateway's `/webhooks/shopify`, keeping the ones that exist. `webhooks status [--address URL]`
 * lists what is present and missing, and exits 1 when something is missing (for monitoring
 * scripts). The address defaults to `PUBLIC_URL`; a base URL gets `/webhooks/shopify` appended.
 * `webhooks replay` puts failed and waiting deliveries back in the inbox (src/cli/webhooks-replay.ts).
 */
export const webhooksCommand = defineCommand({
  name: 'webhooks',
  usage:
    'webhooks register [--address URL]\nwebhooks status [--address URL]\n' +
    'webhooks replay [--id ID]... [--topic T] [--status S] [--received-after T] [--received-before T] [--limit N] [--dry-run] [--json]',
  summary: 'create the Shopify webhook subscriptions orders need (idempotent), report missing ones, or replay failed deliveries',
  description: `register creates the missing subscriptions (idempotent); status lists present and missing ones and
exits 1 when one is missing. The address defaults to PUBLIC_URL; a base URL gets /webhooks/shopify
appended.

replay puts the stored deliveries the ids and filter match back in the inbox, due now: FAILED ones
(with their body) and ones waiting after an error; the running gateway's inbox drain applies them
again (with the embedded database, stop the gateway first: it holds the data directory's lock, and
the deliveries are applied when it starts). Give ids or at least one filter. Many deliveries go in
batches of 500 with progress on stderr; each queued one is recorded as an operator action. Exit 0
done, 1 refused (no filter), 2 usage.

examples:
  npm run cli -- webhooks register --address https://stockbridge.example.com
  npm run cli -- webhooks status
  npm run cli -- webhooks replay --status FAILED --topic refunds/create --dry-run
  npm run cli -- webhooks replay --id 4182 --id 4190
  npm run cli -- webhooks replay --status FAILED --received-after 2026-12-01T00:00:00Z --json`,
  actions: ['register', 'status', 'replay'],
  options: {
    address: { type: 'string', valueName: 'URL', description: 'register, status: where Shopify delivers (default PUBLIC_URL)' },
    id: { type: 'string', multiple: true, valueName: 'ID', description: 'replay: a delivery id (webhookDeliveries shows them)' },
    topic: { type: 'string', valueName: 'T', description: 'replay: deliveries of this topic, e.g. orders/create' },
    status: { type: 'string', valueName: 'S', description: 'replay: deliveries in this status (FAILED, PENDING, DONE, IGNORED)' },
    'received-after': { type: 'string', valueName: 'T', description: 'replay: received at or after this ISO 8601 time' },
    'received-before': { type: 'string', valueName: 'T', description: 'replay: received before this ISO 8601 time' },
    limit: { type: 'string', valueName: 'N', description: 'replay: queue at most N deliveries (default: every replayable match)' },
    'dry-run': { type: 'boolean', description: 'replay: report what matches; change and record nothing' },
    json: { type: 'boolean', description: 'replay: print the answer as JSON' },
  },
  run: async (args, io) => {
    const action = args.positionals[0];
    if (action === 'replay') return runWebhooksReplay(args, io);
    const replayOnly = ['id', 'topic', 'status', 'received-after', 'received-before', 'limit', 'dry-run', 'json'].filter((name) => args.values[name] !== undefined);
    if (replayOnly.length > 0) throw new UsageError(`${action} takes no ${replayOnly.map((name) => `--${name}`).join(', ')} (replay options)`);
    const config = loadCliConfig(io);
    if (!config.shopify.shop || (config.shopify.grant === 'static' && !config.shopify.accessToken)) {
      throw new AppError('CONFIG_INVALID', 'webhooks: SHOPIFY_SHOP and its credentials are needed (the demo subscribes its simulated store by itself at start)');
    }
    const given = stringOption(args, 'address') ?? config.publicUrl;
    if (action === 'register' && !given) {
      io.stderr.write('webhooks register: give --address URL (or set PUBLIC_URL)\n');
      return 2;
    }
    let address: string | null = null;
    if (given) {
      try {
        const parsed = new URL(given);
        if (parsed.protocol !== 'https:' && parsed.protocol !== 'http:') throw new Error('not http(s)');
      } catch {
        io.stderr.write(`webhooks: --address must be an absolute http(s) URL, got ${given}\n`);
        return 2;
      }
      address = webhookAddressOf(given);
    }
    const log = createLogger(io.env.LOG_LEVEL ?? 'warn', io.stderr);
    // A token the gateway obtains itself (SHOPIFY_GRANT) is kept in the database.
    let database: Database | null = null;
    let tokens;
    if (config.shopify.grant !== 'static') {
      database = await openDatabase({ databaseUrl: config.databaseUrl, dataDir: config.dataDir });
      await database.migrate();
      tokens = createShopifyCredentials({ config, database, log, shop: config.shopify.shop, adminUrl: config.shopify.adminUrl }).tokens;
    }
    const shopify = new AdminApiShopifyClient({
      shopDomain: config.shopify.shop,
      accessToken: tokens ? undefined : config.shopify.accessToken,
      tokens,
      apiVersion: config.shopify.apiVersion,
      adminUrl: config.shopify.adminUrl,
      logger: log.child({ component: 'shopify' }),
      metrics: createMetricsRegistry({ defaultMetrics: false }),
    });
    try {
      const subscriptions = createWebhookSubscriptionService({ shopify, log });
      if (action === 'register') {
        const result = await subscriptions.register(address!);
        for (const subscription of result.existing) io.stdout.write(`exists   ${subscription.topic} → ${subscription.uri}\n`);
        for (const subscription of result.created) io.stdout.write(`created  ${subscription.topic} → ${subscription.uri}\n`);
        io.stdout.write(`${result.created.length} created, ${result.existing.length} already there\n`);
        return 0;
      }
      const health = await subscriptions.status(address);
      for (const present of health.present) io.stdout.write(`ok       ${present.topic}\n`);
      for (const missing of health.missing) io.stdout.write(`MISSING  ${missing}${address ? ` → ${address}` : ''}\n`);
      for (const other of health.elsewhere) io.stdout.write(`other    ${other.topic} → ${other.uri}\n`);
      io.stdout.write(health.healthy ? 'healthy\n' : `missing: ${health.missing.join(', ')}\n`);
      return health.healthy ? 0 : 1;
    } finally {
      await shopify.close();
      await database?.close();
    }
  },
});
