import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestGateway, type TestGateway } from '../support/gateway.js';
import { seedLevel, uniqueSku } from './reservations.fixture.js';

type GraphQLBody<T> = { data?: T | null; errors?: Array<{ message: string; extensions?: { code?: string } }> };
type Listed = { reservations: { totalCount: number; edges: Array<{ node: { reference: string; idempotencyKey: string; createdBy: string } }> } };

const LIST = /* GraphQL */ `
  query ($sku: String, $reference: String, $idempotencyKey: String, $createdBy: ID, $status: ReservationStatus) {
    reservations(sku: $sku, reference: $reference, idempotencyKey: $idempotencyKey, createdBy: $createdBy, status: $status, first: 50) {
      totalCount
      edges { node { reference idempotencyKey createdBy } }
    }
  }
`;

/** The console's Reservations page filters by SKU, reference and API key: the `reservations` filters it uses. */
describe('reservations filtered by reference, idempotency key and creating API key', () => {
  let gateway: TestGateway;
  let shop: string;
  const keys: Record<'alpha' | 'beta' | 'admin', { key: string; id: string }> = {} as never;

  beforeAll(async () => {
    gateway = await startTestGateway();
    shop = gateway.deps.shop;
    for (const [name, scopes] of [
      ['alpha', ['read', 'reserve']],
      ['beta', ['read', 'reserve']],
      ['admin', ['read', 'reserve', 'admin']],
    ] as const) {
      const made = await gateway.services.auth.apiKeys.create({ name: `filters ${name}`, scopes: [...scopes] });
      keys[name] = { key: made.key, id: made.apiKey.id };
    }
  });
  afterAll(async () => {
    await gateway.close();
  });

  async function reserve(key: string, sku: string, reference: string, idempotencyKey: string) {
    const answer = await gateway.graphql<GraphQLBody<{ reserveInventory: { __typename: string } }>>(
      key,
      'mutation($input: ReserveInventoryInput!) { reserveInventory(input: $input) { __typename } }',
      { input: { sku, location: 'WH1', quantity: 1, reference, idempotencyKey, ttlSeconds: 600 } },
    );
    expect(answer.body.data?.reserveInventory.__typename).toBe('Reservation');
  }

  async function list(key: string, variables: Record<string, unknown>) {
    const answer = await gateway.graphql<GraphQLBody<Listed>>(key, LIST, variables);
    expect(answer.body.errors).toBeUndefined();
    return answer.body.data!.reservations;
  }

  it('matches reference, idempotency key and createdBy exactly, combined with the other filters and the key’s visibility', async () => {
    const sku = uniqueSku('FLT');
    const other = uniqueSku('FLT');
    await seedLevel(gateway.database.db, sku, 'WH1', { onHand: 100 }, shop);
    await seedLevel(gateway.database.db, other, 'WH1', { onHand: 100 }, shop);
    await reserve(keys.alpha.key, sku, `PO-${sku}-1`, `${sku}-a1`);
    await reserve(keys.alpha.key, sku, `PO-${sku}-2`, `${sku}-a2`);
    await reserve(keys.alpha.key, other, `PO-${sku}-1`, `${sku}-a3`);
    await reserve(keys.beta.key, sku, `PO-${sku}-1`, `${sku}-b1`);

    // Reference: every key's for an admin, newest first; with a SKU, only that SKU's.
    const byReference = await list(keys.admin.key, { reference: `PO-${sku}-1` });
    expect(byReference.edges.map((edge) => edge.node.idempotencyKey)).toEqual([`${sku}-b1`, `${sku}-a3`, `${sku}-a1`]);
    expect(byReference.totalCount).toBe(3);
    expect((await list(keys.admin.key, { reference: `PO-${sku}-1`, sku: other })).edges.map((edge) => edge.node.idempotencyKey)).toEqual([`${sku}-a3`]);
    // A reference is matched exactly, not as a prefix.
    expect((await list(keys.admin.key, { reference: `PO-${sku}` })).totalCount).toBe(0);

    // The creating key, as exposed on each reservation.
    const byAlpha = await list(keys.admin.key, { sku, createdBy: keys.alpha.id });
    expect(byAlpha.edges.map((edge) => edge.node.reference)).toEqual([`PO-${sku}-2`, `PO-${sku}-1`]);
    expect(new Set(byAlpha.edges.map((edge) => edge.node.createdBy))).toEqual(new Set([keys.alpha.id]));
    expect((await list(keys.admin.key, { sku, createdBy: keys.beta.id })).edges.map((edge) => edge.node.idempotencyKey)).toEqual([`${sku}-b1`]);

    // Idempotency key, with the status filter too.
    expect((await list(keys.admin.key, { idempotencyKey: `${sku}-a2`, status: 'ACTIVE' })).edges.map((edge) => edge.node.reference)).toEqual([`PO-${sku}-2`]);
    expect((await list(keys.admin.key, { idempotencyKey: `${sku}-a2`, status: 'RELEASED' })).totalCount).toBe(0);

    // A key without ADMIN still sees only its own, whatever createdBy it names.
    expect((await list(keys.beta.key, { reference: `PO-${sku}-1` })).edges.map((edge) => edge.node.idempotencyKey)).toEqual([`${sku}-b1`]);
    expect((await list(keys.beta.key, { sku, createdBy: keys.alpha.id })).totalCount).toBe(0);
  });

  it('refuses an over-long filter as BAD_USER_INPUT', async () => {
    const answer = await gateway.graphql<GraphQLBody<Listed>>(keys.admin.key, LIST, { reference: 'x'.repeat(256) });
    expect(answer.body.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
  });
});
