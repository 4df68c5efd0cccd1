/**
 * The products page from outside: `products(first: 100)` with every position's availability and
 * the lots, through HTTP to the whole gateway in a process of its own (scheduler on: the sync
 * and the ERP refreshes run meanwhile), one at a time and four at a time. Prints p50/p99, the
 * gateway's CPU per query, and the ERP calls made while querying beside those made in an idle
 * stretch as long (the background's own). Target: p99 under 100 ms both ways, no ERP call on the
 * read path.
 *
 *   npx tsx bench/products-read.bench.ts [queries=200]
 *
 * With no ERP_* variables: the demo (simulated ERP, which counts the calls it answers; embedded
 * PGlite, or DATABASE_URL's server in a private database). With ERP_URL, ERP_DATABASE, ERP_USER
 * and ERP_PASSWORD (`eval "$(bash scripts/tryton.sh env)"`): the real Tryton behind a counting
 * HTTP proxy, and an empty Shopify simulator.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, request, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import postgres from 'postgres';
import { startGatewayProcess } from './support/gateway-process.js';
import { createGraphqlClient, summary } from './support/http-load.js';

const queries = Number(process.argv[2] ?? 200);
const tryton = Boolean(process.env.ERP_URL && process.env.ERP_DATABASE && process.env.ERP_USER && process.env.ERP_PASSWORD);

const PAGE = JSON.stringify({
  query: `query Page($first: Int) {
    products(first: $first) {
      edges { node {
        sku name shopifySku mappingStatus
        availability { location { code name shopifyLocationId } onHand allocated safetyStock wholesaleCommitted reserved
                       pendingShopifyOrders expiringSoon availableToPromise shopifyAvailable lastPushedAt computedAt }
        lots { number location quantity expiresOn }
      } }
      pageInfo { hasNextPage endCursor }
    }
  }`,
  variables: { first: 100 },
});

/** A pass-through HTTP proxy to the ERP that counts the requests it forwards. */
async function countingProxy(target: string): Promise<{ url: string; calls: () => number; close(): Promise<void> }> {
  const to = new URL(target);
  let calls = 0;
  const server: Server = createServer((req, res) => {
    calls += 1;
    const upstream = request(
      { hostname: to.hostname, port: to.port, path: `${to.pathname.replace(/\/$/, '')}${req.url}`, method: req.method, headers: { ...req.headers, host: to.host } },
      (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
      },
    );
    upstream.on('error', () => res.writeHead(502).end());
    req.pipe(upstream);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address() as { port: number };
  return {
    url: `http://127.0.0.1:${address.port}/`,
    calls: () => calls,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

const cleanups: Array<() => Promise<void>> = [];
try {
  const env: Record<string, string> = { PORT: '0', LOG_LEVEL: 'silent', GRAPHQL_MAX_COST: '1000000', GRAPHQL_BUCKET_SIZE: '10000000', GRAPHQL_RESTORE_RATE: '1000000' };
  if (process.env.DATABASE_URL) {
    const admin = postgres(process.env.DATABASE_URL, { max: 1, onnotice: () => {} });
    const name = `sb_bench_${randomBytes(6).toString('hex')}`;
    await admin.unsafe(`create database ${name}`);
    cleanups.push(async () => {
      await admin.unsafe(`drop database if exists ${name} with (force)`);
      await admin.end();
    });
    const url = new URL(process.env.DATABASE_URL);
    url.pathname = `/${name}`;
    env.DATABASE_URL = url.toString();
  } else {
    const dataDir = mkdtempSync(join(tmpdir(), 'stockbridge-bench-'));
    cleanups.push(async () => rmSync(dataDir, { recursive: true, force: true }));
    env.DATA_DIR = dataDir;
  }
  let proxy: Awaited<ReturnType<typeof countingProxy>> | undefined;
  if (tryton) {
    proxy = await countingProxy(process.env.ERP_URL!);
    cleanups.push(() => proxy!.close());
    Object.assign(env, { ERP_CONNECTOR: 'tryton', ERP_URL: proxy.url, BENCH_SHOPIFY_SIMULATOR: '1' });
  }
  const gateway = await startGatewayProcess({ env, scopes: ['read'], waitReady: true });
  cleanups.push(() => gateway.stop());
  const erpCalls = async () => (proxy ? proxy.calls() : ((await gateway.ask<number | null>({ what: 'erpRoundTrips' })) ?? 0));
  const cpu = () => gateway.ask<{ user: number; system: number }>({ what: 'cpuUsage' });
  const client = createGraphqlClient(gateway.graphqlUrl, gateway.key, 4);
  cleanups.push(async () => client.close());

  console.log(`products(first: 100) with availability and lots, ${tryton ? 'real Tryton (counting proxy)' : 'demo, simulated ERP'}, ${process.env.DATABASE_URL ? 'PostgreSQL' : 'PGlite'}`);
  const warm = await client.load(20, 1, () => PAGE);
  const first = warm.answers[0] as { data?: { products: { edges: Array<{ node: { lots: unknown[] } }> } }; errors?: unknown };
  if (!first.data || first.errors) throw new Error(`the page failed: ${JSON.stringify(first).slice(0, 500)}`);
  const edges = first.data.products.edges;
  console.log(`  page: ${edges.length} products, ${edges.filter((edge) => edge.node.lots.length > 0).length} with lots, ${(PAGE.length / 1024).toFixed(1)} KiB asked`);

  for (const clients of [1, 4]) {
    const cpuBefore = await cpu();
    const callsBefore = await erpCalls();
    const result = await client.load(queries, clients, () => PAGE);
    const cpuAfter = await cpu();
    const calls = (await erpCalls()) - callsBefore;
    // The background's own ERP calls over a stretch as long, with no query.
    const seconds = result.seconds;
    const idleFrom = await erpCalls();
    await new Promise((resolve) => setTimeout(resolve, seconds * 1000));
    const idle = (await erpCalls()) - idleFrom;
    const failed = result.answers.filter((answer) => (answer as { errors?: unknown }).errors);
    if (failed.length > 0) throw new Error(`${failed.length} queries failed, e.g. ${JSON.stringify(failed[0]).slice(0, 500)}`);
    const gatewayCpu = (cpuAfter.user - cpuBefore.user + cpuAfter.system - cpuBefore.system) / 1000 / queries;
    console.log(`${summary(`  ${clients === 1 ? 'one at a time' : 'four at a time'}`, result, clients)}  gateway CPU ${gatewayCpu.toFixed(1)} ms/query`);
    console.log(`    ERP calls while querying: ${calls} (${(calls / queries).toFixed(2)} per query); in an idle stretch as long: ${idle} (the background's)`);
  }
} finally {
  for (const cleanup of cleanups.reverse()) await cleanup().catch((error: unknown) => console.error(error));
}
