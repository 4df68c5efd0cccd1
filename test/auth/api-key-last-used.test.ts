import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApiKeyRepository } from '../../src/auth/api-key.repository.js';
import { createApiKeyService } from '../../src/auth/api-key.service.js';
import { createTestDatabase, testDatabaseKind, type TestDatabase } from '../support/database.js';
import { countingDb } from '../inventory/support.js';

/**
 * Every request authenticates its key; `last_used_at` is a coarse stamp (once a minute), so
 * within the minute a request costs the key's lookup only, not an UPDATE as well.
 */
describe(`API key last use (${testDatabaseKind})`, () => {
  let database: TestDatabase;
  beforeAll(async () => {
    database = await createTestDatabase();
  });
  afterAll(async () => {
    await database.close();
  });

  it('stamps last_used_at on first use and again only after a minute, sending one statement per request in between', async () => {
    const counted = countingDb(database);
    let clock = new Date('2026-12-06T10:00:00.000Z');
    const service = createApiKeyService({ repository: createApiKeyRepository(counted.db), now: () => clock });
    const { key, apiKey } = await service.create({ name: 'touch', scopes: ['read'] });
    const lastUsed = async () => (await service.list()).find((record) => record.id === apiKey.id)!.lastUsedAt;

    expect(await service.authenticate(key)).toMatchObject({ keyId: apiKey.id });
    expect(await lastUsed()).toEqual(new Date('2026-12-06T10:00:00.000Z'));

    clock = new Date('2026-12-06T10:00:30.000Z');
    counted.reset();
    expect(await service.authenticate(key)).toMatchObject({ keyId: apiKey.id });
    expect(counted.queries()).toBe(1);
    expect(await lastUsed()).toEqual(new Date('2026-12-06T10:00:00.000Z'));

    clock = new Date('2026-12-06T10:01:01.000Z');
    counted.reset();
    expect(await service.authenticate(key)).toMatchObject({ keyId: apiKey.id });
    expect(counted.queries()).toBe(2);
    expect(await lastUsed()).toEqual(new Date('2026-12-06T10:01:01.000Z'));

    // A revoked key is refused at once, stamp or no stamp.
    await service.revoke(apiKey.id);
    expect(await service.authenticate(key)).toBeNull();
  });
});
