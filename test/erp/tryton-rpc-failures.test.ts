import { once } from 'node:events';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { TrytonErpConnector } from '../../src/erp/tryton/tryton-erp-connector.js';
import { TrytonRpcClient } from '../../src/erp/tryton/tryton-rpc-client.js';
import { TrytonDate, TrytonDateTime, TrytonDecimal, decodeTrytonJson, encodeTrytonJson } from '../../src/erp/tryton/tryton-codec.js';
import { createLogger } from '../../src/logger.js';
import { isAppError } from '../../src/shared/errors.js';

/**
 * A deliberately broken "trytond" on loopback: each test decides how it answers. No Tryton is
 * needed; what is checked is that every failure becomes a typed error, bounded in time.
 */

type Handler = (request: { method: string; params: unknown[]; id: unknown; authorization?: string }, response: ServerResponse, raw: IncomingMessage) => void;

const servers: Server[] = [];
const logger = createLogger('silent');

async function brokenTryton(handler: Handler): Promise<{ url: string; requests: string[] }> {
  const requests: string[] = [];
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (chunk: Buffer) => (body += chunk.toString()));
    req.on('end', () => {
      let parsed: { method: string; params: unknown[]; id: unknown };
      try {
        parsed = JSON.parse(body) as typeof parsed;
      } catch {
        parsed = { method: '(unparsable)', params: [], id: null };
      }
      requests.push(parsed.method);
      handler({ ...parsed, authorization: req.headers.authorization }, res, req);
    });
  });
  servers.push(server);
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/`, requests };
}

/** A port on which nothing listens any more. */
async function deadUrl(): Promise<string> {
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return `http://127.0.0.1:${port}/`;
}

function json(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(typeof body === 'string' ? body : JSON.stringify(body));
}

/** Answers login and preferences like trytond, then hands model calls to `model`. */
function trytonLike(model: Handler): Handler {
  return (request, res, raw) => {
    if (request.method === 'common.db.login') return json(res, 200, { id: request.id, result: [1, 'session-key'] });
    if (request.method === 'model.res.user.get_preferences') return json(res, 200, { id: request.id, result: { company: 1, language: 'en', 'company.rec_name': 'Acme' } });
    return model(request, res, raw);
  };
}

function client(url: string, timeoutMs = 2_000): TrytonRpcClient {
  return new TrytonRpcClient({ url, database: 'erp', user: 'admin', password: 'secret-pw-1', logger, timeoutMs });
}

async function failure(promise: Promise<unknown>): Promise<{ code: string; details: Record<string, unknown>; message: string }> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  if (!isAppError(error)) throw new Error(`expected a typed error, got ${String(error)}`);
  return { code: error.code, details: error.details, message: error.message };
}

const read = (rpc: TrytonRpcClient) => rpc.model('product.product', 'search_read', [[], 0, null, null, ['code']], z.array(z.object({ id: z.number(), code: z.string() })));

afterEach(async () => {
  for (const server of servers.splice(0)) {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  }
});

