import { beforeAll, describe, expect, it } from 'vitest';
import { jobsCommand } from '../../src/cli/jobs.command.js';
import { openDatabase } from '../../src/db/database.js';
import { operatorActions } from '../../src/db/schema/operator-actions.js';
import { dataDirEnv, runCommand, useTempDataDir } from '../support/cli.js';

type RunAnswer = { run: { id: string; job: string; status: string; finishedAt: string | null; result: unknown } | null; userErrors: Array<{ code: string }> };

/** `jobs run` builds the gateway's modules on an embedded database (the demo's ERP and store) and runs one job now. */
describe('jobs run command', () => {
  const tempDir = useTempDataDir('stockbridge-jobs-run-cli-');
  let dataDir: string;

  beforeAll(() => {
    dataDir = tempDir.path();
  });

  function run(args: string[]) {
    return runCommand(jobsCommand, args, dataDirEnv(dataDir));
  }

  it('needs --job and takes no --limit (usage errors, exit 2); --help shows examples', async () => {
    expect((await run(['run'])).code).toBe(2);
    expect((await run(['run', '--job', 'reservations.expire', '--limit', '3'])).code).toBe(2);
    const help = await run(['run', '--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toMatch(/jobs run --job NAME \[--json\]/);
    expect(help.stdout).toMatch(/examples:\n {2}npm run cli -- jobs/);
  });

  it('runs a job now, waits for its end and prints it; the run is in the history and recorded as an operator action', async () => {
    const ran = await run(['run', '--job', 'reservations.expire', '--json']);
    expect(ran.stderr).toBe('');
    expect(ran.code).toBe(0);
    const answer = JSON.parse(ran.stdout) as RunAnswer;
    expect(answer.userErrors).toEqual([]);
    expect(answer.run).toMatchObject({ job: 'reservations.expire', status: 'SUCCEEDED' });
    expect(answer.run!.finishedAt).not.toBeNull();

    const text = await run(['run', '--job', 'reservations.expire']);
    expect(text.code).toBe(0);
    expect(text.stdout).toMatch(/^reservations\.expire run \S+: SUCCEEDED in \d+ ms on /);

    const history = await run(['runs', '--job', 'reservations.expire', '--json']);
    const runs = JSON.parse(history.stdout) as Array<{ id: string; status: string }>;
    expect(runs).toHaveLength(2);
    expect(runs.map((entry) => entry.id)).toContain(answer.run!.id);

    const database = await openDatabase({ dataDir });
    try {
      const rows = await database.db.select().from(operatorActions);
      expect(rows.map((row) => [row.action, row.target])).toEqual([
        ['runJobNow', 'reservations.expire'],
        ['runJobNow', 'reservations.expire'],
      ]);
      expect(rows[0]!.actor).toMatch(/^cli:/);
    } finally {
      await database.close();
    }
  }, 180_000);

  it('refuses a job nobody registered (exit 1, UNKNOWN_JOB)', async () => {
    const unknown = await run(['run', '--job', 'no.such.job', '--json']);
    expect(unknown.code).toBe(1);
    expect((JSON.parse(unknown.stdout) as RunAnswer).userErrors.map((error) => error.code)).toEqual(['UNKNOWN_JOB']);
    expect(unknown.stderr).toMatch(/UNKNOWN_JOB/);
  }, 120_000);
});
