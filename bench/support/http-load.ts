/**
 * Outside HTTP clients for the benchmarks: `clients` loops, each on its own keep-alive
 * connection, posting GraphQL requests until `total` have been sent; per-request latency from
 * the first byte sent to the whole answer read and parsed.
 */
import { Agent, request } from 'node:http';
import { cpus, loadavg } from 'node:os';

export interface LoadResult {
  readonly requests: number;
  readonly seconds: number;
  readonly latencies: readonly number[];
  readonly answers: readonly unknown[];
}

export function percentile(sorted: readonly number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

export function summary(label: string, result: LoadResult, clients: number): string {
  const sorted = [...result.latencies].sort((a, b) => a - b);
  return (
    `${label.padEnd(30)} ${result.requests} requests, ${String(clients).padStart(2)} clients: ` +
    `${(result.requests / result.seconds).toFixed(0).padStart(5)}/s  p50 ${percentile(sorted, 50).toFixed(1).padStart(6)} ms  ` +
    `p99 ${percentile(sorted, 99).toFixed(1).padStart(6)} ms  max ${sorted.at(-1)!.toFixed(1).padStart(6)} ms  ` +
    `(load average ${loadavg()[0]!.toFixed(1)} on ${cpus().length} cores)`
  );
}

export function createGraphqlClient(graphqlUrl: string, key: string, connections: number) {
  const url = new URL(graphqlUrl);
  const agent = new Agent({ keepAlive: true, maxSockets: connections });
  function post(body: string): Promise<unknown> {
    return new Promise((resolve, reject) => {
      const req = request(
        {
          agent,
          hostname: url.hostname,
          port: url.port,
          path: url.pathname,
          method: 'POST',
          headers: { 'content-type': 'application/json', authorization: `Bearer ${key}`, 'content-length': Buffer.byteLength(body) },
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (chunk: Buffer) => chunks.push(chunk));
          res.on('end', () => {
            try {
              const parsed = JSON.parse(Buffer.concat(chunks).toString('utf8')) as unknown;
              if (res.statusCode !== 200) reject(new Error(`HTTP ${res.statusCode}: ${JSON.stringify(parsed).slice(0, 300)}`));
              else resolve(parsed);
            } catch (error) {
              reject(error instanceof Error ? error : new Error(String(error)));
            }
          });
          res.on('error', reject);
        },
      );
      req.on('error', reject);
      req.end(body);
    });
  }
  return {
    post,
    /** `clients` loops send `total` requests; `bodyFor(i)` is the i-th request's JSON body. */
    async load(total: number, clients: number, bodyFor: (i: number) => string): Promise<LoadResult> {
      const latencies: number[] = [];
      const answers: unknown[] = new Array<unknown>(total);
      let next = 0;
      const started = performance.now();
      await Promise.all(
        Array.from({ length: clients }, async () => {
          for (let i = next++; i < total; i = next++) {
            const t0 = performance.now();
            answers[i] = await post(bodyFor(i));
            latencies.push(performance.now() - t0);
          }
        }),
      );
      return { requests: total, seconds: (performance.now() - started) / 1000, latencies, answers };
    },
    close: () => agent.destroy(),
  };
}
