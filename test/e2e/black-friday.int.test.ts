import { spawn } from 'node:child_process';
import { mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { FAULT_NAMES } from '../../src/simulators/black-friday/options.js';
import type { BlackFridayReport } from '../../src/simulators/black-friday/report.js';

/**
 * The short Black Friday run as CI runs it, as a real process: 1 minute at 1,000 orders a minute,
 * every fault once, 2 gateway instances on PostgreSQL. It must pass: nothing lost, doubled or
 * oversold, no drift after the settle. Needs DATABASE_URL (the run makes and drops its own
 * database there) and STOCKBRIDGE_BLACK_FRIDAY=1; skipped otherwise. It takes about ten minutes
 * and loads both cores, so it runs on its own, never beside the other suites.
 */
const describeWithPostgres = process.env.DATABASE_URL && process.env.STOCKBRIDGE_BLACK_FRIDAY === '1' ? describe : describe.skip;
const root = resolve(import.meta.dirname, '../..');

describeWithPostgres('simulate black-friday, the short version', () => {
  it('passes with every fault once, and its summary and report.json agree', { timeout: 900_000 }, async () => {
    const reportDir = await mkdtemp(join(tmpdir(), 'black-friday-'));
    const args = ['--import', 'tsx', 'src/cli.ts', 'simulate', 'black-friday', '--minutes', '1', '--orders-per-minute', '1000', '--instances', '2', '--faults', 'all', '--settle-seconds', '300', '--report-dir', reportDir];
    const { code, stdout, stderr } = await new Promise<{ code: number | null; stdout: string; stderr: string }>((done) => {
      const child = spawn(process.execPath, args, { cwd: root, env: { ...process.env, LOG_LEVEL: 'warn' }, stdio: ['ignore', 'pipe', 'pipe'] });
      let out = '';
      let err = '';
      child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString('utf8')));
      child.stderr.on('data', (chunk: Buffer) => (err = (err + chunk.toString('utf8')).slice(-20_000)));
      child.once('exit', (exit) => done({ code: exit, stdout: out, stderr: err }));
    });

    const last = stdout.trim().split('\n').slice(-6);
    expect(last.map((line) => line.split(':')[0]), stderr).toEqual(['placed', 'accepted', 'in ERP', 'lost', 'duplicated', 'oversold']);
    const counts = Object.fromEntries(last.map((line) => [line.split(':')[0]!, Number(line.split(':')[1])]));
    const report = JSON.parse(await readFile(join(reportDir, 'report.json'), 'utf8')) as BlackFridayReport;
    expect(counts).toEqual({
      placed: report.verdict.placed,
      accepted: report.verdict.accepted,
      'in ERP': report.verdict.inErp,
      lost: report.verdict.lost,
      duplicated: report.verdict.duplicated,
      oversold: report.verdict.oversold,
    });
    expect(report.verdict.placed).toBeGreaterThanOrEqual(900);
    expect(report.faults.map((fault) => fault.fault).sort()).toEqual([...FAULT_NAMES].sort());
    expect(report.faults.every((fault) => fault.endedAt !== null)).toBe(true);
    expect(await readFile(join(reportDir, 'report.html'), 'utf8')).toContain('<svg');

    expect({ code, lost: report.verdict.lost, duplicated: report.verdict.duplicated, oversold: report.verdict.oversoldPositions, drift: report.drift }, stdout).toEqual({
      code: 0,
      lost: 0,
      duplicated: 0,
      oversold: [],
      drift: { positions: 0, sample: [] },
    });
    // The ATP never above what is free, and only a few units held back as unexplained falls
    // (released after the order window; 1-7 seen in a run of ~650 orders). A sale counted both as
    // pending and as a drop held 20-44 units on every hot position, over 300 in all, before.
    expect(report.atp, stdout).not.toBeNull();
    expect({ overPromised: report.atp!.overPromisedUnits, hiddenAtMost25: report.atp!.hiddenUnits <= 25 }, stdout).toEqual({ overPromised: 0, hiddenAtMost25: true });
  });
});
