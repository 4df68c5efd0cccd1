/**
 * How much load the Shopify simulator itself carries, so a client benchmark measures the client
 * and Shopify's rate limits, not the simulator. With the rate limit lifted (a custom plan with a
 * huge bucket), over loopback HTTP:
 * - seed 30,000 variants stocked at 10 locations (300,000 inventory levels);
 * - set all 300,000 `available` quantities with inventorySetQuantities, 250 per call;
 * - read the 300,000 levels back by paging `location.inventoryLevels(first: 250)`;
 * - export the same through a bulk operation (variants → inventory levels JSONL).
 *
 *   npx tsx bench/shopify-simulator.bench.ts [variants] [locations]
 */
import { startShopifySimulator } from '../src/simulators/shopify/index.js';

const VARIANTS = Number(process.argv[2] ?? 30_000);
const LOCATIONS = Number(process.argv[3] ?? 10);

const SET = `mutation SetInventoryQuantities($input: InventorySetQuantitiesInput!, $idempotencyKey: String!) {
  inventorySetQuantities(input: $input) @idempotent(key: $idempotencyKey) { inventoryAdjustmentGroup { id } userErrors { field message code } } }`;
const PAGE = `query Levels($id: ID!, $after: String) { location(id: $id) { inventoryLevels(first: 250, after: $after) {
  nodes { updatedAt item { id } quantities(names: ["available", "on_hand", "committed"]) { name quantity } } pageInfo { hasNextPage endCursor } } } }`;

const simulator = await startShopifySimulator({ plan: { name: 'unthrottled', maximumAvailable: 1e12, restoreRate: 1e12 } });
const post = async (query: string, variables: Record<string, unknown>) => {
  const response = await fetch(simulator.graphqlUrl(), {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', 'X-Shopify-Access-Token': simulator.accessToken },
    body: JSON.stringify({ query, variables }),
  });
  return (await response.json()) as { data?: any; errors?: unknown[] }; // eslint-disable-line @typescript-eslint/no-explicit-any
};

const rows: Record<string, string | number>[] = [];
let started = performance.now();
const seeded = simulator.state.seed({
  locations: Array.from({ length: LOCATIONS }, (_, index) => ({ key: `L${index}`, name: `Location ${index}` })),
  generate: { products: VARIANTS, skuPrefix: 'BENCH-', available: 0 },
});
rows.push({ step: 'seed', levels: VARIANTS * LOCATIONS, requests: 0, seconds: (performance.now() - started) / 1000 });

const quantities = seeded.variants.flatMap((variant, index) =>
  seeded.locations.map((location) => ({ inventoryItemId: variant.inventoryItemId, locationId: location.id, quantity: (index % 97) + 1, changeFromQuantity: 0 })),
);
started = performance.now();
let requests = 0;
for (let offset = 0; offset < quantities.length; offset += 250) {
  const answer = await post(SET, { idempotencyKey: `bench-${offset}`, input: { name: 'available', reason: 'correction', quantities: quantities.slice(offset, offset + 250) } });
  requests++;
  if (answer.errors || answer.data.inventorySetQuantities.userErrors.length > 0) throw new Error(JSON.stringify(answer).slice(0, 500));
}
let seconds = (performance.now() - started) / 1000;
rows.push({ step: 'set quantities', levels: quantities.length, requests, seconds, levelsPerSecond: Math.round(quantities.length / seconds), msPerRequest: Math.round((seconds * 1000 * 100) / requests) / 100 });

started = performance.now();
requests = 0;
let read = 0;
for (const location of seeded.locations) {
  let after: string | null = null;
  for (;;) {
    const answer = await post(PAGE, { id: location.id, after });
    requests++;
    const connection = answer.data.location.inventoryLevels;
    read += connection.nodes.length;
    if (!connection.pageInfo.hasNextPage) break;
    after = connection.pageInfo.endCursor;
  }
}
seconds = (performance.now() - started) / 1000;
rows.push({ step: 'page levels', levels: read, requests, seconds, levelsPerSecond: Math.round(read / seconds), msPerRequest: Math.round((seconds * 1000 * 100) / requests) / 100 });

started = performance.now();
const run = await post(
  `mutation { bulkOperationRunQuery(query: """{ productVariants { edges { node { id sku inventoryItem { id inventoryLevels { edges { node { location { id } quantities(names: ["available"]) { quantity } } } } } } } } }""") { bulkOperation { id } userErrors { message } } }`,
  {},
);
const id = run.data.bulkOperationRunQuery.bulkOperation.id as string;
let operation: { status: string; url: string; objectCount: string };
for (;;) {
  operation = (await post('query($id: ID!) { bulkOperation(id: $id) { status url objectCount } }', { id })).data.bulkOperation;
  if (operation.status === 'COMPLETED' || operation.status === 'FAILED') break;
  await new Promise((resolve) => setTimeout(resolve, 50));
}
const jsonl = await (await fetch(operation.url)).text();
seconds = (performance.now() - started) / 1000;
rows.push({ step: 'bulk export', levels: Number(operation.objectCount) - VARIANTS, requests: 0, seconds, bytes: jsonl.length });

console.log(`Shopify simulator load: ${VARIANTS} variants x ${LOCATIONS} locations, rate limit lifted, loopback HTTP`);
console.table(rows.map((row) => ({ ...row, seconds: Math.round(Number(row.seconds) * 100) / 100 })));
console.log(`heap used: ${Math.round(process.memoryUsage().heapUsed / 1024 / 1024)} MB`);
await simulator.close();
