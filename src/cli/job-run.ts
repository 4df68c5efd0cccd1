import { userInfo } from 'node:os';
import { createAlertSender } from '../alerts/alert-sender.js';
import { createAlertsRepository } from '../alerts/alerts.repository.js';
import { DEMO_FINISH_WORDS } from '../demo/demo-environment.js';
import { createDomainModules } from '../gateway.js';
import { servicesOf } from '../http/graphql-context.js';
import { createWebhookTopicRegistry } from '../http/webhook-topics.js';
import type { JobRunView } from '../jobs/jobs.repository.js';
import { createScheduler } from '../scheduler/scheduler.js';
import { withModuleDeps } from './cli-modules.js';
import type { CliIo } from './command.js';

/**
 * `jobs run --job NAME`: runs one scheduled job now in this process, as runJobNow does in a
 * gateway: the modules are built and started as on an instance with SCHEDULER=off (no HTTP, no
 * schedule), the job runs under its lease (one run at a time across instances: refused while a
 * gateway runs it), is recorded in the run history and as an operator action of `cli:<user>`,
 * and the command waits for its end. Exit 0 when the run succeeded, 1 when it did not or was refused.
 */
export async function runJobOnce(io: CliIo, job: string, json: boolean): Promise<number> {
  return withModuleDeps(io, async ({ composed, database, config, log }) => {
    const { deps, demo } = composed;
    const alerts = createAlertSender({ log, webhookUrl: config.alertWebhookUrl, store: createAlertsRepository(database.db) });
    const scheduler = createScheduler({ database, log, metrics: deps.metrics, now: deps.now });
    const modules = createDomainModules(deps, {
      scheduler,
      alerts,
      webhookRegistry: createWebhookTopicRegistry(),
      defaultAbbreviations: demo ? DEMO_FINISH_WORDS : undefined,
      publicUrl: () => config.publicUrl ?? null,
      registerWebhooksAtStart: false,
    });
    for (const definition of modules.flatMap((module) => module.jobs ?? [])) scheduler.register(definition);
    const started: typeof modules[number][] = [];
    try {
      for (const module of modules) {
        await module.start?.();
        started.push(module);
      }
      const result = await servicesOf(modules).jobs.runJobNow(job, `cli:${userInfo().username}`);
      if (result.refused) {
        if (json) io.stdout.write(`${JSON.stringify({ run: null, userErrors: [{ field: ['job'], ...result.refused }] }, null, 2)}\n`);
        io.stderr.write(`jobs run: ${result.refused.code}: ${result.refused.message}\n`);
        return 1;
      }
      printRun(io, result.run, json);
      return result.run.status === 'SUCCEEDED' ? 0 : 1;
    } finally {
      await scheduler.stop();
      for (const module of started.reverse()) {
        try {
          await module.stop?.();
        } catch (error) {
          log.error({ err: error, module: module.name }, 'error stopping a module');
        }
      }
      await alerts.close();
    }
  });
}

function printRun(io: CliIo, run: JobRunView, json: boolean): void {
  const { startedAtKey: _key, ...shown } = run;
  if (json) {
    io.stdout.write(`${JSON.stringify({ run: shown, userErrors: [] }, null, 2)}\n`);
    return;
  }
  const took = run.finishedAt ? `${run.finishedAt.getTime() - run.startedAt.getTime()} ms` : 'still running';
  io.stdout.write(`${run.job} run ${run.id}: ${run.status} in ${took} on ${run.instance}\n`);
  if (run.error) io.stdout.write(`  error: ${run.error.code}: ${run.error.message}\n`);
  if (run.result !== null && run.result !== undefined) io.stdout.write(`  result: ${JSON.stringify(run.result)}\n`);
}
