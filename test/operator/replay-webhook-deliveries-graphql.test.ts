import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createOperatorActions } from '../../src/operator-actions/operator-actions.js';
import { signWebhookBody } from '../../src/simulators/shopify/index.js';
import { startTestGateway, type TestGateway } from '../support/gateway.js';
import { waitFor } from '../support/waiting.js';

type Body<T> = { data?: T | null; errors?: Array<{ message: string; extensions?: { code?: string } }> };
type DeliveryNode = { id: string; webhookId: string; topic: string; status: string; attempts: number; lastError: string | null; outcome: string | null; nextAttemptAt: string | null };
type Payload = {
  dryRun: boolean;
  matchedCount: number;
  replayableCount: number;
  matched: { totalCount: number; edges: Array<{ node: DeliveryNode }> };
  queued: DeliveryNode[];
  userErrors: Array<{ field: string[]; code: string; message: string }>;
};

const NODE = 'id webhookId topic status attempts lastError outcome nextAttemptAt';
const REPLAY = `mutation($input: ReplayWebhookDeliveriesInput!) { replayWebhookDeliveries(input: $input) {
  dryRun matchedCount replayableCount
  matched { totalCount edges { node { ${NODE} } } }
  queued { ${NODE} }
  userErrors { field code message }
} }`;
const WAIT = { timeoutMs: 60_000 };

