import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestGateway, type TestGateway } from '../support/gateway.js';

let gateway: TestGateway;
let syncKey: string;
let readKey: string;

beforeAll(async () => {
  gateway = await startTestGateway();
  await gateway.services.inventory.whenReady();
  syncKey = await gateway.createKey(['read', 'sync']);
  readKey = await gateway.createKey(['read']);
});

afterAll(async () => {
  await gateway?.close();
});

const RUN_FIELDS = `id kind status dryRun full startedAt finishedAt itemsConsidered itemsPushed itemsUnchanged itemsFailed driftFound skus locations
  failure { code message } errors { sku location code message } changes(first: 5) { sku location shopifyInventoryItemId shopifyLocationId from to applied }`;

interface RunView {
  id: string;
  kind: string;
  status: string;
  dryRun: boolean;
  itemsPushed: number;
  itemsConsidered: number;
  driftFound: number | null;
  changes: Array<{ from: number | null; to: number; applied: boolean }>;
}

describe('sync over GraphQL', () => {
  it('pushInventory needs the SYNC scope', async () => {
    const { body } = await gateway.graphql<{ errors?: Array<{ extensions: { code: string } }> }>(
      readKey,
      `mutation { pushInventory(input: { dryRun: true }) { id } }`,
    );
    expect(body.errors?.[0]?.extensions.code).toBe('FORBIDDEN');
  });

  it('a dry full push reports the drift and the changes it would make, then a real one makes them', async () => {
    const dry = await gateway.graphql<{ data: { pushInventory: RunView } }>(syncKey, `mutation($input: PushInventoryInput!) { pushInventory(input: $input) { ${RUN_FIELDS} } }`, {
      input: { full: true, dryRun: true },
    });
    const planned = dry.body.data.pushInventory;
    expect(planned).toMatchObject({ kind: 'MANUAL', status: 'SUCCEEDED', dryRun: true });
    expect(planned.itemsPushed).toBeGreaterThan(0);
    expect(planned.driftFound).toBe(planned.itemsPushed);
    expect(planned.changes).toHaveLength(5);
    expect(planned.changes.every((change) => !change.applied)).toBe(true);

    const real = await gateway.graphql<{ data: { pushInventory: RunView } }>(syncKey, `mutation { pushInventory(input: { full: true }) { ${RUN_FIELDS} } }`);
    expect(real.body.data.pushInventory).toMatchObject({ status: 'SUCCEEDED', dryRun: false });
    // The demo ERP moves a few SKUs' stock every 10 s (5 at its default pace), so a change may
    // land between the two runs: the real run makes what the dry one planned, give or take those.
    expect(Math.abs(real.body.data.pushInventory.itemsPushed - planned.itemsPushed)).toBeLessThanOrEqual(5);

    const read = await gateway.graphql<{ data: { syncRun: RunView } }>(readKey, `query($id: ID!) { syncRun(id: $id) { ${RUN_FIELDS} } }`, { id: real.body.data.pushInventory.id });
    expect(read.body.data.syncRun.changes.every((change) => change.applied)).toBe(true);
  });

  it('a push of named SKUs is recorded with them, and syncRuns pages newest first', async () => {
    const pushed = await gateway.graphql<{ data: { pushInventory: RunView & { skus: string[] } } }>(
      syncKey,
      `mutation { pushInventory(input: { skus: ["BRACKET-V2-BLU", "NO-SUCH-SKU"] }) { ${RUN_FIELDS} } }`,
    );
    expect(pushed.body.data.pushInventory).toMatchObject({ status: 'SUCCEEDED', skus: ['BRACKET-V2-BLU', 'NO-SUCH-SKU'] });

    const first = await gateway.graphql<{ data: { syncRuns: { edges: Array<{ cursor: string; node: { id: string } }>; pageInfo: { hasNextPage: boolean; endCursor: string } } } }>(
      readKey,
      `{ syncRuns(first: 1) { edges { cursor node { id } } pageInfo { hasNextPage endCursor } } }`,
    );
    expect(first.body.data.syncRuns.edges[0]!.node.id).toBe(pushed.body.data.pushInventory.id);
    expect(first.body.data.syncRuns.pageInfo.hasNextPage).toBe(true);
    const second = await gateway.graphql<{ data: { syncRuns: { edges: Array<{ node: { id: string } }> } } }>(
      readKey,
      `query($after: String) { syncRuns(first: 10, after: $after) { edges { node { id } } } }`,
      { after: first.body.data.syncRuns.pageInfo.endCursor },
    );
    expect(second.body.data.syncRuns.edges.map((edge) => edge.node.id)).not.toContain(pushed.body.data.pushInventory.id);
    expect(second.body.data.syncRuns.edges.length).toBeGreaterThanOrEqual(2);
  });

  it('an unknown run is null', async () => {
    const { body } = await gateway.graphql<{ data: { syncRun: null } }>(readKey, `{ syncRun(id: "not-a-run") { id } }`);
    expect(body.data.syncRun).toBeNull();
  });
});
