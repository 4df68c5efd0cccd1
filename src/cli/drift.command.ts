import type { DriftRecord } from '../inventory/inventory.models.js';
import { createInventoryModule } from '../inventory/inventory.module.js';
import type { DriftEventRecord } from '../sync/merchant-edits.repository.js';
import { createSyncModule, type SyncModule } from '../sync/sync.module.js';
import type { InventoryModule } from '../inventory/inventory.module.js';
import { withModuleDeps } from './cli-modules.js';
import { booleanOption, defineCommand, listOption, stringOption, UsageError, type CliIo } from './command.js';

const SOURCES = ['MERCHANT_EDIT', 'RECONCILE'] as const;
type Source = (typeof SOURCES)[number];

/** The most rows one `drift` prints (pages of 250 are read until then). */
const MAX_LIMIT = 10_000;
const PAGE = 250;

const usage = `drift [list] [--sku S]... [--location L] [--limit N] [--json]
drift history --sku S [--location L] [--source MERCHANT_EDIT|RECONCILE] [--limit N] [--json]`;

/** The inventory and sync services of the configured store, on the configured database, for one command. */
async function withDriftServices(io: CliIo, work: (inventory: InventoryModule, sync: SyncModule) => Promise<number>): Promise<number> {
  return withModuleDeps(io, async ({ composed }) => {
    // Built, not started: both answer from the database alone (no ERP or Shopify call).
    const inventory = createInventoryModule(composed.deps);
    const { mapping, atp, pushSignal } = inventory.services;
    const sync = createSyncModule(composed.deps, { mapping, atp, pushSignal, catalogue: inventory.services });
    return work(inventory, sync);
  });
}

/** Up to `limit` drift rows of one filter, through the same paged read as `inventoryDriftConnection`. */
async function readDrift(inventory: InventoryModule, filter: { sku: string | null; location: string | null }, limit: number): Promise<{ rows: DriftRecord[]; more: boolean }> {
  const rows: DriftRecord[] = [];
  let after: string | null = null;
  for (;;) {
    const page = await inventory.services.reads.listDrift({ ...filter, first: Math.min(PAGE, limit - rows.length + 1), after });
    rows.push(...page.edges.map((edge) => edge.node));
    if (rows.length > limit) return { rows: rows.slice(0, limit), more: true };
    if (!page.pageInfo.hasNextPage) return { rows, more: false };
    after = page.pageInfo.endCursor;
  }
}

function whole(text: string | undefined, name: string, fallback: number): number {
  if (text === undefined) return fallback;
  const value = Number(text);
  if (!Number.isInteger(value) || value < 1 || value > MAX_LIMIT) throw new UsageError(`--${name} must be a whole number from 1 to ${MAX_LIMIT}`);
  return value;
}

const signed = (value: number) => (value > 0 ? `+${value}` : String(value));

/**
 * `drift` lists where Shopify's last read `available` differs from the ATP (the GraphQL
 * `inventoryDrift`), with when and how each was last found; `drift history` lists the drift
 * found for a SKU over time, newest first (`driftHistory`). Both read the shared database only.
 */
