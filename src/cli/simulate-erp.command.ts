import { createDemoErp } from '../erp/simulated/demo-catalogue.js';
import { startSimulatedErpServer } from '../erp/simulated/simulated-erp-server.js';
import { defineCommand, stringOption } from './command.js';

/**
 * `simulate-erp`: the simulated ERP with the demo catalogue served over HTTP, so gateway
 * processes share one (ERP_CONNECTOR=simulated with ERP_URL, beside `simulate-shopify`).
 */
export const simulateErpCommand = defineCommand({
  name: 'simulate-erp',
  usage: 'simulate-erp [--port P] [--host H] [--skus N] [--locations N] [--seed N]',
  summary: 'run the simulated ERP (demo catalogue) over HTTP for gateways started with ERP_CONNECTOR=simulated ERP_URL=…',
  description: `Serves until Ctrl-C. Each POST { method, params } is one call of the simulated ERP's wire.
Point gateways at it with ERP_CONNECTOR=simulated and ERP_URL (their store must be a simulator:
a loopback SHOPIFY_ADMIN_URL, see simulate-shopify).

examples:
  npm run cli -- simulate-erp --port 9200
  npm run cli -- simulate-erp --port 0 --skus 2000 --locations 3 --seed 7`,
  options: {
    port: { type: 'string', valueName: 'P', description: 'listen port (default 9200; 0 picks a free one)' },
    host: { type: 'string', valueName: 'H', description: 'listen address (default 127.0.0.1)' },
    skus: { type: 'string', valueName: 'N', description: 'products in the demo catalogue (default 300)' },
    locations: { type: 'string', valueName: 'N', description: 'warehouses, 1 to 3 (default 3)' },
    seed: { type: 'string', valueName: 'N', description: 'seed of the catalogue (default 1)' },
  },
  run: async (args, io) => {
    const flag = (name: string) => stringOption(args, name);
    const problems: string[] = [];
    const whole = (name: string, fallback: number, min: number, max: number): number => {
      const value = Number(flag(name) ?? String(fallback));
      if (!Number.isInteger(value) || value < min || value > max) problems.push(`--${name} must be a whole number from ${min} to ${max}`);
      return value;
    };
    const port = whole('port', 9200, 0, 65535);
    const skus = whole('skus', 300, 1, 1_000_000);
    const locations = whole('locations', 3, 1, 3);
    const seed = whole('seed', 1, 0, 2 ** 31);
    if (problems.length > 0) {
      io.stderr.write(`simulate-erp: ${problems.join('\n  ')}\n`);
      return 2;
    }
    const server = await startSimulatedErpServer({ erp: createDemoErp({ skus, locations, seed }), port, host: flag('host') ?? '127.0.0.1' });
    io.stdout.write(
      [
        `Simulated ERP (demo catalogue: ${skus} products, ${locations} warehouses, seed ${seed}) at ${server.url}`,
        '',
        'Point gateways at it with:',
        '  ERP_CONNECTOR=simulated',
        `  ERP_URL=${server.url}`,
        '',
      ].join('\n'),
    );
    await io.stopSignal;
    await server.close();
    io.stdout.write('Simulated ERP stopped\n');
    return 0;
  },
});
