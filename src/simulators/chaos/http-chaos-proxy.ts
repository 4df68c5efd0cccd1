import { createServer, request as httpRequest, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { seededRandom } from '../shopify/random.js';
import { readBody } from './read-body.js';

/**
 * A loopback HTTP proxy that puts the failures of a real network between Stockbridge and a
 * server it depends on (the ERP): slow answers, answers lost after the server has acted on the
 * request (the caller cannot tell whether its write happened: "in doubt"), and outages (the
 * connection is refused before anything reaches the server). Faults draw from a seeded
 * generator, so a run can be repeated, and can be changed while traffic flows.
 */
export interface HttpChaosFaults {
  /** Share of requests whose answer is held back by `slowMs` (0–1). */
  readonly slowRate?: number;
  readonly slowMs?: number;
  /** Share of requests forwarded and answered by the server whose answer is then dropped (0–1). */
  readonly loseAnswerRate?: number;
  /** While true, every new request is refused before it reaches the server. */
  readonly outage?: boolean;
  /** Only requests whose body matches are subject to the rates (e.g. write methods); default all. */
  readonly only?: RegExp;
}

export interface HttpChaosCounts {
  forwarded: number;
  slowed: number;
  answersLost: number;
  refused: number;
}

export interface HttpChaosProxy {
  readonly url: string;
  setFaults(faults: HttpChaosFaults): void;
  readonly counts: Readonly<HttpChaosCounts>;
  close(): Promise<void>;
}

export async function startHttpChaosProxy(options: { target: string; seed?: number; faults?: HttpChaosFaults; port?: number }): Promise<HttpChaosProxy> {
  const target = new URL(options.target);
  const draw = seededRandom(options.seed ?? 1);
  let faults: HttpChaosFaults = options.faults ?? {};
  const counts: HttpChaosCounts = { forwarded: 0, slowed: 0, answersLost: 0, refused: 0 };

  async function handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const body = await readBody(request);
    if (faults.outage) {
      counts.refused += 1;
      request.socket.destroy();
      return;
    }
    const subject = !faults.only || faults.only.test(body.toString('utf8'));
    const slow = subject && draw() < (faults.slowRate ?? 0);
    const lose = subject && draw() < (faults.loseAnswerRate ?? 0);
    const upstream = httpRequest(
      {
        hostname: target.hostname,
        port: target.port,
        method: request.method,
        path: `${target.pathname.replace(/\/$/, '')}${request.url ?? '/'}`,
        headers: { ...request.headers, host: target.host },
      },
      (answer) => {
        void readBody(answer).then(async (payload) => {
          counts.forwarded += 1;
          if (slow) {
            counts.slowed += 1;
            await new Promise((resolve) => setTimeout(resolve, faults.slowMs ?? 2_000));
          }
          if (lose) {
            // The server has done the work; the caller never hears of it.
            counts.answersLost += 1;
            request.socket.destroy();
            return;
          }
          response.writeHead(answer.statusCode ?? 502, answer.headers);
          response.end(payload);
        });
      },
    );
    upstream.on('error', () => {
      if (!response.headersSent) response.writeHead(502).end();
    });
    upstream.end(body);
  }

  const server: Server = createServer((request, response) => {
    handle(request, response).catch(() => request.socket.destroy());
  });
  await new Promise<void>((resolve) => server.listen(options.port ?? 0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    setFaults(next) {
      faults = next;
    },
    counts,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
