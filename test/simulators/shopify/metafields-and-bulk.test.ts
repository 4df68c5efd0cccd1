import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { ShopifySimulator } from '../../../src/simulators/shopify/index.js';
import { graphql, startSmallShop, type Loose } from './support.js';

describe('Shopify simulator: variant metafields', () => {
  let simulator: ShopifySimulator;
  beforeEach(async () => {
    simulator = await startSmallShop();
  });
  afterEach(async () => {
    await simulator.close();
  });

  const variantId = () => `gid://shopify/ProductVariant/${simulator.state.shop.findItemsBySku('TABLE-PINE')[0]!.variantId}`;
  const SET = `mutation($metafields: [MetafieldsSetInput!]!) { metafieldsSet(metafields: $metafields) { metafields { id namespace key type value compareDigest } userErrors { field message code elementIndex } } }`;

  it('stores metafields on a variant and reads them back one by one or as a connection', async () => {
    const set = await graphql(simulator, SET, {
      metafields: [
        { ownerId: variantId(), namespace: 'erp', key: 'lots', type: 'json', value: '[{"lot":"L1","qty":3}]' },
        { ownerId: variantId(), namespace: 'erp', key: 'origin', type: 'single_line_text_field', value: 'Lyon' },
      ],
    });
    expect(set.body.data?.metafieldsSet.userErrors).toEqual([]);
    const read = await graphql(
      simulator,
      'query($id: ID!) { productVariant(id: $id) { lots: metafield(namespace: "erp", key: "lots") { jsonValue } metafields(first: 10, namespace: "erp") { nodes { key value } } } }',
      { id: variantId() },
    );
    expect(read.body.data?.productVariant).toEqual({
      lots: { jsonValue: [{ lot: 'L1', qty: 3 }] },
      metafields: { nodes: [{ key: 'lots', value: '[{"lot":"L1","qty":3}]' }, { key: 'origin', value: 'Lyon' }] },
    });
  });

  it('refuses invalid JSON, a missing type and a stale compareDigest, writing none of the call', async () => {
    const first = await graphql(simulator, SET, { metafields: [{ ownerId: variantId(), namespace: 'erp', key: 'lots', type: 'json', value: '[]' }] });
    const digest = first.body.data?.metafieldsSet.metafields[0].compareDigest as string;
    const refused = await graphql(simulator, SET, {
      metafields: [
        { ownerId: variantId(), namespace: 'erp', key: 'ok', type: 'single_line_text_field', value: 'fine' },
        { ownerId: variantId(), namespace: 'erp', key: 'broken', type: 'json', value: '{nope' },
        { ownerId: variantId(), namespace: 'erp', key: 'untyped', value: 'x' },
        { ownerId: variantId(), namespace: 'erp', key: 'lots', type: 'json', value: '[1]', compareDigest: `${digest}0` },
      ],
    });
    expect(refused.body.data?.metafieldsSet.userErrors.map((error: Loose) => [error.code, error.elementIndex])).toEqual([
      ['INVALID_VALUE', 1],
      ['BLANK', 2],
      ['STALE_OBJECT', 3],
    ]);
    const ok = await graphql(simulator, 'query($id: ID!) { productVariant(id: $id) { metafield(namespace: "erp", key: "ok") { value } } }', { id: variantId() });
    expect(ok.body.data?.productVariant.metafield).toBeNull();
  });
});

describe('Shopify simulator: bulk query operations', () => {
  let simulator: ShopifySimulator;
  beforeEach(async () => {
    simulator = await startSmallShop();
  });
  afterEach(async () => {
    await simulator.close();
  });

  const waitForCompletion = async (id: string) => {
    for (let attempt = 0; attempt < 100; attempt++) {
      const answer = await graphql(simulator, 'query($id: ID!) { bulkOperation(id: $id) { status url objectCount rootObjectCount errorCode } }', { id });
      const operation = answer.body.data?.bulkOperation;
      if (operation.status === 'COMPLETED' || operation.status === 'FAILED') return operation;
      await new Promise((resolve) => setImmediate(resolve));
    }
    throw new Error('bulk operation did not finish');
  };

  it('exports variants with their inventory levels as JSONL lines linked by __parentId', async () => {
    const started = await graphql(
      simulator,
      `mutation { bulkOperationRunQuery(query: """{ productVariants { edges { node { id sku inventoryItem { id inventoryLevels { edges { node { location { id } quantities(names: ["available"]) { quantity } } } } } } } } }""") { bulkOperation { id status } userErrors { field message code } } }`,
    );
    expect(started.body.data?.bulkOperationRunQuery.userErrors).toEqual([]);
    expect(started.body.data?.bulkOperationRunQuery.bulkOperation.status).toBe('CREATED');
    const operation = await waitForCompletion(started.body.data?.bulkOperationRunQuery.bulkOperation.id);
    expect(operation).toMatchObject({ status: 'COMPLETED', rootObjectCount: '6', objectCount: '12', errorCode: null });
    const jsonl = await (await fetch(operation.url)).text();
    const lines = jsonl.trim().split('\n').map((line) => JSON.parse(line) as Loose);
    const chair = lines.find((line) => line.sku === 'CHAIR-OAK');
    expect(chair).toEqual({ id: chair.id, sku: 'CHAIR-OAK', inventoryItem: { id: expect.stringMatching(/InventoryItem/) } });
    const chairLevels = lines.filter((line) => line.__parentId === chair.id);
    expect(chairLevels.map((line) => line.quantities[0].quantity)).toEqual([10, 2]);
    expect(lines.indexOf(chair)).toBeLessThan(lines.indexOf(chairLevels[0]));
  });

  it('refuses a bulk query with top-level nodes, without a connection or nested too deep', async () => {
    const run = async (query: string) =>
      (await graphql(simulator, 'mutation($q: String!) { bulkOperationRunQuery(query: $q) { bulkOperation { id } userErrors { code message } } }', { q: query })).body.data?.bulkOperationRunQuery;
    expect((await run('{ nodes(ids: ["gid://shopify/Product/1"]) { id } }')).userErrors[0].code).toBe('INVALID');
    expect((await run('{ shop { name } }')).userErrors[0].message).toContain('at least one connection');
    expect(
      (await run('{ products { edges { node { id variants { edges { node { id inventoryItem { id inventoryLevels { edges { node { id } } } } } } } } } } }')).userErrors[0].message,
    ).toContain('2 levels');
  });
});
