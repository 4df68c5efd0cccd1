import type { Database } from '../db/database.js';
import { createLogger } from '../logger.js';
import { createInstallationRepository } from '../shopify/credentials/installation.repository.js';
import { createSwitchesRepository } from '../switches/switches.repository.js';
import { createSwitchesService, INVENTORY_PUSH_MODES, ORDERS_TO_ERP_MODES, type InventoryPushMode, type OrdersToErpMode, type SwitchesService } from '../switches/switches.service.js';
import { withDatabase } from './cli-database.js';
import { parseFlags, type CliCommand } from './command.js';

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
export const switchesCommand: CliCommand = {
  name: 'switches',
  usage,
  summary: 'show or set the go-live switches (inventory push on/shadow/off, orders to ERP on/off) for every instance, without a restart',
  async run(args, io) {
    const { flags, positional } = parseFlags(args);
    const action = positional[0] ?? 'show';
    const unknown = [...flags.keys()].filter((name) => !['inventory-push', 'orders-to-erp'].includes(name));
    if (!['show', 'set'].includes(action) || unknown.length > 0 || (action === 'set' && flags.size === 0) || (action === 'show' && flags.size > 0)) {
      io.stderr.write(`usage: ${usage.split('\n').join('\n       ')}\n`);
      return 2;
    }
    const inventoryPush = flags.get('inventory-push')?.at(-1);
    const ordersToErp = flags.get('orders-to-erp')?.at(-1);
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
      const suffix = state.shopInstalled ? '' : ' (the Shopify app is uninstalled: everything is off until it is installed again)';
      io.stdout.write(`inventory push  ${state.inventoryPush}${state.setBy.inventoryPush ? `  (set by ${state.setBy.inventoryPush})` : '  (default)'}\n`);
      io.stdout.write(`orders to ERP   ${state.ordersToErp}${state.setBy.ordersToErp ? `  (set by ${state.setBy.ordersToErp})` : '  (default)'}\n`);
      if (suffix) io.stdout.write(`${suffix.trim()}\n`);
      return 0;
    });
  },
};
