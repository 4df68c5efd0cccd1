import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { syncCommand } from '../../src/cli/sync.command.js';
import { createDemoErp } from '../../src/erp/simulated/demo-catalogue.js';
import { SimulatedErpConnector } from '../../src/erp/simulated/simulated-erp-connector.js';
import { startSimulatedErpServer, type SimulatedErpServer } from '../../src/erp/simulated/simulated-erp-server.js';
import { startShopifySimulator, type ShopifySimulator } from '../../src/simulators/shopify/index.js';
import type { SeedProduct } from '../../src/simulators/shopify/seed.schema.js';
import { createTestDatabase, type TestDatabase } from '../support/database.js';
import { createMemoryLogger } from '../support/gateway.js';

/**
 * `sync --full` on a catalogue of 100,000 SKUs: the simulated ERP served over HTTP (as
 * `simulate-erp` serves it) and a simulated store whose catalogue matches it SKU for SKU, as
 * bench/sync-push.bench.ts builds them. The command runs in this process against a fresh
 * embedded database (or DATABASE_URL's server), and prints its progress on stderr while the
 * reconcile reads and compares every level.
 */
const SKUS = 100_000;

/**
 * The first start on a new database (catalogues, mappings and read model of 100,000 SKUs) takes
 * minutes on two cores, so this runs only when asked: `STOCKBRIDGE_SCALE=1` (CI runs it as a
 * step of its own, on PostgreSQL).
 */
const describeAtScale = process.env.STOCKBRIDGE_SCALE === '1' ? describe : describe.skip;

describeAtScale('sync --full on 100,000 SKUs', () => {
  let erpServer: SimulatedErpServer;
  let store: ShopifySimulator;
  let dataDir: string;
  let env: Record<string, string>;
  let privateDatabase: TestDatabase | undefined;

  beforeAll(async () => {
    const erp = createDemoErp({ skus: SKUS, locations: 1 });
    const connector = new SimulatedErpConnector(erp, { logger: createMemoryLogger('silent').log });
    const [warehouse] = (await connector.listLocations()).filter((location) => location.kind === 'warehouse');
    const free = new Map<string, number>();
    for (let cursor: string | null | undefined; ; ) {
      const page = await connector.listAllStock({ cursor, limit: 5_000 });
      for (const level of page.items) free.set(level.sku, Math.max(0, Math.floor(level.onHand - level.allocated - level.wholesaleCommitted)));
      if (!page.nextCursor) break;
      cursor = page.nextCursor;
    }
    const products: SeedProduct[] = [];
    for (let cursor: string | null | undefined; ; ) {
      const page = await connector.listProducts({ cursor, limit: 5_000 });
      // Every tenth level is off by one in the store, so the reconcile has drift to correct.
      for (const product of page.items) {
        products.push({ title: product.name, variants: [{ sku: product.sku, levels: { [warehouse!.code]: (free.get(product.sku) ?? 0) + (products.length % 10 === 0 ? 1 : 0) } }] });
      }
      if (!page.nextCursor) break;
      cursor = page.nextCursor;
    }
    erpServer = await startSimulatedErpServer({ erp });
    // On PostgreSQL a private database of its own (the command migrates it), dropped afterwards.
    if (process.env.DATABASE_URL) privateDatabase = await createTestDatabase({ migrate: false });
    // The rate limits are not what this test is about: an unlimited bucket keeps it short.
    store = await startShopifySimulator({
      plan: { name: 'unlimited', maximumAvailable: 1_000_000_000, restoreRate: 1_000_000_000 },
      catalogue: { locations: [{ key: warehouse!.code, name: warehouse!.name }], products },
    });
    dataDir = await mkdtemp(join(tmpdir(), 'sync-progress-'));
    env = {
      SHOPIFY_SHOP: store.shopDomain,
      SHOPIFY_ACCESS_TOKEN: store.accessToken,
      SHOPIFY_API_SECRET: store.apiSecret,
      SHOPIFY_ADMIN_URL: store.adminUrl,
      ERP_CONNECTOR: 'simulated',
      ERP_URL: erpServer.url,
      DATA_DIR: join(dataDir, 'data'),
      LOG_LEVEL: 'silent',
      ...(privateDatabase?.url ? { DATABASE_URL: privateDatabase.url } : {}),
    };
  }, 300_000);

  afterAll(async () => {
    await privateDatabase?.close();
    await store?.close();
    await erpServer?.close();
    if (dataDir) await rm(dataDir, { recursive: true, force: true });
  });

  function capture() {
    const stream = new PassThrough();
    let text = '';
    stream.on('data', (chunk: Buffer) => (text += chunk.toString('utf8')));
    return { stream, text: () => text };
  }

    it('prints periodic progress lines with counts and rate on stderr, and the run on stdout', async () => {
      const stdout = capture();
      const stderr = capture();
      const code = await syncCommand.run(['--full'], { stdout: stdout.stream, stderr: stderr.stream, env, stopSignal: new Promise(() => {}), progressEveryMs: 250 });
      expect(code, stdout.text() + stderr.text()).toBe(0);
      expect(stdout.text()).toMatch(/sync run \S+: SUCCEEDED in [\d.]+ s/);
      const considered = Number(/items considered (\d+)/.exec(stdout.text())?.[1]);
      expect(considered).toBeGreaterThanOrEqual(SKUS);
      expect(Number(/pushed (\d+)/.exec(stdout.text())?.[1])).toBeGreaterThanOrEqual(SKUS / 10);

      const lines = stderr.text().split('\n').filter((line) => line.startsWith('  … '));
      expect(lines.length, stderr.text()).toBeGreaterThanOrEqual(2);
      const progress = lines.map((line) => {
        const match = /^ {2}… ([\d,]+) items considered, ([\d.,]+)\/s; ([\d,]+) pushed, ([\d,]+) unchanged, ([\d,]+) failed$/.exec(line);
        expect(match, line).not.toBeNull();
        const number = (text: string) => Number(text.replace(/,/g, ''));
        return { considered: number(match![1]!), rate: number(match![2]!) };
      });
      // The counts grow from line to line, up to the run's own total; the rate is work over time.
      for (let index = 1; index < progress.length; index++) expect(progress[index]!.considered).toBeGreaterThanOrEqual(progress[index - 1]!.considered);
      expect(progress.at(-1)!.considered).toBeGreaterThan(0);
      expect(progress.at(-1)!.considered).toBeLessThanOrEqual(considered);
      expect(progress.at(-1)!.rate).toBeGreaterThan(0);
      // The first start on a new database (catalogues, mappings, read model of 100,000 SKUs) takes
      // most of the time; on a busy two-core machine it has taken over 15 minutes.
    }, 3_600_000);
});
