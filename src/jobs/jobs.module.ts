import type { DomainModule, ModuleDeps } from '../domain-module.js';
import { createJobsRepository } from './jobs.repository.js';
import { jobsResolvers } from './jobs.resolvers.js';
import { createJobsService, type JobsSchedulerPort, type JobsService, type RunNowRecorder } from './jobs.service.js';

export type JobsModule = DomainModule<'jobs', JobsService>;

export interface JobsModuleOptions {
  /**
   * The scheduler, bound late: it is built after the modules (it registers their jobs), and the
   * API only reaches it once requests are served.
   */
  readonly scheduler: () => JobsSchedulerPort;
  readonly operatorActions: RunNowRecorder;
}

/** The scheduler's API (`jobs`, `jobRuns`, `runJobNow`): the scheduler itself is platform code. */
export function createJobsModule(deps: ModuleDeps, options: JobsModuleOptions): JobsModule {
  const services = createJobsService({
    scheduler: options.scheduler,
    repository: createJobsRepository(deps.database.db),
    operatorActions: options.operatorActions,
    now: deps.now,
  });
  return { name: 'jobs', services, resolvers: jobsResolvers };
}
