import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createOperatorActions } from '../../src/operator-actions/operator-actions.js';
import { createTestDatabase, type TestDatabase } from '../support/database.js';

describe('operator actions record', () => {
  let database: TestDatabase;
  beforeAll(async () => {
    database = await createTestDatabase();
  });
  afterAll(async () => {
    await database.close();
  });

  it('counts the interventions recorded at or after a date, of every kind or of the kinds asked', async () => {
    const actions = createOperatorActions(database.db);
    await actions.record({ action: 'replayOrder', actor: 'key-1', target: 'order-1', at: new Date('2026-01-01T00:00:00Z') });
    await actions.recordMany([
      { action: 'replayOrder', actor: 'key-1', target: 'order-2', at: new Date('2026-01-08T00:00:00Z') },
      { action: 'mapSku', actor: 'cli:ops', target: 'SKU-1', details: { variantId: 'v1' }, at: new Date('2026-01-09T00:00:00Z') },
    ]);

    expect(await actions.countSince(new Date('2026-01-08T00:00:00Z'))).toBe(2);
    expect(await actions.countSince(new Date('2026-01-01T00:00:00Z'), ['replayOrder'])).toBe(2);
    expect(await actions.countSince(new Date('2026-01-01T00:00:00Z'), [])).toBe(0);
    expect(await actions.countSince(new Date('2026-02-01T00:00:00Z'))).toBe(0);
  });
});
