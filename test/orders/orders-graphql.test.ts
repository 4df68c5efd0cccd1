import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestGateway, type TestGateway } from '../support/gateway.js';
import { waitFor } from '../support/waiting.js';

/** Webhook registration and an order's way to the ERP run in the background of a whole demo gateway. */
const ORDER_WAIT = { timeoutMs: 30_000, intervalMs: 25 };

interface GraphQLAnswer<T> {
  data?: T;
  errors?: Array<{ message: string; extensions?: { code?: string } }>;
}

const ORDER_FIELDS = `id shopifyOrderId shopifyLegacyId name status erpReference lastError lastErrorCode receivedAt source needsAttention inDoubt inDoubtSince
  lines { sku quantity location shopifySku shopifyQuantity unitPrice pendingQuantity mappingError }`;

/**
 * The whole gateway in demo mode: the simulated store is subscribed to the gateway's own
 * webhook route at start, so a checkout in the store becomes an ERP sales order by itself.
 */
describe('orders through the gateway (demo store → webhook → ERP → GraphQL)', () => {
  let gateway: TestGateway;
  let readKey: string;
  let adminKey: string;

  beforeAll(async () => {
    gateway = await startTestGateway();
    readKey = await gateway.createKey(['read']);
    adminKey = await gateway.createKey(['read', 'admin']);
  });

  afterAll(async () => {
    await gateway?.close();
  });

  async function orderByShopifyId<T>(id: string): Promise<T | null> {
    const answer = await gateway.graphql<GraphQLAnswer<{ order: T | null }>>(readKey, `query($id: ID!) { order(id: $id) { ${ORDER_FIELDS} } }`, { id });
    expect(answer.body.errors).toBeUndefined();
    return answer.body.data!.order;
  }

  function demoSkus(count: number): string[] {
    // SKUs the demo store sells and the ERP knows (the demo ERP's catalogue, as the shop spells it).
    const levels = gateway.demo!.shopify.state.levels();
    const chosen: string[] = [];
    for (const level of levels) {
      if (!level.sku || chosen.includes(level.sku) || level.quantities.available < 5) continue;
      if (['GIFT-CARD-25', 'MERCH-TSHIRT-M', 'SAMPLE-PACK'].includes(level.sku)) continue;
      chosen.push(level.sku);
      if (chosen.length === count) break;
    }
    return chosen;
  }

  it('subscribed the demo store to its own webhook route at start', async () => {
    type Health = { healthy: boolean; address: string; missing: string[]; present: Array<{ topic: string }> };
    // Registration runs beside the start, so a slow Shopify never holds the gateway up.
    const health = await waitFor(
      async () => (await gateway.graphql<GraphQLAnswer<{ webhookSubscriptionHealth: Health }>>(readKey, '{ webhookSubscriptionHealth { healthy address missing present { topic } } }')).body.data!.webhookSubscriptionHealth,
      (value) => value.healthy,
      ORDER_WAIT,
    );
    expect(health).toMatchObject({ healthy: true, address: `${gateway.url}/webhooks/shopify`, missing: [] });
    expect(health.present.map((p) => p.topic).sort()).toEqual(['INVENTORY_LEVELS_UPDATE', 'ORDERS_CANCELLED', 'ORDERS_CREATE', 'ORDERS_UPDATED', 'REFUNDS_CREATE']);
  });

  it('turns a checkout in the store into a SUBMITTED order with its ERP reference and mapped lines', async () => {
    const [sku] = demoSkus(1);
    const placed = gateway.demo!.shopify.state.placeOrder({ lines: [{ sku: sku!, quantity: 2 }], email: 'buyer@example.com' });
    if (!placed.placed) throw new Error('refused');
    type Order = { status: string; erpReference: string | null; shopifyOrderId: string; source: string; lines: Array<{ sku: string; quantity: number; location: string }> };
    const order = await waitFor(() => orderByShopifyId<Order>(placed.order.id), (value) => value?.status === 'SUBMITTED', ORDER_WAIT);
    expect(order).toMatchObject({ shopifyOrderId: placed.order.id, source: 'WEBHOOK' });
    expect(order!.erpReference).toBeTruthy();
    expect(order!.lines).toHaveLength(1);
    expect(order!.lines[0]!.quantity).toBe(2);
    // The numeric id finds it too; the ERP has exactly one sales order for it.
    expect((await orderByShopifyId<Order>(String(placed.order.legacyId)))?.erpReference).toBe(order!.erpReference);
    expect(gateway.demo!.erp.countSalesOrders(placed.order.id)).toBe(1);
    const listed = await gateway.graphql<GraphQLAnswer<{ orders: { edges: Array<{ node: { shopifyOrderId: string } }>; pageInfo: { hasNextPage: boolean } } }>>(
      readKey,
      '{ orders(first: 10, status: SUBMITTED) { edges { node { shopifyOrderId } } pageInfo { hasNextPage } } }',
    );
    expect(listed.body.data!.orders.edges.map((edge) => edge.node.shopifyOrderId)).toContain(placed.order.id);
  });

  it('shows an order whose variant is mapped to no ERP SKU as waiting with a clear reason, and lets an admin key replay it', async () => {
    const placed = gateway.demo!.shopify.state.placeOrder({ lines: [{ sku: 'MERCH-TSHIRT-M', quantity: 1 }] });
    if (!placed.placed) throw new Error('refused');
    type Order = { id: string; status: string; lastError: string | null; lastErrorCode: string | null; inDoubt: boolean };
    const waiting = await waitFor(() => orderByShopifyId<Order>(placed.order.id), (value) => value?.lastErrorCode === 'UNMAPPED_LINE', ORDER_WAIT);
    expect(waiting).toMatchObject({ status: 'RECEIVED', inDoubt: false });
    expect(waiting!.lastError).toContain('MERCH-TSHIRT-M');
    expect(waiting!.lastError).toMatch(/mapSku/);

    const forbidden = await gateway.graphql<GraphQLAnswer<unknown>>(readKey, 'mutation($id: ID!) { replayOrder(id: $id) { status } }', { id: waiting!.id });
    expect(forbidden.body.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    const replayed = await gateway.graphql<GraphQLAnswer<{ replayOrder: { status: string; lastErrorCode: string | null } }>>(
      adminKey,
      'mutation($id: ID!) { replayOrder(id: $id) { status lastErrorCode } }',
      { id: waiting!.id },
    );
    expect(replayed.body.errors).toBeUndefined();
    // Still unmapped: it keeps waiting, with the same clear reason (never sent with the Shopify spelling).
    expect(replayed.body.data!.replayOrder).toEqual({ status: 'RECEIVED', lastErrorCode: 'UNMAPPED_LINE' });
  });

  it('lists failed webhook deliveries with their reason to admin keys only', async () => {
    const forbidden = await gateway.graphql<GraphQLAnswer<unknown>>(readKey, '{ webhookDeliveries(status: FAILED) { edges { node { id } } } }');
    expect(forbidden.body.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    const answer = await gateway.graphql<GraphQLAnswer<{ webhookDeliveries: { edges: Array<{ node: { topic: string; status: string } }> } }>>(
      adminKey,
      '{ webhookDeliveries(first: 5) { edges { node { id webhookId topic status outcome lastError shopifyOrderId body receivedAt } } } }',
    );
    expect(answer.body.errors).toBeUndefined();
    expect(answer.body.data!.webhookDeliveries.edges.length).toBeGreaterThan(0);
    expect(answer.body.data!.webhookDeliveries.edges.every((edge) => edge.node.topic.startsWith('orders/') || edge.node.topic === 'refunds/create')).toBe(true);
  });
});
