import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { AppError, NotFoundError, ValidationError } from '../shared/errors.js';
import { listBound, withinBound } from '../shared/list-bounds.js';
import type { ApiKeyRepository } from './api-key.repository.js';
import { isApiScope, type ApiKeyRecord, type ApiScope, type Principal } from './api-key.models.js';

/**
 * API keys look like `sbk_<prefix>_<secret>`: the prefix (8 hex chars) finds the row, the whole
 * key's SHA-256 is compared in constant time. The secret is 32 random bytes (256 bits), so a fast
 * hash is safe; the key itself is returned once and never stored.
 */
const KEY_PATTERN = /^sbk_([0-9a-f]{8})_([A-Za-z0-9_-]{43})$/;

function hashKey(key: string): string {
  return createHash('sha256').update(key).digest('hex');
}

/** `last_used_at` is stamped at most once a minute per key: a coarse "is this key still used". */
const TOUCH_COARSENESS_MS = 60_000;

export function createApiKeyService(deps: { repository: ApiKeyRepository; now?: () => Date }) {
  const now = deps.now ?? (() => new Date());
  // When this instance last stamped each key: within the coarseness the stamp would change
  // nothing (the UPDATE's own condition), so the statement is not sent at all.
  const stamped = new Map<string, number>();
  return {
    async create(input: { name: string; scopes: string[] }): Promise<{ key: string; apiKey: ApiKeyRecord }> {
      const name = input.name.trim();
      if (!name) throw new ValidationError('an API key needs a name');
      const unknown = input.scopes.filter((s) => !isApiScope(s));
      if (unknown.length > 0) throw new ValidationError(`unknown scopes: ${unknown.join(', ')}; use read, sync, reserve, admin`);
      if (input.scopes.length === 0) throw new ValidationError('an API key needs at least one scope');
      const keyScopes = [...new Set(input.scopes)] as ApiScope[];
      for (let attempt = 0; attempt < 3; attempt++) {
        const prefix = randomBytes(4).toString('hex');
        const key = `sbk_${prefix}_${randomBytes(32).toString('base64url')}`;
        try {
          const apiKey = await deps.repository.insert({ name, prefix, hash: hashKey(key), scopes: keyScopes });
          return { key, apiKey };
        } catch (error) {
          // A prefix collision (1 in 4 billion) violates the unique index: draw again.
          if (attempt === 2) throw error;
        }
      }
      throw new AppError('INTERNAL', 'could not create an API key');
    },

    /** The principal for a bearer key, or null for a malformed, unknown or revoked key. */
    async authenticate(key: string): Promise<Principal | null> {
      const match = KEY_PATTERN.exec(key);
      if (!match) return null;
      const record = await deps.repository.findActiveByPrefix(match[1]!);
      if (!record) return null;
      const expected = Buffer.from(record.hash, 'hex');
      const actual = Buffer.from(hashKey(key), 'hex');
      if (!timingSafeEqual(expected, actual)) return null;
      const at = now();
      const last = stamped.get(record.id);
      if (last === undefined || at.getTime() - last >= TOUCH_COARSENESS_MS || at.getTime() < last) {
        await deps.repository.touch(record.id, at, TOUCH_COARSENESS_MS);
        stamped.set(record.id, at.getTime());
      }
      return { keyId: record.id, name: record.name, scopes: new Set(record.scopes) };
    },

    /** Every key (the CLI), or, with `first` given (GraphQL), a bounded list: see src/shared/list-bounds.ts. */
    async list(page?: { first?: number | null }): Promise<ApiKeyRecord[]> {
      if (!page) return deps.repository.list();
      const bound = listBound(page.first);
      return withinBound(await deps.repository.list(bound + 1), bound, 'apiKeys', 'revoke keys no longer used, or pass a larger first');
    },

    async revoke(idOrPrefix: string): Promise<ApiKeyRecord> {
      const record = await deps.repository.revoke(idOrPrefix, now());
      if (!record) throw new NotFoundError('API key', idOrPrefix);
      return record;
    },
  };
}

export type ApiKeyService = ReturnType<typeof createApiKeyService>;
