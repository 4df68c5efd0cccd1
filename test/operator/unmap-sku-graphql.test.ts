import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createOperatorActions } from '../../src/operator-actions/operator-actions.js';
import { startTestGateway, type TestGateway } from '../support/gateway.js';

type Body<T> = { data?: T | null; errors?: Array<{ message: string; extensions?: { code?: string } }> };
interface UnmapAnswer {
  unmapSku: {
    product: { sku: string; mappingStatus: string; mappingSource: string | null; shopifyVariantId: string | null } | null;
    userErrors: Array<{ field: string[]; code: string; message: string }>;
  };
}

const UNMAP = `mutation ($input: UnmapSkuInput!) {
  unmapSku(input: $input) { product { sku mappingStatus mappingSource shopifyVariantId } userErrors { field code message } }
}`;

describe('unmapSku over GraphQL on the demo', () => {
  let gateway: TestGateway;
  let readKey: string;
  let adminKey: string;

  beforeAll(async () => {
    gateway = await startTestGateway();
    [readKey, adminKey] = await Promise.all([gateway.createKey(['read']), gateway.createKey(['read', 'admin'])]);
    await gateway.services.inventory.whenReady();
  }, 120_000);
  afterAll(async () => {
    await gateway?.close();
  });

  it('puts a manually mapped SKU back on rule matching, records the operator action, and refuses a SKU without a manual mapping', async () => {
    const { mapping } = gateway.services.inventory;
    const { items } = await mapping.listPushTargets({ first: 50 });
    const target = items[0]!;
    const [ruleMapping] = await mapping.findSkuMappingsBySkus([target.sku]);
    expect(ruleMapping?.source).toBe('RULE');

    const notManual = await gateway.graphql<Body<UnmapAnswer>>(adminKey, UNMAP, { input: { erpSku: target.sku } });
    expect(notManual.body.data?.unmapSku).toEqual({ product: null, userErrors: [expect.objectContaining({ field: ['input', 'erpSku'], code: 'NOT_MANUALLY_MAPPED' })] });
    const blank = await gateway.graphql<Body<UnmapAnswer>>(adminKey, UNMAP, { input: { erpSku: '  ' } });
    expect(blank.body.data?.unmapSku.userErrors.map((error) => error.code)).toEqual(['BLANK_SKU']);

    await mapping.mapSku({ erpSku: target.sku, shopifyVariantId: ruleMapping!.shopifyVariantId });
    expect((await mapping.findSkuMappingsBySkus([target.sku]))[0]?.source).toBe('MANUAL');

    const forbidden = await gateway.graphql<Body<UnmapAnswer>>(readKey, UNMAP, { input: { erpSku: target.sku } });
    expect(forbidden.body.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');

    const unmapped = await gateway.graphql<Body<UnmapAnswer>>(adminKey, UNMAP, { input: { erpSku: target.sku } });
    expect(unmapped.body.errors).toBeUndefined();
    expect(unmapped.body.data?.unmapSku).toEqual({
      product: { sku: target.sku, mappingStatus: 'MAPPED', mappingSource: 'RULE', shopifyVariantId: ruleMapping!.shopifyVariantId },
      userErrors: [],
    });
    expect(await createOperatorActions(gateway.database.db).countSince(new Date(0), ['unmapSku'])).toBe(1);
  });

  it('records a SKU mapped by hand over GraphQL as an operator action', async () => {
    const actions = createOperatorActions(gateway.database.db);
    const { items } = await gateway.services.inventory.mapping.listPushTargets({ first: 50 });
    const target = items.at(-1)!;
    const [ruleMapping] = await gateway.services.inventory.mapping.findSkuMappingsBySkus([target.sku]);
    const before = await actions.countSince(new Date(0), ['mapSku']);
    const mapped = await gateway.graphql<Body<{ mapSku: { sku: string; mappingSource: string } }>>(
      adminKey,
      `mutation ($input: MapSkuInput!) { mapSku(input: $input) { sku mappingSource } }`,
      { input: { erpSku: target.sku, shopifyVariantId: ruleMapping!.shopifyVariantId } },
    );
    expect(mapped.body.data?.mapSku).toEqual({ sku: target.sku, mappingSource: 'MANUAL' });
    expect(await actions.countSince(new Date(0), ['mapSku'])).toBe(before + 1);
  });
});
