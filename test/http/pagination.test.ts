import { sql } from 'drizzle-orm';
import {
  buildSchema,
  getNamedType,
  isListType,
  isNonNullType,
  isObjectType,
  type GraphQLField,
  type GraphQLObjectType,
  type GraphQLOutputType,
} from 'graphql';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rowsOf } from '../../src/db/database.js';
import { loadTypeDefs } from '../../src/http/graphql-schema.js';
import { MAX_LIST_BOUND } from '../../src/shared/list-bounds.js';
import { MAX_PAGE_SIZE } from '../../src/shared/pagination.js';
import { testDatabaseKind } from '../support/database.js';
import { startTestGateway, type TestGateway } from '../support/gateway.js';

/**
 * One pagination for the whole API (src/shared/pagination.ts), checked two ways: a walk of the
 * schema (every connection has the shared shape and refuses `first` above the maximum; every
 * plain list at the root is bounded), and paging through thousands of rows written in one
 * statement, so that they share one timestamp, for every connection: each row comes back once.
 * The suite runs on PGlite, and on PostgreSQL when DATABASE_URL is set (as CI runs it).
 */

const ROWS = 2_000;
const PAGE = 100;
/** Every row this test writes carries it (SKUs, references, webhook ids), to tell them from the demo's. */
const TAG = 'PAGING-';

// GraphQL answers are read by field path; typing every selection would only restate the query.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Loose = any;

const schema = buildSchema(loadTypeDefs());
const queryType = schema.getQueryType()!;

/** `T` of `T!`, `[T!]!` and so on, and whether a list wraps it. */
function shapeOf(type: GraphQLOutputType): { name: string; list: boolean } {
  let current: GraphQLOutputType = type;
  let list = false;
  while (isNonNullType(current) || isListType(current)) {
    if (isListType(current)) list = true;
    current = current.ofType as GraphQLOutputType;
  }
  return { name: getNamedType(current).name, list };
}

const everyField = Object.values(schema.getTypeMap())
  .filter((type): type is GraphQLObjectType => isObjectType(type) && !type.name.startsWith('__'))
  .flatMap((type) => Object.values(type.getFields()).map((field) => ({ owner: type.name, field })));
// A mutation payload's connection (replayOrders' `matched`) is the first page of an answer, not a
// field a client pages through: it still has the shared shape, checked below, but no arguments.
const connectionFields = everyField.filter(({ field }) => shapeOf(field.type).name.endsWith('Connection'));
const pagedConnectionFields = connectionFields.filter(({ owner }) => !owner.endsWith('Payload'));
const rootConnections = Object.values(queryType.getFields()).filter((field) => shapeOf(field.type).name.endsWith('Connection'));
const rootLists = Object.values(queryType.getFields()).filter((field) => shapeOf(field.type).list);

function directiveArgument(field: GraphQLField<unknown, unknown>, directive: string, argument: string): unknown {
  const node = field.astNode?.directives?.find((d) => d.name.value === directive)?.arguments?.find((a) => a.name.value === argument)?.value;
  if (!node) return undefined;
  if (node.kind === 'ListValue') return node.values.map((value) => (value.kind === 'StringValue' ? value.value : undefined));
  return node.kind === 'IntValue' ? Number(node.value) : undefined;
}

let gateway: TestGateway;
let key: string;
let shop: string;

beforeAll(async () => {
  gateway = await startTestGateway();
  await gateway.services.inventory.whenReady();
  key = await gateway.createKey(['read', 'admin']);
  shop = gateway.deps.shop;
}, 180_000);

afterAll(async () => {
  await gateway?.close();
});

async function ask(query: string, variables?: Record<string, unknown>): Promise<Loose> {
  const { body } = await gateway.graphql<Loose>(key, query, variables);
  return body;
}

function codes(body: Loose): string[] {
  return ((body.errors ?? []) as Array<{ extensions?: { code?: string } }>).map((error) => error.extensions?.code ?? 'NONE');
}