export const driftCommand = defineCommand({
  name: 'drift',
  usage,
  summary: "list where Shopify's available differs from the ATP now, or the drift found for a SKU over time",
  description: `list (the default) compares each pushable position's ATP (in Shopify units) with Shopify's
available as last read (by a push, a reconcile or an inventory_levels/update webhook), in SKU order:
DIFF is Shopify minus ATP (positive: Shopify offers more than can be promised). A full reconcile
(sync --full) reads every level and corrects what it may. history lists the drift found for --sku
(by merchants' edits and reconciles) and what was done about it, newest first.
Both read the shared database only (no ERP or Shopify call); with the embedded database (PGlite)
stop the gateway first: it holds the data directory's lock. Exit 0 with the answer (drift found
or not), 1 when the database or configuration fails, 2 for a usage problem.`,
  actions: ['list', 'history'],
  defaultAction: 'list',
  options: {
    sku: { type: 'string', multiple: true, valueName: 'S', description: 'ERP SKU(s); history takes exactly one' },
    location: { type: 'string', valueName: 'L', description: 'ERP location code' },
    source: { type: 'string', valueName: 'SOURCE', description: `history: only drift found by ${SOURCES.join(' or ')}` },
    limit: { type: 'string', valueName: 'N', description: `at most this many rows (default 100, at most ${MAX_LIMIT})` },
    json: { type: 'boolean', description: 'print the answer as JSON' },
  },
  examples: ['drift', 'drift list --sku BOLT-M8X50-A2-PK10 --sku NUT-M8-A2-PK10 --json', 'drift list --location LDS --limit 500', 'drift history --sku BOLT-M8X50-A2-PK10 --source MERCHANT_EDIT'],
  async run(args, io) {
    const action = args.positionals[0] ?? 'list';
    const skus = listOption(args, 'sku');
    if (args.values.sku !== undefined && skus.length === 0) throw new UsageError('--sku needs a value');
    const location = stringOption(args, 'location')?.trim() || null;
    const source = stringOption(args, 'source');
    const limit = whole(stringOption(args, 'limit'), 'limit', 100);
    const json = booleanOption(args, 'json');
    if (action === 'history') {
      if (skus.length !== 1) throw new UsageError('history needs one --sku');
      if (source !== undefined && !SOURCES.includes(source as Source)) throw new UsageError(`--source must be ${SOURCES.join(' or ')}`);
      return withDriftServices(io, async (_inventory, sync) => {
        const events: DriftEventRecord[] = await sync.services.listDrift({ sku: skus[0], location, source: (source as Source | undefined) ?? null }, limit, null);
        if (json) {
          io.stdout.write(`${JSON.stringify(events.map((event) => ({ ...event, id: String(event.id) })), null, 2)}\n`);
          return 0;
        }
        for (const event of events) {
          io.stdout.write(
            `${event.detectedAt.toISOString()}  ${event.sku}  ${event.location}  ${event.source.padEnd(13)}  Shopify ${event.before ?? '?'} -> ${event.after}, ATP ${event.expected}  ${event.action}\n`,
          );
        }
        io.stdout.write(`${events.length} drift event${events.length === 1 ? '' : 's'} for ${skus[0]}${events.length === limit ? ` (the newest ${limit}; --limit for more)` : ''}\n`);
        return 0;
      });
    }
    if (source !== undefined) throw new UsageError('--source goes with history');
    return withDriftServices(io, async (inventory, sync) => {
      const rows: DriftRecord[] = [];
      let more = false;
      for (const sku of skus.length > 0 ? skus : [null]) {
        const found = await readDrift(inventory, { sku, location }, limit - rows.length);
        rows.push(...found.rows);
        more ||= found.more;
        if (rows.length >= limit) break;
      }
      const latest = await sync.services.findLatestDrift(rows);
      const found = (row: DriftRecord) => latest.get(`${row.inventoryItemId}|${row.shopifyLocationId}`) ?? null;
      if (json) {
        io.stdout.write(
          `${JSON.stringify(
            { drift: rows.map((row) => ({ ...row, source: found(row)?.source ?? null, detectedAt: found(row)?.detectedAt ?? null })), more },
            null,
            2,
          )}\n`,
        );
        return 0;
      }
      if (rows.length > 0) io.stdout.write(`${'SKU'.padEnd(24)}  ${'LOCATION'.padEnd(10)}  ${'ATP'.padStart(7)}  ${'SHOPIFY'.padStart(7)}  ${'DIFF'.padStart(6)}  LAST FOUND\n`);
      for (const row of rows) {
        const last = found(row);
        io.stdout.write(
          `${row.sku.padEnd(24)}  ${row.location.padEnd(10)}  ${String(row.availableToPromise).padStart(7)}  ${String(row.shopifyAvailable).padStart(7)}  ${signed(row.difference).padStart(6)}  ${last ? `${last.source} ${last.detectedAt.toISOString()}` : '-'}\n`,
        );
      }
      io.stdout.write(`${rows.length} position${rows.length === 1 ? '' : 's'} drift${rows.length === 1 ? 's' : ''}${more ? ` (the first ${limit}; --limit or --sku for more)` : ''}\n`);
      return 0;
    });
  },
});
