import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAlertSender, type AlertPayload } from '../../src/alerts/alert-sender.js';
import { createMemoryLogger } from '../support/gateway.js';

/** A webhook receiver on loopback that keeps what it was sent (and can refuse). */
let server: Server;
let url: string;
const received: AlertPayload[] = [];
let refuseNext = 0;

beforeAll(async () => {
  server = createServer((request, response) => {
    let body = '';
    request.on('data', (chunk) => (body += chunk));
    request.on('end', () => {
      if (refuseNext > 0) {
        refuseNext -= 1;
        response.writeHead(503).end();
        return;
      }
      received.push(JSON.parse(body) as AlertPayload);
      response.writeHead(204).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/alerts`;
});

afterAll(async () => {
  await new Promise((resolve) => server.close(resolve));
});

function clock(start = '2026-11-27T12:00:00Z') {
  let at = new Date(start).getTime();
  return { now: () => new Date(at), advance: (ms: number) => (at += ms) };
}

describe('alerts', () => {
  it('an alert is an error log line and a JSON POST to the webhook', async () => {
    received.length = 0;
    const { log, lines } = createMemoryLogger();
    const sender = createAlertSender({ log, webhookUrl: url });
    sender.send({ code: 'SYNC_RUN_FAILED', severity: 'critical', message: 'delta run failed: ERP_UNAVAILABLE', details: { runId: 'r1' } });
    await sender.close();
    expect(received).toEqual([expect.objectContaining({ source: 'stockbridge', code: 'SYNC_RUN_FAILED', severity: 'critical', message: 'delta run failed: ERP_UNAVAILABLE', details: { runId: 'r1' } })]);
    expect(lines().filter((line) => line.level === 50 && String(line.msg).includes('SYNC_RUN_FAILED'))).toHaveLength(1);
  });

  it('a storm of one code sends the first few, then one summary when the window ends', async () => {
    received.length = 0;
    const time = clock();
    const { log, lines } = createMemoryLogger();
    const sender = createAlertSender({ log, webhookUrl: url, now: time.now, windowMs: 60_000, burst: 3 });
    for (let i = 0; i < 1_000; i++) sender.send({ code: 'SYNC_ITEM_FAILING', severity: 'warning', message: `item ${i} failed` });
    sender.send({ code: 'SYNC_RUN_FAILED', severity: 'critical', message: 'another code is limited on its own' });
    await sender.flush();
    expect(received.map((a) => a.code)).toEqual(['SYNC_ITEM_FAILING', 'SYNC_ITEM_FAILING', 'SYNC_ITEM_FAILING', 'SYNC_RUN_FAILED']);

    time.advance(60_000);
    await sender.flush();
    const summary = received.at(-1)!;
    expect(summary).toMatchObject({ code: 'SYNC_ITEM_FAILING', suppressed: 997 });
    expect(summary.samples).toEqual(['item 3 failed', 'item 4 failed', 'item 5 failed', 'item 6 failed', 'item 7 failed']);
    expect(received).toHaveLength(5);
    expect(lines().filter((line) => line.level === 50)).toHaveLength(5);

    // A new window sends as they come again.
    sender.send({ code: 'SYNC_ITEM_FAILING', severity: 'warning', message: 'after the storm' });
    await sender.close();
    expect(received.at(-1)).toMatchObject({ message: 'after the storm' });
  });

  it('a webhook that refuses once gets the alert on the retry; one that is down costs a warning, never an exception', async () => {
    received.length = 0;
    refuseNext = 1;
    const { log, lines } = createMemoryLogger();
    const sender = createAlertSender({ log, webhookUrl: url });
    sender.send({ code: 'ORDER_FAILED', severity: 'warning', message: 'order #1001 refused by the ERP' });
    await sender.flush();
    expect(received).toHaveLength(1);

    const down = createAlertSender({ log, webhookUrl: 'http://127.0.0.1:9/unreachable', timeoutMs: 500 });
    expect(() => down.send({ code: 'ORDER_FAILED', severity: 'warning', message: 'nobody listens' })).not.toThrow();
    await down.close();
    await sender.close();
    expect(lines().some((line) => line.msg === 'alert webhook unreachable')).toBe(true);
  });

  it('without ALERT_WEBHOOK_URL an alert is the log line alone', async () => {
    const { log, lines } = createMemoryLogger();
    const sender = createAlertSender({ log });
    sender.send({ code: 'SYNC_RUN_FAILED', severity: 'critical', message: 'logged only' });
    await sender.close();
    expect(lines().filter((line) => line.level === 50)).toHaveLength(1);
  });
});
