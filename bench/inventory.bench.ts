/**
 * The inventory core at catalogue scale, on the simulated ERP:
 * - the ATP engine filling the read model for N SKUs × 3 warehouses (`refreshPositions('all')`),
 *   then a delta of 1,000 SKUs, with ERP round trips and database statements per page;
 * - p50/p99 of a `products(first: 100)` GraphQL query with availability at every location and
 *   lots (executed in process over the real schema, resolvers and loaders; no HTTP), at random
 *   pages of the catalogue. Target: p99 under 100 ms.
 *
 *   npx tsx bench/inventory.bench.ts [skus=100000] [queries=200]
 *   DATABASE_URL=postgres://postgres@127.0.0.1:5432/test npx tsx bench/inventory.bench.ts
 *
 * Without DATABASE_URL it runs on in-memory PGlite; with it, in a private database it drops after.
 */
import { randomBytes } from 'node:crypto';
import { createRequire } from 'node:module';
import { makeExecutableSchema } from '@graphql-tools/schema';
import { drizzle as drizzlePglite } from 'drizzle-orm/pglite';
import { drizzle as drizzlePostgres } from 'drizzle-orm/postgres-js';
import type * as GraphQLModule from 'graphql';
import postgres from 'postgres';
import type { PGlite } from '@electric-sql/pglite';
import { openDatabase, type Database, type Db } from '../src/db/database.js';
import * as schema from '../src/db/schema/index.js';
import { createDemoErp } from '../src/erp/simulated/demo-catalogue.js';
import { SimulatedErpConnector } from '../src/erp/simulated/simulated-erp-connector.js';
import type { AppServices, GraphQLContext, RequestLoaders } from '../src/http/graphql-context.js';
import { buildResolvers, loadTypeDefs } from '../src/http/graphql-schema.js';
import { inventoryResolvers } from '../src/inventory/inventory.resolvers.js';
import { createAtpService } from '../src/inventory/atp.service.js';
import { createInventoryReadService } from '../src/inventory/inventory-read.service.js';
import { createInventoryLoaders } from '../src/inventory/inventory.loaders.js';
import { createMappingService } from '../src/inventory/mapping.service.js';
import { createPushSignal } from '../src/inventory/push-signal.js';
import { createLogger } from '../src/logger.js';
import { createLiveNodeCache } from '../src/shopify/live-nodes.js';
import type { ShopifyClient } from '../src/shopify/shopify-client.js';

const skuCount = Number(process.argv[2] ?? 100_000);
const queries = Number(process.argv[3] ?? 200);
const shop = 'bench.myshopify.com';
const log = createLogger('silent');
// The same CommonJS graphql that @graphql-tools/schema builds the schema with.
const { graphql: execute } = createRequire(import.meta.url)('graphql') as typeof GraphQLModule;

