import { buildSchema } from 'graphql';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadTypeDefs } from '../../src/http/graphql-schema.js';
import { startTestGateway, type TestGateway } from '../support/gateway.js';
import { waitFor } from '../support/waiting.js';

/**
 * Every code a contract mutation's description lists (`Error codes: A, B.`) is produced through
 * GraphQL against the real gateway (the demo's simulated ERP and store) and checked as
 * `extensions.code`. The list of cases must equal what the schema lists: a new mutation or code
 * without a case here fails the first test. A code that needs a state this gateway cannot be put
 * in from outside is in NOT_HERE with the test that produces it. The operator actions' payload
 * mutations (`userErrors codes: A, B.`) get the same treatment: each listed code is answered as a
 * userError through GraphQL.
 */

type Answer = { data?: Record<string, unknown> | null; errors?: Array<{ message: string; extensions?: { code?: string } }> };
type Call = (gateway: TestGateway, key: string) => Promise<Answer>;

const ZERO_ID = '00000000-0000-0000-0000-000000000000';

const schema = buildSchema(loadTypeDefs());
const listed: Record<string, string[]> = Object.fromEntries(
  Object.values(schema.getMutationType()!.getFields()).flatMap((field) => {
    const line = /^Error codes: ([A-Z_]+(?:, [A-Z_]+)*)\.$/m.exec(field.description ?? '');
    return line ? [[field.name, line[1]!.split(', ')]] : [];
  }),
);

/** Codes produced only in a state the running gateway cannot be put in from outside, and where they are tested. */
const NOT_HERE: Record<string, Record<string, string>> = {
  mapSku: {
    CATALOGUE_NOT_READY: 'test/inventory/catalogue-refresh.test.ts (the first start held before the catalogue is filled)',
    SHOPIFY_SKU_AMBIGUOUS: 'test/inventory/mapping.service.test.ts (a store with two variants of one SKU; the demo store has none)',
  },
  mapLocation: {
    CATALOGUE_NOT_READY: 'test/inventory/catalogue-refresh.test.ts',
    SHOPIFY_LOCATION_INACTIVE: 'test/inventory/mapping.service.test.ts (a deactivated Shopify location; the demo store has none)',
    LOCATION_OVERLAP: 'test/inventory/mapping.service.test.ts (nested ERP locations; the demo ERP has none)',
  },
  pushInventory: { CATALOGUE_NOT_READY: 'test/inventory/catalogue-refresh.test.ts' },
  reserveInventory: { STORE_UNAVAILABLE: 'test/reservations/reservations.store-take.test.ts (the store answering 503 to every call)' },
};

/** The payload mutations of the operator actions whose every listed userErrors code is produced here. */
const PAYLOAD_MUTATIONS = ['acknowledgeAlert', 'unmapSku', 'setSkuNormalizationRules', 'runJobNow', 'replayOrders', 'replayWebhookDeliveries'];
const listedUserErrors: Record<string, string[]> = Object.fromEntries(
  Object.values(schema.getMutationType()!.getFields()).flatMap((field) => {
    const line = /^userErrors codes: ([A-Z_]+(?:, [A-Z_]+)*)\.$/m.exec(field.description ?? '');
    return line && PAYLOAD_MUTATIONS.includes(field.name) ? [[field.name, line[1]!.split(', ')]] : [];
  }),
);
const USER_ERRORS_NOT_HERE: Record<string, Record<string, string>> = {
  runJobNow: { SCHEDULER_STOPPED: 'test/scheduler/scheduler.test.ts (a scheduler that is shutting down)' },
};

let demoSku = '';
let demoLocation = '';
let shopifyLocationId = '';
let orderId = '';

const gql = (query: string, variables?: Record<string, unknown>): Call => async (gateway, key) => (await gateway.graphql<Answer>(key, query, variables)).body;

const MAP_SKU = 'mutation($input: MapSkuInput!) { mapSku(input: $input) { sku } }';
const MAP_LOCATION = 'mutation($input: MapLocationInput!) { mapLocation(input: $input) { code } }';
const SAFETY = 'mutation($input: SetSafetyStockInput!) { setSafetyStock(input: $input) { onHand } }';
const RESERVE = 'mutation($input: ReserveInventoryInput!) { reserveInventory(input: $input) { __typename ... on Reservation { id } } }';
const SWITCHES = 'mutation($input: SetSwitchesInput!) { setSwitches(input: $input) { inventoryPush ordersToErp } }';
const PUSH = 'mutation($input: PushInventoryInput!) { pushInventory(input: $input) { id } }';

