import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createOperatorActions } from '../../src/operator-actions/operator-actions.js';
import { uniqueName } from '../support/fixture-names.js';
import { startTestGateway, type TestGateway } from '../support/gateway.js';
import { waitUntil } from '../support/waiting.js';

interface JobRunNode {
  id: string;
  job: string;
  status: string;
  error: { code: string } | null;
  result: string | null;
}

describe('the scheduler through GraphQL', () => {
  let gateway: TestGateway;
  let admin: string;
  let reader: string;
  const quick = `test.${uniqueName('quick')}`;
  const slow = `test.${uniqueName('slow')}`;
  let releaseSlow: () => void = () => {};
  let slowStarted = false;

  beforeAll(async () => {
    gateway = await startTestGateway({}, {
      jobs: [
        { name: quick, intervalMs: 3_600_000, timeoutMs: 10_000, run: async () => ({ counted: 3 }) },
        {
          name: slow,
          intervalMs: 3_600_000,
          timeoutMs: 30_000,
          run: () =>
            new Promise<void>((resolve) => {
              slowStarted = true;
              releaseSlow = resolve;
            }),
        },
      ],
    });
    admin = await gateway.createKey(['admin']);
    reader = await gateway.createKey(['read']);
  });
  afterAll(async () => {
    releaseSlow();
    await gateway?.close();
  });

  const runJobNow = `mutation ($job: String!) { runJobNow(input: { job: $job }) { run { id job status result } userErrors { field code message } } }`;

  it('runs a job now, answers with the ended run, lists it in jobs and jobRuns, and records the operator action', async () => {
    const before = await gateway.services.jobs.listJobs();
    expect(before.map((job) => job.name)).toEqual(expect.arrayContaining([quick, slow]));

    const ran = await gateway.graphql<{ data: { runJobNow: { run: JobRunNode; userErrors: unknown[] } } }>(admin, runJobNow, { job: quick });
    expect(ran.body.data.runJobNow.userErrors).toEqual([]);
    expect(ran.body.data.runJobNow.run).toMatchObject({ job: quick, status: 'SUCCEEDED' });
    expect(JSON.parse(ran.body.data.runJobNow.run.result!)).toEqual({ counted: 3 });

    const jobs = await gateway.graphql<{ data: { jobs: Array<{ name: string; intervalSeconds: number; running: boolean; lastRun: { id: string; status: string } | null }> } }>(
      reader,
      `{ jobs { name intervalSeconds timeoutSeconds running runningOn nextRunAt lastSucceededAt lastRun { id status } } }`,
    );
    const listed = jobs.body.data.jobs.find((job) => job.name === quick);
    expect(listed).toMatchObject({ intervalSeconds: 3600, running: false, lastRun: { id: ran.body.data.runJobNow.run.id, status: 'SUCCEEDED' } });

    await gateway.graphql(admin, runJobNow, { job: quick });
    const firstPage = await gateway.graphql<{ data: { jobRuns: { edges: Array<{ node: JobRunNode }>; pageInfo: { hasNextPage: boolean; endCursor: string } } } }>(
      reader,
      `query ($job: String, $after: String) { jobRuns(job: $job, first: 1, after: $after) { edges { cursor node { id job status } } pageInfo { hasNextPage endCursor } } }`,
      { job: quick },
    );
    expect(firstPage.body.data.jobRuns.edges).toHaveLength(1);
    expect(firstPage.body.data.jobRuns.pageInfo.hasNextPage).toBe(true);
    const secondPage = await gateway.graphql<{ data: { jobRuns: { edges: Array<{ node: JobRunNode }>; pageInfo: { hasNextPage: boolean } } } }>(
      reader,
      `query ($job: String, $after: String) { jobRuns(job: $job, first: 5, after: $after) { edges { node { id } } pageInfo { hasNextPage } } }`,
      { job: quick, after: firstPage.body.data.jobRuns.pageInfo.endCursor },
    );
    expect(secondPage.body.data.jobRuns.edges.map((edge) => edge.node.id)).toEqual([ran.body.data.runJobNow.run.id]);
    expect(secondPage.body.data.jobRuns.pageInfo.hasNextPage).toBe(false);

    expect(await createOperatorActions(gateway.database.db).countSince(new Date(0), ['runJobNow'])).toBe(2);
  });

  it('refuses a second run of a job while one runs, and an unknown job, as user errors', async () => {
    const first = gateway.graphql(admin, runJobNow, { job: slow });
    await waitUntil(() => slowStarted);
    const second = await gateway.graphql<{ data: { runJobNow: { run: null; userErrors: Array<{ code: string; field: string[] }> } } }>(admin, runJobNow, { job: slow });
    expect(second.status).toBe(200);
    expect(second.body.data.runJobNow).toEqual({ run: null, userErrors: [expect.objectContaining({ code: 'JOB_ALREADY_RUNNING', field: ['input', 'job'] })] });
    const running = await gateway.services.jobs.listJobs();
    expect(running.find((job) => job.name === slow)?.runningOn).not.toBeNull();
    releaseSlow();
    await first;

    const unknown = await gateway.graphql<{ data: { runJobNow: { userErrors: Array<{ code: string }> } } }>(admin, runJobNow, { job: 'no-such-job' });
    expect(unknown.body.data.runJobNow.userErrors.map((error) => error.code)).toEqual(['UNKNOWN_JOB']);
  });

  it('needs the admin scope to run a job', async () => {
    const refused = await gateway.graphql<{ errors: Array<{ extensions: { code: string } }> }>(reader, runJobNow, { job: quick });
    expect(refused.body.errors[0]?.extensions.code).toBe('FORBIDDEN');
  });
});
