import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ShopifySimulator } from '../../../src/simulators/shopify/index.js';
import { graphql, ids, SET_QUANTITIES, startSmallShop } from './support.js';

describe('Shopify simulator: the Admin API transport', () => {
  let simulator: ShopifySimulator;
  beforeAll(async () => {
    simulator = await startSmallShop();
  });
  afterAll(async () => {
    await simulator.close();
  });

  it('refuses a request without an access token with HTTP 401', async () => {
    const answer = await graphql(simulator, '{ shop { name } }', {}, { token: null });
    expect(answer.status).toBe(401);
    expect(answer.body).toEqual({ errors: '[API] Invalid API key or access token (unrecognized login or wrong password)' });
  });

  it('refuses a wrong access token with HTTP 401', async () => {
    const answer = await graphql(simulator, '{ shop { name } }', {}, { token: 'shpat_not-the-right-one' });
    expect(answer.status).toBe(401);
  });

  it('answers 404 for an API version it does not serve', async () => {
    const answer = await graphql(simulator, '{ shop { name } }', {}, { version: '2023-01' });
    expect(answer.status).toBe(404);
    expect(answer.body).toEqual({ errors: 'Not Found' });
  });

  it('answers 400 when the body has no query', async () => {
    const response = await fetch(simulator.graphqlUrl(), {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', 'X-Shopify-Access-Token': simulator.accessToken },
      body: JSON.stringify({ variables: {} }),
    });
    expect(response.status).toBe(400);
    expect(await response.json()).toEqual({ errors: { query: 'Required parameter missing or invalid' } });
  });

  it('answers a document that does not validate against the real schema with HTTP 200 and located, coded errors', async () => {
    const answer = await graphql(simulator, '{ shop { name notAField } }');
    expect(answer.status).toBe(200);
    expect(answer.body.data).toBeUndefined();
    expect(answer.body.errors).toEqual([
      { message: expect.stringContaining('notAField'), locations: [{ line: 1, column: 15 }], extensions: { code: 'undefinedField' } },
    ]);
  });

  it('answers a syntax error with its location', async () => {
    const answer = await graphql(simulator, '{ shop { name }');
    expect(answer.status).toBe(200);
    expect(answer.body.errors?.[0]).toMatchObject({ locations: [{ line: 1, column: 16 }], extensions: { code: 'parseError' } });
  });

  it('validates against the 2026-10 schema: compareQuantity, removed in 2026-04, is refused', async () => {
    const answer = await graphql(
      simulator,
      `mutation { inventorySetQuantities(input: { name: "available", reason: "correction", ignoreCompareQuantity: true, quantities: [] }) @idempotent(key: "k") { userErrors { code } } }`,
    );
    expect(answer.body.errors?.[0]?.extensions?.code).toBe('argumentLiteralsIncompatible');
  });

  it('names the field when a valid operation asks for something the simulator does not implement', async () => {
    const answer = await graphql(simulator, '{ customers(first: 1) { nodes { id } } }');
    expect(answer.status).toBe(200);
    expect(answer.body.errors).toHaveLength(1);
    expect(answer.body.errors![0]!.message).toContain('QueryRoot.customers is not implemented by the Shopify simulator');
    expect(answer.body.errors![0]!.extensions).toMatchObject({ code: 'NOT_IMPLEMENTED', typeName: 'QueryRoot', fieldName: 'customers' });
    expect(answer.body.data).toBeNull();
  });

  it('answers any valid selection over its state, with the cost extension', async () => {
    const answer = await graphql(simulator, '{ shop { name myshopifyDomain currencyCode } locations(first: 5) { nodes { name isActive } } }');
    expect(answer.body.errors).toBeUndefined();
    expect(answer.body.data).toEqual({
      shop: { name: 'Stockbridge Demo Store', myshopifyDomain: simulator.shopDomain, currencyCode: 'EUR' },
      locations: { nodes: [{ name: 'Store', isActive: true }, { name: 'Warehouse', isActive: true }] },
    });
    expect(answer.body.extensions?.cost).toMatchObject({ requestedQueryCost: 8, throttleStatus: { maximumAvailable: 2000, restoreRate: 100 } });
  });

  it('grants a 24-hour token that the Admin API accepts for the client-credentials grant with the app credentials', async () => {
    const response = await fetch(`${simulator.adminUrl}/admin/oauth/access_token`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ grant_type: 'client_credentials', client_id: simulator.apiKey, client_secret: simulator.apiSecret }),
    });
    expect(response.status).toBe(200);
    const granted = (await response.json()) as { access_token: string; expires_in: number };
    expect(granted).toMatchObject({ access_token: expect.stringMatching(/^shpat_/), expires_in: 86399 });
    const answer = await fetch(simulator.graphqlUrl(), {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', 'X-Shopify-Access-Token': granted.access_token },
      body: JSON.stringify({ query: '{ shop { name } }' }),
    });
    expect(answer.status).toBe(200);
    const refused = await fetch(`${simulator.adminUrl}/admin/oauth/access_token`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ grant_type: 'client_credentials', client_id: simulator.apiKey, client_secret: 'wrong' }),
    });
    expect(refused.status).toBe(401);
  });
});

describe('Shopify simulator: access scopes', () => {
  let simulator: ShopifySimulator;
  beforeAll(async () => {
    simulator = await startSmallShop({ accessScopes: ['read_products', 'write_inventory', 'read_locations'] });
  });
  afterAll(async () => {
    await simulator.close();
  });

  it('answers ACCESS_DENIED for a field whose type needs a scope the token lacks', async () => {
    const answer = await graphql(simulator, '{ orders(first: 1) { nodes { id } } }');
    expect(answer.status).toBe(200);
    expect(answer.body.errors?.[0]).toMatchObject({
      message: expect.stringContaining('Access denied for nodes field. Required access: `read_orders` access scope'),
      extensions: { code: 'ACCESS_DENIED' },
    });
  });

  it('serves what the granted scopes cover, a write scope implying its read scope', async () => {
    const read = await graphql(simulator, '{ productVariants(first: 1) { nodes { sku inventoryItem { inventoryLevels(first: 1) { nodes { quantities(names: ["available"]) { quantity } } } } } } }');
    expect(read.body.errors).toBeUndefined();
    const table = ids(simulator, 'TABLE-PINE', 'WH');
    const write = await graphql(simulator, SET_QUANTITIES, { key: 'scoped', input: { name: 'available', reason: 'correction', quantities: [{ ...table, quantity: 4, changeFromQuantity: 3 }] } });
    expect(write.body.errors).toBeUndefined();
    expect(write.body.data?.inventorySetQuantities.userErrors).toEqual([]);
  });
});
