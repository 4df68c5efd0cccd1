import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { startGateway, type Gateway } from '../../src/gateway.js';
import { createTestDatabase, testDatabaseKind } from '../support/database.js';
import { createMemoryLogger, liftedGraphqlCostLimits } from '../support/gateway.js';
import { countingDb } from './support.js';

// GraphQL answers are read by field path; typing every selection would only restate the query.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Loose = any;

const PAGE = `query Page($first: Int, $after: String) {
  products(first: $first, after: $after) {
    edges { node {
      sku name shopifySku mappingStatus
      availability { location { code name shopifyLocationId } onHand allocated safetyStock wholesaleCommitted reserved
                     pendingShopifyOrders expiringSoon availableToPromise shopifyAvailable lastPushedAt computedAt }
      lots { number location quantity expiresOn }
      erp { name unit components { sku quantity } }
    } }
    pageInfo { hasNextPage endCursor }
  }
}`;

/**
 * The products page as a client sees it, through HTTP (API key, guard, Apollo, resolvers): one
 * `products(first: 100)` with availability and lots makes no ERP call and a fixed, small number
 * of SQL statements, whatever the page size. The gateway's whole database handle counts every
 * statement it sends (the API key's lookup included; not BEGIN/COMMIT); the demo's simulated ERP
 * counts every call it answers.
 */
describe(`products(first: 100) over HTTP (${testDatabaseKind})`, () => {
  let gateway: Gateway;
  let key: string;
  let counted: ReturnType<typeof countingDb>;

  beforeAll(async () => {
    const database = await createTestDatabase();
    counted = countingDb(database);
    gateway = await startGateway(loadConfig({ PORT: '0', SCHEDULER: 'off', LOG_LEVEL: 'silent', ...liftedGraphqlCostLimits }), createMemoryLogger('silent').log, {
      database: { ...database, db: counted.db },
    });
    await gateway.services.inventory.whenReady();
    ({ key } = await gateway.services.auth.apiKeys.create({ name: 'products read', scopes: ['read'] }));
  }, 120_000);

  afterAll(async () => {
    await gateway?.close();
  });

  /**
   * The statements a page costs: the fewest over three identical requests, since the counter
   * sees the whole handle and the order worker's idle look for found work may land in one of them
   * (background statements only ever add; the request's own are the same each time).
   */
  async function page(first: number, after?: string): Promise<{ body: Loose; statements: number; erpCalls: number }> {
    const runs = [await pageOnce(first, after), await pageOnce(first, after), await pageOnce(first, after)];
    return { ...runs[0]!, statements: Math.min(...runs.map((run) => run.statements)) };
  }

  async function pageOnce(first: number, after?: string): Promise<{ body: Loose; statements: number; erpCalls: number }> {
    const erp = gateway.demo!.erp;
    counted.reset();
    erp.resetRoundTrips();
    const response = await fetch(gateway.graphqlUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${key}` },
      body: JSON.stringify({ query: PAGE, variables: { first, after } }),
    });
    expect(response.status).toBe(200);
    // Per key and current: never stored by a browser or proxy.
    expect(response.headers.get('cache-control')).toBe('no-store');
    return { body: await response.json(), statements: counted.queries(), erpCalls: erp.roundTrips() };
  }

  it('answers a page of 100 products with every position and its lots from the read model: no ERP call, 3 SQL statements', async () => {
    await page(1); // the key's first use stamps last_used_at: not what is measured
    const hundred = await page(100);
    expect(hundred.body.errors).toBeUndefined();
    const edges = hundred.body.data.products.edges as Loose[];
    expect(edges).toHaveLength(100);
    expect(edges.every((edge) => edge.node.availability.length > 0)).toBe(true);
    expect(edges.some((edge) => edge.node.lots.length > 0)).toBe(true);
    expect(hundred.erpCalls).toBe(0);
    // The key's lookup (its last-used stamp is sent once a minute, and was by the first page),
    // then the page with its positions and lots in one statement, and the locations beside it.
    expect(hundred.statements).toBe(3);

    const next = await page(100, hundred.body.data.products.pageInfo.endCursor);
    expect(next.body.errors).toBeUndefined();
    expect(next.erpCalls).toBe(0);
    // Product.erp comes from the read model too: the demo ERP counts fasteners in packs, the rest
    // in units, and defines kits with components.
    const nodes = [...edges, ...(next.body.data.products.edges as Loose[])].map((edge) => edge.node);
    expect(nodes.every((node) => node.erp.name === node.name)).toBe(true);
    expect(nodes.filter((node) => /-PK\d+/.test(node.sku)).map((node) => node.erp.unit)).toContain('Pack');
    expect(nodes.every((node) => node.erp.unit === (/-PK\d+/.test(node.sku) ? 'Pack' : 'Unit'))).toBe(true);
    const kits = nodes.filter((node) => node.sku.startsWith('KIT-'));
    expect(kits.length).toBeGreaterThan(0);
    expect(kits.every((kit) => kit.erp.components.length > 0 && kit.erp.unit === 'Unit')).toBe(true);
    // The page size does not change the count.
    const ten = await page(10);
    expect(ten.statements).toBe(hundred.statements);
  });
});
