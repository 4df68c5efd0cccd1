import { userInfo } from 'node:os';
import { createOperatorActions } from '../operator-actions/operator-actions.js';
import { createOrderRepository } from '../orders/order.repository.js';
import type { OrderRecord, OrderStatus } from '../orders/order.models.js';
import type { OrderRepository } from '../orders/order.repository.js';
import { REPLAY_ORDERS_MAX_LIMIT, replayOrdersByFilter } from '../orders/orders.service.js';
import { loadCliConfig } from './cli-database.js';
import { withModuleDeps } from './cli-modules.js';
import { booleanOption, defineCommand, listOption, startProgress, stringOption, UsageError, type CliIo } from './command.js';

const STATUSES: readonly OrderStatus[] = ['RECEIVED', 'SUBMITTED', 'FAILED', 'CANCELLED', 'IN_DOUBT'];

/** How often `--wait` reads the queued orders again. */
const WAIT_POLL_MS = 500;

/** A queued order the worker has tried again: it left RECEIVED, or counted an attempt since the replay reset them. */
const tried = (order: OrderRecord) => order.status !== 'RECEIVED' || order.attempts > 0;

/**
 * `--wait`: reads the queued orders until the running gateways' workers have tried each once
 * more, printing progress on stderr; Ctrl-C stops the waiting (the orders stay queued).
 */
async function waitForWorkers(io: CliIo, orders: OrderRepository, shop: string | null, ids: readonly string[], json: boolean): Promise<{ orders: OrderRecord[]; stopped: boolean }> {
  let stopped = false;
  void io.stopSignal.then(() => (stopped = true));
  let current: OrderRecord[] = [];
  const read = async () => (await orders.list(shop, { ids: [...ids] }, { first: ids.length, after: null })).map((row) => row.order);
  const progress = startProgress(io, {
    unit: 'orders tried',
    silent: json,
    read: () => ({
      done: current.filter(tried).length,
      total: ids.length,
      detail: `${current.filter((order) => order.status === 'SUBMITTED').length} submitted, ${current.filter((order) => order.status === 'FAILED').length} failed, ${current.filter((order) => order.status === 'RECEIVED' && order.attempts > 0).length} waiting again`,
    }),
  });
  try {
    for (;;) {
      current = await read();
      if (current.every(tried) || stopped) return { orders: current, stopped: stopped && !current.every(tried) };
      await Promise.race([new Promise((resolve) => setTimeout(resolve, WAIT_POLL_MS)), io.stopSignal]);
    }
  } finally {
    progress.stop();
  }
}

function timeOption(value: string | undefined, name: string): Date | null {
  if (value === undefined) return null;
  const time = new Date(value);
  if (Number.isNaN(time.getTime())) throw new UsageError(`--${name} must be an ISO 8601 time, got ${value}`);
  return time;
}

/**
 * `orders replay`: the replay by filter of the GraphQL `replayOrders`, on the shared database
 * directly: the matched FAILED and waiting orders are marked due, and the running gateway's
 * worker (any instance) takes them. Each queued order is recorded as a `replayOrder` operator
 * action by `cli:<user>`; `--dry-run` only reports what matches.
 */
