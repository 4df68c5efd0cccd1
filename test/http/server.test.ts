import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rowsOf } from '../../src/db/database.js';
import { startTestGateway, type TestGateway } from '../support/gateway.js';

type GraphQLBody = { data?: Record<string, unknown> | null; errors?: Array<{ message: string; extensions?: { code?: string } }> };

describe('the HTTP surface', () => {
  let gateway: TestGateway;
  beforeAll(async () => {
    gateway = await startTestGateway();
  });
  afterAll(async () => {
    await gateway.close();
  });

  it('answers /healthz and /readyz', async () => {
    expect((await fetch(`${gateway.url}/healthz`)).status).toBe(200);
    const ready = await fetch(`${gateway.url}/readyz`);
    expect(ready.status).toBe(200);
    expect(await ready.json()).toMatchObject({ status: 'ready' });
  });

  it('answers a trivial query with a valid key', async () => {
    const key = await gateway.createKey(['read']);
    const { status, body } = await gateway.graphql<GraphQLBody>(key, '{ serverInfo { name version database } }');
    expect(status).toBe(200);
    expect(body.errors).toBeUndefined();
    expect(body.data?.serverInfo).toMatchObject({ name: 'stockbridge', version: expect.any(String) });
  });

  it('gives HTTP 401 with no key, a malformed key, an unknown key and a revoked key', async () => {
    expect((await gateway.graphql(undefined, '{ serverInfo { name } }')).status).toBe(401);
    expect((await gateway.graphql('not-a-key', '{ serverInfo { name } }')).status).toBe(401);
    const unknown = `sbk_0000abcd_${'A'.repeat(43)}`;
    expect((await gateway.graphql(unknown, '{ serverInfo { name } }')).status).toBe(401);

    const key = await gateway.createKey(['read']);
    expect((await gateway.graphql(key, '{ serverInfo { name } }')).status).toBe(200);
    const prefix = key.split('_')[1]!;
    await gateway.services.auth.apiKeys.revoke(prefix);
    const after = await gateway.graphql<GraphQLBody>(key, '{ serverInfo { name } }');
    expect(after.status).toBe(401);
    expect(after.body.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
  });

  it('rejects a key that differs from a real one only after the prefix', async () => {
    const key = await gateway.createKey(['read']);
    const tampered = key.slice(0, -1) + (key.endsWith('A') ? 'B' : 'A');
    expect((await gateway.graphql(tampered, '{ serverInfo { name } }')).status).toBe(401);
  });

  it('answers FORBIDDEN for a field outside the key\u2019s scopes, and runs nothing', async () => {
    const reader = await gateway.createKey(['read']);
    const denied = await gateway.graphql<GraphQLBody>(
      reader,
      'mutation { createApiKey(input: { name: "sneaky", scopes: [ADMIN] }) { key } }',
    );
    expect(denied.body.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    expect(denied.body.data ?? null).toBeNull();
    const keys = await gateway.services.auth.apiKeys.list();
    expect(keys.some((k) => k.name === 'sneaky')).toBe(false);

    const admin = await gateway.createKey(['admin']);
    const listing = await gateway.graphql<GraphQLBody>(admin, '{ serverInfo { name } }');
    expect(listing.body.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
  });

  it('lets an admin key create a key over GraphQL that then works, stored only as a hash', async () => {
    const admin = await gateway.createKey(['admin']);
    const created = await gateway.graphql<{ data: { createApiKey: { key: string; apiKey: { scopes: string[]; prefix: string } } } }>(
      admin,
      'mutation { createApiKey(input: { name: "wholesale app", scopes: [READ, RESERVE] }) { key apiKey { scopes prefix } } }',
    );
    const { key, apiKey } = created.body.data.createApiKey;
    expect(apiKey.scopes).toEqual(['READ', 'RESERVE']);
    expect(key.length).toBeGreaterThanOrEqual(40);
    expect((await gateway.graphql(key, '{ serverInfo { name } }')).status).toBe(200);

    const rows = rowsOf<Record<string, unknown>>(await gateway.database.db.execute(sql`select * from api_keys`));
    // The secret is everything after `sbk_<8-char prefix>_` (it may itself contain '_').
    const secret = key.slice('sbk_'.length + 8 + 1);
    expect(secret.length).toBe(43);
    for (const row of rows) {
      for (const value of Object.values(row)) expect(String(value)).not.toContain(secret);
    }
  });

  it('reports unexpected errors without internals', async () => {
    const reader = await gateway.createKey(['read']);
    const { body } = await gateway.graphql<GraphQLBody>(reader, '{ nope }');
    expect(body.errors?.[0]?.extensions?.code).toBe('GRAPHQL_VALIDATION_FAILED');
  });

  it('serves Prometheus text on /metrics, with request histograms', async () => {
    const response = await fetch(`${gateway.url}/metrics`);
    expect(response.headers.get('content-type')).toContain('text/plain');
    const text = await response.text();
    expect(text).toContain('# TYPE stockbridge_http_request_duration_seconds histogram');
    expect(text).toMatch(/stockbridge_http_request_duration_seconds_count\{method="POST",route="\/graphql",status="200"\} \d+/);
    expect(text).toContain('stockbridge_process_cpu_user_seconds_total');
  });

  it('logs one line per request with its id and never the authorization header', async () => {
    const key = await gateway.createKey(['read']);
    await fetch(gateway.graphqlUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${key}`, 'x-request-id': 'trace-me-1' },
      body: JSON.stringify({ query: '{ serverInfo { name } }' }),
    });
    const lines = gateway.logLines().filter((line) => line.reqId === 'trace-me-1');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({ msg: 'request', status: 200, url: '/graphql' });
    expect(JSON.stringify(gateway.logLines())).not.toContain(key);
  });
});

describe('shutdown', () => {
  it('finishes an in-flight request, then refuses connections and closes the database', async () => {
    let arrived: () => void = () => {};
    const requestArrived = new Promise<void>((resolve) => (arrived = resolve));
    const gateway = await startTestGateway({}, {
      routes: [
        (app) => {
          app.get('/test/slow', async () => {
            arrived();
            await new Promise((resolve) => setTimeout(resolve, 300));
            return { finished: true };
          });
        },
      ],
    });
    const inFlight = fetch(`${gateway.url}/test/slow`);
    await requestArrived;
    await gateway.close();
    const answered = await inFlight;
    expect(answered.status).toBe(200);
    expect(await answered.json()).toEqual({ finished: true });
    await expect(fetch(`${gateway.url}/healthz`)).rejects.toThrow();
    await expect(gateway.database.ping()).rejects.toThrow();
  });
});
