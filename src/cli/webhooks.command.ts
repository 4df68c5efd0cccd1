import { createLogger } from '../logger.js';
import { createMetricsRegistry } from '../metrics.js';
import { createWebhookSubscriptionService, webhookAddressOf } from '../orders/webhook-subscriptions.service.js';
import { openDatabase, type Database } from '../db/database.js';
import { AdminApiShopifyClient } from '../shopify/admin-api-shopify-client.js';
import { createShopifyCredentials } from '../shopify/credentials/credentials.js';
import { AppError } from '../shared/errors.js';
import { loadCliConfig } from './cli-database.js';
import { defineCommand, stringOption } from './command.js';

/**
 * `webhooks register --address URL`: creates the Shopify webhook subscriptions the order
 * pipeline needs (orders/create, orders/updated, orders/cancelled, refunds/create) to the
 * gateway's `/webhooks/shopify`, keeping the ones that exist. `webhooks status [--address URL]`
 * lists what is present and missing, and exits 1 when something is missing (for monitoring
 * scripts). The address defaults to `PUBLIC_URL`; a base URL gets `/webhooks/shopify` appended.
 */
export const webhooksCommand = defineCommand({
  name: 'webhooks',
  usage: 'webhooks register [--address URL]\nwebhooks status [--address URL]',
  summary: "create the Shopify webhook subscriptions orders need (idempotent), or report missing ones (address defaults to PUBLIC_URL)",
  description: `register creates the missing subscriptions (idempotent); status lists present and missing ones and
exits 1 when one is missing. The address defaults to PUBLIC_URL; a base URL gets /webhooks/shopify
appended.`,
  actions: ['register', 'status'],
  options: { address: { type: 'string', valueName: 'URL', description: 'where Shopify delivers (default PUBLIC_URL)' } },
  run: async (args, io) => {
    const action = args.positionals[0];
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
