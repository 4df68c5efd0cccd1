import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createOperatorActions } from '../../src/operator-actions/operator-actions.js';
import { startTestGateway, type TestGateway } from '../support/gateway.js';
import { waitFor } from '../support/waiting.js';

type Body<T> = { data?: T | null; errors?: Array<{ message: string; extensions?: { code?: string } }> };

describe('replayOrder records a manual intervention', () => {
  let gateway: TestGateway;
  let adminKey: string;

  beforeAll(async () => {
    gateway = await startTestGateway({ SCHEDULER: 'on' });
    adminKey = await gateway.createKey(['read', 'admin']);
    await gateway.services.inventory.whenReady();
  }, 120_000);
  afterAll(async () => {
    await gateway?.close();
  });

  it('records one operator action per replay that ran, and none for an unknown order', async () => {
    const actions = createOperatorActions(gateway.database.db);
    const placed = gateway.demo!.shopify.state.placeOrder({ lines: [{ sku: 'MERCH-TSHIRT-M', quantity: 1 }] });
    if (!placed.placed) throw new Error('refused');
    const waiting = await waitFor(
      () => gateway.services.orders.findOrder(placed.order.id),
      (order) => order?.lastErrorCode === 'UNMAPPED_LINE',
      { timeoutMs: 60_000 },
    );

    const unknown = await gateway.graphql<Body<unknown>>(adminKey, 'mutation($id: ID!) { replayOrder(id: $id) { status } }', { id: '00000000-0000-0000-0000-000000000000' });
    expect(unknown.body.errors?.[0]?.extensions?.code).toBe('NOT_FOUND');
    expect(await actions.countSince(new Date(0), ['replayOrder'])).toBe(0);

    const replayed = await gateway.graphql<Body<{ replayOrder: { status: string } }>>(adminKey, 'mutation($id: ID!) { replayOrder(id: $id) { status } }', { id: waiting!.id });
    expect(replayed.body.errors).toBeUndefined();
    expect(await actions.countSince(new Date(0), ['replayOrder'])).toBe(1);
  }, 120_000);
});
