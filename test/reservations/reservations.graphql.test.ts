import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestGateway, type TestGateway } from '../support/gateway.js';
import { readLevel, seedLevel, uniqueSku } from './reservations.fixture.js';

type GraphQLBody<T = Record<string, unknown>> = {
  data?: T | null;
  errors?: Array<{ message: string; extensions?: Record<string, unknown> & { code?: string } }>;
};

const RESERVE = /* GraphQL */ `
  mutation Reserve($input: ReserveInventoryInput!) {
    reserveInventory(input: $input) {
      __typename
      ... on Reservation { id sku location quantity reference status expiresAt idempotencyKey }
      ... on ErrorResult { errorCode message }
      ... on InsufficientStock { requested availableToPromise }
      ... on NotFound { sku location }
    }
  }
`;

describe('reservations over GraphQL', () => {
  let gateway: TestGateway;
  let wholesale: string;
  let otherApp: string;
  let reader: string;
  let operator: string;
  let shop: string;

  beforeAll(async () => {
    gateway = await startTestGateway();
    shop = gateway.deps.shop;
    [wholesale, otherApp, reader, operator] = await Promise.all([
      gateway.createKey(['read', 'reserve']),
      gateway.createKey(['read', 'reserve']),
      gateway.createKey(['read']),
      gateway.createKey(['read', 'reserve', 'admin']),
    ]);
  });
  afterAll(async () => {
    await gateway.close();
  });

  async function reserve(key: string, input: Record<string, unknown>) {
    return gateway.graphql<GraphQLBody<{ reserveInventory: Record<string, unknown> }>>(key, RESERVE, { input });
  }

  it('reserves, and answers InsufficientStock and NotFound as typed results with a message', async () => {
    const sku = uniqueSku('GQL');
    await seedLevel(gateway.database.db, sku, 'WH1', { onHand: 10, safetyStock: 2 }, shop);
    const input = { sku, location: 'WH1', quantity: 5, reference: 'PO-77', idempotencyKey: `${sku}-1`, ttlSeconds: 120 };

    const made = await reserve(wholesale, input);
    expect(made.body.errors).toBeUndefined();
    expect(made.body.data?.reserveInventory).toMatchObject({ __typename: 'Reservation', sku, location: 'WH1', quantity: 5, status: 'ACTIVE' });
    expect(Date.parse(made.body.data!.reserveInventory.expiresAt as string)).toBeGreaterThan(Date.now() + 100_000);

    const tooMany = await reserve(wholesale, { ...input, quantity: 4, idempotencyKey: `${sku}-2` });
    expect(tooMany.body.data?.reserveInventory).toEqual({
      __typename: 'InsufficientStock',
      errorCode: 'INSUFFICIENT_STOCK',
      message: expect.stringContaining('only 3'),
      requested: 4,
      availableToPromise: 3,
    });

    const unknown = await reserve(wholesale, { ...input, sku: `${sku}-NOPE`, idempotencyKey: `${sku}-3` });
    expect(unknown.body.data?.reserveInventory).toMatchObject({ __typename: 'NotFound', errorCode: 'SKU_NOT_FOUND', message: expect.any(String) });
    const elsewhere = await reserve(wholesale, { ...input, location: 'WH-NOWHERE', idempotencyKey: `${sku}-4` });
    expect(elsewhere.body.data?.reserveInventory).toMatchObject({ __typename: 'NotFound', errorCode: 'LOCATION_NOT_FOUND' });

    expect(await readLevel(gateway.database.db, sku, 'WH1', shop)).toMatchObject({ reserved: 5, availableToPromise: 3 });
  });

  it('needs the reserve scope for the mutations (FORBIDDEN for a read-only key, nothing held)', async () => {
    const sku = uniqueSku('GQL');
    await seedLevel(gateway.database.db, sku, 'WH1', { onHand: 10 }, shop);
    const denied = await reserve(reader, { sku, location: 'WH1', quantity: 1, reference: 'x', idempotencyKey: 'x' });
    expect(denied.body.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    expect(await readLevel(gateway.database.db, sku, 'WH1', shop)).toMatchObject({ reserved: 0 });
  });

  it('reports reuse of an idempotency key, bad input and illegal transitions with stable codes', async () => {
    const sku = uniqueSku('GQL');
    await seedLevel(gateway.database.db, sku, 'WH1', { onHand: 10 }, shop);
    const input = { sku, location: 'WH1', quantity: 2, reference: 'PO-1', idempotencyKey: `${sku}-k` };
    const id = (await reserve(wholesale, input)).body.data!.reserveInventory.id as string;

    const replay = await reserve(wholesale, input);
    expect(replay.body.data?.reserveInventory).toMatchObject({ __typename: 'Reservation', id });
    const reused = await reserve(wholesale, { ...input, quantity: 3 });
    expect(reused.body.errors?.[0]?.extensions).toMatchObject({ code: 'IDEMPOTENCY_KEY_REUSED', reservationId: id });
    const bad = await reserve(wholesale, { ...input, quantity: 0, idempotencyKey: `${sku}-bad` });
    expect(bad.body.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');

    const commit = (key: string) =>
      gateway.graphql<GraphQLBody<{ commitReservation: { status: string } }>>(key, 'mutation($id: ID!) { commitReservation(id: $id) { id status } }', { id });
    const release = (key: string) =>
      gateway.graphql<GraphQLBody<{ releaseReservation: { status: string } }>>(key, 'mutation($id: ID!) { releaseReservation(id: $id) { id status } }', { id });
    expect((await release(otherApp)).body.errors?.[0]?.extensions?.code).toBe('RESERVATION_NOT_FOUND');
    const one = (key: string) =>
      gateway.graphql<GraphQLBody<{ reservation: { id: string; quantity: number } | null }>>(key, 'query($id: ID!) { reservation(id: $id) { id quantity } }', { id });
    expect((await one(wholesale)).body.data?.reservation).toEqual({ id, quantity: 2 });
    expect((await one(otherApp)).body.data?.reservation).toBeNull();
    expect((await one(operator)).body.data?.reservation).toEqual({ id, quantity: 2 });
    expect((await commit(wholesale)).body.data?.commitReservation.status).toBe('COMMITTED');
    const again = await release(wholesale);
    expect(again.body.errors?.[0]?.extensions).toMatchObject({ code: 'RESERVATION_NOT_ACTIVE', status: 'COMMITTED' });
    expect((await commit(reader)).body.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
  });

  it('lists a key\u2019s own reservations (every key\u2019s for an admin key), paged, with their history in one query per page', async () => {
    const sku = uniqueSku('GQL');
    await seedLevel(gateway.database.db, sku, 'WH1', { onHand: 100 }, shop);
    for (let i = 0; i < 4; i++) await reserve(wholesale, { sku, location: 'WH1', quantity: 1, reference: `W-${i}`, idempotencyKey: `${sku}-${i}` });
    await reserve(otherApp, { sku, location: 'WH1', quantity: 1, reference: 'O-0', idempotencyKey: `${sku}-other` });

    const service = gateway.services.reservations;
    const original = service.getEventsByReservationIds;
    let historyQueries = 0;
    service.getEventsByReservationIds = (ids) => {
      historyQueries += 1;
      return original(ids);
    };
    try {
      const query = `query($sku: String, $after: String) {
        reservations(sku: $sku, status: ACTIVE, first: 3, after: $after) {
          edges { cursor node { reference history { fromStatus toStatus actor reason occurredAt } } }
          pageInfo { hasNextPage endCursor }
        }
      }`;
      type Page = { reservations: { edges: Array<{ node: { reference: string; history: Array<Record<string, unknown>> } }>; pageInfo: { hasNextPage: boolean; endCursor: string } } };
      const first = await gateway.graphql<GraphQLBody<Page>>(wholesale, query, { sku });
      expect(first.body.errors).toBeUndefined();
      expect(first.body.data!.reservations.edges.map((e) => e.node.reference)).toEqual(['W-3', 'W-2', 'W-1']);
      expect(first.body.data!.reservations.edges[0]!.node.history).toEqual([
        { fromStatus: null, toStatus: 'ACTIVE', actor: expect.any(String), reason: 'RESERVED', occurredAt: expect.any(String) },
      ]);
      expect(historyQueries).toBe(1);
      const second = await gateway.graphql<GraphQLBody<Page>>(wholesale, query, { sku, after: first.body.data!.reservations.pageInfo.endCursor });
      expect(second.body.data!.reservations.edges.map((e) => e.node.reference)).toEqual(['W-0']);
      expect(second.body.data!.reservations.pageInfo.hasNextPage).toBe(false);

      const all = await gateway.graphql<GraphQLBody<Page>>(operator, query, { sku });
      expect(all.body.data!.reservations.edges.map((e) => e.node.reference)).toEqual(['O-0', 'W-3', 'W-2']);
    } finally {
      service.getEventsByReservationIds = original;
    }
  });
});
