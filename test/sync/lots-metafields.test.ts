import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createInventoryLotsReader } from '../../src/inventory/read-model/inventory-lots.reader.js';
import { createLotMetafieldsRepository } from '../../src/sync/lots-metafields.repository.js';
import { LOTS_METAFIELD_KEY, LOTS_METAFIELD_NAMESPACE, LotsPusher, type LotsMetafieldValue } from '../../src/sync/lots-push.js';
import { createMemoryLogger } from '../support/gateway.js';
import { startSyncFixture, type SyncFixture } from './sync.fixture.js';

/**
 * Lots to Shopify against real parts: the demo ERP's lot-tracked products (bolts with heat lots,
 * adhesives and sealants with expiry), the read model's lots, the simulated store's metafields
 * (compareDigest, 25 per call, definitions) and the real Shopify client.
 */
let fixture: SyncFixture;
/** Mapped SKUs with lots, and their variants. */
let lotSkus: string[];
let variantsOf: Map<string, string[]>;

const metafieldCalls = () => fixture.demo.shopify.state.requestLog().filter((entry) => entry.operationName === 'SetMetafields');

function newPusher(): LotsPusher {
  const { db } = fixture.database;
  return new LotsPusher({
    shopify: fixture.shopify,
    mapping: fixture.inventory.services.mapping,
    reader: createInventoryLotsReader(db, fixture.deps.shop),
    lots: createLotMetafieldsRepository(db, fixture.deps.shop),
    log: createMemoryLogger('silent').log,
    now: fixture.clock.now,
  });
}

async function lotsMetafield(variantId: string): Promise<LotsMetafieldValue | null> {
  const fields = await fixture.shopify.getVariantMetafields([variantId], LOTS_METAFIELD_NAMESPACE);
  const field = fields.find((f) => f.key === LOTS_METAFIELD_KEY);
  return field ? (JSON.parse(field.value) as LotsMetafieldValue) : null;
}

beforeAll(async () => {
  fixture = await startSyncFixture({ skus: 300 });
  const targets = await fixture.allTargets();
  const reader = createInventoryLotsReader(fixture.database.db, fixture.deps.shop);
  const lots = await reader.lotsBySkus([...new Set(targets.map((t) => t.sku))]);
  variantsOf = new Map();
  for (const target of targets) {
    if ((lots.get(target.sku)?.lots.length ?? 0) === 0) continue;
    variantsOf.set(target.sku, [...new Set([...(variantsOf.get(target.sku) ?? []), target.variantId])]);
  }
  lotSkus = [...variantsOf.keys()].sort();
}, 180_000);

afterAll(async () => {
  await fixture?.close();
});