describe('the schema walk: one connection shape, one page-size rule, bounded plain lists', () => {
  it('finds the connections it checks (products, orders, reservations, syncRuns, webhookDeliveries, lots, drift)', () => {
    expect(rootConnections.map((field) => field.name)).toEqual(
      expect.arrayContaining(['products', 'orders', 'reservations', 'syncRuns', 'webhookDeliveries', 'lotsConnection', 'inventoryDriftConnection']),
    );
  });

  it('gives every connection-typed field first and after, and every connection the shared edges, PageInfo and totalCount', () => {
    const pageInfo = schema.getType('PageInfo') as GraphQLObjectType;
    expect(Object.fromEntries(Object.values(pageInfo.getFields()).map((field) => [field.name, String(field.type)]))).toEqual({
      hasNextPage: 'Boolean!',
      hasPreviousPage: 'Boolean!',
      startCursor: 'String',
      endCursor: 'String',
    });
    expect(connectionFields.length).toBeGreaterThanOrEqual(rootConnections.length);
    for (const { owner, field } of connectionFields) {
      const where = `${owner}.${field.name}`;
      if (pagedConnectionFields.some((paged) => paged.field === field)) {
        expect(String(field.args.find((arg) => arg.name === 'first')?.type), where).toBe('Int');
        expect(String(field.args.find((arg) => arg.name === 'after')?.type), where).toBe('String');
      }
      const connection = schema.getType(shapeOf(field.type).name) as GraphQLObjectType;
      const fields = connection.getFields();
      expect(Object.keys(fields).sort(), where).toEqual(['edges', 'pageInfo', 'totalCount']);
      expect(String(fields.pageInfo!.type), where).toBe('PageInfo!');
      expect(String(fields.totalCount!.type), where).toBe('Int');
      const edgeName = connection.name.replace(/Connection$/, 'Edge');
      expect(String(fields.edges!.type), where).toBe(`[${edgeName}!]!`);
      const edge = (schema.getType(edgeName) as GraphQLObjectType).getFields();
      expect(Object.keys(edge).sort(), where).toEqual(['cursor', 'node']);
      expect(String(edge.cursor!.type), where).toBe('String!');
      expect(isNonNullType(edge.node!.type), where).toBe(true);
    }
  });

  it('answers BAD_USER_INPUT for first above the maximum on every connection, and a page at the maximum', async () => {
    for (const field of rootConnections) {
      const above = await ask(`{ ${field.name}(first: ${MAX_PAGE_SIZE + 1}) { pageInfo { hasNextPage } } }`);
      expect(codes(above), field.name).toEqual(['BAD_USER_INPUT']);
      expect(above.errors[0].message, field.name).toContain(String(MAX_PAGE_SIZE));
      const at = await ask(`{ ${field.name}(first: ${MAX_PAGE_SIZE}) { pageInfo { hasNextPage } } }`);
      expect(at.errors, field.name).toBeUndefined();
    }
  });

  it('bounds every plain list at the root: a first argument the cost analysis reads, and an error above its maximum', async () => {
    expect(rootLists.map((field) => field.name)).toEqual(expect.arrayContaining(['locations', 'lots', 'inventoryDrift']));
    for (const field of rootLists) {
      expect(String(field.args.find((arg) => arg.name === 'first')?.type), field.name).toBe('Int');
      expect(directiveArgument(field, 'listSize', 'slicingArguments'), field.name).toEqual(['first']);
      const leaf = Object.values((schema.getType(shapeOf(field.type).name) as GraphQLObjectType).getFields()).find((f) => !isObjectType(getNamedType(f.type)) && f.args.length === 0)!;
      const above = await ask(`{ ${field.name}(first: ${MAX_LIST_BOUND + 1}) { ${leaf.name} } }`);
      expect(codes(above), field.name).toEqual(['BAD_USER_INPUT']);
    }
  });
});

