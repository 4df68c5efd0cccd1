import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { syncCommand } from '../../src/cli/sync.command.js';
import { startDemoEnvironment, type DemoEnvironment } from '../../src/demo/demo-environment.js';
import { createMemoryLogger } from '../support/gateway.js';
import { runCommand, simulatedStoreEnv } from '../support/cli.js';

/**
 * The store is a simulated one started here; the ERP is the simulated demo ERP, which the command
 * builds itself from the same deterministic catalogue (ERP_CONNECTOR=simulated).
 */
let store: DemoEnvironment;
let env: Record<string, string>;

beforeAll(async () => {
  store = await startDemoEnvironment({ log: createMemoryLogger('silent').log, activityPerMinute: 0 });
  env = simulatedStoreEnv(store, await mkdtemp(join(tmpdir(), 'sync-command-')));
});

afterAll(async () => {
  await store?.close();
});

function sync(args: string[]) {
  return runCommand(syncCommand, args, env);
}

describe('sync command', () => {
  it('--dry-run --full prints what it would change and changes nothing in the store', async () => {
    const before = store.shopify.state.levels();
    const { code, stdout } = await sync(['--full', '--dry-run']);
    expect(code).toBe(0);
    expect(stdout).toMatch(/sync run \S+: SUCCEEDED \(dry run: nothing written\)/);
    expect(stdout).toMatch(/would push [1-9]\d*/);
    expect(stdout).toMatch(/would set \S+ @ \S+: \d+ -> \d+/);
    expect(store.shopify.state.levels()).toEqual(before);
    // Creating and migrating an on-disk embedded database takes a while on a busy machine.
  }, 180_000);

  it('--sku pushes those SKUs; --full then brings everything in line, which a dry run confirms', async () => {
    const one = await sync(['--sku', 'HINGE-BUTT-75-SS']);
    expect(one.code).toBe(0);
    expect(one.stdout).toMatch(/SUCCEEDED/);

    const full = await sync(['--full']);
    expect(full.code, full.stdout + full.stderr).toBe(0);
    expect(full.stdout).toMatch(/pushed [1-9]\d*/);

    const check = await sync(['--full', '--dry-run']);
    expect(check.stdout).toMatch(/would push 0, /);
    expect(check.stdout).toMatch(/drift found 0/);
  }, 180_000);

  it('refuses unknown flags, and explains that the demo store is not reachable from the CLI', async () => {
    expect((await sync(['--fulll'])).code).toBe(2);
    const demo = await runCommand(syncCommand, [], { LOG_LEVEL: 'silent' });
    expect(demo.code).toBe(2);
    expect(demo.stderr).toContain('pushInventory');
  });
});
