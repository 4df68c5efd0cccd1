/**
 * Shared by the sync benchmarks: the simulated store in a process of its own (as Shopify would
 * be: its CPU and memory are not the gateway's), driven through its control API, and a database
 * of the bench's own (PGlite, or a fresh PostgreSQL database when DATABASE_URL is set).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import postgres from 'postgres';
import { openDatabase, type Database } from '../../src/db/database.js';
import type { ErpConnector } from '../../src/erp/erp-connector.js';
import type { AdminRequestLogEntry } from '../../src/simulators/shopify/index.js';
import type { SeedProduct } from '../../src/simulators/shopify/seed.schema.js';

export interface StoreProcess {
  readonly adminUrl: string;
  readonly shopDomain: string;
  readonly accessToken: string;
  readonly apiSecret: string;
  control<T = unknown>(method: string, path: string, body?: unknown): Promise<T>;
  requests(): Promise<AdminRequestLogEntry[]>;
  close(): Promise<void>;
}

export async function startStoreProcess(seed: unknown): Promise<StoreProcess> {
  const directory = await mkdtemp(join(tmpdir(), 'sync-bench-'));
  const seedFile = join(directory, 'seed.json');
  await writeFile(seedFile, JSON.stringify(seed));
  const cli = fileURLToPath(new URL('../../src/cli.ts', import.meta.url));
  const child: ChildProcess = spawn(process.execPath, ['--import', 'tsx', cli, 'simulate-shopify', '--port', '0', '--plan', 'standard', '--shop', 'bench.myshopify.com', '--seed', seedFile], {
    stdio: ['ignore', 'pipe', 'inherit'],
    env: { ...process.env, LOG_LEVEL: 'warn' },
  });
  let out = '';
  await new Promise<void>((resolve, reject) => {
    child.stdout!.on('data', (chunk: Buffer) => {
      out += chunk.toString('utf8');
      if (out.includes('SHOPIFY_API_SECRET=')) resolve();
    });
    child.once('exit', (code) => reject(new Error(`simulate-shopify exited with ${code}: ${out}`)));
  });
  const value = (name: string) => new RegExp(`${name}=(\\S+)`).exec(out)![1]!;
  const adminUrl = value('SHOPIFY_ADMIN_URL');
  const control = async <T>(method: string, path: string, body?: unknown): Promise<T> => {
    const response = await fetch(`${adminUrl}/_simulator${path}`, {
      method,
      headers: body === undefined ? {} : { 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    if (!response.ok) throw new Error(`${method} ${path}: HTTP ${response.status} ${await response.text()}`);
    const text = await response.text();
    return (text ? JSON.parse(text) : undefined) as T;
  };
  return {
    adminUrl,
    shopDomain: value('SHOPIFY_SHOP'),
    accessToken: value('SHOPIFY_ACCESS_TOKEN'),
    apiSecret: value('SHOPIFY_API_SECRET'),
    control,
    requests: () => control<AdminRequestLogEntry[]>('GET', '/requests'),
    async close() {
      child.kill('SIGTERM');
      await new Promise((resolve) => child.once('exit', resolve));
    },
  };
}

export async function openBenchDatabase(): Promise<{ database: Database; drop: () => Promise<void> }> {
  const adminUrl = process.env.DATABASE_URL;
  if (!adminUrl) return { database: await openDatabase({}), drop: async () => {} };
  const name = `sb_bench_${randomBytes(4).toString('hex')}`;
  const admin = postgres(adminUrl, { max: 1, onnotice: () => {} });
  await admin.unsafe(`create database ${name}`);
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  const database = await openDatabase({ databaseUrl: url.toString(), maxConnections: 10 });
  return {
    database,
    drop: async () => {
      await admin.unsafe(`drop database if exists ${name} with (force)`);
      await admin.end();
    },
  };
}

/** Cost points the store charged, and its throttled answers, in a request log. */
export function costOf(log: readonly AdminRequestLogEntry[]): { points: number; writes: number; throttled: number } {
  return {
    points: log.reduce((sum, entry) => sum + (entry.actualCost ?? 0), 0),
    writes: log.filter((entry) => entry.operationName === 'SetInventoryQuantities').length,
    throttled: log.filter((entry) => entry.throttled).length,
  };
}

/**
 * The store's products for a catalogue the ERP holds, SKU for SKU, each level at the ERP's free
 * stock at that warehouse (on hand less allocated and wholesale-committed, at least 0).
 */
export async function storeProductsAtFreeStock(connector: ErpConnector, warehouses: readonly { readonly code: string }[]): Promise<SeedProduct[]> {
  const free = new Map<string, number>();
  for (let cursor: string | null | undefined; ; ) {
    const page = await connector.listAllStock({ cursor, limit: 5_000 });
    for (const level of page.items) free.set(`${level.sku}|${level.location}`, Math.max(0, Math.floor(level.onHand - level.allocated - level.wholesaleCommitted)));
    if (!page.nextCursor) break;
    cursor = page.nextCursor;
  }
  const products: SeedProduct[] = [];
  for (let cursor: string | null | undefined; ; ) {
    const page = await connector.listProducts({ cursor, limit: 1_000 });
    for (const product of page.items) products.push({ title: product.name, variants: [{ sku: product.sku, levels: Object.fromEntries(warehouses.map((w) => [w.code, free.get(`${product.sku}|${w.code}`) ?? 0])) }] });
    if (!page.nextCursor) break;
    cursor = page.nextCursor;
  }
  return products;
}