describe('Tryton JSON-RPC client against a broken endpoint', () => {
  it('reports ERP_UNAVAILABLE when nothing listens', async () => {
    const result = await failure(read(client(await deadUrl())));
    expect(result.code).toBe('ERP_UNAVAILABLE');
    expect(result.details.reason).toBe('NETWORK');
  });

  it('reports ERP_UNAVAILABLE when the server never answers, instead of hanging', async () => {
    const { url } = await brokenTryton(() => undefined);
    const result = await failure(read(client(url, 200)));
    expect(result.code).toBe('ERP_UNAVAILABLE');
    expect(result.details.reason).toBe('TIMEOUT');
  });

  it('reports ERP_UNAVAILABLE when the body trickles in past the timeout', async () => {
    const { url } = await brokenTryton(
      trytonLike((_request, res) => {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.write('{"id":');
      }),
    );
    const result = await failure(read(client(url, 300)));
    expect(result.code).toBe('ERP_UNAVAILABLE');
  });

  it('reports ERP_UNAVAILABLE when the connection drops mid-answer', async () => {
    const { url } = await brokenTryton(trytonLike((_request, _res, raw) => raw.socket.destroy()));
    expect((await failure(read(client(url)))).code).toBe('ERP_UNAVAILABLE');
  });

  it('reports ERP_UNAVAILABLE on an HTML 500 page and on 429', async () => {
    const html = await brokenTryton(
      trytonLike((_request, res) => {
        res.writeHead(500, { 'content-type': 'text/html' });
        res.end('<html><body><h1>Internal Server Error</h1></body></html>');
      }),
    );
    const limited = await brokenTryton(trytonLike((_request, res) => json(res, 429, '')));
    const serverError = await failure(read(client(html.url)));
    expect(serverError).toMatchObject({ code: 'ERP_UNAVAILABLE', details: { status: 500 } });
    expect((await failure(read(client(limited.url)))).code).toBe('ERP_UNAVAILABLE');
  });

  it('reports ERP_INVALID_RESPONSE for a body that is not JSON', async () => {
    const { url } = await brokenTryton(trytonLike((_request, res) => json(res, 200, 'Hello, I am a load balancer')));
    expect((await failure(read(client(url)))).code).toBe('ERP_INVALID_RESPONSE');
  });

  it('reports ERP_INVALID_RESPONSE for a wrong envelope, a wrong id and a malformed tagged value', async () => {
    const wrongKeys = await brokenTryton(trytonLike((request, res) => json(res, 200, { jsonrpc: '2.0', id: request.id, result: [] })));
    const wrongId = await brokenTryton(trytonLike((request, res) => json(res, 200, { id: Number(request.id) + 1000, result: [] })));
    const badDate = await brokenTryton(trytonLike((request, res) => json(res, 200, { id: request.id, result: [{ id: 1, code: 'A', d: { __class__: 'date', year: 'x' } }] })));
    for (const { url } of [wrongKeys, wrongId, badDate]) {
      expect((await failure(read(client(url)))).code).toBe('ERP_INVALID_RESPONSE');
    }
  });

  it('reports ERP_INVALID_RESPONSE when the result does not have the expected shape', async () => {
    const { url } = await brokenTryton(trytonLike((request, res) => json(res, 200, { id: request.id, result: [{ id: 'one', code: 7 }] })));
    const result = await failure(read(client(url)));
    expect(result.code).toBe('ERP_INVALID_RESPONSE');
    expect(result.details.issues).toEqual(expect.arrayContaining([expect.stringMatching(/^0\.id/)]));
  });

  it('reports ERP_REJECTED with the message of a Tryton UserError', async () => {
    const { url } = await brokenTryton(
      trytonLike((request, res) => json(res, 200, { id: request.id, error: ['UserError', ['A value is required for field "Party" in "Sale".', '', null]] })),
    );
    const result = await failure(read(client(url)));
    expect(result).toMatchObject({ code: 'ERP_REJECTED', message: 'A value is required for field "Party" in "Sale".', details: { kind: 'UserError' } });
  });

  it('reports concurrent work as ERP_CONFLICT (uniqueness, locks, serialization, concurrency) and other server exceptions as ERP_REJECTED', async () => {
    const answers: [unknown, string][] = [
      [['UserError', ['The code on party must be unique.', '']], 'ERP_CONFLICT'],
      [['ConcurrencyException', 'Records were modified in the meanwhile'], 'ERP_CONFLICT'],
      [['database is locked', 'Traceback ...'], 'ERP_CONFLICT'],
      [['could not obtain lock on row in relation "party_party"\n', 'Traceback ...\npsycopg2.errors.LockNotAvailable: could not obtain lock'], 'ERP_CONFLICT'],
      [['duplicate key value violates unique constraint "party_party_code_uniq"', 'Traceback ...\npsycopg2.errors.UniqueViolation: duplicate key value'], 'ERP_CONFLICT'],
      [['could not serialize access due to concurrent update\n', 'Traceback ...\npsycopg2.errors.SerializationFailure: could not serialize access'], 'ERP_CONFLICT'],
      [['deadlock detected', 'Traceback ...\npsycopg2.errors.DeadlockDetected: deadlock detected'], 'ERP_CONFLICT'],
      [['UserError', ['A value is required for field "Party" in "Sale".', '']], 'ERP_REJECTED'],
      [["'no.such.model'", 'Traceback ...'], 'ERP_REJECTED'],
    ];
    for (const [error, code] of answers) {
      const tryton = await brokenTryton(trytonLike((request, res) => json(res, 200, { id: request.id, error })));
      expect({ error, code: (await failure(read(client(tryton.url)))).code }).toEqual({ error, code });
    }
  });

  it('reports ERP_REJECTED when the credentials are refused', async () => {
    const { url } = await brokenTryton((_request, res) => {
      res.writeHead(401, { 'content-type': 'text/html' });
      res.end('<h1>Unauthorized</h1>');
    });
    const result = await failure(read(client(url)));
    expect(result.code).toBe('ERP_REJECTED');
    expect(result.message).toMatch(/ERP_USER or ERP_PASSWORD/);
  });

  it('logs in again once when the session expired, sends the user context, and counts round trips', async () => {
    let logins = 0;
    const contexts: unknown[] = [];
    const { url } = await brokenTryton((request, res) => {
      if (request.method === 'common.db.login') return json(res, 200, { id: request.id, result: [1, `key-${++logins}`] });
      if (request.method === 'model.res.user.get_preferences') return json(res, 200, { id: request.id, result: { company: 1, 'company.rec_name': 'Acme' } });
      const session = Buffer.from(String(request.authorization).replace(/^Session /, ''), 'base64').toString();
      if (session !== `admin:1:key-${logins}` || logins === 1) return json(res, 401, '');
      contexts.push(request.params.at(-1));
      return json(res, 200, { id: request.id, result: [{ id: 1, code: 'SKU-1' }] });
    });
    const rpc = client(url);

    expect(await read(rpc)).toEqual([{ id: 1, code: 'SKU-1' }]);
    expect(logins).toBe(2);
    expect(contexts).toEqual([{ company: 1 }]);
    // login, preferences, 401, login, preferences, call
    expect(rpc.roundTrips).toBe(6);
  });
});

