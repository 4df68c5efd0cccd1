import { beforeAll, describe, expect, it } from 'vitest';
import { createAlertsRepository } from '../../src/alerts/alerts.repository.js';
import { alertsCommand } from '../../src/cli/alerts.command.js';
import { openDatabase } from '../../src/db/database.js';
import { dataDirEnv, runCommand, useTempDataDir } from '../support/cli.js';

type Stored = { id: number; code: string; count: number; acknowledgedAt: string | null; acknowledgedBy: string | null; resolvedAt: string | null };

/** Two alerts stored (one seen twice) and one resolved on an embedded database; the CLI lists and acknowledges them there. */
describe('alerts command', () => {
  const tempDir = useTempDataDir('stockbridge-alerts-cli-');
  let dataDir: string;
  const ids: Record<string, number> = {};

  beforeAll(async () => {
    dataDir = tempDir.path();
    const database = await openDatabase({ dataDir });
    try {
      await database.migrate();
      const alerts = createAlertsRepository(database.db);
      const at = new Date('2026-12-01T10:00:00Z');
      await alerts.record({ key: 'sync-failed', code: 'SYNC_FAILED', severity: 'critical', message: 'the delta sync failed twice' }, at);
      await alerts.record({ key: 'sync-failed', code: 'SYNC_FAILED', severity: 'critical', message: 'the delta sync failed again' }, new Date(at.getTime() + 60_000));
      await alerts.record({ key: 'order-failed:1', code: 'ORDER_FAILED', severity: 'warning', message: 'order #1001 failed' }, at);
      await alerts.record({ key: 'oversell:A', code: 'OVERSELL', severity: 'critical', message: 'SKU A oversold' }, at);
      await alerts.resolve('oversell:A', new Date(at.getTime() + 120_000));
      for (const alert of await alerts.list({ limit: 10 })) ids[alert.code] = alert.id;
    } finally {
      await database.close();
    }
  }, 120_000);

  function run(args: string[]) {
    return runCommand(alertsCommand, args, dataDirEnv(dataDir));
  }

  it('refuses a missing or bad id and an id given to list as usage errors (exit 2)', async () => {
    expect((await run(['ack'])).code).toBe(2);
    expect((await run(['ack', 'first'])).code).toBe(2);
    expect((await run(['list', '3'])).code).toBe(2);
    expect((await run(['mute'])).code).toBe(2);
  }, 60_000);

  it('lists the open alerts newest first (the resolved one only with --all), as text and JSON', async () => {
    const open = await run(['list', '--json']);
    expect(open.code).toBe(0);
    const rows = JSON.parse(open.stdout) as Stored[];
    expect(rows.map((row) => [row.code, row.count])).toEqual([
      ['ORDER_FAILED', 1],
      ['SYNC_FAILED', 2],
    ]);
    const all = JSON.parse((await run(['list', '--all', '--json'])).stdout) as Stored[];
    expect(all.map((row) => row.code)).toEqual(['OVERSELL', 'ORDER_FAILED', 'SYNC_FAILED']);
    expect(all[0]!.resolvedAt).not.toBeNull();
    const text = await run([]);
    expect(text.stdout).toMatch(new RegExp(`^${ids.SYNC_FAILED}\\tcritical\\tSYNC_FAILED\\t2x\\t2026-12-01T10:01:00\\.000Z\\topen\\tthe delta sync failed again$`, 'm'));
  }, 60_000);

  it('acknowledges an alert as cli:<user>: it leaves the open list, stays in --all; an unknown id exits 1', async () => {
    const acked = await run(['ack', String(ids.SYNC_FAILED), '--json']);
    expect(acked.code).toBe(0);
    const alert = JSON.parse(acked.stdout) as Stored;
    expect(alert).toMatchObject({ id: ids.SYNC_FAILED, code: 'SYNC_FAILED' });
    expect(alert.acknowledgedBy).toMatch(/^cli:/);
    expect(alert.acknowledgedAt).not.toBeNull();

    const open = JSON.parse((await run(['list', '--json'])).stdout) as Stored[];
    expect(open.map((row) => row.code)).toEqual(['ORDER_FAILED']);
    const all = JSON.parse((await run(['list', '--all', '--json'])).stdout) as Stored[];
    expect(all.find((row) => row.code === 'SYNC_FAILED')?.acknowledgedBy).toBe(alert.acknowledgedBy);
    expect((await run(['list', '--all'])).stdout).toMatch(new RegExp(`^${ids.SYNC_FAILED}\\t.*\\tack\\t`, 'm'));

    const missing = await run(['ack', '999999']);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toBe('alerts: no alert with id 999999\n');
  }, 60_000);
});
