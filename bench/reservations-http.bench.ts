/**
 * Reservations from outside: `reserveInventory` through the real gateway over HTTP (API key,
 * GraphQL guard, Apollo, the service's group commit, PostgreSQL), the gateway in a process of
 * its own (demo ERP and store, scheduler on), 16 client loops each on its own keep-alive
 * connection. Prints reservations/s, p50 and p99 for one hot SKU and spread over 100 SKUs.
 * Target: at least 500/s at p99 under 50 ms, both ways.
 *
 *   DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres npx tsx bench/reservations-http.bench.ts [reservations=3000] [clients=16]
 *
 * The GraphQL cost limits are lifted (GRAPHQL_BUCKET_SIZE, GRAPHQL_RESTORE_RATE): the default
 * bucket would throttle one key at ~5 reservations per second, which is the point of it, not of
 * this benchmark. It creates and drops a private database next to DATABASE_URL's.
 */
import { randomBytes } from 'node:crypto';
import postgres from 'postgres';
import { startGatewayProcess } from './support/gateway-process.js';
import { createGraphqlClient, summary } from './support/http-load.js';

const adminUrl = process.env.DATABASE_URL;
if (!adminUrl) {
  process.stderr.write('reservations-http bench: set DATABASE_URL (PostgreSQL)\n');
  process.exit(2);
}
const total = Number(process.argv[2] ?? 3000);
const clients = Number(process.argv[3] ?? 16);

const MUTATION = `mutation Reserve($input: ReserveInventoryInput!) {
  reserveInventory(input: $input) {
    __typename
    ... on Reservation { id status quantity expiresAt }
    ... on InsufficientStock { errorCode availableToPromise }
    ... on NotFound { errorCode }
  }
}`;

const spread = Array.from({ length: 100 }, (_, i) => `SPREAD-${String(i).padStart(3, '0')}`);

const admin = postgres(adminUrl, { max: 1, onnotice: () => {} });
const name = `sb_bench_${randomBytes(6).toString('hex')}`;
await admin.unsafe(`create database ${name}`);
const url = new URL(adminUrl);
url.pathname = `/${name}`;
try {
  const gateway = await startGatewayProcess({
    env: {
      DATABASE_URL: url.toString(),
      PORT: '0',
      LOG_LEVEL: 'silent',
      GRAPHQL_MAX_COST: '1000000',
      GRAPHQL_BUCKET_SIZE: '10000000',
      GRAPHQL_RESTORE_RATE: '1000000',
    },
    scopes: ['read', 'reserve'],
    seedPositions: ['HOT-1', ...spread].map((sku) => ({ sku, location: 'WH1', onHand: 10_000_000 })),
    waitReady: true,
  });
  const client = createGraphqlClient(gateway.graphqlUrl, gateway.key, clients);
  try {
    const cpu = () => gateway.ask<{ user: number; system: number }>({ what: 'cpuUsage' });
    // Transactions the gateway's database committed (a lone statement is one): the whole gateway, background included.
    const commits = async () => {
      await new Promise((resolve) => setTimeout(resolve, 1_500)); // statistics are flushed about once a second
      const [row] = await admin<{ commits: string }[]>`select xact_commit::text as commits from pg_stat_database where datname = ${name}`;
      return Number(row?.commits ?? 0);
    };
    const run = async (label: string, count: number, skuFor: (i: number) => string) => {
      const commitsBefore = await commits();
      const before = await cpu();
      const result = await client.load(count, clients, (i) =>
        JSON.stringify({ query: MUTATION, variables: { input: { sku: skuFor(i), location: 'WH1', quantity: 1, reference: `PO-${i}`, idempotencyKey: `${label}-${i}` } } }),
      );
      const refused = result.answers.filter((answer) => (answer as { data?: { reserveInventory?: { __typename?: string } } }).data?.reserveInventory?.__typename !== 'Reservation');
      if (refused.length > 0) throw new Error(`${refused.length} reservations not granted, e.g. ${JSON.stringify(refused[0])}`);
      const after = await cpu();
      const gatewayCpu = (after.user - before.user + after.system - before.system) / 1000 / count;
      const transactions = ((await commits()) - commitsBefore) / count;
      console.log(`${summary(label, result, clients)}  gateway CPU ${gatewayCpu.toFixed(2)} ms/request, ${transactions.toFixed(1)} database transactions/request`);
    };
    await run('warm-up', 500, (i) => spread[i % spread.length]!);
    await run('one hot SKU over HTTP', total, () => 'HOT-1');
    await run('spread over 100 SKUs over HTTP', total, (i) => spread[(i * 7919) % spread.length]!);
  } finally {
    client.close();
    await gateway.stop();
  }
} finally {
  await admin.unsafe(`drop database if exists ${name} with (force)`);
  await admin.end();
}
