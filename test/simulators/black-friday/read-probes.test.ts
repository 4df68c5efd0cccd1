import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { probeProducts } from '../../../src/simulators/black-friday/read-probes.js';

describe('the products probe', () => {
  let close: (() => Promise<void>) | undefined;
  afterEach(async () => close?.());

  it('counts a balancer answer that is not JSON as a failed probe with its status and words, and times the good ones', async () => {
    let asked = 0;
    const server = createServer((request, response) => {
      asked += 1;
      request.resume();
      if (asked % 2 === 1) response.writeHead(502, { 'content-type': 'text/plain' }).end('no live instance');
      else response.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ data: { products: { edges: [] } }, extensions: { cost: { requestedQueryCost: 502 } } }));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    close = () => new Promise((resolve) => server.close(() => resolve()));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

    const stop = new AbortController();
    const probing = probeProducts({ url, key: 'k', everyMs: 5, signal: stop.signal });
    while (asked < 4) await new Promise((resolve) => setTimeout(resolve, 5));
    stop.abort();
    const figures = await probing;

    expect(figures.firstProblem).toBe('HTTP 502 no live instance');
    expect(figures.errors).toBeGreaterThanOrEqual(2);
    expect(figures.probes - figures.errors).toBe(figures.samples);
    expect(figures.samples).toBeGreaterThanOrEqual(1);
    expect(figures.queryCost).toBe(502);
  });
});
