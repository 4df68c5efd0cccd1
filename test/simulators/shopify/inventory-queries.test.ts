import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startShopifySimulator, type ShopifySimulator } from '../../../src/simulators/shopify/index.js';
import { graphql, ids, startSmallShop, type Loose } from './support.js';

describe('Shopify simulator: catalogue and inventory reads', () => {
  let simulator: ShopifySimulator;
  beforeAll(async () => {
    simulator = await startSmallShop();
  });
  afterAll(async () => {
    await simulator.close();
  });

  it('finds variants by SKU ignoring case, returning every duplicate', async () => {
    const answer = await graphql(simulator, 'query($q: String!) { productVariants(first: 10, query: $q) { nodes { sku product { title } inventoryItem { duplicateSkuCount } } } }', {
      q: 'sku:Chair-Oak',
    });
    expect(answer.body.data?.productVariants.nodes).toEqual([
      { sku: 'CHAIR-OAK', product: { title: 'Oak chair' }, inventoryItem: { duplicateSkuCount: 1 } },
      { sku: 'chair-oak', product: { title: 'Oak chair' }, inventoryItem: { duplicateSkuCount: 1 } },
    ]);
  });

  it('finds inventory items by SKU, with OR of several SKUs and quoted values', async () => {
    const answer = await graphql(simulator, '{ inventoryItems(first: 10, query: "sku:\\"table-pine\\" OR sku:LAMP-PRE") { nodes { sku tracked } } }');
    expect(answer.body.data?.inventoryItems.nodes).toEqual([
      { sku: 'TABLE-PINE', tracked: true },
      { sku: 'LAMP-PRE', tracked: true },
    ]);
  });

  it('returns nothing for an unknown SKU, and reports a search field it does not know as Shopify does', async () => {
    const none = await graphql(simulator, '{ productVariants(first: 10, query: "sku:NOPE") { nodes { id } } }');
    expect(none.body.data?.productVariants.nodes).toEqual([]);
    const unknownField = await graphql(simulator, '{ productVariants(first: 10, query: "colour:red") { nodes { id } } }');
    expect(unknownField.body.extensions?.search).toEqual([{ path: ['productVariants'], query: 'colour:red', warnings: [{ field: 'colour', message: 'Invalid search field for this query.' }] }]);
  });

  it('reads named quantities of an item at a location and across locations', async () => {
    const { inventoryItemId, locationId } = ids(simulator, 'CHAIR-OAK', 'WH');
    const answer = await graphql(
      simulator,
      `query($item: ID!, $location: ID!) { inventoryItem(id: $item) {
          sku
          inventoryLevel(locationId: $location) { id quantities(names: ["available", "on_hand", "committed", "incoming"]) { name quantity } }
          inventoryLevels(first: 5) { nodes { location { name } quantities(names: ["available"]) { quantity } } }
        } }`,
      { item: inventoryItemId, location: locationId },
    );
    const item = answer.body.data?.inventoryItem;
    expect(item.inventoryLevel.id).toBe(`gid://shopify/InventoryLevel/${locationId.split('/').at(-1)}?inventory_item_id=${inventoryItemId.split('/').at(-1)}`);
    expect(item.inventoryLevel.quantities).toEqual([
      { name: 'available', quantity: 10 },
      { name: 'on_hand', quantity: 10 },
      { name: 'committed', quantity: 0 },
      { name: 'incoming', quantity: 0 },
    ]);
    expect(item.inventoryLevels.nodes.map((node: Loose) => [node.location.name, node.quantities[0].quantity])).toEqual([
      ['Warehouse', 10],
      ['Store', 2],
    ]);
  });

  it('refuses an unknown quantity name with an error naming it', async () => {
    const { inventoryItemId, locationId } = ids(simulator, 'TABLE-PINE', 'WH');
    const answer = await graphql(simulator, 'query($item: ID!, $location: ID!) { inventoryItem(id: $item) { inventoryLevel(locationId: $location) { quantities(names: ["availble"]) { quantity } } } }', {
      item: inventoryItemId,
      location: locationId,
    });
    expect(answer.body.errors?.[0]?.message).toContain('availble');
  });

  it('requires first or last on a connection and caps it at 250', async () => {
    const missing = await graphql(simulator, '{ productVariants { nodes { id } } }');
    expect(missing.body.errors?.[0]?.message).toBe('you must provide one of first or last');
    const tooMany = await graphql(simulator, '{ locations(first: 251) { nodes { id } } }');
    expect(tooMany.body.errors?.[0]?.message).toContain('250');
  });

  it('lists only active locations by default, sorted by name', async () => {
    const answer = await graphql(simulator, '{ locations(first: 10) { nodes { name } } all: locations(first: 10, sortKey: ID, includeInactive: true) { nodes { name } } }');
    expect(answer.body.data?.locations.nodes).toEqual([{ name: 'Store' }, { name: 'Warehouse' }]);
    expect(answer.body.data?.all.nodes).toEqual([{ name: 'Warehouse' }, { name: 'Store' }]);
  });

  it('returns the same items for nodes(ids:) as for single reads, null for unknown ids', async () => {
    const a = ids(simulator, 'TABLE-PINE', 'WH');
    const b = ids(simulator, 'LAMP-PRE', 'WH');
    const answer = await graphql(
      simulator,
      'query($ids: [ID!]!, $location: ID!) { nodes(ids: $ids) { ... on InventoryItem { sku inventoryLevel(locationId: $location) { quantities(names: ["available"]) { quantity } } } } }',
      { ids: [a.inventoryItemId, 'gid://shopify/InventoryItem/1', b.inventoryItemId], location: a.locationId },
    );
    expect(answer.body.data?.nodes).toEqual([
      { sku: 'TABLE-PINE', inventoryLevel: { quantities: [{ quantity: 3 }] } },
      null,
      { sku: 'LAMP-PRE', inventoryLevel: { quantities: [{ quantity: 2 }] } },
    ]);
  });
});

