import type { Resolvers } from '../__generated__/graphql.js';
import { listBound, withinBound } from '../shared/list-bounds.js';
import { pageSize } from '../shared/pagination.js';
import type { JobRunView } from './jobs.repository.js';

function toJobRun(run: JobRunView) {
  return {
    id: run.id,
    job: run.job,
    instance: run.instance,
    status: run.status,
    scheduledAt: run.scheduledAt,
    startedAt: run.startedAt,
    finishedAt: run.finishedAt,
    error: run.error,
    result: run.result === null ? null : JSON.stringify(run.result),
  };
}

/** `jobs`, `jobRuns` and `runJobNow`: delegate to the jobs service and map its views. */
export const jobsResolvers: Resolvers = {
  Query: {
    jobs: async (_parent, { first }, { services }) =>
      withinBound(await services.jobs.listJobs(), listBound(first), 'jobs', 'pass a larger first').map((job) => ({
        name: job.name,
        intervalSeconds: job.intervalMs / 1000,
        timeoutSeconds: job.timeoutMs / 1000,
        running: job.runningOn !== null,
        runningOn: job.runningOn,
        nextRunAt: job.nextRunAt,
        lastRun: job.lastRun ? toJobRun(job.lastRun) : null,
        lastSucceededAt: job.lastSucceededAt,
      })),
    jobRuns: async (_parent, { job, first, after }, { services }) => {
      const connection = await services.jobs.listRuns({ job, first: pageSize(first), after });
      return { ...connection, edges: connection.edges.map((edge) => ({ cursor: edge.cursor, node: toJobRun(edge.node) })) };
    },
  },
  Mutation: {
    runJobNow: async (_parent, { input }, { services, principal }) => {
      const result = await services.jobs.runJobNow(input.job, principal.keyId);
      if (result.refused) return { run: null, userErrors: [{ field: ['input', 'job'], message: result.refused.message, code: result.refused.code }] };
      return { run: toJobRun(result.run), userErrors: [] };
    },
  },
};
