import { createJobsRepository } from '../jobs/jobs.repository.js';
import { withDatabase } from './cli-database.js';
import { runJobOnce } from './job-run.js';
import { booleanOption, defineCommand, stringOption, UsageError } from './command.js';

const usage = 'jobs [list] [--json]\njobs runs --job NAME [--limit N] [--json]\njobs run --job NAME [--json]';

/**
 * `jobs list` prints every scheduled job any instance took up, with its lease (who runs it now),
 * next run and last run; `jobs runs` a job's run history. Both read the shared database. `jobs
 * run` runs one job now in this process under its lease, like runJobNow (src/cli/job-run.ts).
 */
export const jobsCommand = defineCommand({
  name: 'jobs',
  usage,
  summary: 'list the scheduled jobs (running now, next and last run), the run history of one, or run one now',
  description: `list shows each job's state as every instance shares it; runs shows the newest --limit
(default 20) runs of --job. run runs --job now in this process, as runJobNow does in a gateway:
under the job's lease (refused while an instance runs it), recorded in the history and as an
operator action; it waits for the run's end and prints it. Exit 0 when the run succeeded, 1 when
it failed or was refused (no such job, already running), 2 usage. With the embedded database,
stop the gateway first (it holds the data directory's lock) or use runJobNow.

examples:
  npm run cli -- jobs
  npm run cli -- jobs runs --job sync.delta --limit 5
  npm run cli -- jobs run --job orders.poll --json`,
  maxPositionals: 1,
  options: {
    job: { type: 'string', valueName: 'NAME', description: 'runs: the job whose history to show; run: the job to run' },
    limit: { type: 'string', valueName: 'N', description: 'runs: how many runs (default 20, at most 250)' },
    json: { type: 'boolean', description: 'print the answer as JSON' },
  },
  async run(args, io) {
    const action = args.positionals[0] ?? 'list';
    if (!['list', 'runs', 'run'].includes(action)) throw new UsageError(`unknown action '${action}' (list, runs or run)`);
    const job = stringOption(args, 'job');
    if ((action === 'runs' || action === 'run') && !job) throw new UsageError(`${action} needs --job`);
    if (action === 'run') {
      if (args.values.limit !== undefined) throw new UsageError('run takes no --limit');
      return runJobOnce(io, job!, booleanOption(args, 'json'));
    }
    const limitText = stringOption(args, 'limit');
    const limit = limitText === undefined ? 20 : Number(limitText);
    if (!Number.isInteger(limit) || limit < 1 || limit > 250) throw new UsageError('--limit must be a whole number from 1 to 250');
    const json = booleanOption(args, 'json');
    return withDatabase(io, async (database) => {
      const repository = createJobsRepository(database.db);
      if (action === 'runs') {
        const runs = await repository.listRuns({ job, limit });
        if (json) {
          io.stdout.write(`${JSON.stringify(runs.map(({ startedAtKey: _key, ...run }) => run), null, 2)}\n`);
          return 0;
        }
        for (const run of runs) {
          const ended = run.finishedAt ? `${run.finishedAt.getTime() - run.startedAt.getTime()} ms` : 'running';
          io.stdout.write(`${run.startedAt.toISOString()}  ${run.status.padEnd(9)}  ${ended}  ${run.instance}${run.error ? `  ${run.error.code}: ${run.error.message}` : ''}\n`);
        }
        return 0;
      }
      const leases = await repository.listLeases();
      const lastRuns = await repository.lastRuns(leases.map((lease) => lease.jobName));
      const now = Date.now();
      const jobs = leases.map((lease) => {
        const running = lease.leasedBy !== null && lease.leaseExpiresAt !== null && lease.leaseExpiresAt.getTime() > now;
        const last = lastRuns.get(lease.jobName);
        return {
          name: lease.jobName,
          runningOn: running ? lease.leasedBy : null,
          nextRunAt: lease.nextRunAt,
          lastRun: last ? { status: last.status, startedAt: last.startedAt, finishedAt: last.finishedAt, instance: last.instance, error: last.error } : null,
          lastSucceededAt: lease.lastSucceededAt,
        };
      });
      if (json) {
        io.stdout.write(`${JSON.stringify(jobs, null, 2)}\n`);
        return 0;
      }
      for (const entry of jobs) {
        const state = entry.runningOn ? `running on ${entry.runningOn}` : `next ${entry.nextRunAt.toISOString()}`;
        const last = entry.lastRun ? `last ${entry.lastRun.status} ${entry.lastRun.startedAt.toISOString()}` : 'never ran';
        io.stdout.write(`${entry.name}  ${state}  ${last}\n`);
      }
      return 0;
    });
  },
});
