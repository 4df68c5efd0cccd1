import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { driftCommand } from '../../src/cli/drift.command.js';
import { syncCommand } from '../../src/cli/sync.command.js';
import type { CliCommand } from '../../src/cli/command.js';
import { createTestDatabase, type TestDatabase } from '../support/database.js';
import { startDemoEnvironment, type DemoEnvironment } from '../../src/demo/demo-environment.js';
import { sql } from 'drizzle-orm';
import { openDatabase, rowsOf } from '../../src/db/database.js';
import { createMemoryLogger } from '../support/gateway.js';
import { runCommand, simulatedStoreEnv } from '../support/cli.js';

/**
 * `drift` and `drift history` against a simulated store started here and the simulated demo ERP
 * the commands build themselves (ERP_CONNECTOR=simulated), on a fresh embedded database (or
 * DATABASE_URL's server). The drift is made as a merchant would: a level lowered in the store
 * behind Stockbridge's back, which the next full reconcile reads.
 */
let store: DemoEnvironment;
let dataDir: string;
let env: Record<string, string>;
let privateDatabase: TestDatabase | undefined;

beforeAll(async () => {
  store = await startDemoEnvironment({ log: createMemoryLogger('silent').log, activityPerMinute: 0 });
  dataDir = await mkdtemp(join(tmpdir(), 'drift-command-'));
  // On PostgreSQL a private database of its own (the command migrates it), dropped afterwards.
  if (process.env.DATABASE_URL) privateDatabase = await createTestDatabase({ migrate: false });
  env = {
    ...simulatedStoreEnv(store, join(dataDir, 'data')),
    ...(privateDatabase?.url ? { DATABASE_URL: privateDatabase.url } : {}),
  };
});

afterAll(async () => {
  await privateDatabase?.close();
  await store?.close();
  if (dataDir) await rm(dataDir, { recursive: true, force: true });
});

function run(command: CliCommand, args: string[]) {
  return runCommand(command, args, env);
}

interface DriftJson {
  drift: Array<{ sku: string; location: string; inventoryItemId: string; availableToPromise: number; shopifyAvailable: number; difference: number; source: string | null; detectedAt: string | null }>;
  more: boolean;
}

describe('drift command', () => {
  it('lists no drift after a full reconcile, then a position whose Shopify level differs, and the drift history', async () => {
    const first = await run(syncCommand, ['--full']);
    expect(first.code, first.stdout + first.stderr).toBe(0);
    const none = await run(driftCommand, []);
    expect(none.code, none.stderr).toBe(0);
    expect(none.stdout).toMatch(/^0 positions drift\n$/);

    // A merchant lowers one level in the Shopify admin; the next reconcile finds it (drift history).
    const [level] = store.shopify.state.levels().filter((candidate) => candidate.sku !== null && candidate.quantities.available > 3);
    store.shopify.state.setQuantity({ inventoryItemId: level!.inventoryItemId, location: level!.locationId, quantity: level!.quantities.available - 3 });
    const reconcile = await run(syncCommand, ['--full']);
    expect(reconcile.code, reconcile.stdout + reconcile.stderr).toBe(0);
    expect(reconcile.stdout).toMatch(/drift found [1-9]/);

    // Which ERP SKU that was, and a current difference: Shopify's last read level of that
    // position set 4 above its ATP in the read model (as a read of a raised level leaves it).
    const database = await openDatabase(env.DATABASE_URL ? { databaseUrl: env.DATABASE_URL } : { dataDir: env.DATA_DIR! });
    let sku: string;
    let location: string;
    try {
      const itemId = level!.inventoryItemId.replace(/^.*\//, '');
      const [event] = rowsOf<{ sku: string; location: string; after: number }>(
        await database.db.execute(sql`select sku, location, "after" from sync_drift_events where regexp_replace(inventory_item_id, '^.*/', '') = ${itemId} order by id desc limit 1`),
      );
      expect(event!.after).toBe(level!.quantities.available - 3);
      ({ sku, location } = event!);
      await database.db.execute(sql`update inventory_levels set shopify_available = available_to_promise + 4 where sku = ${sku} and location = ${location}`);
    } finally {
      await database.close();
    }

    const listed = await run(driftCommand, ['--json']);
    expect(listed.code, listed.stderr).toBe(0);
    const answer = JSON.parse(listed.stdout) as DriftJson;
    const row = answer.drift.find((candidate) => candidate.sku === sku && candidate.location === location);
    expect(row, listed.stdout).toMatchObject({ sku, location, difference: 4, source: 'RECONCILE' });
    expect(row!.shopifyAvailable).toBe(row!.availableToPromise + 4);
    expect(answer.more).toBe(false);

    const one = await run(driftCommand, ['list', '--sku', sku, '--location', location]);
    expect(one.code).toBe(0);
    expect(one.stdout).toContain(sku);
    expect(one.stdout).toMatch(/\s\+4\s+RECONCILE /);
    expect(one.stdout).toMatch(/\n1 position drifts\n$/);
    const elsewhere = await run(driftCommand, ['--sku', 'NO-SUCH-SKU', '--location', location]);
    expect(elsewhere.stdout).toMatch(/^0 positions drift\n$/);

    const history = await run(driftCommand, ['history', '--sku', sku, '--json']);
    expect(history.code, history.stderr).toBe(0);
    const events = JSON.parse(history.stdout) as Array<{ sku: string; source: string; after: number }>;
    expect(events[0]).toMatchObject({ sku, source: 'RECONCILE', after: level!.quantities.available - 3 });
    const text = await run(driftCommand, ['history', '--sku', sku]);
    expect(text.stdout).toMatch(new RegExp(`  ${sku}  ${location}  RECONCILE +Shopify \\d+ -> ${level!.quantities.available - 3}, ATP \\d+  [A-Z]+\\n`));
    const merchant = await run(driftCommand, ['history', '--sku', sku, '--source', 'MERCHANT_EDIT']);
    expect(merchant.code).toBe(0);
    expect(merchant.stdout).toMatch(/^0 drift events for /);
  }, 600_000);

  it('refuses what it cannot answer with exit 2 before opening anything', async () => {
    for (const args of [['history'], ['history', '--sku', 'A', '--sku', 'B'], ['history', '--sku', 'A', '--source', 'ELSEWHERE'], ['--source', 'RECONCILE'], ['--limit', '0'], ['sideways']]) {
      const result = await run(driftCommand, args);
      expect(result.code, args.join(' ')).toBe(2);
      expect(result.stderr.split('\n')[0]).toMatch(/^drift: /);
    }
  });
});
