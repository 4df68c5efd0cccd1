import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestGateway, type TestGateway } from '../support/gateway.js';
import { waitFor } from '../support/waiting.js';

interface GraphQLAnswer<T> {
  data?: T;
  errors?: Array<{ message: string; extensions?: { code?: string } }>;
}

interface FulfilmentView {
  shipmentReference: string;
  status: string;
  trackingNumber: string | null;
  trackingUrl: string | null;
  carrier: string | null;
  shopifyFulfillmentId: string | null;
  lines: Array<{ sku: string; quantity: number; location: string; lotNumber: string | null }>;
  lastError: string | null;
}

/**
 * The whole gateway in demo mode: a checkout in the demo store becomes an ERP sale, the demo ERP
 * ships it, and the shipments job writes it back; the order shows its fulfilments.
 */
describe('Order.fulfilments through the gateway', () => {
  let gateway: TestGateway;
  let readKey: string;

  beforeAll(async () => {
    gateway = await startTestGateway();
    readKey = await gateway.createKey(['read']);
    // Orders reach the gateway through the demo store's webhooks, subscribed beside the start.
    await waitFor(
      async () => (await gateway.graphql<GraphQLAnswer<{ webhookSubscriptionHealth: { healthy: boolean } }>>(readKey, '{ webhookSubscriptionHealth { healthy } }')).body.data?.webhookSubscriptionHealth.healthy,
      (healthy) => healthy === true,
    );
    // The first run starts the shipment feed from now.
    await gateway.scheduler.runNow('fulfilments.shipments');
  });

  afterAll(async () => {
    await gateway?.close();
  });

  const orderQuery = `query($id: ID!) { order(id: $id) { status fulfilments { shipmentReference status trackingNumber trackingUrl carrier shopifyFulfillmentId lines { sku quantity location lotNumber } lastError createdAt } } }`;

  it('shows the shipment of an order with its tracking and Shopify fulfilment once the job has written it', async () => {
    // A SKU the demo shop spells as the ERP does, sold as it is (not a kit).
    const level = gateway.demo!.shopify.state
      .levels()
      .find((candidate) => candidate.sku !== null && /^[A-Z0-9-]+$/.test(candidate.sku) && !candidate.sku.startsWith('KIT-') && !['GIFT-CARD-25', 'MERCH-TSHIRT-M', 'SAMPLE-PACK'].includes(candidate.sku) && candidate.quantities.available >= 5);
    const sku = level!.sku!;
    const placed = gateway.demo!.shopify.state.placeOrder({ lines: [{ sku, quantity: 2 }], email: 'buyer@example.com' });
    if (!placed.placed) throw new Error('refused');
    type Order = { status: string; fulfilments: FulfilmentView[] };
    const read = async () => (await gateway.graphql<GraphQLAnswer<{ order: Order | null }>>(readKey, orderQuery, { id: placed.order.id })).body;
    await waitFor(read, (body) => body.data?.order?.status === 'SUBMITTED');
    expect((await read()).data!.order!.fulfilments).toEqual([]);

    // The warehouse ships it (with stock received for it, whatever the demo's activity took).
    const erp = gateway.demo!.erp;
    const sale = await gateway.demo!.erpConnector.findSalesOrder(placed.order.id);
    for (const line of sale!.lines) erp.receiveStock({ sku: line.sku, location: line.location, quantity: line.quantity });
    const [shipment] = erp.shipSalesOrder(placed.order.id, {
      lines: sale!.lines.map((line) => ({ sku: line.sku, quantity: line.quantity - line.shippedQuantity })),
      carrier: 'DemoPost',
      trackingNumber: 'DP000000042GB',
      trackingUrl: 'https://track.demopost.example/DP000000042GB',
    });
    await gateway.scheduler.runNow('fulfilments.shipments');

    const body = await read();
    expect(body.errors).toBeUndefined();
    const shopified = gateway.demo!.shopify.state.order(placed.order.id);
    expect(body.data!.order!.fulfilments).toEqual([
      {
        shipmentReference: shipment,
        status: 'FULFILLED',
        trackingNumber: 'DP000000042GB',
        trackingUrl: 'https://track.demopost.example/DP000000042GB',
        carrier: 'DemoPost',
        shopifyFulfillmentId: shopified.fulfillments[0]!.id,
        lines: [expect.objectContaining({ sku, location: sale!.lines[0]!.location })],
        lastError: null,
        createdAt: expect.any(String),
      },
    ]);
    expect(shopified.fulfillmentStatus).toBe('FULFILLED');
  });

  it("releases a shipped order's pending units as its shipment is recorded, without waiting for the allocation check", async () => {
    const level = gateway.demo!.shopify.state
      .levels()
      .find((candidate) => candidate.sku !== null && /^[A-Z0-9-]+$/.test(candidate.sku) && !candidate.sku.startsWith('KIT-') && !['GIFT-CARD-25', 'MERCH-TSHIRT-M', 'SAMPLE-PACK'].includes(candidate.sku) && candidate.quantities.available >= 5);
    const placed = gateway.demo!.shopify.state.placeOrder({ lines: [{ sku: level!.sku!, quantity: 3 }], email: 'buyer@example.com' });
    if (!placed.placed) throw new Error('refused');
    type Order = { status: string; allocatedAt: string | null; lines: { quantity: number; pendingQuantity: number }[] };
    const read = async () => (await gateway.graphql<GraphQLAnswer<{ order: Order | null }>>(readKey, 'query($id: ID!) { order(id: $id) { status allocatedAt lines { quantity pendingQuantity } } }', { id: placed.order.id })).body;
    await waitFor(read, (body) => body.data?.order?.status === 'SUBMITTED');
    expect((await read()).data!.order).toMatchObject({ allocatedAt: null, lines: [{ quantity: 3, pendingQuantity: 3 }] });

    const erp = gateway.demo!.erp;
    const sale = await gateway.demo!.erpConnector.findSalesOrder(placed.order.id);
    for (const line of sale!.lines) erp.receiveStock({ sku: line.sku, location: line.location, quantity: line.quantity });
    erp.shipSalesOrder(placed.order.id, { lines: sale!.lines.map((line) => ({ sku: line.sku, quantity: line.quantity - line.shippedQuantity })) });
    await gateway.scheduler.runNow('fulfilments.shipments');

    // Shipped: gone from the ERP's stock and from the pending term together.
    expect((await read()).data!.order).toMatchObject({ allocatedAt: expect.any(String), lines: [{ quantity: 3, pendingQuantity: 0 }] });
  });
});
