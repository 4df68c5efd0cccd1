import { readFile } from 'node:fs/promises';
import { ZodError } from 'zod';
import { createLogger } from '../logger.js';
import { SHOPIFY_PLANS, shopSeedSchema, startShopifySimulator, type ShopifyPlanName } from '../simulators/shopify/index.js';
import { defineCommand, stringOption } from './command.js';

/**
 * `simulate-shopify`: runs the Shopify simulator as a standalone store, so a person can point a
 * gateway (or a real ERP's staging integration) at it the way Shopify development stores are
 * used. It prints the admin URL, the shop domain, the access token and the client secret, then
 * serves until stopped. The seed file format is documented in src/simulators/shopify/README.md.
 */
export const simulateShopifyCommand = defineCommand({
  name: 'simulate-shopify',
  usage:
    'simulate-shopify [--port P] [--host H] [--plan standard|advanced|plus|enterprise] [--seed FILE]\n' +
    '                 [--shop DOMAIN] [--token T] [--secret S] [--api-key K] [--webhook-time-scale X] [--random-seed N]',
  summary: 'run a simulated Shopify store (Admin API 2026-10, webhooks, control API under /_simulator/)',
  description: `Serves until Ctrl-C. Prints the admin URL and the variables that point a gateway at it. The seed
file format is in src/simulators/shopify/README.md.`,
  examples: ['simulate-shopify --port 9100 --plan plus', 'simulate-shopify --port 0 --shop staging.myshopify.com --seed ./catalogue.json'],
  options: {
    port: { type: 'string', valueName: 'P', description: 'listen port (default 9100; 0 picks a free one)' },
    host: { type: 'string', valueName: 'H', description: 'listen address (default 127.0.0.1)' },
    plan: { type: 'string', valueName: 'PLAN', description: 'rate limits of standard, advanced, plus or enterprise (default standard)' },
    seed: { type: 'string', valueName: 'FILE', description: 'a JSON catalogue to start with' },
    shop: { type: 'string', valueName: 'DOMAIN', description: 'shop domain (default a generated *.myshopify.com)' },
    token: { type: 'string', valueName: 'T', description: 'the Admin API access token it accepts' },
    secret: { type: 'string', valueName: 'S', description: 'the client secret that signs webhooks' },
    'api-key': { type: 'string', valueName: 'K', description: 'the app client id (OAuth)' },
    'webhook-time-scale': { type: 'string', valueName: 'X', description: "scale of Shopify's webhook retry schedule (default 0.001; 1 = real time)" },
    'random-seed': { type: 'string', valueName: 'N', description: 'seed of the simulated randomness (default 20261127)' },
  },
  run: async (args, io) => {
    const flag = (name: string) => stringOption(args, name);
    const problems: string[] = [];

    const port = Number(flag('port') ?? '9100');
    if (!Number.isInteger(port) || port < 0 || port > 65535) problems.push('--port must be a whole number from 0 to 65535');
    const plan = flag('plan') ?? 'standard';
    if (!(plan in SHOPIFY_PLANS)) problems.push(`--plan must be one of ${Object.keys(SHOPIFY_PLANS).join(', ')}`);
    const timeScale = Number(flag('webhook-time-scale') ?? '0.001');
    if (!(timeScale > 0)) problems.push('--webhook-time-scale must be a positive number (1 = Shopify real 4-hour retry schedule)');
    const randomSeed = Number(flag('random-seed') ?? '20261127');
    if (!Number.isInteger(randomSeed)) problems.push('--random-seed must be a whole number');
    const shopDomain = flag('shop');
    if (shopDomain !== undefined && !/^[a-z0-9][a-z0-9-]*\.myshopify\.com$/i.test(shopDomain)) problems.push('--shop must be a shop domain such as acme.myshopify.com');

    let catalogue;
    const seedFile = flag('seed');
    if (seedFile !== undefined) {
      try {
        catalogue = shopSeedSchema.parse(JSON.parse(await readFile(seedFile, 'utf8')));
      } catch (error) {
        if (error instanceof ZodError) problems.push(`--seed ${seedFile}: ${error.issues.map((issue) => `${issue.path.join('.') || '(root)'}: ${issue.message}`).join('; ')}`);
        else problems.push(`--seed ${seedFile}: ${error instanceof Error ? error.message : String(error)}`);
      }
    }
    if (problems.length > 0) {
      io.stderr.write(`simulate-shopify: ${problems.join('\n  ')}\n`);
      return 2;
    }

    const logger = createLogger(io.env.LOG_LEVEL ?? 'info', io.stderr);
    const simulator = await startShopifySimulator({
      port,
      host: flag('host') ?? '127.0.0.1',
      plan: plan as ShopifyPlanName,
      shopDomain,
      accessToken: flag('token'),
      apiSecret: flag('secret'),
      apiKey: flag('api-key'),
      webhookTimeScale: timeScale,
      seed: randomSeed,
      logger: logger.child({ component: 'shopify-simulator' }),
    });
    const seeded = catalogue ? simulator.state.seed(catalogue) : undefined;
    io.stdout.write(
      [
        `Shopify simulator (Admin API ${simulator.apiVersion}, ${plan} plan) at ${simulator.adminUrl}`,
        `  GraphQL:         ${simulator.graphqlUrl()}`,
        `  control API:     ${simulator.adminUrl}/_simulator/`,
        `  shop:            ${simulator.shopDomain}`,
        `  seeded:          ${seeded ? `${seeded.locations.length} locations, ${seeded.variants.length} variants` : 'nothing (POST /_simulator/seed to add a catalogue)'}`,
        '',
        'Point the gateway at it with:',
        `  SHOPIFY_ADMIN_URL=${simulator.adminUrl}`,
        `  SHOPIFY_SHOP=${simulator.shopDomain}`,
        `  SHOPIFY_ACCESS_TOKEN=${simulator.accessToken}`,
        `  SHOPIFY_API_KEY=${simulator.apiKey}`,
        `  SHOPIFY_API_SECRET=${simulator.apiSecret}`,
        '',
      ].join('\n'),
    );
    await io.stopSignal;
    await simulator.close();
    io.stdout.write('Shopify simulator stopped\n');
    return 0;
  },
});