describe(`paging through ${ROWS} rows written in one statement, ${PAGE} at a time (${testDatabaseKind})`, () => {
  /** Pages through `field` to its end, returning every node's key in the order received. */
  async function pageThrough(field: string, selection: string, keyOf: (node: Loose) => string, args = ''): Promise<string[]> {
    const keys: string[] = [];
    let after: string | null = null;
    for (let page = 0; ; page++) {
      expect(page, `${field} ends`).toBeLessThan(1_000);
      const body: Loose = await ask(
        `query Page($after: String) { ${field}(first: ${PAGE}, after: $after${args}) { edges { cursor node { ${selection} } } pageInfo { hasNextPage hasPreviousPage startCursor endCursor } } }`,
        { after },
      );
      expect(body.errors, field).toBeUndefined();
      const { edges, pageInfo } = body.data[field];
      keys.push(...edges.map((edge: Loose) => keyOf(edge.node)));
      expect(pageInfo.hasPreviousPage).toBe(after !== null);
      expect(pageInfo.startCursor).toBe(edges[0]?.cursor ?? null);
      expect(pageInfo.endCursor).toBe(edges.at(-1)?.cursor ?? null);
      if (!pageInfo.hasNextPage) return keys;
      expect(edges).toHaveLength(PAGE);
      after = pageInfo.endCursor;
    }
  }

  /** Every key once, and among them each of `expected` (the rows this test wrote). */
  function expectEachOnce(keys: readonly string[], expected: ReadonlySet<string>): void {
    expect(new Set(keys).size, 'no key repeated').toBe(keys.length);
    const ours = keys.filter((k) => expected.has(k));
    expect(ours.length).toBe(expected.size);
  }

  async function idsOf(query: ReturnType<typeof sql>): Promise<Set<string>> {
    return new Set(rowsOf<{ id: string | number }>(await gateway.database.db.execute(query)).map((row) => String(row.id)));
  }

  it('orders, all received in one instant: each once (the cursor keeps microseconds and the id)', async () => {
    const ids = await idsOf(sql`
      insert into shopify_orders (shop, shopify_order_id, name, status, source, shopify_created_at, shopify_updated_at, snapshot)
      select ${shop}, (770000000000 + g)::text, ${TAG} || g, 'CANCELLED', 'webhook', now(), now(), '{}'::jsonb
      from generate_series(1, ${ROWS}) g
      returning id`);
    const [written] = rowsOf<{ instants: number }>(
      await gateway.database.db.execute(sql`select count(distinct received_at)::int as instants from shopify_orders where name like ${`${TAG}%`}`),
    );
    expect(Number(written!.instants), 'the orders share one received_at').toBe(1);
    expectEachOnce(await pageThrough('orders', 'id', (node) => node.id), ids);
    const counted = await ask('{ orders(first: 1, status: CANCELLED) { totalCount } }');
    expect(counted.data.orders.totalCount).toBeGreaterThanOrEqual(ROWS);
  });

  it('webhook deliveries received in one instant: each once', async () => {
    const ids = await idsOf(sql`
      insert into webhook_inbox (shop, webhook_id, topic, body, status, outcome)
      select ${shop}, ${TAG} || g, 'orders/create', '{}', 'IGNORED', 'paging test'
      from generate_series(1, ${ROWS}) g
      returning id`);
    expectEachOnce(await pageThrough('webhookDeliveries', 'id', (node) => node.id), ids);
  });

  it('reservations created in one instant: each once, and totalCount counts them', async () => {
    const sku = `${TAG}RESERVED`;
    // Each reservation with its one line, as the service writes them (a reservation is found by its lines).
    const ids = await idsOf(sql`
      with made as (
        insert into reservations (shop, sku, location, quantity, reference, idempotency_key, request_hash, status, expires_at, created_by, created_at, updated_at, closed_at)
        select ${shop}, ${sku}, 'WH', 1, ${TAG} || g, ${TAG} || g, 'paging', 'RELEASED', now(), 'paging-test', now(), now(), now()
        from generate_series(1, ${ROWS}) g
        returning id, shop, sku, location, quantity
      ), lines as (
        insert into reservation_lines (reservation_id, line, shop, sku, location, quantity, status, updated_at, closed_at)
        select id, 1, shop, sku, location, quantity, 'RELEASED', now(), now() from made
      )
      select id from made`);
    const keys = await pageThrough('reservations', 'id', (node) => node.id, `, sku: "${sku}"`);
    expect(keys.length).toBe(ROWS);
    expectEachOnce(keys, ids);
    const counted = await ask(`{ reservations(first: 0, sku: "${sku}") { totalCount edges { cursor } pageInfo { hasNextPage } } }`);
    expect(counted.data.reservations).toEqual({ totalCount: ROWS, edges: [], pageInfo: { hasNextPage: true } });
  });

  it('sync runs started in one instant: each once', async () => {
    const ids = await idsOf(sql`
      insert into sync_runs (shop, kind, status, request, finished_at)
      select ${shop}, 'MANUAL', 'SUCCEEDED', jsonb_build_object('tag', ${TAG} || g), now()
      from generate_series(1, ${ROWS}) g
      returning id`);
    expectEachOnce(await pageThrough('syncRuns', 'id', (node) => node.id), ids);
  });

  // Products, their drift and their lots share one catalogue of SKUs written here.
  const skus = Array.from({ length: ROWS }, (_, i) => `${TAG}${String(i).padStart(5, '0')}`);

  it('products refreshed in one instant: each once, in SKU order', async () => {
    await gateway.database.db.execute(sql`
      insert into erp_products (sku, name, stock_tracked)
      select ${TAG} || lpad((g - 1)::text, 5, '0'), 'Paging product', true
      from generate_series(1, ${ROWS}) g`);
    const keys = await pageThrough('products', 'sku', (node) => node.sku);
    expectEachOnce(keys, new Set(skus));
    expect(keys.filter((sku) => sku.startsWith(TAG))).toEqual(skus);
  });

  it('drift of mapped positions read in one instant: each once, through the connection and not the bounded list', async () => {
    const [target] = rowsOf<{ erp_location: string }>(
      await gateway.database.db.execute(sql`
        select lm.erp_location from location_mappings lm
        join shopify_locations sl on sl.shop = lm.shop and sl.location_id = lm.shopify_location_id and sl.is_active
        join erp_locations el on el.code = lm.erp_location and el.active
        where lm.shop = ${shop} order by lm.erp_location limit 1`),
    );
    expect(target, 'the demo maps a location').toBeDefined();
    const db = gateway.database.db;
    await db.execute(sql`
      insert into shopify_variants (shop, variant_id, sku, product_id, product_title, variant_title, inventory_item_id, tracked)
      select ${shop}, 'gid://shopify/ProductVariant/' || (660000000 + g), ${TAG} || lpad((g - 1)::text, 5, '0'), 'gid://shopify/Product/660000000',
             'Paging', 'Default', 'gid://shopify/InventoryItem/' || (660000000 + g), true
      from generate_series(1, ${ROWS}) g`);
    await db.execute(sql`
      insert into sku_mappings (shop, erp_sku, source, shopify_variant_id, shopify_sku, shopify_inventory_item_id)
      select ${shop}, ${TAG} || lpad((g - 1)::text, 5, '0'), 'MANUAL', 'gid://shopify/ProductVariant/' || (660000000 + g),
             ${TAG} || lpad((g - 1)::text, 5, '0'), 'gid://shopify/InventoryItem/' || (660000000 + g)
      from generate_series(1, ${ROWS}) g`);
    await db.execute(sql`
      insert into inventory_levels (shop, sku, location, on_hand, available_to_promise, shopify_available, shopify_read_at)
      select ${shop}, ${TAG} || lpad((g - 1)::text, 5, '0'), ${target!.erp_location}, 5, 5, 7, now()
      from generate_series(1, ${ROWS}) g`);

    const bounded = await ask(`{ inventoryDrift(first: ${MAX_LIST_BOUND}) { sku } }`);
    expect(codes(bounded)).toEqual(['RESULT_TOO_LARGE']);
    expect(bounded.errors[0].message).toContain('inventoryDriftConnection');
    const keys = await pageThrough('inventoryDriftConnection', 'sku shopifyLocationId', (node) => `${node.sku}@${node.shopifyLocationId}`);
    const ours = keys.filter((k) => k.startsWith(TAG));
    expect(new Set(keys).size).toBe(keys.length);
    expect(ours.map((k) => k.split('@')[0])).toEqual(skus);
    const one = await ask(`{ inventoryDrift(sku: "${skus[7]}") { sku difference } }`);
    expect(one.data.inventoryDrift).toEqual([{ sku: skus[7], difference: 2 }]);
  });

  it('lots refreshed in one instant, half with one expiry date and half without: each once, FEFO', async () => {
    await gateway.database.db.execute(sql`
      insert into inventory_lots (shop, sku, location, number, quantity, expires_on, refreshed_at)
      select ${shop}, ${TAG} || lpad(((g - 1) % 40)::text, 5, '0'), 'WH', ${TAG} || 'LOT-' || g, 1,
             case when g % 2 = 0 then date '2031-01-01' end, now()
      from generate_series(1, ${ROWS}) g`);
    const bounded = await ask(`{ lots(first: ${MAX_LIST_BOUND}) { number } }`);
    expect(codes(bounded)).toEqual(['RESULT_TOO_LARGE']);
    expect(bounded.errors[0].message).toContain('lotsConnection');
    const keys = await pageThrough('lotsConnection', 'number sku location expiresOn', (node) => `${node.number}|${node.expiresOn ?? ''}`);
    const ours = keys.filter((k) => k.startsWith(TAG));
    expect(new Set(keys).size).toBe(keys.length);
    expect(ours).toHaveLength(ROWS);
    const firstUndated = ours.findIndex((k) => k.endsWith('|'));
    expect(ours.slice(0, firstUndated).every((k) => k.endsWith('|2031-01-01'))).toBe(true);
    expect(ours.slice(firstUndated).every((k) => k.endsWith('|'))).toBe(true);
  });
});
