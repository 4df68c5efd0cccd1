import { useState } from 'react';
import { execute } from '../api';
import { JobsDocument, RunJobNowDocument } from '../__generated__/graphql';
import { useQuery } from '../use-query';
import { Empty, Section, Status, When } from '../ui';

export function JobsPage() {
  const jobs = useQuery(() => execute(JobsDocument));
  const [running, setRunning] = useState<string | null>(null);
  const [outcome, setOutcome] = useState<{ ok: boolean; text: string } | null>(null);
  const runNow = async (job: string) => {
    setRunning(job);
    setOutcome(null);
    try {
      const payload = (await execute(RunJobNowDocument, { input: { job } })).runJobNow;
      const refusal = payload.userErrors[0];
      if (refusal) setOutcome({ ok: false, text: `${job}: ${refusal.code}: ${refusal.message}` });
      else if (payload.run) setOutcome({ ok: payload.run.status === 'SUCCEEDED', text: `${job}: ${payload.run.status}${payload.run.error ? ` (${payload.run.error.code}: ${payload.run.error.message})` : ''}${payload.run.result ? ` · ${payload.run.result}` : ''}` });
    } catch (error) {
      setOutcome({ ok: false, text: `${job}: ${error instanceof Error ? error.message : String(error)}` });
    } finally {
      setRunning(null);
      jobs.reload();
    }
  };
  return (
    <>
      <Status error={jobs.error} loading={jobs.loading && !jobs.data} />
      {outcome ? <p role="status" aria-label="Run result" className={outcome.ok ? 'ok' : 'error'}>{outcome.text}</p> : null}
      {jobs.data ? (
        <>
          <Section title="Scheduled jobs">
            <table>
              <thead><tr><th scope="col">Job</th><th scope="col">Every</th><th scope="col">Last run</th><th scope="col">Last success</th><th scope="col">Next run</th><th scope="col">Action</th></tr></thead>
              <tbody>
                {jobs.data.jobs.map((job) => (
                  <tr key={job.name}>
                    <th scope="row">{job.name}</th>
                    <td>{job.intervalSeconds} s</td>
                    <td>{job.running ? `running on ${job.runningOn ?? '?'}` : job.lastRun ? <>{job.lastRun.status} <When at={job.lastRun.startedAt} />{job.lastRun.error ? ` (${job.lastRun.error.code})` : ''}</> : 'never'}</td>
                    <td><When at={job.lastSucceededAt} /></td>
                    <td><When at={job.nextRunAt} /></td>
                    <td><button type="button" disabled={running !== null || job.running} onClick={() => void runNow(job.name)}>Run {job.name} now</button></td>
                  </tr>
                ))}
              </tbody>
            </table>
          </Section>
          <Section title="Recent runs">
            {jobs.data.jobRuns.edges.length === 0 ? <Empty>No run yet.</Empty> : (
              <table>
                <thead><tr><th scope="col">Job</th><th scope="col">Status</th><th scope="col">Instance</th><th scope="col">Started</th><th scope="col">Finished</th><th scope="col">Result or error</th></tr></thead>
                <tbody>
                  {jobs.data.jobRuns.edges.map(({ node }) => (
                    <tr key={node.id}><th scope="row">{node.job}</th><td className="nowrap">{node.status}</td><td>{node.instance}</td><td><When at={node.startedAt} /></td><td><When at={node.finishedAt} /></td><td>{node.error ? `${node.error.code}: ${node.error.message}` : node.result ?? ''}</td></tr>
                  ))}
                </tbody>
              </table>
            )}
          </Section>
        </>
      ) : null}
    </>
  );
}
