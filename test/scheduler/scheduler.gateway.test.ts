import { describe, expect, it } from 'vitest';
import { startTestGateway } from '../support/gateway.js';
import { countingJob, sleep, uniqueJobName, waitFor } from './scheduler-fixture.js';

/** The parts of `/readyz`'s body these tests read. */
interface Readiness {
  status: string;
  catalogue: { ready: boolean; erpFilledAt: string | null; shopifyFilledAt: string | null };
  scheduler: { stuckJobs: Array<{ job: string; runId: string }>; abandonedRuns: Array<{ runId: string; error: { code: string } | null }> };
}

describe('the scheduler in the gateway', () => {
  it('with SCHEDULER=off runs no job, yet can still run one on demand', async () => {
    const counted = countingJob({ name: uniqueJobName('api-only'), intervalMs: 50 });
    const gateway = await startTestGateway({ SCHEDULER: 'off' }, { jobs: [counted.job] });
    try {
      // A due job (runOnStart) on a started scheduler runs within milliseconds; give it plenty.
      await sleep(500);
      expect(counted.calls).toHaveLength(0);
      expect(await gateway.scheduler.listRuns({ job: counted.job.name })).toHaveLength(0);
      expect((await gateway.scheduler.status()).state).toBe('idle');

      expect(await gateway.scheduler.runNow(counted.job.name)).toMatchObject({ status: 'SUCCEEDED' });
      await sleep(200);
      expect(counted.calls).toHaveLength(1);
    } finally {
      await gateway.close();
    }
  }, 90_000);

  it('with SCHEDULER=on runs its jobs, and closing it aborts a running job and records it before the database closes', async () => {
    const name = uniqueJobName('in-gateway');
    const counted = countingJob({
      name,
      intervalMs: 60_000,
      work: ({ signal }) => new Promise((_resolve, reject) => signal.addEventListener('abort', () => reject(signal.reason as Error))),
    });
    const gateway = await startTestGateway({ SCHEDULER: 'on' }, { jobs: [counted.job] });
    let closed = false;
    try {
      await waitFor(() => counted.calls.length, (calls) => calls === 1);
      expect((await gateway.scheduler.status()).jobs).toContainEqual(expect.objectContaining({ name, runningHere: counted.calls[0]!.runId }));

      await gateway.close();
      closed = true;

      expect(counted.calls[0]!.signal.aborted).toBe(true);
      const ended = gateway.logLines().find((line) => line.job === name && line.msg === 'job run ended early');
      expect(ended).toMatchObject({ status: 'ABANDONED', recorded: true, error: { code: 'SCHEDULER_STOPPING' } });
    } finally {
      if (!closed) await gateway.close();
    }
  }, 90_000);

  it('a job run ignoring its abort is abandoned and visible (healthz degraded, readyz lists it, the metric counts it); serverInfo and readyz say when the catalogue was filled', async () => {
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const stubborn = countingJob({ name: uniqueJobName('stubborn'), intervalMs: 3_600_000, timeoutMs: 20, work: () => gate });
    const gateway = await startTestGateway({ SCHEDULER: 'off' }, { jobs: [stubborn.job] });
    const get = async (path: string) => {
      const response = await fetch(`${gateway.url}${path}`);
      return { status: response.status, body: (path === '/metrics' ? await response.text() : await response.json()) as unknown };
    };
    try {
      // Answers once the run is abandoned (timeout, then the scheduler's grace), its code still running.
      const outcome = await gateway.scheduler.runNow(stubborn.job.name);
      expect(outcome).toMatchObject({ status: 'ABANDONED', error: { code: 'JOB_ABANDONED' } });

      expect(await get('/healthz')).toMatchObject({ status: 200, body: { status: 'degraded', stuckJobs: [{ job: stubborn.job.name, runId: outcome.runId }] } });
      const ready = await get('/readyz');
      expect(ready).toMatchObject({ status: 200, body: { status: 'ready', scheduler: { stuckJobs: [{ job: stubborn.job.name }] } } });
      expect((ready.body as Readiness).scheduler.abandonedRuns).toContainEqual(expect.objectContaining({ runId: outcome.runId, error: expect.objectContaining({ code: 'JOB_ABANDONED' }) }));
      expect((await get('/metrics')).body).toContain(`stockbridge_scheduler_jobs_abandoned_total{job="${stubborn.job.name}"} 1`);

      await gateway.services.inventory.whenReady();
      const filled = (await get('/readyz')).body as Readiness;
      expect(filled.catalogue).toMatchObject({ ready: true, erpFilledAt: expect.any(String), shopifyFilledAt: expect.any(String) });
      const key = await gateway.createKey(['read']);
      const info = await gateway.graphql<{ data: { serverInfo: { catalogue: Record<string, unknown> } } }>(key, '{ serverInfo { catalogue { ready erpFilledAt shopifyFilledAt shopifyRefreshedAt } } }');
      expect(info.body.data.serverInfo.catalogue).toMatchObject({ ready: true, erpFilledAt: filled.catalogue.erpFilledAt, shopifyFilledAt: filled.catalogue.shopifyFilledAt });

      release();
      await waitFor(() => get('/healthz'), (health) => (health.body as Record<string, unknown>).status === 'ok');
    } finally {
      release();
      await gateway.close();
    }
  }, 90_000);
});
