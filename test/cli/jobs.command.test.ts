import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { jobsCommand } from '../../src/cli/jobs.command.js';
import { openDatabase } from '../../src/db/database.js';
import { createScheduler } from '../../src/scheduler/scheduler.js';
import { createMemoryLogger } from '../support/gateway.js';

function capture() {
  const stream = new PassThrough();
  let text = '';
  stream.on('data', (chunk: Buffer) => (text += chunk.toString('utf8')));
  return { stream, text: () => text };
}

/** A scheduler ran two jobs on an embedded database; the CLI reads the same data directory after. */
describe('jobs command', () => {
  let dataDir: string;

  beforeAll(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'stockbridge-jobs-cli-'));
    const database = await openDatabase({ dataDir });
    try {
      await database.migrate();
      const scheduler = createScheduler({ database, log: createMemoryLogger('silent').log, metrics: new Registry(), now: () => new Date() });
      scheduler.register({ name: 'test.counts', intervalMs: 60_000, timeoutMs: 10_000, run: async () => ({ counted: 1 }) });
      scheduler.register({
        name: 'test.fails',
        intervalMs: 60_000,
        timeoutMs: 10_000,
        run: async () => {
          throw new Error('the ERP said no');
        },
      });
      await scheduler.runNow('test.counts');
      await scheduler.runNow('test.counts');
      await scheduler.runNow('test.fails');
      await scheduler.stop();
    } finally {
      await database.close();
    }
  }, 120_000);
  afterAll(() => {
    rmSync(dataDir, { recursive: true, force: true });
  });

  async function run(args: string[]) {
    const stdout = capture();
    const stderr = capture();
    const code = await jobsCommand.run(args, { stdout: stdout.stream, stderr: stderr.stream, env: { LOG_LEVEL: 'silent', DATA_DIR: dataDir }, stopSignal: new Promise(() => {}) });
    return { code, stdout: stdout.text(), stderr: stderr.text() };
  }

  it('lists every job with its last run, nobody running it', async () => {
    const listed = await run(['list', '--json']);
    expect(listed.code).toBe(0);
    const jobs = JSON.parse(listed.stdout) as Array<{ name: string; runningOn: string | null; lastRun: { status: string; error: { message: string } | null } | null }>;
    expect(jobs.map((job) => [job.name, job.runningOn, job.lastRun?.status])).toEqual([
      ['test.counts', null, 'SUCCEEDED'],
      ['test.fails', null, 'FAILED'],
    ]);
    const text = await run([]);
    expect(text.stdout).toMatch(/^test\.fails {2}next .* {2}last FAILED /m);
  }, 60_000);

  it('prints the run history of one job, newest first, and needs --job for it', async () => {
    const runs = await run(['runs', '--job', 'test.counts', '--json']);
    expect(runs.code).toBe(0);
    const parsed = JSON.parse(runs.stdout) as Array<{ job: string; status: string; result: unknown }>;
    expect(parsed.map((entry) => [entry.job, entry.status, entry.result])).toEqual([
      ['test.counts', 'SUCCEEDED', { counted: 1 }],
      ['test.counts', 'SUCCEEDED', { counted: 1 }],
    ]);
    expect((await run(['runs'])).code).toBe(2);
  }, 60_000);
});
