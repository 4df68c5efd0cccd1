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

describe('Shopify simulator: metafieldsSet guards and metafield definitions', () => {
  let simulator: ShopifySimulator;
  beforeEach(async () => {
    simulator = await startSmallShop();
    simulator.state.seed({ products: [{ title: 'Bolts', variants: Array.from({ length: 30 }, (_, index) => ({ sku: `BOLT-${index}`, levels: { WH: 1 } })) }] });
  });
  afterEach(async () => {
    await simulator.close();
  });

  const variantOf = (sku: string) => `gid://shopify/ProductVariant/${simulator.state.shop.findItemsBySku(sku)[0]!.variantId}`;
  const SET = `mutation($metafields: [MetafieldsSetInput!]!) { metafieldsSet(metafields: $metafields) { metafields { id key value compareDigest } userErrors { field message code elementIndex } } }`;
  const CREATE_DEFINITION = `mutation($definition: MetafieldDefinitionInput!) { metafieldDefinitionCreate(definition: $definition) { createdDefinition { id namespace key name description ownerType type { name category } } userErrors { field message code } } }`;
  const lots = (sku: string, value: string, extra: Record<string, unknown> = {}) => ({ ownerId: variantOf(sku), namespace: 'stockbridge', key: 'lots', type: 'json', value, ...extra });

  it('writes with the digest it read, and refuses a digest gone stale after a concurrent write', async () => {
    const created = await graphql(simulator, SET, { metafields: [lots('BOLT-0', '[]', { compareDigest: null })] });
    expect(created.body.data?.metafieldsSet.userErrors).toEqual([]);
    const digest = created.body.data?.metafieldsSet.metafields[0].compareDigest as string;
    const concurrent = await graphql(simulator, SET, { metafields: [lots('BOLT-0', '[{"lot":"A"}]')] });
    expect(concurrent.body.data?.metafieldsSet.userErrors).toEqual([]);
    const stale = await graphql(simulator, SET, { metafields: [lots('BOLT-0', '[{"lot":"B"}]', { compareDigest: digest })] });
    expect(stale.body.data?.metafieldsSet).toEqual({ metafields: null, userErrors: [{ field: ['metafields', '0'], message: expect.stringContaining('compareDigest'), code: 'STALE_OBJECT', elementIndex: 0 }] });
    const fresh = concurrent.body.data?.metafieldsSet.metafields[0].compareDigest as string;
    const retried = await graphql(simulator, SET, { metafields: [lots('BOLT-0', '[{"lot":"B"}]', { compareDigest: fresh })] });
    expect(retried.body.data?.metafieldsSet.metafields[0].value).toBe('[{"lot":"B"}]');
    const createOnly = await graphql(simulator, SET, { metafields: [lots('BOLT-0', '[]', { compareDigest: null })] });
    expect(createOnly.body.data?.metafieldsSet.userErrors[0].code).toBe('STALE_OBJECT');
  });

  it('takes 25 metafields in one call for a flat mutation cost, and refuses 26 writing none', async () => {
    const batch = Array.from({ length: 25 }, (_, index) => lots(`BOLT-${index}`, `[${index}]`));
    const written = await graphql(simulator, SET, { metafields: batch });
    expect(written.body.data?.metafieldsSet.metafields).toHaveLength(25);
    expect(written.body.extensions?.cost).toMatchObject({ requestedQueryCost: 10, actualQueryCost: 10 });
    const tooMany = await graphql(simulator, SET, { metafields: Array.from({ length: 26 }, (_, index) => lots(`BOLT-${index}`, '[]')) });
    expect(tooMany.body.data?.metafieldsSet.userErrors).toEqual([{ field: ['metafields'], message: 'Exceeded the maximum metafields input limit of 25.', code: 'LESS_THAN_OR_EQUAL_TO', elementIndex: null }]);
    const read = await graphql(simulator, 'query($id: ID!) { productVariant(id: $id) { metafield(namespace: "stockbridge", key: "lots") { value } } }', { id: variantOf('BOLT-25') });
    expect(read.body.data?.productVariant.metafield).toBeNull();
  });

  it('creates a variant metafield definition once (TAKEN the second time) and lists it', async () => {
    const definition = { namespace: 'stockbridge', key: 'lots', name: 'Lots on hand', description: 'Lot numbers, quantities and expiry per location', type: 'json', ownerType: 'PRODUCTVARIANT' };
    const created = await graphql(simulator, CREATE_DEFINITION, { definition });
    expect(created.body.data?.metafieldDefinitionCreate).toEqual({
      createdDefinition: { id: expect.stringMatching(/^gid:\/\/shopify\/MetafieldDefinition\/\d+$/), namespace: 'stockbridge', key: 'lots', name: 'Lots on hand', description: 'Lot numbers, quantities and expiry per location', ownerType: 'PRODUCTVARIANT', type: { name: 'json', category: 'JSON' } },
      userErrors: [],
    });
    const again = await graphql(simulator, CREATE_DEFINITION, { definition });
    expect(again.body.data?.metafieldDefinitionCreate).toEqual({ createdDefinition: null, userErrors: [{ field: ['definition', 'key'], message: expect.stringContaining('in use'), code: 'TAKEN' }] });
    const invalid = await graphql(simulator, CREATE_DEFINITION, { definition: { ...definition, key: 'x', name: ' ', type: 'jsonish' } });
    expect(invalid.body.data?.metafieldDefinitionCreate.userErrors.map((error: Loose) => error.code)).toEqual(['TOO_SHORT', 'BLANK', 'INCLUSION']);

    const listed = await graphql(simulator, '{ metafieldDefinitions(first: 10, ownerType: PRODUCTVARIANT, namespace: "stockbridge") { nodes { key name metafieldsCount } } }');
    expect(listed.body.data?.metafieldDefinitions.nodes).toEqual([{ key: 'lots', name: 'Lots on hand', metafieldsCount: 0 }]);
    const otherOwner = await graphql(simulator, '{ metafieldDefinitions(first: 10, ownerType: PRODUCT) { nodes { key } } }');
    expect(otherOwner.body.data?.metafieldDefinitions.nodes).toEqual([]);
  });

  it('lets a metafield under a definition omit its type, and refuses another type', async () => {
    await graphql(simulator, CREATE_DEFINITION, { definition: { namespace: 'stockbridge', key: 'lots', name: 'Lots', type: 'json', ownerType: 'PRODUCTVARIANT' } });
    const untyped = await graphql(simulator, SET, { metafields: [{ ownerId: variantOf('BOLT-1'), namespace: 'stockbridge', key: 'lots', value: '[]' }] });
    expect(untyped.body.data?.metafieldsSet.userErrors).toEqual([]);
    const mistyped = await graphql(simulator, SET, { metafields: [{ ownerId: variantOf('BOLT-2'), namespace: 'stockbridge', key: 'lots', type: 'single_line_text_field', value: 'L1' }] });
    expect(mistyped.body.data?.metafieldsSet.userErrors[0].code).toBe('INVALID_TYPE');
    const read = await graphql(simulator, 'query($id: ID!) { productVariant(id: $id) { metafield(namespace: "stockbridge", key: "lots") { type definition { name } } } }', { id: variantOf('BOLT-1') });
    expect(read.body.data?.productVariant.metafield).toEqual({ type: 'json', definition: { name: 'Lots' } });
  });
});