describe('lots to Shopify metafields', () => {
  it('writes 25 variants per metafieldsSet call, within the cost of the calls', async () => {
    const variants = [...variantsOf.values()].flat().length;
    expect(variants).toBeGreaterThan(25);
    fixture.demo.shopify.state.clearRequestLog();
    const tally = await newPusher().pushSkus(lotSkus);
    expect(tally).toMatchObject({ considered: variants, written: variants, failed: 0, staleRetried: 0 });
    const calls = metafieldCalls();
    expect(calls).toHaveLength(Math.ceil(variants / 25));
    // Shopify charges a mutation 10 points whatever its size: the calls, not the variants, cost.
    expect(calls.every((call) => (call.actualCost ?? 0) <= 10)).toBe(true);
  });

  it("puts each variant's lots at its mapped locations in stockbridge.lots, soonest expiry first", async () => {
    const sku = lotSkus[0]!;
    const reader = createInventoryLotsReader(fixture.database.db, fixture.deps.shop);
    const expected = (await reader.lotsBySkus([sku])).get(sku)!.lots;
    const targets = (await fixture.allTargets()).filter((t) => t.sku === sku);
    const mapped = new Set(targets.map((t) => t.location));
    const value = await lotsMetafield(variantsOf.get(sku)![0]!);
    expect(value!.lots.map((lot) => `${lot.location}:${lot.number}:${lot.quantity}`).sort()).toEqual(
      expected.filter((lot) => mapped.has(lot.location)).map((lot) => `${lot.location}:${lot.number}:${lot.quantity}`).sort(),
    );
    const expiries = value!.lots.map((lot) => lot.expiresOn ?? '9999-99-99');
    expect(expiries).toEqual([...expiries].sort());
    expect(value!.lots.every((lot) => lot.shopifyLocationId === targets.find((t) => t.location === lot.location)!.shopifyLocationId)).toBe(true);
  });

  it('makes no Shopify call for variants whose lots did not change', async () => {
    fixture.demo.shopify.state.clearRequestLog();
    const tally = await newPusher().pushSkus(lotSkus);
    expect(tally.written).toBe(0);
    expect(tally.unchanged).toBe(tally.considered);
    expect(metafieldCalls()).toHaveLength(0);
  });

  it('a lot received in the ERP reaches the metafield with the next delta, and only that variant is written', async () => {
    const sku = lotSkus[1]!;
    const location = (await fixture.allTargets()).find((t) => t.sku === sku)!.location;
    // The first delta only takes the feed's watermark: what happens after it is the next delta's.
    await fixture.sync.services.runDelta();
    fixture.demo.shopify.state.clearRequestLog();
    fixture.demo.erp.receiveStock({ sku, location, quantity: 7, lot: { number: 'LOT-TEST-RECEIVED', expiresOn: '2026-12-24' } });
    await fixture.sync.services.runDelta();
    const value = await lotsMetafield(variantsOf.get(sku)![0]!);
    expect(value!.lots).toContainEqual(expect.objectContaining({ number: 'LOT-TEST-RECEIVED', location, quantity: 7, expiresOn: '2026-12-24' }));
    expect(value!.lots[0]!.number).toBe('LOT-TEST-RECEIVED');
    expect(metafieldCalls()).toHaveLength(1);
  });

  it('a metafield changed in Shopify since the last write is re-read and written once more over it (compareDigest)', async () => {
    const sku = lotSkus[2]!;
    const variantId = variantsOf.get(sku)![0]!;
    const location = (await fixture.allTargets()).find((t) => t.sku === sku)!.location;
    // Someone else writes the metafield: Stockbridge's digest is now stale.
    await fixture.shopify.setVariantMetafields([{ variantId, namespace: LOTS_METAFIELD_NAMESPACE, key: LOTS_METAFIELD_KEY, type: 'json', value: '{"lots":[],"by":"someone else"}' }]);
    fixture.demo.erp.receiveStock({ sku, location, quantity: 3, lot: { number: 'LOT-TEST-STALE', expiresOn: null } });
    await fixture.inventory.services.atp.refreshPositions([sku]);
    fixture.demo.shopify.state.clearRequestLog();
    const tally = await newPusher().pushSkus([sku]);
    expect(tally).toMatchObject({ written: variantsOf.get(sku)!.length, staleRetried: 1, failed: 0 });
    const value = await lotsMetafield(variantId);
    expect(value!.lots).toContainEqual(expect.objectContaining({ number: 'LOT-TEST-STALE', quantity: 3 }));
    expect(metafieldCalls()).toHaveLength(2);
  });

  it('creates the metafield definition once; a second process finds it there', async () => {
    const definitions = async () => {
      const response = await fetch(fixture.demo.shopify.graphqlUrl(), {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-shopify-access-token': fixture.demo.shopify.accessToken },
        body: JSON.stringify({ query: '{ metafieldDefinitions(first: 10, ownerType: PRODUCTVARIANT, namespace: "stockbridge") { nodes { id key name description type { name } } } }' }),
      });
      const body = (await response.json()) as { data: { metafieldDefinitions: { nodes: Array<{ id: string; key: string; name: string; description: string; type: { name: string } }> } } };
      return body.data.metafieldDefinitions.nodes;
    };
    const first = newPusher();
    await first.ensureDefinition();
    await first.ensureDefinition();
    const [definition, ...others] = await definitions();
    expect(others).toEqual([]);
    expect(definition).toMatchObject({ key: LOTS_METAFIELD_KEY, name: 'Lots on hand', type: { name: 'json' } });
    expect(definition!.description).toContain('expiry');
    fixture.demo.shopify.state.clearRequestLog();
    await newPusher().ensureDefinition();
    expect(fixture.demo.shopify.state.requestLog().filter((entry) => entry.operationName === 'CreateMetafieldDefinition')).toHaveLength(1);
    expect((await definitions()).map((d) => d.id)).toEqual([definition!.id]);
  });

  it('writes nothing under a dry run, and counts what it would write', async () => {
    const sku = lotSkus[3]!;
    const location = (await fixture.allTargets()).find((t) => t.sku === sku)!.location;
    fixture.demo.erp.receiveStock({ sku, location, quantity: 2, lot: { number: 'LOT-TEST-DRY', expiresOn: null } });
    await fixture.inventory.services.atp.refreshPositions([sku]);
    fixture.demo.shopify.state.clearRequestLog();
    const tally = await newPusher().pushSkus([sku], { dryRun: true });
    expect(tally.written).toBe(variantsOf.get(sku)!.length);
    expect(metafieldCalls()).toHaveLength(0);
    expect((await lotsMetafield(variantsOf.get(sku)![0]!))!.lots.map((lot) => lot.number)).not.toContain('LOT-TEST-DRY');
  });
});