async function withSwitch(gateway: TestGateway, key: string, input: Record<string, string>, back: Record<string, string>, call: Call): Promise<Answer> {
  const set = await gql(SWITCHES, { input })(gateway, key);
  expect(set.errors).toBeUndefined();
  try {
    return await call(gateway, key);
  } finally {
    await gql(SWITCHES, { input: back })(gateway, key);
  }
}

async function reserved(gateway: TestGateway, key: string, idempotencyKey: string): Promise<string> {
  const made = await gql(RESERVE, { input: { sku: demoSku, location: demoLocation, quantity: 1, reference: idempotencyKey, idempotencyKey } })(gateway, key);
  const reservation = made.data?.reserveInventory as { __typename: string; id: string };
  expect(reservation.__typename).toBe('Reservation');
  return reservation.id;
}

const CASES: Record<string, Record<string, Call>> = {
  createApiKey: {
    BAD_USER_INPUT: gql('mutation { createApiKey(input: { name: "  ", scopes: [READ] }) { key } }'),
  },
  revokeApiKey: {
    NOT_FOUND: gql(`mutation { revokeApiKey(id: "${ZERO_ID}") { id } }`),
  },
  setSwitches: {
    BAD_USER_INPUT: gql(SWITCHES, { input: { inventoryPush: 'LOUD' } }),
  },
  mapSku: {
    BAD_USER_INPUT: (gateway, key) => gql(MAP_SKU, { input: { erpSku: demoSku } })(gateway, key),
    UNKNOWN_SKU: (gateway, key) => gql(MAP_SKU, { input: { erpSku: 'NO-SUCH-ERP-SKU', shopifySku: demoSku } })(gateway, key),
    SHOPIFY_VARIANT_NOT_FOUND: (gateway, key) => gql(MAP_SKU, { input: { erpSku: demoSku, shopifyVariantId: 'gid://shopify/ProductVariant/999999999' } })(gateway, key),
    SHOPIFY_VARIANT_ALREADY_MAPPED: async (gateway, key) => {
      // Another SKU's variant, held by hand by that SKU: nobody else may take it.
      const other = gateway.demo!.shopify.state.levels().find((level) => level.sku && level.sku !== demoSku)!;
      const held = await gql(MAP_SKU, { input: { erpSku: other.sku, shopifySku: other.sku } })(gateway, key);
      expect(held.errors).toBeUndefined();
      const variant = (await gateway.services.inventory.mapping.findSkuMappingsBySkus([other.sku!]))[0]!.shopifyVariantId;
      return gql(MAP_SKU, { input: { erpSku: demoSku, shopifyVariantId: variant } })(gateway, key);
    },
  },
  mapLocation: {
    UNKNOWN_LOCATION: (gateway, key) => gql(MAP_LOCATION, { input: { erpLocation: 'NOWHERE', shopifyLocationId } })(gateway, key),
    SHOPIFY_LOCATION_NOT_FOUND: (gateway, key) => gql(MAP_LOCATION, { input: { erpLocation: demoLocation, shopifyLocationId: 'gid://shopify/Location/999999999' } })(gateway, key),
  },
  setSafetyStock: {
    BAD_USER_INPUT: (gateway, key) => gql(SAFETY, { input: { sku: demoSku, location: demoLocation, quantity: -1 } })(gateway, key),
    UNKNOWN_SKU: (gateway, key) => gql(SAFETY, { input: { sku: 'NO-SUCH-ERP-SKU', quantity: 1 } })(gateway, key),
    UNKNOWN_LOCATION: (gateway, key) => gql(SAFETY, { input: { location: 'NOWHERE', quantity: 1 } })(gateway, key),
  },
  replayOrder: {
    NOT_FOUND: gql(`mutation { replayOrder(id: "${ZERO_ID}") { id } }`),
    ORDERS_TO_ERP_OFF: (gateway, key) => withSwitch(gateway, key, { ordersToErp: 'OFF' }, { ordersToErp: 'ON' }, gql(`mutation { replayOrder(id: "${orderId}") { id } }`)),
  },
  reserveInventory: {
    BAD_USER_INPUT: (gateway, key) => gql(RESERVE, { input: { sku: demoSku, location: demoLocation, quantity: 0, reference: 'r', idempotencyKey: 'codes-bad' } })(gateway, key),
    IDEMPOTENCY_KEY_REUSED: async (gateway, key) => {
      await reserved(gateway, key, 'codes-reused');
      return gql(RESERVE, { input: { sku: demoSku, location: demoLocation, quantity: 2, reference: 'codes-reused', idempotencyKey: 'codes-reused' } })(gateway, key);
    },
  },
  releaseReservation: {
    RESERVATION_NOT_FOUND: gql(`mutation { releaseReservation(id: "${ZERO_ID}") { id } }`),
    RESERVATION_NOT_ACTIVE: async (gateway, key) => {
      const id = await reserved(gateway, key, 'codes-release');
      expect((await gql(`mutation { releaseReservation(id: "${id}") { id } }`)(gateway, key)).errors).toBeUndefined();
      return gql(`mutation { releaseReservation(id: "${id}") { id } }`)(gateway, key);
    },
  },
  commitReservation: {
    RESERVATION_NOT_FOUND: gql(`mutation { commitReservation(id: "${ZERO_ID}") { id } }`),
    RESERVATION_NOT_ACTIVE: async (gateway, key) => {
      const id = await reserved(gateway, key, 'codes-commit');
      expect((await gql(`mutation { releaseReservation(id: "${id}") { id } }`)(gateway, key)).errors).toBeUndefined();
      return gql(`mutation { commitReservation(id: "${id}") { id } }`)(gateway, key);
    },
  },
  pushInventory: {
    BAD_USER_INPUT: gql(PUSH, { input: { skus: [] } }),
    INVENTORY_PUSH_OFF: (gateway, key) => withSwitch(gateway, key, { inventoryPush: 'OFF' }, { inventoryPush: 'ON' }, gql(PUSH, { input: { full: true } })),
  },
};

