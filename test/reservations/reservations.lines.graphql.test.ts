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
      ... on Reservation { id sku quantity status lines { line sku location quantity status } }
      ... on InsufficientStock { errorCode sku requested availableToPromise lines { line sku location requested available reason } }
      ... on NotFound { errorCode sku lines { line sku reason } }
    }
  }
`;

const RELEASE_LINES = /* GraphQL */ `
  mutation ($input: ReservationLinesInput!) {
    releaseReservationLines(input: $input) {
      reservation { status lines { line status } history { reason lines } }
      userErrors { field message code }
    }
  }
`;

const COMMIT_LINES = /* GraphQL */ `
  mutation ($input: ReservationLinesInput!) {
    commitReservationLines(input: $input) {
      reservation { status lines { line status committedAt } }
      userErrors { field message code }
    }
  }
`;

const EXTEND = /* GraphQL */ `
  mutation ($input: ExtendReservationInput!) {
    extendReservation(input: $input) {
      reservation { id expiresAt }
      userErrors { field message code }
    }
  }
`;

describe('multi-line reservations over GraphQL', () => {
  let gateway: TestGateway;
  let wholesale: string;
  let shop: string;

  beforeAll(async () => {
    gateway = await startTestGateway();
    shop = gateway.deps.shop;
    wholesale = await gateway.createKey(['read', 'reserve']);
  });
  afterAll(async () => {
    await gateway.close();
  });

  async function call<T>(query: string, input: Record<string, unknown>) {
    const response = await gateway.graphql<GraphQLBody<T>>(wholesale, query, { input });
    return response.body;
  }

  it('holds every line or none, names the short lines, and changes lines part by part with user errors', async () => {
    const skus = [uniqueSku('GQLM'), uniqueSku('GQLM'), uniqueSku('GQLM')];
    for (const sku of skus) await seedLevel(gateway.database.db, sku, 'WH1', { onHand: 5 }, shop);
    const lines = skus.map((sku) => ({ sku, location: 'WH1', quantity: 3 }));

    const short = await call<{ reserveInventory: Record<string, unknown> }>(RESERVE, {
      lines: lines.map((line, i) => (i === 1 ? { ...line, quantity: 6 } : line)),
      reference: 'WO-G',
      idempotencyKey: `${skus[0]}-g`,
    });
    expect(short.errors).toBeUndefined();
    expect(short.data?.reserveInventory).toEqual({
      __typename: 'InsufficientStock',
      errorCode: 'INSUFFICIENT_STOCK',
      sku: skus[1],
      requested: 6,
      availableToPromise: 5,
      lines: [{ line: 2, sku: skus[1], location: 'WH1', requested: 6, available: 5, reason: 'INSUFFICIENT_STOCK' }],
    });
    expect(await readLevel(gateway.database.db, skus[0]!, 'WH1', shop)).toMatchObject({ reserved: 0 });

    const made = await call<{ reserveInventory: { id: string } & Record<string, unknown> }>(RESERVE, { lines, reference: 'WO-G', idempotencyKey: `${skus[0]}-g` });
    expect(made.data?.reserveInventory).toMatchObject({
      __typename: 'Reservation',
      sku: skus[0],
      quantity: 3,
      status: 'ACTIVE',
      lines: skus.map((sku, i) => ({ line: i + 1, sku, location: 'WH1', quantity: 3, status: 'ACTIVE' })),
    });
    const id = made.data!.reserveInventory.id;

    const reused = await call(RESERVE, { lines: lines.slice(0, 2), reference: 'WO-G', idempotencyKey: `${skus[0]}-g` });
    expect(reused.errors?.[0]?.extensions?.code).toBe('IDEMPOTENCY_KEY_REUSED');
    const both = await call(RESERVE, { sku: skus[0], location: 'WH1', quantity: 1, lines, reference: 'WO-G', idempotencyKey: `${skus[0]}-both` });
    expect(both.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');

    const released = await call<{ releaseReservationLines: Record<string, unknown> }>(RELEASE_LINES, { id, lines: [3] });
    expect(released.errors).toBeUndefined();
    expect(released.data?.releaseReservationLines).toEqual({
      reservation: {
        status: 'ACTIVE',
        lines: [
          { line: 1, status: 'ACTIVE' },
          { line: 2, status: 'ACTIVE' },
          { line: 3, status: 'RELEASED' },
        ],
        history: [
          { reason: 'RESERVED', lines: null },
          { reason: 'LINES_RELEASED', lines: [3] },
        ],
      },
      userErrors: [],
    });
    expect(await readLevel(gateway.database.db, skus[2]!, 'WH1', shop)).toMatchObject({ reserved: 0 });

    const again = await call<{ releaseReservationLines: Record<string, unknown> }>(RELEASE_LINES, { id, lines: [3] });
    expect(again.errors).toBeUndefined();
    expect(again.data?.releaseReservationLines).toMatchObject({ reservation: null, userErrors: [{ field: ['input', 'lines'], code: 'LINE_NOT_ACTIVE' }] });

    const committed = await call<{ commitReservationLines: { reservation: { status: string; lines: Array<{ status: string }> } } }>(COMMIT_LINES, { id, lines: [1, 2] });
    expect(committed.data?.commitReservationLines.reservation.status).toBe('COMMITTED');
    expect(committed.data?.commitReservationLines.reservation.lines.map((line) => line.status)).toEqual(['COMMITTED', 'COMMITTED', 'RELEASED']);

    const extended = await call<{ extendReservation: Record<string, unknown> }>(EXTEND, { id, ttlSeconds: 60 });
    expect(extended.data?.extendReservation).toMatchObject({ reservation: null, userErrors: [{ field: ['input', 'id'], code: 'RESERVATION_NOT_ACTIVE' }] });
  });

  it('extends an ACTIVE reservation and refuses a TTL out of range as a user error', async () => {
    const sku = uniqueSku('GQLE');
    await seedLevel(gateway.database.db, sku, 'WH1', { onHand: 5 }, shop);
    const made = await call<{ reserveInventory: { id: string } }>(RESERVE, { lines: [{ sku, location: 'WH1', quantity: 1 }], reference: 'WO-E', idempotencyKey: `${sku}-e`, ttlSeconds: 60 });
    const id = made.data!.reserveInventory.id;
    const extended = await call<{ extendReservation: { reservation: { expiresAt: string }; userErrors: unknown[] } }>(EXTEND, { id, ttlSeconds: 86_400 });
    expect(extended.data?.extendReservation.userErrors).toEqual([]);
    expect(Date.parse(extended.data!.extendReservation.reservation.expiresAt)).toBeGreaterThan(Date.now() + 86_000_000);
    const invalid = await call<{ extendReservation: Record<string, unknown> }>(EXTEND, { id, ttlSeconds: 100 * 86_400 });
    expect(invalid.data?.extendReservation).toMatchObject({ reservation: null, userErrors: [{ field: ['input', 'ttlSeconds'], code: 'INVALID_TTL' }] });
  });
});
