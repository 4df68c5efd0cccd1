import { describe, expect, it } from 'vitest';
import { startTestGateway } from '../support/gateway.js';
import { countingJob, sleep, uniqueJobName, waitFor } from './scheduler-fixture.js';

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
  });

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
  });
});
