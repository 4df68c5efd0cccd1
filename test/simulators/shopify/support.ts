import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
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

export interface Received {
  headers: Record<string, string>;
  raw: Buffer;
}

/** A webhook receiver that answers with the next status of `statuses` (then 200) and keeps every raw delivery. */
export async function startReceiver(statuses: number[] = []): Promise<{ url: string; received: Received[]; close: () => Promise<void> }> {
  const received: Received[] = [];
  const server: Server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      received.push({ headers: Object.fromEntries(Object.entries(request.headers).map(([key, value]) => [key, String(value)])), raw: Buffer.concat(chunks) });
      response.writeHead(statuses.shift() ?? 200);
      response.end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}/webhooks/shopify`, received, close: () => new Promise((resolve) => server.close(() => resolve())) };
}

/** Subscribes `uri` to a webhook topic (GraphQL enum form) through the Admin API. */
export async function subscribe(simulator: ShopifySimulator, topic: string, uri: string, name?: string) {
  const answer = await graphql(
    simulator,
    'mutation($topic: WebhookSubscriptionTopic!, $sub: WebhookSubscriptionInput!) { webhookSubscriptionCreate(topic: $topic, webhookSubscription: $sub) { webhookSubscription { id topic uri name } userErrors { field message } } }',
    { topic, sub: { uri, format: 'JSON', ...(name ? { name } : {}) } },
  );
  const errors = answer.body.data?.webhookSubscriptionCreate.userErrors as unknown[];
  if (errors.length > 0) throw new Error(`subscription refused: ${JSON.stringify(errors)}`);
  return answer.body.data?.webhookSubscriptionCreate.webhookSubscription as { id: string };
}