function percentile(sorted: readonly number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

function heapMb(): string {
  return `${(process.memoryUsage().rss / 1024 / 1024).toFixed(0)} MB rss`;
}

let database: Database;
let dropDatabase: (() => Promise<void>) | undefined;
const adminUrl = process.env.DATABASE_URL;
if (adminUrl) {
  const name = `sb_bench_${randomBytes(6).toString('hex')}`;
  const admin = postgres(adminUrl, { max: 1, onnotice: () => {} });
  await admin.unsafe(`create database ${name}`);
  await admin.end();
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  database = await openDatabase({ databaseUrl: url.toString(), maxConnections: 10 });
  dropDatabase = async () => {
    const dropper = postgres(adminUrl, { max: 1, onnotice: () => {} });
    await dropper.unsafe(`drop database if exists ${name} with (force)`);
    await dropper.end();
  };
} else {
  database = await openDatabase({});
}

try {
  await database.migrate();
  let statements = 0;
  const client = (database.db as unknown as { $client: unknown }).$client;
  const logger = { logQuery: () => void statements++ };
  const db = (database.kind === 'pglite' ? drizzlePglite(client as PGlite, { schema, logger }) : drizzlePostgres(client as postgres.Sql, { schema, logger })) as unknown as Db;

  let t0 = performance.now();
  const erp = createDemoErp({ skus: skuCount, locations: 3, seed: 1 });
  const connector = new SimulatedErpConnector(erp, {});
  console.log(`simulated ERP: ${skuCount.toLocaleString('en')} SKUs × 3 warehouses built in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  console.log(`database: ${database.kind}`);

  const pushSignal = createPushSignal();
  const common = { db, shop, erp: connector, log, now: () => new Date(), pushSignal };
  const atp = createAtpService(common);

  erp.resetRoundTrips();
  statements = 0;
  t0 = performance.now();
  const full = await atp.refreshPositions('all', { collectChanges: false });
  const fullSeconds = (performance.now() - t0) / 1000;
  const pages = Math.ceil(skuCount / connector.capabilities.maxSkusPerRequest);
  console.log(
    `refreshPositions('all'): ${full.positionsRead.toLocaleString('en')} positions in ${fullSeconds.toFixed(1)} s ` +
      `(${(full.positionsRead / fullSeconds).toFixed(0)}/s); ERP round trips ${erp.roundTrips()} (${(erp.roundTrips() / pages).toFixed(1)} per page of 1,000 SKUs); ` +
      `database statements ${statements} (${(statements / pages).toFixed(1)} per page); ${heapMb()}`,
  );

  const changedSkus: string[] = [];
  const allSkus = (await db.select({ sku: schema.erpProducts.sku }).from(schema.erpProducts)).map((row) => row.sku);
  const plainSkus = allSkus.filter((sku) => !sku.startsWith('KIT-'));
  for (let i = 0; i < 1_000; i++) {
    const sku = plainSkus[(i * 97) % plainSkus.length]!;
    changedSkus.push(sku);
    erp.receiveStock({ sku, location: 'LDS', quantity: 1 + (i % 5) });
  }
  erp.resetRoundTrips();
  statements = 0;
  t0 = performance.now();
  const delta = await atp.refreshPositions(changedSkus);
  console.log(
    `refreshPositions(1,000 SKUs): ${delta.positionsRead.toLocaleString('en')} positions (kits using them included), ${delta.changed.length} changed, ` +
      `in ${((performance.now() - t0) / 1000).toFixed(2)} s; ERP round trips ${erp.roundTrips()}; database statements ${statements}`,
  );

  // The read API. The products query never reaches Shopify (the mapping is read from the
  // database), so the mapping service gets no Shopify client here.
  const mapping = createMappingService({ ...common, db: database.db, shopify: undefined as unknown as ShopifyClient });
  const reads = createInventoryReadService({ db, shop, mapping });
  const graphqlSchema = makeExecutableSchema({ typeDefs: loadTypeDefs(), resolvers: buildResolvers([{ resolvers: inventoryResolvers }]) as never });
  const document = `query Page($after: String) {
    products(first: 100, after: $after) {
      edges { node { sku name shopifySku
        availability { location { code shopifyLocationId } onHand allocated safetyStock wholesaleCommitted reserved pendingShopifyOrders availableToPromise shopifyAvailable computedAt }
        lots { number location quantity expiresOn } } }
      pageInfo { hasNextPage endCursor } } }`;
  const cursorFor = (sku: string) => Buffer.from(JSON.stringify({ sku }), 'utf8').toString('base64url');
  const latencies: number[] = [];
  let erpTrips = 0;
  let dbStatements = 0;
  for (let i = 0; i < queries + 10; i++) {
    const after = i % 2 === 0 ? null : cursorFor(allSkus[Math.floor(((i * 7919) % allSkus.length) * 0.98)]!);
    const context = {
      services: { inventory: { mapping, atp, reads, whenReady: async () => {} } } as unknown as AppServices,
      loaders: { inventory: createInventoryLoaders(reads, createLiveNodeCache(undefined as unknown as ShopifyClient)) } as unknown as RequestLoaders,
    } as GraphQLContext;
    erp.resetRoundTrips();
    statements = 0;
    const started = performance.now();
    const result = await execute({ schema: graphqlSchema, source: document, variableValues: { after }, contextValue: context });
    const elapsed = performance.now() - started;
    if (result.errors) throw new Error(JSON.stringify(result.errors));
    if (i >= 10) {
      latencies.push(elapsed);
      erpTrips = Math.max(erpTrips, erp.roundTrips());
      dbStatements = Math.max(dbStatements, statements);
    }
  }
  latencies.sort((a, b) => a - b);
  console.log(
    `products(first: 100) with availability and lots, ${queries} queries: p50 ${percentile(latencies, 50).toFixed(1)} ms, ` +
      `p99 ${percentile(latencies, 99).toFixed(1)} ms, max ${latencies.at(-1)!.toFixed(1)} ms; at most ${erpTrips} ERP round trips and ${dbStatements} database statements per query; ${heapMb()}`,
  );
} finally {
  await database.close();
  await dropDatabase?.();
}
