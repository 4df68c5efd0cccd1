import { startShopifySimulator, type ShopifySimulator, type ShopifySimulatorOptions, type ShopSeed } from '../../../src/simulators/shopify/index.js';

/** GraphQL answers are read by field path in assertions; typing each selection would only restate the query. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type Loose = any;

export interface GraphqlAnswer {
  status: number;
  headers: Headers;
  body: {
    data?: Record<string, Loose> | null;
    errors?: { message: string; locations?: unknown; path?: unknown[]; extensions?: Record<string, Loose> }[];
    extensions?: { cost?: { requestedQueryCost: number; actualQueryCost: number | null; throttleStatus: { maximumAvailable: number; currentlyAvailable: number; restoreRate: number } }; search?: unknown };
  };
}

/** Posts a GraphQL document to the simulator over real HTTP, as an Admin API client does. */
export async function graphql(
  simulator: ShopifySimulator,
  query: string,
  variables: Record<string, unknown> = {},
  options: { token?: string | null; version?: string } = {},
): Promise<GraphqlAnswer> {
  const headers: Record<string, string> = { 'Content-Type': 'application/json' };
  const token = options.token === undefined ? simulator.accessToken : options.token;
  if (token !== null) headers['X-Shopify-Access-Token'] = token;
  const response = await fetch(simulator.graphqlUrl(options.version), { method: 'POST', headers, body: JSON.stringify({ query, variables }) });
  return { status: response.status, headers: response.headers, body: (await response.json()) as GraphqlAnswer['body'] };
}

/** A small shop: two locations, a few variants including duplicate SKUs, a bundle and an untracked item. */
export const smallCatalogue: ShopSeed = {
  locations: [
    { key: 'WH', name: 'Warehouse' },
    { key: 'STORE', name: 'Store' },
  ],
  products: [
    {
      title: 'Oak chair',
      variants: [
        { sku: 'CHAIR-OAK', levels: { WH: 10, STORE: 2 } },
        { sku: 'chair-oak', title: 'Second listing', levels: { WH: 1 } },
      ],
    },
    { title: 'Pine table', variants: [{ sku: 'TABLE-PINE', price: '120.00', levels: { WH: 3 } }] },
    { title: 'Preorder lamp', variants: [{ sku: 'LAMP-PRE', inventoryPolicy: 'CONTINUE', levels: { WH: 2 } }] },
    { title: 'Dining set', variants: [{ sku: 'SET-DINING', bundle: true, levels: { WH: 0 } }] },
    { title: 'Gift wrap', variants: [{ sku: 'WRAP', tracked: false }] },
  ],
};

export async function startSmallShop(options: ShopifySimulatorOptions = {}): Promise<ShopifySimulator> {
  return startShopifySimulator({ catalogue: smallCatalogue, ...options });
}

export const SET_QUANTITIES = `
  mutation SetQuantities($input: InventorySetQuantitiesInput!, $key: String!) {
    inventorySetQuantities(input: $input) @idempotent(key: $key) {
      inventoryAdjustmentGroup { id reason referenceDocumentUri changes { name delta quantityAfterChange item { id } location { id } } }
      userErrors { field message code }
    }
  }`;

/** Gids of an item (by SKU, the first when duplicated) and a location (by key or name). */
export function ids(simulator: ShopifySimulator, sku: string, location: string): { inventoryItemId: string; locationId: string } {
  const item = simulator.state.shop.findItemsBySku(sku)[0];
  if (!item) throw new Error(`no item ${sku}`);
  const found = simulator.state.shop.findLocation(location);
  if (!found) throw new Error(`no location ${location}`);
  return { inventoryItemId: `gid://shopify/InventoryItem/${item.id}`, locationId: `gid://shopify/Location/${found.id}` };
}

export function available(simulator: ShopifySimulator, sku: string, location: string): number | undefined {
  return simulator.state.level({ sku, location })?.quantities.available;
}
