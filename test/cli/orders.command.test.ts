import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { ordersCommand } from '../../src/cli/orders.command.js';
import { loadConfig } from '../../src/config.js';
import { openDatabase } from '../../src/db/database.js';
import { startGateway } from '../../src/gateway.js';
import { createOperatorActions } from '../../src/operator-actions/operator-actions.js';
import { createOrderRepository } from '../../src/orders/order.repository.js';
import { createMemoryLogger } from '../support/gateway.js';
import { waitFor } from '../support/waiting.js';
import { dataDirEnv, runCommand, useTempDataDir } from '../support/cli.js';

type Answer = { dryRun: boolean; matchedCount: number; replayableCount: number; matched: Array<{ id: string }>; queued: Array<{ id: string; lastErrorCode: string | null }>; userErrors: Array<{ code: string }> };

/**
 * The demo gateway takes an order whose variant maps to no ERP SKU (it waits, UNMAPPED_LINE);
 * the gateway stops (PGlite: one process at a time) and the CLI replays it on the data directory.
 */
describe('orders command', () => {
  const tempDir = useTempDataDir('stockbridge-orders-cli-');
  let dataDir: string;
  let orderId: string;

  beforeAll(async () => {
    dataDir = tempDir.path();
    const gateway = await startGateway(loadConfig({ PORT: '0', SCHEDULER: 'off', LOG_LEVEL: 'silent', DATA_DIR: dataDir }), createMemoryLogger('silent').log);
    try {
      await gateway.services.inventory.whenReady();
      const placed = gateway.demo!.shopify.state.placeOrder({ lines: [{ sku: 'MERCH-TSHIRT-M', quantity: 1 }] });
      if (!placed.placed) throw new Error('refused');
      const waiting = await waitFor(() => gateway.services.orders.findOrder(placed.order.id), (order) => order?.lastErrorCode === 'UNMAPPED_LINE', { timeoutMs: 60_000 });
      orderId = waiting!.id;
    } finally {
      await gateway.close();
    }
  }, 180_000);

  function run(args: string[]) {
    return runCommand(ordersCommand, args, dataDirEnv(dataDir));
  }

  it('refuses a bad status or time as a usage error (exit 2) and a call without a filter (exit 1)', async () => {
    expect((await run(['replay', '--status', 'LOST'])).code).toBe(2);
    expect((await run(['replay', '--received-after', 'yesterday'])).code).toBe(2);
    const none = await run(['replay', '--json']);
    expect(none.code).toBe(1);
    expect((JSON.parse(none.stdout) as Answer).userErrors.map((error) => error.code)).toEqual(['NO_FILTER']);
  }, 120_000);

  it('reports the waiting order on a dry run and changes nothing, then queues it and records the action', async () => {
    const dry = await run(['replay', '--error-code', 'UNMAPPED_LINE', '--dry-run', '--json']);
    expect(dry.code).toBe(0);
    const dryAnswer = JSON.parse(dry.stdout) as Answer;
    expect(dryAnswer).toMatchObject({ dryRun: true, matchedCount: 1, replayableCount: 1, queued: [] });
    expect(dryAnswer.matched.map((order) => order.id)).toEqual([orderId]);

    const real = await run(['replay', '--id', orderId, '--json']);
    expect(real.code).toBe(0);
    const answer = JSON.parse(real.stdout) as Answer;
    expect(answer.queued).toEqual([expect.objectContaining({ id: orderId, lastErrorCode: null })]);

    const database = await openDatabase({ dataDir });
    try {
      const order = await createOrderRepository(database.db).findById(orderId);
      expect(order).toMatchObject({ status: 'RECEIVED', lastErrorCode: null, attempts: 0 });
      expect(order!.nextAttemptAt).not.toBeNull();
      expect(await createOperatorActions(database.db).countSince(new Date(0), ['replayOrder'])).toBe(1);
    } finally {
      await database.close();
    }
  }, 120_000);
});

describe('orders replay --wait', () => {
  const tempDir = useTempDataDir('stockbridge-orders-wait-');

  function run(args: string[], env: Record<string, string>) {
    return runCommand(ordersCommand, args, { LOG_LEVEL: 'silent', ...env });
  }

  it('is refused with exit 2 on the embedded database (no gateway runs to send the orders) and with --dry-run', async () => {
    const dataDir = join(tempDir.path(), 'data');
    const embedded = await run(['replay', '--status', 'FAILED', '--wait'], { DATA_DIR: dataDir });
    expect(embedded.code).toBe(2);
    expect(embedded.stderr.split('\n')[0]).toBe('orders: --wait needs the shared PostgreSQL database (DATABASE_URL): with the embedded one the gateway is stopped, so no worker sends the orders');
    const dry = await run(['replay', '--status', 'FAILED', '--wait', '--dry-run'], { DATA_DIR: dataDir });
    expect(dry.code).toBe(2);
    expect(dry.stderr).toContain('--wait goes with a real replay');
  });
});
