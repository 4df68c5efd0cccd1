import { index, integer, pgTable, text, timestamp } from 'drizzle-orm/pg-core';

/**
 * The Shopify app's side of a shop: how the gateway holds its Admin API token, and whether the
 * app is installed. One row per shop. Tokens are stored only as ciphertext (AES-256-GCM under
 * ENCRYPTION_KEY, see src/secrets/secret-box.ts), never in clear.
 *
 * Renewals happen under a row lock (`SELECT … FOR UPDATE`): an instance that finds the token due
 * takes the lock, looks again, and renews only if nobody did meanwhile, so several instances
 * renew once. `token_version` counts renewals (a cheap "did it change" for caches and tests).
 */
export const shopifyInstallations = pgTable('shopify_installations', {
  shop: text('shop').primaryKey(),
  /** `client_credentials` or `authorization_code`: how a new token is obtained. */
  grant: text('grant', { enum: ['client_credentials', 'authorization_code'] }).notNull(),
  /** `installed`, or `uninstalled` after `app/uninstalled` (every token revoked, all work stopped). */
  status: text('status', { enum: ['installed', 'uninstalled'] }).notNull(),
  accessTokenSealed: text('access_token_sealed'),
  accessTokenExpiresAt: timestamp('access_token_expires_at', { withTimezone: true }),
  refreshTokenSealed: text('refresh_token_sealed'),
  refreshTokenExpiresAt: timestamp('refresh_token_expires_at', { withTimezone: true }),
  /** Scopes Shopify granted to the token, comma-separated as Shopify answers them. */
  scopes: text('scopes').notNull().default(''),
  tokenVersion: integer('token_version').notNull().default(0),
  installedAt: timestamp('installed_at', { withTimezone: true }).notNull().defaultNow(),
  uninstalledAt: timestamp('uninstalled_at', { withTimezone: true }),
  updatedAt: timestamp('updated_at', { withTimezone: true }).notNull().defaultNow(),
});

/**
 * `state` nonces of the authorization-code install: one per `GET /auth/shopify/install`, used at
 * most once by the callback and only before it expires. Kept in the database, not a cookie, so
 * the callback may land on any instance.
 */
export const shopifyOauthStates = pgTable(
  'shopify_oauth_states',
  {
    nonce: text('nonce').primaryKey(),
    shop: text('shop').notNull(),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
    expiresAt: timestamp('expires_at', { withTimezone: true }).notNull(),
    usedAt: timestamp('used_at', { withTimezone: true }),
  },
  (table) => [index('shopify_oauth_states_expires_idx').on(table.expiresAt)],
);

/**
 * The go-live switches every instance obeys (`inventory_push`: on, shadow, off;
 * `orders_to_erp`: on, off). In the database so that switching on reaches every instance
 * without a restart; each instance reads them before a push or an order submission.
 */
export const gatewaySwitches = pgTable('gateway_switches', {
  name: text('name').primaryKey(),
  value: text('value').notNull(),
  /** Who set it last: `env INVENTORY_PUSH at start`, `cli`, `graphql <key id>`. */
  setBy: text('set_by').notNull(),
  updatedAt: timestamp('updated_at', { withTimezone: true }).notNull().defaultNow(),
});
