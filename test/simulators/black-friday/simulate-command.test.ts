import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { simulateErpCommand } from '../../../src/cli/simulate-erp.command.js';
import { simulateCommand } from '../../../src/cli/simulate.command.js';
import { FAULT_NAMES, parseFaultList, refusals } from '../../../src/simulators/black-friday/options.js';
import { planFaults } from '../../../src/simulators/black-friday/faults.js';
import { seededRandom } from '../../../src/simulators/shopify/random.js';

function capture() {
  const stream = new PassThrough();
  let text = '';
  stream.on('data', (chunk: Buffer) => (text += chunk.toString('utf8')));
  return { stream, text: () => text };
}

async function run(command: typeof simulateCommand, args: string[], env: Record<string, string> = {}) {
  const stdout = capture();
  const stderr = capture();
  let stop: () => void = () => {};
  const stopSignal = new Promise<void>((resolve) => (stop = resolve));
  const exit = command.run(args, { stdout: stdout.stream, stderr: stderr.stream, env: { LOG_LEVEL: 'silent', ...env }, stopSignal });
  return { exit, stop, stdout: stdout.text, stderr: stderr.text };
}

describe('simulate black-friday', () => {
  it('refuses several instances without DATABASE_URL, in one line saying why and what to set, before starting anything', async () => {
    const { exit, stderr, stdout } = await run(simulateCommand, ['black-friday', '--instances', '2', '--minutes', '1']);
    expect(await exit).toBe(1);
    const lines = stderr().trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/DATABASE_URL/);
    expect(lines[0]).toMatch(/PostgreSQL/);
    expect(stdout()).toBe('');
    expect(refusals({ instances: 1, databaseUrl: undefined })).toEqual([]);
    expect(refusals({ instances: 3, databaseUrl: 'postgres://postgres@127.0.0.1:5432/postgres' })).toEqual([]);
  });

  it('exits 2 on unknown faults, flags and actions', async () => {
    const unknownFault = await run(simulateCommand, ['black-friday', '--faults', 'webhook-loss,meteor'], { DATABASE_URL: 'postgres://x@127.0.0.1/y' });
    expect(await unknownFault.exit).toBe(2);
    expect(unknownFault.stderr()).toContain('unknown meteor');
    expect(await (await run(simulateCommand, ['black-friday', '--orders-per-minute', 'many'])).exit).toBe(2);
    expect(await (await run(simulateCommand, ['black-friday', '--turbo'])).exit).toBe(2);
    expect(await (await run(simulateCommand, ['cyber-monday'])).exit).toBe(2);
  });

  it('--erp: simulated or configured; configured needs the Tryton ERP_* environment, said in one line before anything starts', async () => {
    const unknown = await run(simulateCommand, ['black-friday', '--erp', 'odoo', '--instances', '1']);
    expect(await unknown.exit).toBe(2);
    expect(unknown.stderr()).toContain('--erp must be simulated or configured');

    const unconfigured = await run(simulateCommand, ['black-friday', '--erp', 'configured', '--instances', '1']);
    expect(await unconfigured.exit).toBe(1);
    const lines = unconfigured.stderr().trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/ERP_CONNECTOR=tryton/);
    expect(lines[0]).toMatch(/scripts\/tryton\.sh env/);
    expect(unconfigured.stdout()).toBe('');

    expect(refusals({ instances: 1, databaseUrl: undefined, erp: 'configured' }, { ERP_CONNECTOR: 'tryton', ERP_URL: 'http://127.0.0.1:8000/' })[0]).toContain('needs ERP_DATABASE, ERP_USER, ERP_PASSWORD');
    expect(refusals({ instances: 1, databaseUrl: undefined, erp: 'configured' }, { ERP_CONNECTOR: 'tryton', ERP_URL: 'u', ERP_DATABASE: 'd', ERP_USER: 'a', ERP_PASSWORD: 'p' })).toEqual([]);
    expect(refusals({ instances: 1, databaseUrl: undefined, erp: 'simulated' }, {})).toEqual([]);
  });

  it('reads fault lists: all, none, names', () => {
    expect(parseFaultList('all')).toEqual({ faults: [...FAULT_NAMES] });
    expect(parseFaultList('none')).toEqual({ faults: [] });
    expect(parseFaultList('erp-outage, db-cut,erp-outage')).toEqual({ faults: ['erp-outage', 'db-cut'] });
    expect(parseFaultList('erp-outage,flood')).toEqual({ unknown: ['flood'] });
  });

  it('scripts every fault once inside the load phase, in order, and draws random ones from the seed', () => {
    const runMs = 60_000;
    const script = planFaults(FAULT_NAMES, runMs, 'script', seededRandom(1));
    expect(script.map((f) => f.fault)).toEqual([...FAULT_NAMES]);
    for (const fault of script) expect(fault.startMs + fault.durationMs).toBeLessThanOrEqual(runMs);
    expect(script.find((f) => f.fault === 'erp-outage')!.durationMs).toBe(15_000);
    const a = planFaults(FAULT_NAMES, runMs, 'random', seededRandom(7));
    const b = planFaults(FAULT_NAMES, runMs, 'random', seededRandom(7));
    expect(a).toEqual(b);
    expect(new Set(a.map((f) => f.fault)).size).toBe(FAULT_NAMES.length);
  });
});

describe('simulate-erp', () => {
  it('serves the demo ERP over HTTP, prints ERP_URL, and stops on the stop signal', async () => {
    const { exit, stop, stdout } = await run(simulateErpCommand, ['--port', '0', '--skus', '20']);
    await expect.poll(() => stdout(), { timeout: 10_000 }).toContain('ERP_URL=http://127.0.0.1:');
    const url = /ERP_URL=(\S+)/.exec(stdout())![1]!;
    const answer = (await (await fetch(url, { method: 'POST', body: JSON.stringify({ method: 'location.list', params: {} }) })).json()) as { result: { code: string }[] };
    expect(answer.result.map((l) => l.code)).toContain('LDS');
    stop();
    expect(await exit).toBe(0);
  });
});
