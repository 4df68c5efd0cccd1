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
 *
 * `take` (third argument) measures the real path of a pushed position instead: the simulated
 * Shopify store and the simulated ERP run in this process (not the gateway's, as production has
 * Shopify elsewhere), the gateway reaches them over HTTP (INVENTORY_PUSH on), and one hot SKU is
 * mapped and pushed, so every grant first takes its units out of Shopify's `available`. It prints
 * reservations per batch and Shopify calls per reservation beside the gateway's CPU.
 *
 *   DATABASE_URL=… npx tsx bench/reservations-http.bench.ts 3000 16,32 take
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
const clientLevels = (process.argv[3] ?? '16').split(',').map(Number);
const clients = Math.max(...clientLevels);
const takeMode = process.argv[4] === 'take';

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
const stores: Array<() => Promise<void>> = [];
/** The store and the ERP the gateway reaches over HTTP, in this process, with one hot SKU in both. */
async function outsideStore() {
  const { startShopifySimulator } = await import('../src/simulators/shopify/index.js');
  const { SimulatedErp } = await import('../src/erp/simulated/simulated-erp.js');
  const { startSimulatedErpServer } = await import('../src/erp/simulated/simulated-erp-server.js');
  const erp = new SimulatedErp();
  erp.addWarehouse({ code: 'WH1', name: 'WH1' });
  erp.addProduct({ sku: 'HOT-1', name: 'HOT-1' });
  erp.receiveStock({ sku: 'HOT-1', location: 'WH1', quantity: 10_000_000 });
  const erpServer = await startSimulatedErpServer({ erp });
  stores.push(() => erpServer.close());
  const simulator = await startShopifySimulator({
    plan: 'plus',
    catalogue: { locations: [{ key: 'WH1', name: 'WH1' }], products: [{ title: 'HOT-1', variants: [{ sku: 'HOT-1', price: '10.00', levels: { WH1: 0 } }] }] } as never,
  });
  stores.push(() => simulator.close());
  return {
    simulator,
    env: {
      ERP_CONNECTOR: 'simulated',
      ERP_URL: erpServer.url,
      SHOPIFY_SHOP: simulator.shopDomain,
      SHOPIFY_ACCESS_TOKEN: simulator.accessToken,
      SHOPIFY_API_SECRET: simulator.apiSecret,
      SHOPIFY_ADMIN_URL: simulator.adminUrl,
      INVENTORY_PUSH: 'on',
    },
  };
}

try {
  const store = takeMode ? await outsideStore() : undefined;
  const gateway = await startGatewayProcess({
    env: {
      ...(store?.env ?? {}),
      DATABASE_URL: url.toString(),
      PORT: '0',
      LOG_LEVEL: 'silent',
      GRAPHQL_MAX_COST: '1000000',
      GRAPHQL_BUCKET_SIZE: '10000000',
      GRAPHQL_RESTORE_RATE: '1000000',
    },
    scopes: ['read', 'reserve'],
    // With the outside store, the hot SKU's position comes from its ERP.
    seedPositions: (store ? spread : ['HOT-1', ...spread]).map((sku) => ({ sku, location: 'WH1', onHand: 10_000_000 })),
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
    const run = async (label: string, count: number, skuFor: (i: number) => string, inFlight = clients) => {
      const commitsBefore = await commits();
      const before = await cpu();
      const result = await client.load(count, inFlight, (i) =>
        JSON.stringify({ query: MUTATION, variables: { input: { sku: skuFor(i), location: 'WH1', quantity: 1, reference: `PO-${i}`, idempotencyKey: `${label}-${i}` } } }),
      );
      const refused = result.answers.filter((answer) => (answer as { data?: { reserveInventory?: { __typename?: string } } }).data?.reserveInventory?.__typename !== 'Reservation');
      if (refused.length > 0) throw new Error(`${refused.length} reservations not granted, e.g. ${JSON.stringify(refused[0])}`);
      const after = await cpu();
      const gatewayCpu = (after.user - before.user + after.system - before.system) / 1000 / count;
      const transactions = ((await commits()) - commitsBefore) / count;
      console.log(`${summary(label, result, inFlight)}  gateway CPU ${gatewayCpu.toFixed(2)} ms/request, ${transactions.toFixed(1)} database transactions/request`);
    };
    if (store) {
      // The hot SKU pushed first: Shopify offers what the ATP says (the take's baseline).
      const available = () => store.simulator.state.level({ sku: 'HOT-1', location: 'WH1' })?.quantities.available ?? null;
      for (const deadline = Date.now() + 120_000; available() !== 10_000_000 && Date.now() < deadline; ) await new Promise((resolve) => setTimeout(resolve, 500));
      if (available() !== 10_000_000) throw new Error(`the hot SKU was not pushed: Shopify offers ${available()}`);
      const takes = () => store.simulator.state.requestLog().filter((entry) => entry.rootFields.includes('inventoryAdjustQuantities')).length;
      await run('warm-up (take)', 500, () => 'HOT-1', clients);
      for (const level of clientLevels) {
        const before = takes();
        await run(`pushed hot SKU, take, ${level} clients`, total, () => 'HOT-1', level);
        const calls = takes() - before;
        console.log(`  ${calls} takes: ${(total / Math.max(1, calls)).toFixed(1)} reservations a batch, ${(calls / total).toFixed(3)} Shopify calls per reservation`);
      }
    } else {
      await run('warm-up', 500, (i) => spread[i % spread.length]!);
      await run('one hot SKU over HTTP', total, () => 'HOT-1');
      await run('spread over 100 SKUs over HTTP', total, (i) => spread[(i * 7919) % spread.length]!);
    }
  } finally {
    client.close();
    await gateway.stop();
  }
} finally {
  for (const close of stores) await close();
  await admin.unsafe(`drop database if exists ${name} with (force)`);
  await admin.end();
}
