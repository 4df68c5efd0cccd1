import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { ShopifySimulator } from '../../../src/simulators/shopify/index.js';
import { graphql, ids, SET_QUANTITIES, startSmallShop, type Loose } from './support.js';

describe('Shopify simulator: injected faults and the control API', () => {
  let simulator: ShopifySimulator;
  beforeEach(async () => {
    simulator = await startSmallShop();
  });
  afterEach(async () => {
    await simulator.close();
  });

  it('answers scripted 429, 503 and 500 faults with Retry-After in seconds, then serves normally', async () => {
    simulator.state.setAdminFaults({ script: ['http429', 'http503', 'http500'], retryAfterSeconds: 2 });
    const first = await graphql(simulator, '{ shop { name } }');
    expect(first.status).toBe(429);
    expect(first.headers.get('retry-after')).toBe('2.0');
    const second = await graphql(simulator, '{ shop { name } }');
    expect(second.status).toBe(503);
    expect(second.headers.get('retry-after')).toBe('2.0');
    expect((await graphql(simulator, '{ shop { name } }')).status).toBe(500);
    expect((await graphql(simulator, '{ shop { name } }')).status).toBe(200);
    expect(simulator.state.requestLog().map((entry) => entry.outcome)).toEqual(['fault-429', 'fault-503', 'fault-500', 'ok']);
  });

  it('drops the connection without an answer', async () => {
    simulator.state.setAdminFaults({ script: ['drop'] });
    await expect(graphql(simulator, '{ shop { name } }')).rejects.toThrow();
    expect(simulator.state.requestLog()[0]).toMatchObject({ outcome: 'fault-drop', status: null });
  });

  it('can apply a mutation and lose its answer; the retry with the same key replays instead of applying twice', async () => {
    const table = ids(simulator, 'TABLE-PINE', 'WH');
    const variables = { key: 'lost-answer', input: { name: 'available', reason: 'correction', quantities: [{ ...table, quantity: 9, changeFromQuantity: 3 }] } };
    simulator.state.setAdminFaults({ script: ['dropAfterExecute'] });
    await expect(graphql(simulator, SET_QUANTITIES, variables)).rejects.toThrow();
    expect(simulator.state.level({ sku: 'TABLE-PINE', location: 'WH' })?.quantities.available).toBe(9);
    const retry = await graphql(simulator, SET_QUANTITIES, variables);
    expect(retry.body.data?.inventorySetQuantities.userErrors).toEqual([]);
    expect(retry.body.data?.inventorySetQuantities.inventoryAdjustmentGroup.changes[0]).toMatchObject({ delta: 6, quantityAfterChange: 9 });
    expect(simulator.state.level({ sku: 'TABLE-PINE', location: 'WH' })?.quantities.available).toBe(9);
  });

  it('injects a share of faults from its seeded generator, the same for the same seed', async () => {
    const outcomes = async (seed: number) => {
      const shop = await startSmallShop({ seed });
      shop.state.setAdminFaults({ http503Rate: 0.5 });
      const statuses: number[] = [];
      for (let i = 0; i < 20; i++) statuses.push((await graphql(shop, '{ shop { name } }')).status);
      await shop.close();
      return statuses;
    };
    const first = await outcomes(7);
    expect(first).toEqual(await outcomes(7));
    expect(first.filter((status) => status === 503).length).toBeGreaterThan(3);
    expect(first.filter((status) => status === 200).length).toBeGreaterThan(3);
  });

  it('logs every request with its operation, root fields, costs and the bucket it found', async () => {
    await graphql(simulator, 'query Locations { locations(first: 5) { nodes { id } } }');
    const table = ids(simulator, 'TABLE-PINE', 'WH');
    await graphql(simulator, SET_QUANTITIES, { key: 'k1', input: { name: 'available', reason: 'correction', quantities: [{ ...table, quantity: 1, changeFromQuantity: 0 }] } });
    const log = (await (await fetch(`${simulator.adminUrl}/_simulator/requests`)).json()) as Loose[];
    expect(log).toHaveLength(2);
    expect(log[0]).toMatchObject({ operationName: 'Locations', operationType: 'query', rootFields: ['locations'], requestedCost: 7, actualCost: 4, throttled: false, status: 200, currentlyAvailableBefore: 2000 });
    expect(log[1]).toMatchObject({ operationName: 'SetQuantities', operationType: 'mutation', rootFields: ['inventorySetQuantities'], requestedCost: 10, actualCost: 10, errorCodes: ['CHANGE_FROM_QUANTITY_STALE'] });
    expect(typeof log[1].timestamp).toBe('string');
  });

  it('seeds, edits quantities as a merchant would, and changes plan and faults over HTTP', async () => {
    const post = (path: string, body: unknown, method = 'POST') =>
      fetch(`${simulator.adminUrl}/_simulator${path}`, { method, headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body) });
    const seeded = await post('/seed', { locations: [{ key: 'DC', name: 'Distribution centre' }], products: [{ title: 'Stool', variants: [{ sku: 'STOOL', levels: { DC: 4 } }] }] });
    expect(seeded.status).toBe(201);
    expect(((await seeded.json()) as Loose).variants[0].sku).toBe('STOOL');
    const edited = await post('/levels', { sku: 'STOOL', location: 'DC', quantity: 11 });
    expect(((await edited.json()) as Loose).quantities.available).toBe(11);
    const plan = await post('/plan', { plan: 'advanced' }, 'PUT');
    expect(await plan.json()).toEqual({ name: 'advanced', maximumAvailable: 4000, restoreRate: 200 });
    const faults = await post('/faults', { admin: { http429Rate: 0.1 }, webhooks: { duplicateRate: 0.2 } }, 'PUT');
    expect(await faults.json()).toMatchObject({ admin: { http429Rate: 0.1 }, webhooks: { duplicateRate: 0.2 } });
    const bad = await post('/faults', { admin: { http429Rate: 2 } }, 'PUT');
    expect(bad.status).toBe(400);
    const cleared = await fetch(`${simulator.adminUrl}/_simulator/faults`, { method: 'DELETE' });
    expect(await cleared.json()).toEqual({ admin: {}, webhooks: {} });
    const unknown = await fetch(`${simulator.adminUrl}/_simulator/orders/gid%3A%2F%2Fshopify%2FOrder%2F1`);
    expect(unknown.status).toBe(404);
  });
});
