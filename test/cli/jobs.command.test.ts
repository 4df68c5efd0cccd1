import { Registry } from 'prom-client';
import { beforeAll, describe, expect, it } from 'vitest';
import { jobsCommand } from '../../src/cli/jobs.command.js';
import { openDatabase } from '../../src/db/database.js';
import { createScheduler } from '../../src/scheduler/scheduler.js';
import { createMemoryLogger } from '../support/gateway.js';
import { dataDirEnv, runCommand, useTempDataDir } from '../support/cli.js';

/** A scheduler ran two jobs on an embedded database; the CLI reads the same data directory after. */
describe('jobs command', () => {
  const tempDir = useTempDataDir('stockbridge-jobs-cli-');
  let dataDir: string;

  beforeAll(async () => {
    dataDir = tempDir.path();
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

  function run(args: string[]) {
    return runCommand(jobsCommand, args, dataDirEnv(dataDir));
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
