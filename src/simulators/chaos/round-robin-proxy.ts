import { createServer, request as httpRequest, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { readBody } from './read-body.js';

/**
 * What a load balancer does in front of several gateway instances: each request goes to the next
 * live target in turn; a target that refuses the connection is skipped for that request, and when
 * none answers the caller gets 502 (Shopify then retries the webhook). Targets can be replaced
 * while traffic flows (an instance killed and restarted on another port). `onAnswer` hears of
 * every exchange with its time as the balancer saw it: from the request's body read to the
 * instance's whole answer read (the instances skipped on the way included).
 */
export interface ForwardedExchange {
  readonly method: string;
  readonly path: string;
  readonly headers: IncomingMessage['headers'];
  readonly body: Buffer;
  /** The instance's status, or 502 when no instance answered. */
  readonly status: number;
  /** The instance that answered; null when none did. */
  readonly target: string | null;
  /** Epoch ms when the balancer had the whole request and began forwarding it. */
  readonly startedAt: number;
  /** Milliseconds from then to the instance's whole answer. */
  readonly ms: number;
}

export interface RoundRobinProxy {
  readonly url: string;
  setTargets(targets: readonly string[]): void;
  close(): Promise<void>;
}

function forward(target: string, request: IncomingMessage, body: Buffer): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; payload: Buffer }> {
  const url = new URL(request.url ?? '/', target);
  return new Promise((resolve, reject) => {
    const upstream = httpRequest(url, { method: request.method, headers: { ...request.headers, host: url.host } }, (answer) => {
      void readBody(answer).then((payload) => resolve({ status: answer.statusCode ?? 502, headers: answer.headers, payload }), reject);
    });
    upstream.on('error', reject);
    upstream.end(body);
  });
}

export async function startRoundRobinProxy(initial: readonly string[] = [], options: { onAnswer?: (exchange: ForwardedExchange) => void } = {}): Promise<RoundRobinProxy> {
  let targets = [...initial];
  let next = 0;
  const server: Server = createServer((request, response) => {
    void (async () => {
      const body = await readBody(request);
      const startedAt = Date.now();
      const started = performance.now();
      const heard = (status: number, target: string | null) =>
        options.onAnswer?.({ method: request.method ?? 'GET', path: request.url ?? '/', headers: request.headers, body, status, target, startedAt, ms: performance.now() - started });
      for (let tried = 0; tried < targets.length; tried++) {
        const target = targets[next++ % targets.length]!;
        try {
          const answer = await forward(target, request, body);
          heard(answer.status, target);
          response.writeHead(answer.status, answer.headers);
          response.end(answer.payload);
          return;
        } catch {
          // That instance is down: try the next one.
        }
      }
      heard(502, null);
      response.writeHead(502, { 'content-type': 'text/plain' }).end('no live instance');
    })().catch(() => request.socket.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    setTargets(list) {
      targets = [...list];
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
