import { createServer, type Server } from 'node:http';
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rowsOf } from '../../src/db/database.js';
import { startTestGateway, type TestGateway } from '../support/gateway.js';

/**
 * Merchants' edits in Shopify through the whole gateway in demo mode: the simulated store sends
 * `inventory_levels/update` to the gateway's webhook route (the demo subscribes it at start), for
 * its own writes as for a merchant's edit made through the simulator's control API; the worker
 * and the event push run (SCHEDULER=on); alerts go to a local receiver.
 */
let gateway: TestGateway;
let adminKey: string;
let receiver: Server;
const alerts: Array<{ code: string; details: Record<string, unknown> }> = [];

interface Position {
  sku: string;
  location: string;
  inventoryItemId: string;
  shopifyLocationId: string;
}
interface Drift {
  sku: string;
  location: string;
  source: string;
  before: number | null;
  after: number;
  expected: number;
  action: string;
}

async function waitFor<T>(read: () => Promise<T> | T, done: (value: T) => boolean, timeoutMs = 30_000): Promise<T> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const value = await read();
    if (done(value)) return value;
    if (Date.now() > until) throw new Error(`timed out waiting; last value ${JSON.stringify(value)}`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

async function graphql<T>(query: string, variables?: Record<string, unknown>): Promise<T> {
  const answer = await gateway.graphql<{ data?: T; errors?: unknown[] }>(adminKey, query, variables);
  if (answer.body.errors) throw new Error(JSON.stringify(answer.body.errors));
  return answer.body.data!;
}

const shopifyAvailable = (p: Position) => gateway.demo!.shopify.state.level({ inventoryItemId: p.inventoryItemId, location: p.shopifyLocationId })!.quantities.available;
const merchantSets = (p: Position, quantity: number) => gateway.demo!.shopify.state.setQuantity({ inventoryItemId: p.inventoryItemId, location: p.shopifyLocationId, quantity });
/** The merchant-edit drift of a SKU (a start-up reconcile may also record drift at its other locations). */
const driftOf = async (sku: string) =>
  (await graphql<{ driftHistory: { edges: Array<{ node: Drift }> } }>('query($sku: String) { driftHistory(sku: $sku) { edges { node { sku location source before after expected action } } } }', { sku })).driftHistory.edges
    .map((edge) => edge.node)
    .filter((drift) => drift.source === 'MERCHANT_EDIT');
const alertsFor = (sku: string) => alerts.filter((alert) => alert.code === 'SHOPIFY_MERCHANT_EDIT' && alert.details.sku === sku);

/** Mapped positions fed by one ERP location, with stock, pushed so Shopify holds the ERP's value. */
let positions: Position[];

beforeAll(async () => {
  receiver = createServer((request, response) => {
    let body = '';
    request.on('data', (chunk: Buffer) => (body += chunk.toString('utf8')));
    request.on('end', () => {
      alerts.push(JSON.parse(body) as { code: string; details: Record<string, unknown> });
      response.end('ok');
    });
  });
  await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
  const { port } = receiver.address() as { port: number };
  gateway = await startTestGateway({ SCHEDULER: 'on', ALERT_WEBHOOK_URL: `http://127.0.0.1:${port}/alerts` });
  adminKey = await gateway.createKey(['read', 'sync', 'admin']);

  type Products = { products: { edges: Array<{ node: { sku: string; mappingStatus: string; shopifyInventoryItemId: string | null; availability: Array<{ location: { code: string; shopifyLocationId: string | null }; availableToPromise: number }> } }> } };
  const candidates = (data: Products): Position[] => {
    const found: Position[] = [];
    for (const { node } of data.products.edges) {
      if (node.mappingStatus !== 'MAPPED' || !node.shopifyInventoryItemId) continue;
      const mapped = node.availability.filter((a) => a.location.shopifyLocationId);
      const single = mapped.find((a) => a.availableToPromise >= 5 && mapped.filter((b) => b.location.shopifyLocationId === a.location.shopifyLocationId).length === 1);
      if (single) found.push({ sku: node.sku, location: single.location.code, inventoryItemId: node.shopifyInventoryItemId, shopifyLocationId: single.location.shopifyLocationId! });
      if (found.length === 4) break;
    }
    return found;
  };
  // The first start fills the catalogue and maps it beside the listening server.
  positions = candidates(
    await waitFor(
      () => graphql<Products>('{ products(first: 60) { edges { node { sku mappingStatus shopifyInventoryItemId availability { location { code shopifyLocationId } availableToPromise } } } } }'),
      (data) => candidates(data).length === 4,
      60_000,
    ),
  );
  expect(positions).toHaveLength(4);
  await graphql('mutation($skus: [String!]) { pushInventory(input: { skus: $skus, full: true }) { status } }', { skus: positions.map((p) => p.sku) });
  // The demo store is subscribed to inventory_levels/update once the gateway listens; the first
  // start's pushes of the whole catalogue are delivered first (one delivery per level changed).
  await waitFor(
    () => gateway.demo!.shopify.state.webhookSubscriptions().map((s) => s.topic),
    (topics) => topics.includes('INVENTORY_LEVELS_UPDATE'),
  );
  await waitFor(
    () => gateway.demo!.shopify.state.webhookDeliveries().filter((delivery) => delivery.state === 'pending').length,
    (pending) => pending === 0,
    280_000,
  );
}, 420_000);

afterAll(async () => {
  await gateway?.close();
  await new Promise((resolve) => receiver?.close(resolve));
});

describe('merchant edits in Shopify', () => {
  it('a merchant raising a level is found within seconds, recorded with its source and values, alerted once and corrected once', async () => {
    const position = positions[0]!;
    const value = shopifyAvailable(position);
    merchantSets(position, value + 5);
    const [drift] = await waitFor(() => driftOf(position.sku), (found) => found.length === 1, 30_000);
    expect(drift).toMatchObject({ sku: position.sku, location: position.location, source: 'MERCHANT_EDIT', before: value, after: value + 5, action: 'CORRECTED' });
    await waitFor(() => shopifyAvailable(position), (available) => available === value, 30_000);
    await waitFor(() => alertsFor(position.sku), (found) => found.length === 1, 10_000);

    // Edited again within the window: recorded and corrected again, not alerted again.
    merchantSets(position, value + 2);
    await waitFor(() => driftOf(position.sku), (found) => found.length === 2, 30_000);
    await waitFor(() => shopifyAvailable(position), (available) => available === value, 30_000);
    const corrections = rowsOf<{ n: number | string }>(
      await gateway.database.db.execute(sql`select count(*) as n from sync_run_changes where inventory_item_id = ${position.inventoryItemId} and shopify_location_id = ${position.shopifyLocationId} and applied and to_quantity = ${value} and from_quantity in (${value + 5}, ${value + 2})`),
    );
    // Each edit was written over once: from the merchant's value back to the ERP's.
    expect(Number(corrections[0]!.n)).toBe(2);
    expect(alertsFor(position.sku)).toHaveLength(1);
  });

  it("an echo of Stockbridge's own write is not drift", async () => {
    const position = positions[1]!;
    const value = shopifyAvailable(position);
    // A safety stock of 2 lowers the ATP: the event push writes Shopify, which sends the update back.
    await graphql('mutation($sku: String!, $location: String!) { setSafetyStock(input: { sku: $sku, location: $location, quantity: 2 }) { sku } }', { sku: position.sku, location: position.location });
    await waitFor(() => shopifyAvailable(position), (available) => available === value - 2, 30_000);
    const settled = await waitFor(
      async () => rowsOf<{ outcome: string; due_at: string | null }>(await gateway.database.db.execute(sql`select outcome, due_at from sync_level_events where inventory_item_id = ${position.inventoryItemId} and shopify_location_id = ${position.shopifyLocationId}`)),
      (rows) => rows.length > 0 && rows.every((row) => row.due_at === null),
      15_000,
    );
    expect(settled.map((row) => row.outcome)).toContain('ECHO');
    expect(await driftOf(position.sku)).toEqual([]);
    expect(alertsFor(position.sku)).toHaveLength(0);
  });

  it('at a position that follows Shopify the edit is recorded as followed, never alerted nor overwritten', async () => {
    const position = positions[2]!;
    const set = await graphql<{ setLocationPolicy: { policy: { policy: string } | null; userErrors: unknown[] } }>(
      'mutation($sku: String!, $location: String!) { setLocationPolicy(input: { sku: $sku, location: $location, policy: FOLLOW_SHOPIFY }) { policy { policy } userErrors { code } } }',
      { sku: position.sku, location: position.location },
    );
    expect(set.setLocationPolicy).toEqual({ policy: { policy: 'FOLLOW_SHOPIFY' }, userErrors: [] });
    const value = shopifyAvailable(position);
    merchantSets(position, value + 4);
    const [drift] = await waitFor(() => driftOf(position.sku), (found) => found.length === 1, 30_000);
    expect(drift).toMatchObject({ source: 'MERCHANT_EDIT', before: value, after: value + 4, action: 'FOLLOWED' });
    await graphql('mutation($skus: [String!]) { pushInventory(input: { skus: $skus, full: true }) { status } }', { skus: [position.sku] });
    expect(shopifyAvailable(position)).toBe(value + 4);
    expect(alertsFor(position.sku)).toHaveLength(0);
    // The drift report says where the difference came from.
    const report = await graphql<{ inventoryDrift: Array<{ sku: string; source: string | null; detectedAt: string | null }> }>(
      'query($location: String) { inventoryDrift(location: $location) { sku source detectedAt } }',
      { location: position.location },
    );
    expect(report.inventoryDrift.find((d) => d.sku === position.sku)).toMatchObject({ source: 'MERCHANT_EDIT', detectedAt: expect.any(String) });
  });

  it('refuses a blank policy input as user errors', async () => {
    const set = await graphql<{ setLocationPolicy: { policy: unknown; userErrors: Array<{ code: string; field: string[] }> } }>(
      'mutation { setLocationPolicy(input: { sku: " ", location: "", policy: FOLLOW_SHOPIFY }) { policy { sku } userErrors { code field } } }',
    );
    expect(set.setLocationPolicy.policy).toBeNull();
    expect(set.setLocationPolicy.userErrors.map((e) => e.code)).toEqual(['BLANK_SKU', 'BLANK_LOCATION']);
  });
});