describe('Tryton connector against a broken endpoint', () => {
  const connector = (url: string) =>
    new TrytonErpConnector({ url, database: 'erp', user: 'admin', password: 'secret-pw-1', logger, timeoutMs: 300, policy: { maxAttempts: 3, sleep: async () => undefined } });

  it('retries an unavailable ERP a bounded number of times, then reports ERP_UNAVAILABLE', async () => {
    const { url, requests } = await brokenTryton(trytonLike((_request, res) => json(res, 503, '')));
    const result = await failure(connector(url).getStockBySkus(['SKU-1']));
    expect(result.code).toBe('ERP_UNAVAILABLE');
    expect(requests.filter((m) => m === 'model.stock.location.search_read')).toHaveLength(3);
  });

  it('does not retry garbage, and reports ERP_INVALID_RESPONSE', async () => {
    const { url, requests } = await brokenTryton(trytonLike((request, res) => json(res, 200, { id: request.id, result: 'not a list of locations' })));
    expect((await failure(connector(url).listLocations())).code).toBe('ERP_INVALID_RESPONSE');
    expect(requests.filter((m) => m === 'model.stock.location.search_read')).toHaveLength(1);
  });

  it('reports ERP_UNAVAILABLE from a connection check against a silent server, within its bounds', async () => {
    const { url, requests } = await brokenTryton(() => undefined);
    expect((await failure(connector(url).checkConnection())).code).toBe('ERP_UNAVAILABLE');
    expect(requests).toEqual(['common.server.version', 'common.server.version', 'common.server.version']);
  });
});

describe('Tryton value codec', () => {
  it('decodes Decimal, date and datetime into plain strings, keeping microseconds', () => {
    const decoded = decodeTrytonJson(
      JSON.stringify({
        price: { __class__: 'Decimal', decimal: '19.90' },
        big: { __class__: 'Decimal', decimal: '1E+2' },
        small: { __class__: 'Decimal', decimal: '5E-3' },
        day: { __class__: 'date', year: 2026, month: 11, day: 27 },
        at: { __class__: 'datetime', year: 2026, month: 11, day: 27, hour: 9, minute: 5, second: 3, microsecond: 4236 },
      }),
    );
    expect(decoded).toEqual({ price: '19.90', big: '100', small: '0.005', day: '2026-11-27', at: '2026-11-27T09:05:03.004236' });
  });

  it('encodes arguments in the tagged form trytond expects', () => {
    const body = JSON.parse(encodeTrytonJson([new TrytonDecimal('19.90'), new TrytonDate('2026-11-27'), new TrytonDateTime('2026-11-27T09:05:03.004236')])) as unknown;
    expect(body).toEqual([
      { __class__: 'Decimal', decimal: '19.90' },
      { __class__: 'date', year: 2026, month: 11, day: 27 },
      { __class__: 'datetime', year: 2026, month: 11, day: 27, hour: 9, minute: 5, second: 3, microsecond: 4236 },
    ]);
  });

  it('refuses to encode a price that is not a decimal number', () => {
    expect(() => new TrytonDecimal('19,90')).toThrow(TypeError);
  });
});
