import { ConfigError, loadConfig } from './config.js';
import { ensureDemoApiKey } from './demo/demo-api-key.js';
import { startGateway } from './gateway.js';
import { createLogger } from './logger.js';

/**
 * Entry point of `npm start`: the only reader of process.env. Loads the configuration (all
 * problems at once), starts the gateway and owns shutdown on SIGTERM/SIGINT.
 */
async function main(): Promise<void> {
  let config;
  try {
    config = loadConfig(process.env);
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`${error.message}\n`);
      process.exit(2);
    }
    throw error;
  }
  const log = createLogger(config.logLevel);
  const gateway = await startGateway(config, log);
  if (gateway.demo) {
    const key = await ensureDemoApiKey(gateway.services.auth.apiKeys, config.dataDir);
    process.stdout.write(
      [
        '',
        'Stockbridge demo is running (simulated ERP and simulated Shopify store on loopback).',
        `  GraphQL:   ${gateway.graphqlUrl}`,
        `  API key:   ${key}`,
        `  Shopify:   ${gateway.demo.shopify.adminUrl} (simulator, ${gateway.demo.shopify.shopDomain})`,
        '  Try:',
        `    curl -s ${gateway.graphqlUrl} -H 'authorization: Bearer ${key}' -H 'content-type: application/json' \\`,
        `      -d '{"query":"{ serverInfo { name version database erpConnector shop } }"}'`,
        '',
      ].join('\n'),
    );
  }

  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.info({ signal }, 'shutting down');
    const force = setTimeout(() => {
      log.error('shutdown took longer than 30 s; exiting');
      process.exit(1);
    }, 30_000);
    force.unref();
    gateway.close().then(
      () => {
        log.info('stopped');
        process.exit(0);
      },
      (error: unknown) => {
        log.error({ err: error }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
}

main().catch((error: unknown) => {
  process.stderr.write(`stockbridge failed to start: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exit(1);
});
