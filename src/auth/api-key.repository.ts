import { desc, eq, isNull, and, lt, or } from 'drizzle-orm';
import type { Db } from '../db/database.js';
import { apiKeys } from '../db/schema/index.js';
import type { ApiKeyRecord, ApiScope } from './api-key.models.js';

type Row = typeof apiKeys.$inferSelect;

function toRecord(row: Row): ApiKeyRecord {
  return {
    id: row.id,
    name: row.name,
    prefix: row.prefix,
    scopes: row.scopes as ApiScope[],
    createdAt: row.createdAt,
    lastUsedAt: row.lastUsedAt,
    revokedAt: row.revokedAt,
  };
}

export function createApiKeyRepository(db: Db) {
  return {
    async insert(values: { name: string; prefix: string; hash: string; scopes: ApiScope[] }): Promise<ApiKeyRecord> {
      const [row] = await db.insert(apiKeys).values(values).returning();
      return toRecord(row!);
    },

    /** The active (not revoked) key with this prefix, with its hash, if any. */
    async findActiveByPrefix(prefix: string): Promise<(ApiKeyRecord & { hash: string }) | undefined> {
      const [row] = await db
        .select()
        .from(apiKeys)
        .where(and(eq(apiKeys.prefix, prefix), isNull(apiKeys.revokedAt)))
        .limit(1);
      return row ? { ...toRecord(row), hash: row.hash } : undefined;
    },

    async findById(id: string): Promise<ApiKeyRecord | undefined> {
      const [row] = await db.select().from(apiKeys).where(eq(apiKeys.id, id)).limit(1);
      return row ? toRecord(row) : undefined;
    },

    /** Newest first; at most `limit` when given. */
    async list(limit?: number): Promise<ApiKeyRecord[]> {
      const query = db.select().from(apiKeys).orderBy(desc(apiKeys.createdAt));
      const rows = limit === undefined ? await query : await query.limit(limit);
      return rows.map(toRecord);
    },

    /** Revokes by id or prefix; returns the key, or nothing when neither matches. */
    async revoke(idOrPrefix: string, at: Date): Promise<ApiKeyRecord | undefined> {
      const byId = /^[0-9a-f-]{36}$/i.test(idOrPrefix);
      const [row] = await db
        .update(apiKeys)
        .set({ revokedAt: at })
        .where(and(byId ? eq(apiKeys.id, idOrPrefix) : eq(apiKeys.prefix, idOrPrefix), isNull(apiKeys.revokedAt)))
        .returning();
      if (row) return toRecord(row);
      return byId ? this.findById(idOrPrefix) : undefined;
    },

    /** Records use, at most once per `coarseness` so a busy key does not write on every request. */
    async touch(id: string, at: Date, coarsenessMs: number): Promise<void> {
      await db
        .update(apiKeys)
        .set({ lastUsedAt: at })
        .where(
          and(eq(apiKeys.id, id), or(isNull(apiKeys.lastUsedAt), lt(apiKeys.lastUsedAt, new Date(at.getTime() - coarsenessMs)))),
        );
    },
  };
}

export type ApiKeyRepository = ReturnType<typeof createApiKeyRepository>;
