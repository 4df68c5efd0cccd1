import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createOperatorActions } from '../../src/operator-actions/operator-actions.js';
import { startTestGateway, type TestGateway } from '../support/gateway.js';
import { waitFor } from '../support/waiting.js';

type Body<T> = { data?: T | null; errors?: Array<{ message: string; extensions?: { code?: string } }> };
type OrderNode = { id: string; status: string; lastErrorCode: string | null };
type Payload = {
  dryRun: boolean;
  matchedCount: number;
  replayableCount: number;
  matched: { totalCount: number; edges: Array<{ node: OrderNode }> };
  queued: OrderNode[];
  userErrors: Array<{ field: string[]; code: string; message: string }>;
};

const REPLAY = `mutation($input: ReplayOrdersInput!) { replayOrders(input: $input) {
  dryRun matchedCount replayableCount
  matched { totalCount edges { node { id status lastErrorCode } } }
  queued { id status lastErrorCode }
  userErrors { field code message }
} }`;
const ORDER_WAIT = { timeoutMs: 60_000 };

describe('replayOrders: replays by filter, with a dry run', () => {
  let gateway: TestGateway;
  let adminKey: string;
  let readKey: string;

  beforeAll(async () => {
    gateway = await startTestGateway({ SCHEDULER: 'on' });
    adminKey = await gateway.createKey(['read', 'admin']);
    readKey = await gateway.createKey(['read']);
    await gateway.services.inventory.whenReady();
  }, 120_000);
  afterAll(async () => {
    gateway?.demo?.erp.recover();
    await gateway?.close();
  });

  const replay = async (input: Record<string, unknown>, key = adminKey) => gateway.graphql<Body<{ replayOrders: Payload }>>(key, REPLAY, { input });

  function demoSku(): string {
    const level = gateway.demo!.shopify.state.levels().find((candidate) => candidate.sku && candidate.quantities.available >= 5 && !['GIFT-CARD-25', 'MERCH-TSHIRT-M', 'SAMPLE-PACK'].includes(candidate.sku));
    return level!.sku!;
  }

  it('refuses a call without a filter and a limit beyond the bound as userErrors, and a read key as forbidden', async () => {
    const none = await replay({ dryRun: true });
    expect(none.body.errors).toBeUndefined();
    expect(none.body.data!.replayOrders.userErrors.map((error) => error.code)).toEqual(['NO_FILTER']);
    const large = await replay({ status: 'FAILED', limit: 501 });
    expect(large.body.data!.replayOrders.userErrors).toEqual([expect.objectContaining({ code: 'LIMIT_TOO_LARGE', field: ['input', 'limit'] })]);
    const reader = await replay({ status: 'FAILED' }, readKey);
    expect(reader.body.data?.replayOrders ?? null).toBeNull();
    expect(reader.body.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
  });

  it('matches FAILED orders on a dry run and changes nothing; a real replay re-queues them, they reach the ERP, and each is recorded', async () => {
    const actions = createOperatorActions(gateway.database.db);
    const before = await actions.countSince(new Date(0), ['replayOrder']);
    const startedAt = new Date(Date.now() - 1_000).toISOString();
    gateway.demo!.erp.fail({ mode: 'reject', methods: ['sale.create'] });
    const sku = demoSku();
    const placed = [0, 1].map(() => {
      const result = gateway.demo!.shopify.state.placeOrder({ lines: [{ sku, quantity: 1 }] });
      if (!result.placed) throw new Error('refused');
      return result.order;
    });
    const failed = await Promise.all(
      placed.map((order) => waitFor(() => gateway.services.orders.findOrder(order.id), (found) => found?.status === 'FAILED', ORDER_WAIT)),
    );
    gateway.demo!.erp.recover();
    const ids = failed.map((order) => order!.id).sort();

    const dry = await replay({ status: 'FAILED', errorCode: 'ERP_REJECTED', receivedAfter: startedAt, dryRun: true });
    expect(dry.body.errors).toBeUndefined();
    const dryPayload = dry.body.data!.replayOrders;
    expect(dryPayload).toMatchObject({ dryRun: true, matchedCount: 2, replayableCount: 2, queued: [], userErrors: [] });
    expect(dryPayload.matched.edges.map((edge) => edge.node.id).sort()).toEqual(ids);
    expect((await gateway.services.orders.findOrder(ids[0]!))?.status).toBe('FAILED');
    expect(await actions.countSince(new Date(0), ['replayOrder'])).toBe(before);

    const future = await replay({ status: 'FAILED', receivedAfter: new Date(Date.now() + 3_600_000).toISOString(), dryRun: true });
    expect(future.body.data!.replayOrders).toMatchObject({ matchedCount: 0, replayableCount: 0 });

    const real = await replay({ ids, limit: 10 });
    expect(real.body.errors).toBeUndefined();
    const payload = real.body.data!.replayOrders;
    expect(payload.userErrors).toEqual([]);
    expect(payload.queued.map((order) => order.id).sort()).toEqual(ids);
    for (const order of payload.queued) expect(order.lastErrorCode).toBeNull();
    expect(await actions.countSince(new Date(0), ['replayOrder'])).toBe(before + 2);
    for (const order of placed) {
      await waitFor(() => gateway.services.orders.findOrder(order.id), (found) => found?.status === 'SUBMITTED', ORDER_WAIT);
      expect(gateway.demo!.erp.countSalesOrders(order.id)).toBe(1);
    }

    const again = await replay({ ids });
    expect(again.body.data!.replayOrders).toMatchObject({ matchedCount: 2, replayableCount: 0, queued: [] });
    expect(again.body.data!.replayOrders.userErrors).toEqual([expect.objectContaining({ code: 'NOT_REPLAYABLE', field: ['input', 'ids'] })]);
    expect(await actions.countSince(new Date(0), ['replayOrder'])).toBe(before + 2);
  }, 180_000);

  it('reports ids of no order as NOT_FOUND', async () => {
    const answer = await replay({ ids: ['00000000-0000-0000-0000-000000000000', 'nope'], dryRun: true });
    expect(answer.body.data!.replayOrders.matchedCount).toBe(0);
    expect(answer.body.data!.replayOrders.userErrors.map((error) => error.code)).toEqual(['NOT_FOUND', 'NOT_FOUND']);
  });
});
