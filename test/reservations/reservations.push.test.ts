import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { availableToPromise } from '../../src/inventory/read-model/atp-formula.js';
import type { PushTarget } from '../../src/inventory/inventory.models.js';
import { groupPushTargets } from '../../src/inventory/push-targets.js';
import { startTestGateway, type TestGateway } from '../support/gateway.js';
import { readLevel } from './reservations.fixture.js';
import { waitFor } from '../support/waiting.js';

/** Runs `attempt` again (at most 5 times) while it fails with STORE_UNAVAILABLE. */
async function retryingStoreUnavailable<T>(attempt: () => Promise<T>): Promise<T> {
  for (let tries = 1; ; tries++) {
    try {
      return await attempt();
    } catch (error) {
      if (tries >= 5 || (error as { code?: string }).code !== 'STORE_UNAVAILABLE') throw error;
    }
  }
}

type GraphQLBody<T> = { data?: T | null; errors?: Array<{ message: string; extensions?: { code?: string } }> };

/**
 * The whole path on the demo: a reservation over GraphQL, the event push, the simulated store.
 * The demo ERP keeps moving stock, so every check compares Shopify's `available` with the ATP the
 * read model holds at that moment and with what it would be without the reservation.
 */
describe('a reservation reaches Shopify through the event push', () => {
  let gateway: TestGateway;
  let key: string;

  beforeAll(async () => {
    gateway = await startTestGateway({ SCHEDULER: 'on' });
    key = await gateway.createKey(['read', 'reserve']);
    await gateway.services.inventory.whenReady();
  });
  afterAll(async () => {
    await gateway?.close();
  });

  /** A Shopify item×location fed by one ERP position in the same units, with room to reserve. */
  async function simplePosition() {
    const targets: PushTarget[] = [];
    for (let after: string | null = null; ; ) {
      const page = await gateway.services.inventory.mapping.listPushTargets({ after, first: 1_000 });
      targets.push(...page.items);
      if (!page.nextCursor) break;
      after = page.nextCursor;
    }
    for (const group of groupPushTargets(targets)) {
      if (group.erpLocations.length !== 1 || group.conversion.erpUnits !== 1 || group.conversion.shopifyUnits !== 1) continue;
      if (group.sku.startsWith('KIT-')) continue;
      const location = group.erpLocations[0]!;
      const level = await readLevel(gateway.database.db, group.sku, location, gateway.deps.shop);
      if (level.availableToPromise >= 30) return { group, location };
    }
    throw new Error('no simple position with stock in the demo');
  }

  const shopifyAvailable = (group: { inventoryItemId: string; shopifyLocationId: string }) =>
    gateway.demo!.shopify.state.level({ inventoryItemId: group.inventoryItemId, location: group.shopifyLocationId })?.quantities.available;

  it('lowers Shopify\u2019s available by exactly the reserved units, and gives them back on release', async () => {
    const { group, location } = await simplePosition();
    const read = () => readLevel(gateway.database.db, group.sku, location, gateway.deps.shop);
    // The first reconcile has run: Shopify shows the ATP.
    await waitFor(async () => ({ level: await read(), shopify: shopifyAvailable(group) }), ({ level, shopify }) => shopify === level.availableToPromise, 20_000);

    const reserved = await retryingStoreUnavailable(async () => {
      const answer = await gateway.graphql<GraphQLBody<{ reserveInventory: { __typename: string; id: string } }>>(
        key,
        'mutation($input: ReserveInventoryInput!) { reserveInventory(input: $input) { __typename ... on Reservation { id } } }',
        { input: { sku: group.sku, location, quantity: 7, reference: 'WHOLESALE-1', idempotencyKey: `push-${group.sku}` } },
      );
      const code = (answer.body as { errors?: { extensions?: { code?: string } }[] }).errors?.[0]?.extensions?.code;
      if (code === 'STORE_UNAVAILABLE') throw Object.assign(new Error('store unavailable'), { code });
      return answer;
    });
    expect(reserved.body.data?.reserveInventory.__typename).toBe('Reservation');

    const after = await waitFor(
      async () => ({ level: await read(), shopify: shopifyAvailable(group) }),
      ({ level, shopify }) => level.pushRequestedAt === null && shopify === level.availableToPromise,
      30_000,
    );
    expect(after.level.reserved).toBe(7);
    expect(after.shopify).toBe(availableToPromise({ ...after.level, reserved: 0 }) - 7);

    await gateway.graphql(key, 'mutation($id: ID!) { releaseReservation(id: $id) { status } }', { id: reserved.body.data!.reserveInventory.id });
    const released = await waitFor(
      async () => ({ level: await read(), shopify: shopifyAvailable(group) }),
      ({ level, shopify }) => level.reserved === 0 && level.pushRequestedAt === null && shopify === level.availableToPromise,
      10_000,
    );
    expect(released.shopify).toBe(availableToPromise(released.level));
  });

  it('gives expired units back to Shopify', async () => {
    const { group, location } = await simplePosition();
    const read = () => readLevel(gateway.database.db, group.sku, location, gateway.deps.shop);
    await waitFor(async () => ({ level: await read(), shopify: shopifyAvailable(group) }), ({ level, shopify }) => shopify === level.availableToPromise, 20_000);
    // STORE_UNAVAILABLE is retryable by contract (nothing held, the key not used up): a client
    // retries it, and so does this test when the store simulator is slow on a loaded machine.
    const outcome = await retryingStoreUnavailable(() =>
      gateway.services.reservations.reserve(
        { id: 'test-app', seesAll: false },
        { sku: group.sku, location, quantity: 5, reference: 'WHOLESALE-2', idempotencyKey: `expiring-${group.sku}`, ttlSeconds: 1 },
      ),
    );
    expect(outcome.kind).toBe('reserved');
    // The grant took its units out of Shopify's available before it committed (no push needed);
    // the hold lasts a second, so this looks before the expiry job can free it.
    await waitFor(
      async () => ({ level: await read(), shopify: shopifyAvailable(group) }),
      ({ level, shopify }) => level.reserved === 5 && shopify === level.availableToPromise,
      10_000,
    );

    await new Promise((resolve) => setTimeout(resolve, 1_100));
    // What the reservations.expire job does on its next run (it may have run already).
    await gateway.services.reservations.expireDue();
    const reservation = outcome.kind === 'reserved' ? outcome.reservation : undefined;
    expect(await gateway.services.reservations.findById({ id: 'test-app', seesAll: false }, reservation!.id)).toMatchObject({ status: 'EXPIRED' });

    const expired = await waitFor(
      async () => ({ level: await read(), shopify: shopifyAvailable(group) }),
      ({ level, shopify }) => level.reserved === 0 && level.pushRequestedAt === null && shopify === level.availableToPromise,
      10_000,
    );
    expect(expired.shopify).toBe(availableToPromise(expired.level));
  });
});