describe('Shopify simulator: paging a large location', () => {
  let simulator: ShopifySimulator;
  beforeAll(async () => {
    simulator = await startShopifySimulator({
      plan: 'enterprise',
      catalogue: { locations: [{ key: 'WH', name: 'Warehouse' }, { key: 'OTHER', name: 'Other' }], generate: { products: 620, locations: ['WH'], available: 7 } },
    });
  });
  afterAll(async () => {
    await simulator.close();
  });

  it('pages every inventory level of a location exactly once with Relay cursors', async () => {
    const locationId = simulator.state.levels()[0]!.locationId;
    const seen: string[] = [];
    let after: string | null = null;
    let pages = 0;
    for (;;) {
      const answer = await graphql(
        simulator,
        'query($id: ID!, $after: String) { location(id: $id) { inventoryLevels(first: 250, after: $after) { nodes { item { id } quantities(names: ["available"]) { quantity } } pageInfo { hasNextPage endCursor } } } }',
        { id: locationId, after },
      );
      const connection = answer.body.data?.location.inventoryLevels;
      pages++;
      for (const node of connection.nodes) {
        seen.push(node.item.id);
        expect(node.quantities[0].quantity).toBe(7);
      }
      if (!connection.pageInfo.hasNextPage) break;
      after = connection.pageInfo.endCursor;
    }
    expect(pages).toBe(3);
    expect(seen).toHaveLength(620);
    expect(new Set(seen).size).toBe(620);
  });

  it('walks variants backwards with last/before and reverse', async () => {
    const forward = await graphql(simulator, '{ productVariants(first: 3) { nodes { sku } pageInfo { endCursor } } }');
    const reversed = await graphql(simulator, '{ productVariants(first: 2, reverse: true) { nodes { sku } } }');
    expect(forward.body.data?.productVariants.nodes.map((node: Loose) => node.sku)).toEqual(['SIM-000001', 'SIM-000002', 'SIM-000003']);
    expect(reversed.body.data?.productVariants.nodes.map((node: Loose) => node.sku)).toEqual(['SIM-000620', 'SIM-000619']);
    const before = await graphql(simulator, 'query($before: String) { productVariants(last: 2, before: $before) { nodes { sku } pageInfo { hasPreviousPage } } }', {
      before: forward.body.data?.productVariants.pageInfo.endCursor,
    });
    expect(before.body.data?.productVariants).toEqual({ nodes: [{ sku: 'SIM-000001' }, { sku: 'SIM-000002' }], pageInfo: { hasPreviousPage: false } });
  });
});
