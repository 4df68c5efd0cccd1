import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startRoundRobinProxy, type ForwardedExchange, type RoundRobinProxy } from '../../../src/simulators/chaos/round-robin-proxy.js';

/**
 * The balancer in front of the gateway instances times each exchange as it saw it: two real
 * instances (one slow), one dead target skipped, and a 502 when none answers.
 */
describe('round-robin balancer timing', () => {
  const servers: Server[] = [];
  const heard: ForwardedExchange[] = [];
  let proxy: RoundRobinProxy;
  let fast: string;
  let slow: string;

  const serve = async (delayMs: number, status: number): Promise<string> => {
    const server = createServer((request, response) => {
      request.resume();
      request.on('end', () => setTimeout(() => response.writeHead(status, { 'content-type': 'text/plain' }).end('ok'), delayMs));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    servers.push(server);
    return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  };

  beforeAll(async () => {
    fast = await serve(0, 200);
    slow = await serve(150, 503);
    proxy = await startRoundRobinProxy([], { onAnswer: (exchange) => heard.push(exchange) });
  });
  afterAll(async () => {
    await proxy.close();
    for (const server of servers) await new Promise((resolve) => server.close(resolve));
  });

  it('reports each forwarded request with its path, headers, body, status, instance and time', async () => {
    proxy.setTargets([fast, slow]);
    const post = (n: number) => fetch(`${proxy.url}/webhooks/shopify`, { method: 'POST', headers: { 'x-shopify-topic': 'orders/create' }, body: `{"n":${n}}` });
    expect((await post(1)).status).toBe(200);
    expect((await post(2)).status).toBe(503);
    expect(heard).toHaveLength(2);
    const [first, second] = heard;
    expect(first).toMatchObject({ method: 'POST', path: '/webhooks/shopify', status: 200, target: fast });
    expect(first!.headers['x-shopify-topic']).toBe('orders/create');
    expect(first!.body.toString()).toBe('{"n":1}');
    expect(second).toMatchObject({ status: 503, target: slow });
    expect(second!.ms).toBeGreaterThanOrEqual(140);
    expect(first!.ms).toBeLessThan(second!.ms);
    expect(Math.abs(first!.startedAt - Date.now())).toBeLessThan(10_000);
  });

  it('skips a dead instance inside the timed exchange, and reports 502 with no instance when none answers', async () => {
    heard.length = 0;
    const dead = 'http://127.0.0.1:1';
    proxy.setTargets([dead, fast]);
    expect((await fetch(`${proxy.url}/graphql`, { method: 'POST', body: '{}' })).status).toBe(200);
    proxy.setTargets([dead]);
    expect((await fetch(`${proxy.url}/graphql`, { method: 'POST', body: '{}' })).status).toBe(502);
    expect(heard.map((exchange) => [exchange.status, exchange.target])).toEqual([
      [200, fast],
      [502, null],
    ]);
  });
});
