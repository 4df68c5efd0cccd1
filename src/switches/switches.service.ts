import { Gauge, type Registry } from 'prom-client';
import type { Logger } from '../logger.js';
import { ValidationError } from '../shared/errors.js';
import type { SwitchesRepository } from './switches.repository.js';

/**
 * The go-live switches: `inventoryPush` (on: push to Shopify; shadow: compute and record what
 * would be pushed and the drift, write nothing; off: push nothing) and `ordersToErp` (on: send
 * orders to the ERP; off: receive, store and show them, send nothing). They live in the
 * database, so one `switches set` (CLI or GraphQL) reaches every instance without a restart;
 * `INVENTORY_PUSH` / `ORDERS_TO_ERP`, when set, write them at an instance's start.
 *
 * Guarantee: `inventoryPush()` and `ordersToErp()` are what work must obey now: the stored
 * switches (default on), both off while the Shopify app is uninstalled from the shop, read from
 * the database at most `cacheMs` (default 2 s) ago. A change made through this service is seen
 * by this instance at once.
 */
export type InventoryPushMode = 'on' | 'shadow' | 'off';
export type OrdersToErpMode = 'on' | 'off';

export interface GoLiveSwitches {
  readonly inventoryPush: InventoryPushMode;
  readonly ordersToErp: OrdersToErpMode;
}

export interface SwitchesState extends GoLiveSwitches {
  /** False after `app/uninstalled` until the app is installed again. */
  readonly shopInstalled: boolean;
  /** Who set each switch last (`env at start`, `cli`, `graphql`); null when never set (the default). */
  readonly setBy: { readonly inventoryPush: string | null; readonly ordersToErp: string | null };
}

export const INVENTORY_PUSH_MODES: readonly InventoryPushMode[] = ['on', 'shadow', 'off'];
export const ORDERS_TO_ERP_MODES: readonly OrdersToErpMode[] = ['on', 'off'];

export interface SwitchesService {
  /** The switches as set, and whether the shop is installed (fresh from the database). */
  state(): Promise<SwitchesState>;
  /** What the push must do now (off while the app is uninstalled). */
  inventoryPush(): Promise<InventoryPushMode>;
  /** Whether orders may be sent to the ERP now (off while the app is uninstalled). */
  ordersToErp(): Promise<OrdersToErpMode>;
  set(changes: Partial<GoLiveSwitches>, setBy: string): Promise<SwitchesState>;
  /** Forget the cached reading (an install or uninstall just happened here). */
  invalidate(): void;
}

export interface SwitchesServiceDeps {
  readonly repository: SwitchesRepository;
  /** Whether the shop's app is installed (null: no installation recorded, e.g. a static token). */
  readonly installedState: () => Promise<'installed' | 'uninstalled' | null>;
  readonly log: Logger;
  readonly now: () => Date;
  readonly metrics?: Registry;
  readonly cacheMs?: number;
}

const INVENTORY_PUSH = 'inventory_push';
const ORDERS_TO_ERP = 'orders_to_erp';

function asInventoryPush(value: string | undefined): InventoryPushMode {
  return INVENTORY_PUSH_MODES.includes(value as InventoryPushMode) ? (value as InventoryPushMode) : 'on';
}
function asOrdersToErp(value: string | undefined): OrdersToErpMode {
  return ORDERS_TO_ERP_MODES.includes(value as OrdersToErpMode) ? (value as OrdersToErpMode) : 'on';
}

export function createSwitchesService(deps: SwitchesServiceDeps): SwitchesService {
  const cacheMs = deps.cacheMs ?? 2_000;
  let cached: { state: SwitchesState; readAt: number } | null = null;
  let reading: Promise<SwitchesState> | null = null;

  const read = async (): Promise<SwitchesState> => {
    const [rows, installed] = await Promise.all([deps.repository.readAll(), deps.installedState()]);
    const state: SwitchesState = {
      inventoryPush: asInventoryPush(rows.get(INVENTORY_PUSH)?.value),
      ordersToErp: asOrdersToErp(rows.get(ORDERS_TO_ERP)?.value),
      shopInstalled: installed !== 'uninstalled',
      setBy: { inventoryPush: rows.get(INVENTORY_PUSH)?.setBy ?? null, ordersToErp: rows.get(ORDERS_TO_ERP)?.setBy ?? null },
    };
    cached = { state, readAt: Date.now() };
    return state;
  };
  const fresh = async (): Promise<SwitchesState> => {
    if (cached && Date.now() - cached.readAt < cacheMs) return cached.state;
    reading ??= read().finally(() => {
      reading = null;
    });
    return reading;
  };

  if (deps.metrics) {
    const registry = deps.metrics;
    new Gauge({
      name: 'stockbridge_switch_mode',
      help: 'The go-live switches as this instance obeys them: 1 for the mode in force, 0 for the others (shop_installed: 1 when the Shopify app is installed)',
      labelNames: ['switch', 'mode'] as const,
      registers: [registry],
      async collect() {
        const state = await fresh();
        this.reset();
        for (const mode of INVENTORY_PUSH_MODES) this.set({ switch: 'inventory_push', mode }, state.shopInstalled && state.inventoryPush === mode ? 1 : 0);
        for (const mode of ORDERS_TO_ERP_MODES) this.set({ switch: 'orders_to_erp', mode }, state.shopInstalled && state.ordersToErp === mode ? 1 : 0);
        this.set({ switch: 'shop_installed', mode: state.shopInstalled ? 'on' : 'off' }, state.shopInstalled ? 1 : 0);
      },
    });
  }

  return {
    state: async () => {
      cached = null;
      return fresh();
    },
    async inventoryPush() {
      const state = await fresh();
      return state.shopInstalled ? state.inventoryPush : 'off';
    },
    async ordersToErp() {
      const state = await fresh();
      return state.shopInstalled ? state.ordersToErp : 'off';
    },
    async set(changes, setBy) {
      if (changes.inventoryPush !== undefined && !INVENTORY_PUSH_MODES.includes(changes.inventoryPush)) {
        throw new ValidationError(`inventory push must be one of ${INVENTORY_PUSH_MODES.join(', ')}`, { code: 'SWITCH_INVALID' });
      }
      if (changes.ordersToErp !== undefined && !ORDERS_TO_ERP_MODES.includes(changes.ordersToErp)) {
        throw new ValidationError(`orders to ERP must be one of ${ORDERS_TO_ERP_MODES.join(', ')}`, { code: 'SWITCH_INVALID' });
      }
      const at = deps.now();
      if (changes.inventoryPush) await deps.repository.write(INVENTORY_PUSH, asInventoryPush(changes.inventoryPush), setBy, at);
      if (changes.ordersToErp) await deps.repository.write(ORDERS_TO_ERP, asOrdersToErp(changes.ordersToErp), setBy, at);
      cached = null;
      const state = await fresh();
      deps.log.info({ inventoryPush: state.inventoryPush, ordersToErp: state.ordersToErp, setBy }, 'go-live switches set');
      return state;
    },
    invalidate() {
      cached = null;
    },
  };
}