/** A job the test holds running, so a second run of it is refused. */
let releaseHeld: () => void = () => undefined;
const HELD_JOB = {
  name: 'test.held',
  intervalMs: 3_600_000,
  timeoutMs: 120_000,
  run: () =>
    new Promise<{ held: boolean }>((resolve) => {
      releaseHeld = () => resolve({ held: true });
    }),
};

const REPLAY_ORDERS = 'mutation($input: ReplayOrdersInput!) { replayOrders(input: $input) { userErrors { code } } }';
const REPLAY_DELIVERIES = 'mutation($input: ReplayWebhookDeliveriesInput!) { replayWebhookDeliveries(input: $input) { userErrors { code } } }';
const RULES = 'mutation($input: SetSkuNormalizationRulesInput!) { setSkuNormalizationRules(input: $input) { userErrors { code } } }';
const RUN_JOB = 'mutation($input: RunJobNowInput!) { runJobNow(input: $input) { userErrors { code } } }';

const USER_ERROR_CASES: Record<string, Record<string, Call>> = {
  acknowledgeAlert: {
    ALERT_NOT_FOUND: gql('mutation { acknowledgeAlert(input: { id: "999999" }) { userErrors { code } } }'),
  },
  unmapSku: {
    BLANK_SKU: gql('mutation { unmapSku(input: { erpSku: "  " }) { userErrors { code } } }'),
    NOT_MANUALLY_MAPPED: (gateway, key) => gql('mutation($sku: String!) { unmapSku(input: { erpSku: $sku }) { userErrors { code } } }', { sku: demoSku })(gateway, key),
  },
  setSkuNormalizationRules: {
    BLANK_TERM: gql(RULES, { input: { abbreviations: [{ from: ' ', to: 'BLACK' }], dryRun: true } }),
    DUPLICATE_TERM: gql(RULES, { input: { abbreviations: [{ from: 'BLK', to: 'BLACK' }, { from: 'BLK', to: 'BLUE' }], dryRun: true } }),
  },
  runJobNow: {
    UNKNOWN_JOB: gql(RUN_JOB, { input: { job: 'no.such.job' } }),
    JOB_ALREADY_RUNNING: async (gateway, key) => {
      const first = gql(RUN_JOB, { input: { job: HELD_JOB.name } })(gateway, key);
      await waitFor(() => gateway.scheduler.status(), (status) => status.jobs.some((job) => job.name === HELD_JOB.name && job.runningHere), { timeoutMs: 30_000 });
      try {
        return await gql(RUN_JOB, { input: { job: HELD_JOB.name } })(gateway, key);
      } finally {
        releaseHeld();
        expect((await first).errors).toBeUndefined();
      }
    },
  },
  replayOrders: {
    NO_FILTER: gql(REPLAY_ORDERS, { input: { dryRun: true } }),
    LIMIT_TOO_LARGE: gql(REPLAY_ORDERS, { input: { status: 'FAILED', limit: 501 } }),
    NOT_FOUND: gql(REPLAY_ORDERS, { input: { ids: [ZERO_ID], dryRun: true } }),
    NOT_REPLAYABLE: (gateway, key) => gql(REPLAY_ORDERS, { input: { ids: [orderId], dryRun: true } })(gateway, key),
    ORDERS_TO_ERP_OFF: (gateway, key) => withSwitch(gateway, key, { ordersToErp: 'OFF' }, { ordersToErp: 'ON' }, gql(REPLAY_ORDERS, { input: { status: 'FAILED' } })),
  },
  replayWebhookDeliveries: {
    NO_FILTER: gql(REPLAY_DELIVERIES, { input: { dryRun: true } }),
    LIMIT_TOO_LARGE: gql(REPLAY_DELIVERIES, { input: { filter: { status: 'FAILED' }, limit: 501 } }),
    NOT_FOUND: gql(REPLAY_DELIVERIES, { input: { ids: ['99999999999'], dryRun: true } }),
    NOT_REPLAYABLE: async (gateway, key) => {
      const applied = await waitFor(
        async () => (await gateway.services.orders.listDeliveries({ orderId, topic: 'orders/create' })).edges[0]?.node,
        (node) => node?.status === 'DONE',
        { timeoutMs: 60_000 },
      );
      return gql(REPLAY_DELIVERIES, { input: { ids: [String(applied!.id)], dryRun: true } })(gateway, key);
    },
  },
};

