import { sql } from 'drizzle-orm';
import { index, pgTable, text, timestamp, uuid } from 'drizzle-orm/pg-core';

/** API keys: only a SHA-256 hash of the secret part is stored; the key itself is shown once. */
export const apiKeys = pgTable(
  'api_keys',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    name: text('name').notNull(),
    /** The key's public, non-secret prefix (e.g. `sbk_3f9a1c2e`), for recognising it in lists and logs. */
    prefix: text('prefix').notNull().unique(),
    /** hex SHA-256 of the whole key. A key has 256 random bits, so a fast hash is enough. */
    hash: text('hash').notNull(),
    scopes: text('scopes').array().notNull(),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
    lastUsedAt: timestamp('last_used_at', { withTimezone: true }),
    revokedAt: timestamp('revoked_at', { withTimezone: true }),
  },
  (table) => [index('api_keys_active_idx').on(table.prefix).where(sql`${table.revokedAt} is null`)],
);