export const ordersCommand = defineCommand({
  name: 'orders',
  usage: 'orders replay [--id ID]... [--status S] [--error-code C] [--received-after T] [--received-before T] [--limit N] [--dry-run | --wait] [--json]',
  summary: 'replay the FAILED and waiting orders a filter matches (queued for the running gateway\'s worker), or report them with --dry-run',
  description: `replay marks the matched FAILED orders (back to RECEIVED) and waiting ones due now; the worker of a
running gateway sends them. Other matched orders are counted, never touched. At least one filter is
needed. Exit 1 when the replay was refused (no filter, orders to the ERP switched off). With the
embedded database (PGlite) stop the gateway first: it holds the data directory's lock.
--wait (shared PostgreSQL only: with the embedded database no gateway runs to send them) then
waits until the workers have tried each queued order once more, printing progress on stderr
(silent with --json), and prints where each stands; Ctrl-C stops the waiting (the orders stay
queued) and exits 1. Exit 1 too when a waited-for order failed again.`,
  actions: ['replay'],
  examples: [
    'orders replay --status FAILED --error-code ERP_UNAVAILABLE --dry-run',
    'orders replay --status FAILED --received-after 2026-11-27T00:00:00Z --limit 500 --wait',
    'orders replay --id 0b6f3c1e-5a0d-4a53-9a8e-2f1d3c4b5a69 --json',
  ],
  options: {
    id: { type: 'string', multiple: true, valueName: 'ID', description: 'a gateway order id' },
    status: { type: 'string', valueName: 'S', description: `order status (${STATUSES.join(', ')})` },
    'error-code': { type: 'string', valueName: 'C', description: "the order's last error code, e.g. ERP_UNAVAILABLE" },
    'received-after': { type: 'string', valueName: 'T', description: 'received at or after this ISO 8601 time' },
    'received-before': { type: 'string', valueName: 'T', description: 'received before this ISO 8601 time' },
    limit: { type: 'string', valueName: 'N', description: `at most this many orders (default 100, at most ${REPLAY_ORDERS_MAX_LIMIT})` },
    'dry-run': { type: 'boolean', description: 'report what matches; change and record nothing' },
    wait: { type: 'boolean', description: 'wait until the running gateway has tried each queued order again (PostgreSQL only)' },
    json: { type: 'boolean', description: 'print the answer as JSON' },
  },
  async run(args, io) {
    const status = stringOption(args, 'status');
    if (status !== undefined && !STATUSES.includes(status as OrderStatus)) throw new UsageError(`--status must be one of ${STATUSES.join(', ')}`);
    const limitText = stringOption(args, 'limit');
    const limit = limitText === undefined ? null : Number(limitText);
    if (limit !== null && !Number.isInteger(limit)) throw new UsageError('--limit must be a whole number');
    const input = {
      ids: listOption(args, 'id'),
      status: (status as OrderStatus | undefined) ?? null,
      errorCode: stringOption(args, 'error-code') ?? null,
      receivedAfter: timeOption(stringOption(args, 'received-after'), 'received-after'),
      receivedBefore: timeOption(stringOption(args, 'received-before'), 'received-before'),
      dryRun: booleanOption(args, 'dry-run'),
      limit,
    };
    const json = booleanOption(args, 'json');
    const wait = booleanOption(args, 'wait');
    if (wait && input.dryRun) throw new UsageError('--wait goes with a real replay, not --dry-run');
    const config = loadCliConfig(io);
    if (wait && !config.databaseUrl) {
      throw new UsageError('--wait needs the shared PostgreSQL database (DATABASE_URL): with the embedded one the gateway is stopped, so no worker sends the orders');
    }
    return withModuleDeps(
      io,
      async ({ composed, database }) => {
        const { deps } = composed;
        // The configured store's orders; the demo's (whose shop the CLI does not know) all of them.
        const shop = config.shopify.shop && !config.demo ? config.shopify.shop : null;
        const result = await replayOrdersByFilter(
          { shop, orders: createOrderRepository(database.db), ordersToErp: deps.switches ? () => deps.switches!.ordersToErp() : undefined },
          input,
        );
        const actor = `cli:${userInfo().username}`;
        await createOperatorActions(database.db).recordMany(
          result.queued.map((order) => ({ action: 'replayOrder', actor, target: order.id, details: { shopifyOrderId: order.shopifyOrderId, status: order.status, byFilter: true } })),
        );
        const matched = result.matched.edges.map((edge) => edge.node);
        const waited = wait && result.queued.length > 0 ? await waitForWorkers(io, createOrderRepository(database.db), shop, result.queued.map((order) => order.id), json) : null;
        const failedAgain = waited?.orders.filter((order) => order.status !== 'SUBMITTED' && order.status !== 'CANCELLED') ?? [];
        const refused = result.userErrors.some((error) => error.code === 'NO_FILTER' || error.code === 'LIMIT_TOO_LARGE' || error.code === 'ORDERS_TO_ERP_OFF');
        if (json) {
          const brief = (order: (typeof matched)[number]) => ({ id: order.id, name: order.name, status: order.status, lastErrorCode: order.lastErrorCode, receivedAt: order.receivedAt });
          io.stdout.write(
            `${JSON.stringify(
              {
                dryRun: result.dryRun,
                matchedCount: result.matchedCount,
                replayableCount: result.replayableCount,
                matched: matched.map(brief),
                queued: result.queued.map(brief),
                userErrors: result.userErrors,
                ...(waited ? { waited: { stopped: waited.stopped, orders: waited.orders.map(brief) } } : {}),
              },
              null,
              2,
            )}\n`,
          );
        } else {
          for (const order of matched) io.stdout.write(`${order.id}  ${order.name}  ${order.status.padEnd(9)}  ${order.lastErrorCode ?? '-'}\n`);
          for (const error of result.userErrors) io.stderr.write(`${error.code}: ${error.message}\n`);
          if (waited) {
            for (const order of waited.orders) io.stdout.write(`${order.id}  ${order.name}  now ${order.status.padEnd(9)}  ${order.lastErrorCode ?? '-'}\n`);
            if (waited.stopped) io.stderr.write('stopped waiting: the orders not yet tried stay queued for the worker\n');
          }
          const outcome = waited
            ? `; ${waited.orders.filter((order) => order.status === 'SUBMITTED').length} submitted, ${failedAgain.length} not (yet)${waited.stopped ? ', stopped waiting' : ''}`
            : '';
          io.stdout.write(`${result.matchedCount} matched, ${result.replayableCount} replayable, ${result.dryRun ? 'dry run: nothing queued' : `${result.queued.length} queued`}${outcome}\n`);
        }
        return refused || waited?.stopped || failedAgain.length > 0 ? 1 : 0;
      },
      config,
    );
  },
});