describe('every error code a contract mutation lists is produced through GraphQL', () => {
  it('has a case (or a named test elsewhere) for exactly the mutations and codes the schema lists', () => {
    const covered = Object.fromEntries(
      [...new Set([...Object.keys(CASES), ...Object.keys(NOT_HERE)])].map((name) => [name, [...Object.keys(CASES[name] ?? {}), ...Object.keys(NOT_HERE[name] ?? {})].sort()]),
    );
    const wanted = Object.fromEntries(Object.entries(listed).map(([name, codes]) => [name, [...codes].sort()]));
    expect(covered).toEqual(wanted);
  });

  it("has a case (or a named test elsewhere) for every userErrors code the operator actions' payload mutations list", () => {
    const covered = Object.fromEntries(PAYLOAD_MUTATIONS.map((name) => [name, [...Object.keys(USER_ERROR_CASES[name] ?? {}), ...Object.keys(USER_ERRORS_NOT_HERE[name] ?? {})].sort()]));
    const wanted = Object.fromEntries(PAYLOAD_MUTATIONS.map((name) => [name, [...(listedUserErrors[name] ?? [])].sort()]));
    expect(covered).toEqual(wanted);
  });

  describe('against the gateway', () => {
    let gateway: TestGateway;
    let key: string;

    beforeAll(async () => {
      gateway = await startTestGateway({}, { jobs: [HELD_JOB] });
      key = await gateway.createKey(['read', 'sync', 'reserve', 'admin']);
      await gateway.services.inventory.whenReady();
      const level = gateway.demo!.shopify.state.levels().find((candidate) => candidate.sku && candidate.quantities.available >= 10 && !['GIFT-CARD-25', 'MERCH-TSHIRT-M', 'SAMPLE-PACK'].includes(candidate.sku))!;
      demoSku = level.sku!;
      const locations = (await gateway.graphql<{ data: { locations: Array<{ code: string; shopifyLocationId: string | null }> } }>(key, '{ locations { code shopifyLocationId } }')).body.data.locations;
      const mapped = locations.find((location) => location.shopifyLocationId)!;
      demoLocation = mapped.code;
      shopifyLocationId = mapped.shopifyLocationId!;
      const placed = gateway.demo!.shopify.state.placeOrder({ lines: [{ sku: demoSku, quantity: 1 }] });
      if (!placed.placed) throw new Error('refused');
      orderId = (await waitFor(() => gateway.services.orders.findOrder(placed.order.id), (order) => order !== null, { timeoutMs: 60_000 }))!.id;
    }, 180_000);
    afterAll(async () => {
      await gateway?.close();
    });

    const cases = Object.entries(CASES).flatMap(([mutation, codes]) => Object.entries(codes).map(([code, call]) => ({ mutation, code, call })));
    it.each(cases)('$mutation answers $code', async ({ code, call }) => {
      const answer = await call(gateway, key);
      expect(answer.errors?.map((error) => error.extensions?.code), JSON.stringify(answer.errors)).toEqual([code]);
    }, 60_000);

    const userErrorCases = Object.entries(USER_ERROR_CASES).flatMap(([mutation, codes]) => Object.entries(codes).map(([code, call]) => ({ mutation, code, call })));
    it.each(userErrorCases)('$mutation answers the userError $code', async ({ mutation, code, call }) => {
      const answer = await call(gateway, key);
      expect(answer.errors, JSON.stringify(answer.errors)).toBeUndefined();
      const result = answer.data![mutation] as { userErrors: Array<{ code: string }> };
      expect(result.userErrors.map((error) => error.code)).toContain(code);
    }, 90_000);
  });
});