describe('replayWebhookDeliveries: replays stored deliveries by id or filter, with a dry run', () => {
  let gateway: TestGateway;
  let adminKey: string;
  let readKey: string;

  beforeAll(async () => {
    gateway = await startTestGateway();
    adminKey = await gateway.createKey(['read', 'admin']);
    readKey = await gateway.createKey(['read']);
    await gateway.services.inventory.whenReady();
  }, 120_000);
  afterAll(async () => {
    await gateway?.close();
  });

  const replay = async (input: Record<string, unknown>, key = adminKey) => gateway.graphql<Body<{ replayWebhookDeliveries: Payload }>>(key, REPLAY, { input });

  /** Sends one signed delivery to the gateway's webhook route; returns its webhook id. */
  async function deliver(topic: string, body: string): Promise<string> {
    const webhookId = randomUUID();
    const response = await fetch(`${gateway.url}/webhooks/shopify`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        'x-shopify-topic': topic,
        'x-shopify-shop-domain': gateway.deps.shop,
        'x-shopify-webhook-id': webhookId,
        'x-shopify-hmac-sha256': signWebhookBody(gateway.deps.webhookSecret!, body),
      },
      body,
    });
    expect(response.status).toBe(200);
    return webhookId;
  }

  async function deliveryOf(webhookId: string): Promise<DeliveryNode | undefined> {
    const answer = await gateway.graphql<Body<{ webhookDeliveries: { edges: Array<{ node: DeliveryNode }> } }>>(adminKey, `{ webhookDeliveries(first: 250) { edges { node { ${NODE} } } } }`);
    return answer.body.data!.webhookDeliveries.edges.map((edge) => edge.node).find((node) => node.webhookId === webhookId);
  }

  it('refuses a call without ids or a filter and a limit beyond the bound as userErrors, and a read key as forbidden', async () => {
    const none = await replay({ dryRun: true, filter: {} });
    expect(none.body.errors).toBeUndefined();
    expect(none.body.data!.replayWebhookDeliveries.userErrors).toEqual([expect.objectContaining({ code: 'NO_FILTER', field: ['input'] })]);
    const large = await replay({ filter: { status: 'FAILED' }, limit: 501 });
    expect(large.body.data!.replayWebhookDeliveries.userErrors).toEqual([expect.objectContaining({ code: 'LIMIT_TOO_LARGE', field: ['input', 'limit'] })]);
    const reader = await replay({ filter: { status: 'FAILED' } }, readKey);
    expect(reader.body.data?.replayWebhookDeliveries ?? null).toBeNull();
    expect(reader.body.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
  });

  it('matches a FAILED delivery on a dry run and changes nothing; a replay puts it back in the inbox, the drain applies it again, and it is recorded', async () => {
    const actions = createOperatorActions(gateway.database.db);
    const before = await actions.countSince(new Date(0), ['replayWebhookDelivery']);
    const startedAt = new Date(Date.now() - 1_000).toISOString();
    // Signed, but not what the topic promises: stored FAILED at once.
    const webhookId = await deliver('orders/create', JSON.stringify({ id: 4_242_424_242, name: '#broken' }));
    const failed = await waitFor(() => deliveryOf(webhookId), (node) => node?.status === 'FAILED', WAIT);
    expect(failed).toMatchObject({ attempts: 0, outcome: 'malformed body' });

    const dry = await replay({ filter: { topic: 'orders/create', status: 'FAILED', receivedAfter: startedAt }, dryRun: true });
    expect(dry.body.errors).toBeUndefined();
    expect(dry.body.data!.replayWebhookDeliveries).toMatchObject({ dryRun: true, matchedCount: 1, replayableCount: 1, queued: [], userErrors: [] });
    expect(dry.body.data!.replayWebhookDeliveries.matched.edges.map((edge) => edge.node.id)).toEqual([failed!.id]);
    expect((await deliveryOf(webhookId))?.status).toBe('FAILED');
    expect(await actions.countSince(new Date(0), ['replayWebhookDelivery'])).toBe(before);

    const elsewhere = await replay({ filter: { topic: 'refunds/create', status: 'FAILED', receivedAfter: startedAt }, dryRun: true });
    expect(elsewhere.body.data!.replayWebhookDeliveries).toMatchObject({ matchedCount: 0, replayableCount: 0 });

    const real = await replay({ ids: [failed!.id] });
    expect(real.body.errors).toBeUndefined();
    const payload = real.body.data!.replayWebhookDeliveries;
    expect(payload.userErrors).toEqual([]);
    expect(payload.queued).toEqual([expect.objectContaining({ id: failed!.id, status: 'PENDING', attempts: 0, lastError: null, outcome: null })]);
    expect(await actions.countSince(new Date(0), ['replayWebhookDelivery'])).toBe(before + 1);
    // Applied again by the worker's drain: the body is still not an order, so FAILED once more, one attempt on.
    const again = await waitFor(() => deliveryOf(webhookId), (node) => node?.status === 'FAILED', WAIT);
    expect(again).toMatchObject({ attempts: 1, outcome: 'malformed body' });
    expect(again!.lastError).toMatch(/not a Shopify order/);
  }, 120_000);

  it('makes a delivery waiting after an error due now: the drain tries it again at once', async () => {
    // A refund of an order the gateway never saw waits for it (PENDING, with the reason, retried later).
    const refund = JSON.stringify({ id: 8_080_808, order_id: 9_191_919_191, created_at: new Date().toISOString(), refund_line_items: [] });
    const webhookId = await deliver('refunds/create', refund);
    const waiting = await waitFor(() => deliveryOf(webhookId), (node) => node?.status === 'PENDING' && node.lastError !== null, WAIT);
    expect(waiting!.attempts).toBe(1);
    expect(new Date(waiting!.nextAttemptAt!).getTime()).toBeGreaterThan(Date.now());

    const real = await replay({ ids: [waiting!.id], filter: { status: 'PENDING' } });
    const payload = real.body.data!.replayWebhookDeliveries;
    expect(payload).toMatchObject({ matchedCount: 1, replayableCount: 1, userErrors: [] });
    expect(payload.queued).toEqual([expect.objectContaining({ id: waiting!.id, status: 'PENDING', attempts: 0, lastError: null })]);
    // Tried again (attempts from 0 to 1), still waiting for its order.
    const retried = await waitFor(() => deliveryOf(webhookId), (node) => node?.attempts === 1 && node.lastError !== null, WAIT);
    expect(retried!.status).toBe('PENDING');
  }, 120_000);

  it('answers NOT_REPLAYABLE for a delivery that was applied and NOT_FOUND for ids of no delivery, and queues nothing', async () => {
    const placed = gateway.demo!.shopify.state.placeOrder({ lines: [{ sku: gateway.demo!.shopify.state.levels().find((level) => level.sku && level.quantities.available > 2)!.sku!, quantity: 1 }] });
    if (!placed.placed) throw new Error('refused');
    const order = await waitFor(() => gateway.services.orders.findOrder(placed.order.id), (found) => found !== null, WAIT);
    const applied = await waitFor(
      async () => (await gateway.services.orders.listDeliveries({ orderId: order!.id, topic: 'orders/create' })).edges[0]?.node,
      (node) => node?.status === 'DONE',
      WAIT,
    );
    const answer = await replay({ ids: [String(applied!.id), '99999999999', 'nope'] });
    const payload = answer.body.data!.replayWebhookDeliveries;
    expect(payload).toMatchObject({ matchedCount: 1, replayableCount: 0, queued: [] });
    expect(payload.userErrors.map((error) => error.code).sort()).toEqual(['NOT_FOUND', 'NOT_FOUND', 'NOT_REPLAYABLE']);
    expect((await gateway.services.orders.findDelivery(String(applied!.id)))?.status).toBe('DONE');
  }, 120_000);
});
