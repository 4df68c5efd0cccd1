import { createJobsRepository } from '../jobs/jobs.repository.js';
import { withDatabase } from './cli-database.js';
import { booleanOption, defineCommand, stringOption, UsageError } from './command.js';

const usage = 'jobs [list] [--json]\njobs runs --job NAME [--limit N] [--json]';

/**
 * `jobs list` prints every scheduled job any instance took up, with its lease (who runs it now),
 * next run and last run; `jobs runs` a job's run history. Both read the shared database; a run on
 * demand goes through a running gateway (`runJobNow`), which holds the job code and its lease.
 */
export const jobsCommand = defineCommand({
  name: 'jobs',
  usage,
  summary: 'list the scheduled jobs (running now, next and last run) or the run history of one',
  description: `list shows each job's state as every instance shares it; runs shows the newest --limit
(default 20) runs of --job. To run a job now, use runJobNow in the GraphQL API of a running gateway.`,
  maxPositionals: 1,
  options: {
    job: { type: 'string', valueName: 'NAME', description: 'runs: the job whose history to show' },
    limit: { type: 'string', valueName: 'N', description: 'runs: how many runs (default 20, at most 250)' },
    json: { type: 'boolean', description: 'print the answer as JSON' },
  },
  async run(args, io) {
    const action = args.positionals[0] ?? 'list';
    if (!['list', 'runs'].includes(action)) throw new UsageError(`unknown action '${action}' (list or runs)`);
    const job = stringOption(args, 'job');
    if (action === 'runs' && !job) throw new UsageError('runs needs --job');
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
