import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PushTarget } from '../../src/inventory/inventory.models.js';
import { groupPushTargets } from '../../src/inventory/push-targets.js';
import { availableToPromise, expiringSoon } from '../../src/inventory/read-model/atp-formula.js';
import { createInventoryLotsReader } from '../../src/inventory/read-model/inventory-lots.reader.js';
import { readLevel } from '../reservations/reservations.fixture.js';
import { startTestGateway, type TestGateway } from '../support/gateway.js';
import { waitFor } from '../support/waiting.js';

type Body<T> = { data?: T | null; errors?: Array<{ message: string; extensions?: { code?: string } }> };

const SET = `mutation($input: SetSellableShelfLifeInput!) {
  setSellableShelfLife(input: $input) {
    rule { sku days updatedAt }
    availability { location { code } onHand allocated expiringSoon availableToPromise }
    userErrors { field message code }
  }
}`;

/**
 * The whole path on the demo: a sellable shelf life set over GraphQL, the event push, the
 * simulated store. The demo ERP keeps moving stock, so checks compare Shopify's `available` with
 * the read model at that moment.
 */
describe('a sellable shelf life over GraphQL reaches Shopify through the event push', () => {
  let gateway: TestGateway;
  let readKey: string;
  let adminKey: string;

  beforeAll(async () => {
    gateway = await startTestGateway({ SCHEDULER: 'on' });
    [readKey, adminKey] = await Promise.all([gateway.createKey(['read']), gateway.createKey(['read', 'admin'])]);
    await gateway.services.inventory.whenReady();
  }, 120_000);
  afterAll(async () => {
    await gateway?.close();
  });

  /** A Shopify item×location fed by one ERP position in the same units, with dated lots not yet expiring and stock to spare. */
  async function positionWithDatedLots() {
    const targets: PushTarget[] = [];
    for (let after: string | null = null; ; ) {
      const page = await gateway.services.inventory.mapping.listPushTargets({ after, first: 1_000 });
      targets.push(...page.items);
      if (!page.nextCursor) break;
      after = page.nextCursor;
    }
    const lots = createInventoryLotsReader(gateway.database.db, gateway.deps.shop);
    for (const group of groupPushTargets(targets)) {
      if (group.erpLocations.length !== 1 || group.conversion.erpUnits !== 1 || group.conversion.shopifyUnits !== 1) continue;
      const location = group.erpLocations[0]!;
      const dated = (await lots.getLotsBySkus([group.sku], { locations: [location] })).filter((lot) => lot.expiresOn !== null);
      if (dated.length === 0) continue;
      const level = await readLevel(gateway.database.db, group.sku, location, gateway.deps.shop);
      if (level.expiringLotUnits === 0 && availableToPromise(level) >= 20) return { group, location };
    }
    throw new Error('no simple position with dated lots in the demo');
  }

  it('is refused without the admin scope, and answers an unknown SKU with a user error', async () => {
    const refused = await gateway.graphql<Body<unknown>>(readKey, SET, { input: { sku: 'ANY', days: 1 } });
    expect(refused.body.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');

    const unknown = await gateway.graphql<Body<{ setSellableShelfLife: unknown }>>(adminKey, SET, { input: { sku: 'NO-SUCH-SKU', days: 1 } });
    expect(unknown.body.data?.setSellableShelfLife).toEqual({
      rule: null,
      availability: [],
      userErrors: [{ field: ['input', 'sku'], message: 'No product with SKU NO-SUCH-SKU in the ERP catalogue', code: 'UNKNOWN_SKU' }],
    });
  });

  it('excludes the lots expiring within the horizon, and the event push lowers Shopify’s available', async () => {
    const { group, location } = await positionWithDatedLots();
    const read = () => readLevel(gateway.database.db, group.sku, location, gateway.deps.shop);
    const shopifyAvailable = () =>
      gateway.demo!.shopify.state.level({ inventoryItemId: group.inventoryItemId, location: group.shopifyLocationId })?.quantities.available;
    await waitFor(async () => ({ level: await read(), shopify: shopifyAvailable() }), ({ level, shopify }) => shopify === level.availableToPromise, 20_000);

    // Ten years: every dated lot of the SKU expires within the horizon.
    const set = await gateway.graphql<Body<{ setSellableShelfLife: { rule: { sku: string; days: number }; availability: Array<{ location: { code: string }; expiringSoon: number }>; userErrors: unknown[] } }>>(
      adminKey,
      SET,
      { input: { sku: group.sku, days: 3650 } },
    );
    const payload = set.body.data!.setSellableShelfLife;
    expect(payload.userErrors).toEqual([]);
    expect(payload.rule).toMatchObject({ sku: group.sku, days: 3650 });
    expect(payload.availability.find((a) => a.location.code === location)!.expiringSoon).toBeGreaterThan(0);

    const after = await waitFor(
      async () => ({ level: await read(), shopify: shopifyAvailable() }),
      ({ level, shopify }) => level.pushRequestedAt === null && shopify === level.availableToPromise,
      15_000,
    );
    expect(expiringSoon(after.level)).toBeGreaterThan(0);
    expect(after.shopify).toBe(availableToPromise(after.level));
    expect(after.shopify!).toBeLessThan(availableToPromise({ ...after.level, expiringLotUnits: 0 }));

    const rules = await gateway.graphql<Body<{ sellableShelfLifeRules: Array<{ sku: string; days: number }> }>>(
      readKey,
      'query($sku: String) { sellableShelfLifeRules(sku: $sku) { sku days } }',
      { sku: group.sku },
    );
    expect(rules.body.data?.sellableShelfLifeRules).toEqual([{ sku: group.sku, days: 3650 }]);
  });
});
