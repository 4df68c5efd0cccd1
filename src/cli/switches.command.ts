import type { Database } from '../db/database.js';
import { createLogger } from '../logger.js';
import { createInstallationRepository } from '../shopify/credentials/installation.repository.js';
import { createSwitchesRepository } from '../switches/switches.repository.js';
import { createSwitchesService, INVENTORY_PUSH_MODES, ORDERS_TO_ERP_MODES, type InventoryPushMode, type OrdersToErpMode, type SwitchesService } from '../switches/switches.service.js';
import { withDatabase } from './cli-database.js';
import { defineCommand, stringOption, UsageError } from './command.js';

const usage = 'switches [show]\nswitches set [--inventory-push on|shadow|off] [--orders-to-erp on|off]';

/** The switches over one database, for the CLI and the doctor. */
export function switchesOver(database: Database, shop: string | undefined): SwitchesService {
  const installations = createInstallationRepository(database.db, null);
  return createSwitchesService({
    repository: createSwitchesRepository(database.db),
    installedState: async () => (shop ? ((await installations.findStatus(shop))?.status ?? null) : null),
    log: createLogger('silent'),
    now: () => new Date(),
  });
}

/**
 * `switches show` prints the go-live switches as every instance obeys them; `switches set`
 * changes them in the database, which every running instance reads within seconds (no restart).
 */
export const switchesCommand = defineCommand({
  name: 'switches',
  usage,
  summary: 'show or set the go-live switches (inventory push on/shadow/off, orders to ERP on/off) for every instance, without a restart',
  description: `INVENTORY_PUSH and ORDERS_TO_ERP in the environment are the defaults; a value set here wins and
is read by every running instance within seconds. json prints the state as JSON.`,
  maxPositionals: 1,
  actions: ['show', 'set'],
  defaultAction: 'show',
  examples: ['switches', 'switches show --json', 'switches set --inventory-push shadow', 'switches set --inventory-push on --orders-to-erp on'],
  options: {
    'inventory-push': { type: 'string', valueName: 'on|shadow|off', description: 'set: on (push), shadow (compute and report, write nothing) or off' },
    'orders-to-erp': { type: 'string', valueName: 'on|off', description: 'set: on (send orders to the ERP) or off (receive and store only)' },
    json: { type: 'boolean', description: 'print the switches as JSON' },
  },
  async run(args, io) {
    const action = args.positionals[0] ?? 'show';
    const inventoryPush = stringOption(args, 'inventory-push');
    const ordersToErp = stringOption(args, 'orders-to-erp');
    if (!['show', 'set'].includes(action)) throw new UsageError(`unknown action '${action}' (show or set)`);
    if (action === 'set' && inventoryPush === undefined && ordersToErp === undefined) throw new UsageError('set needs --inventory-push or --orders-to-erp');
    if (action === 'show' && (inventoryPush !== undefined || ordersToErp !== undefined)) throw new UsageError('show takes no switch values (use set)');
    if (inventoryPush !== undefined && !INVENTORY_PUSH_MODES.includes(inventoryPush as InventoryPushMode)) {
      io.stderr.write(`switches: --inventory-push must be one of ${INVENTORY_PUSH_MODES.join(', ')}\n`);
      return 2;
    }
    if (ordersToErp !== undefined && !ORDERS_TO_ERP_MODES.includes(ordersToErp as OrdersToErpMode)) {
      io.stderr.write(`switches: --orders-to-erp must be one of ${ORDERS_TO_ERP_MODES.join(', ')}\n`);
      return 2;
    }
    return withDatabase(io, async (database, config) => {
      const switches = switchesOver(database, config.shopify.shop);
      const state =
        action === 'set'
          ? await switches.set({ inventoryPush: inventoryPush as InventoryPushMode | undefined, ordersToErp: ordersToErp as OrdersToErpMode | undefined }, 'cli')
          : await switches.state();
      if (args.values.json === true) {
        io.stdout.write(`${JSON.stringify(state, null, 2)}\n`);
        return 0;
      }
      const suffix = state.shopInstalled ? '' : ' (the Shopify app is uninstalled: everything is off until it is installed again)';
      io.stdout.write(`inventory push  ${state.inventoryPush}${state.setBy.inventoryPush ? `  (set by ${state.setBy.inventoryPush})` : '  (default)'}\n`);
      io.stdout.write(`orders to ERP   ${state.ordersToErp}${state.setBy.ordersToErp ? `  (set by ${state.setBy.ordersToErp})` : '  (default)'}\n`);
      if (suffix) io.stdout.write(`${suffix.trim()}\n`);
      return 0;
    });
  },
});
