import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestGateway, type TestGateway } from '../support/gateway.js';
import { sleep, waitFor } from '../support/waiting.js';

/**
 * The phased switch-on on the demo gateway (simulated ERP and store): the push in shadow mode
 * writes nothing to Shopify while it reports what it would change; orders stay out of the ERP
 * while ORDERS_TO_ERP is off and go in exactly once when it is switched on, without a restart.
 */
let gateway: TestGateway;
let adminKey: string;

/** The first truthy answer of `probe`. */
function until<T>(what: string, probe: () => Promise<T | null | undefined | false>, timeoutMs = 60_000): Promise<T> {
  return waitFor(probe, (value): value is T => Boolean(value), { what, timeoutMs, intervalMs: 100 });
}

interface Run {
  id: string;
  status: string;
  dryRun: boolean;
  itemsPushed: number;
  driftFound: number | null;
}

beforeAll(async () => {
  gateway = await startTestGateway({ INVENTORY_PUSH: 'shadow', ORDERS_TO_ERP: 'off' });
  adminKey = await gateway.createKey(['read', 'sync', 'admin']);
  await gateway.services.inventory.whenReady();
}, 180_000);

afterAll(async () => {
  await gateway?.close();
});

describe('go-live switches', () => {
  it('are written from the environment at start and shown in health, /metrics and the start log', async () => {
    const health = await gateway.graphql<{ data: { health: { inventoryPush: string; ordersToErp: string } } }>(adminKey, '{ health { inventoryPush ordersToErp } }');
    expect(health.body.data.health).toEqual({ inventoryPush: 'SHADOW', ordersToErp: 'OFF' });
    const metrics = await (await fetch(`${gateway.url}/metrics`)).text();
    expect(metrics).toContain('stockbridge_switch_mode{switch="inventory_push",mode="shadow"} 1');
    expect(metrics).toContain('stockbridge_switch_mode{switch="inventory_push",mode="on"} 0');
    expect(metrics).toContain('stockbridge_switch_mode{switch="orders_to_erp",mode="off"} 1');
    expect(gateway.logLines().some((line) => String(line.msg).startsWith('go-live switches: inventory push shadow, orders to ERP off'))).toBe(true);
  });

  it('in shadow mode a full push writes nothing to Shopify and reports what it would change and the drift', async () => {
    const before = gateway.demo!.shopify.state.levels();
    const started = await gateway.graphql<{ data: { pushInventory: Run } }>(adminKey, 'mutation { pushInventory(input: { full: true }) { id status dryRun itemsPushed driftFound } }');
    const run = await until('the shadow run to finish', async () => {
      const answer = await gateway.graphql<{ data: { syncRun: Run } }>(adminKey, 'query($id: ID!) { syncRun(id: $id) { id status dryRun itemsPushed driftFound } }', { id: started.body.data.pushInventory.id });
      return answer.body.data.syncRun.status === 'RUNNING' ? null : answer.body.data.syncRun;
    });
    expect(run).toMatchObject({ status: 'SUCCEEDED', dryRun: true });
    expect(run.itemsPushed).toBeGreaterThan(0);
    expect(run.driftFound).toBeGreaterThan(0);
    expect(gateway.demo!.shopify.state.levels()).toEqual(before);

    // Switched on over GraphQL (every instance reads the stored switch): the same push now writes.
    await gateway.graphql(adminKey, 'mutation { setSwitches(input: { inventoryPush: ON }) { inventoryPush } }');
    const live = await gateway.graphql<{ data: { pushInventory: Run } }>(adminKey, 'mutation { pushInventory(input: { full: true }) { id status dryRun itemsPushed driftFound } }');
    const written = await until('the live run to finish', async () => {
      const answer = await gateway.graphql<{ data: { syncRun: Run } }>(adminKey, 'query($id: ID!) { syncRun(id: $id) { id status dryRun itemsPushed driftFound } }', { id: live.body.data.pushInventory.id });
      return answer.body.data.syncRun.status === 'RUNNING' ? null : answer.body.data.syncRun;
    });
    expect(written).toMatchObject({ status: 'SUCCEEDED', dryRun: false });
    expect(written.itemsPushed).toBeGreaterThan(0);
    expect(gateway.demo!.shopify.state.levels()).not.toEqual(before);
  }, 120_000);

  it('with ORDERS_TO_ERP off orders are received and shown but never sent; switched on, the waiting ones go to the ERP once', async () => {
    const demo = gateway.demo!;
    await until('the demo store to be subscribed to the gateway', async () => demo.shopify.state.webhookSubscriptions().length >= 4);
    const sku = demo.shopify.state.levels().find((level) => level.sku && level.quantities.available >= 3 && !['GIFT-CARD-25', 'MERCH-TSHIRT-M', 'SAMPLE-PACK'].includes(level.sku))!.sku!;
    const salesBefore = demo.erp.roundTrips('sale.create');
    const placed = [1, 2].map(() => demo.shopify.state.placeOrder({ lines: [{ sku, quantity: 1 }], email: 'switch@example.com' }));
    expect(placed.every((order) => order.placed)).toBe(true);

    const ordersQuery = '{ orders(first: 10) { edges { node { id status erpReference } } } }';
    type Orders = { data: { orders: { edges: Array<{ node: { id: string; status: string; erpReference: string | null } }> } } };
    await until('both orders to be received', async () => (await gateway.graphql<Orders>(adminKey, ordersQuery)).body.data.orders.edges.length >= 2);
    // Several turns of the order loop (it looks at the switch every few seconds), and the scheduled drain.
    await sleep(4_000);
    expect((await gateway.scheduler.runNow('orders.pipeline')).status).not.toBe('FAILED');
    const waiting = (await gateway.graphql<Orders>(adminKey, ordersQuery)).body.data.orders.edges.map((edge) => edge.node);
    expect(waiting.map((order) => order.status)).toEqual(['RECEIVED', 'RECEIVED']);
    expect(demo.erp.roundTrips('sale.create')).toBe(salesBefore);
    // A replay by hand is refused too while the switch is off.
    const replay = await gateway.graphql<{ errors?: Array<{ extensions?: { code?: string } }> }>(adminKey, 'mutation($id: ID!) { replayOrder(id: $id) { id status } }', { id: waiting[0]!.id });
    expect(replay.body.errors?.[0]?.extensions?.code).toBe('ORDERS_TO_ERP_OFF');
    expect(demo.erp.roundTrips('sale.create')).toBe(salesBefore);

    const switched = await gateway.graphql<{ data: { setSwitches: { ordersToErp: string } } }>(adminKey, 'mutation { setSwitches(input: { ordersToErp: ON }) { ordersToErp } }');
    expect(switched.body.data.setSwitches.ordersToErp).toBe('ON');
    const sent = await until('both orders to reach the ERP', async () => {
      const orders = (await gateway.graphql<Orders>(adminKey, ordersQuery)).body.data.orders.edges.map((edge) => edge.node);
      return orders.every((order) => order.status === 'SUBMITTED') ? orders : null;
    });
    expect(new Set(sent.map((order) => order.erpReference)).size).toBe(2);
    await sleep(1_000);
    // Once each: one sale per order (the two may share one batched sale.create call).
    for (const order of placed) if (order.placed) expect(demo.erp.countSalesOrders(`gid://shopify/Order/${order.order.legacyId}`)).toBe(1);
    expect(demo.erp.roundTrips('sale.create') - salesBefore).toBeGreaterThanOrEqual(1);
    expect(demo.erp.roundTrips('sale.create') - salesBefore).toBeLessThanOrEqual(2);
  }, 120_000);
});
