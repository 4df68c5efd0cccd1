import { and, eq, gt, isNull, lt, sql } from 'drizzle-orm';
import type { Db } from '../../db/database.js';
import { shopifyInstallations, shopifyOauthStates } from '../../db/schema/shopify-app.js';
import type { SecretBox } from '../../secrets/secret-box.js';
import { AppError } from '../../shared/errors.js';
import type { GrantedToken } from './oauth-client.js';

/**
 * The one writer of `shopify_installations` and `shopify_oauth_states`. Tokens go in sealed
 * (secret-box.ts, the shop as associated data) and come out opened; nothing else in the gateway
 * sees a sealed value or the table.
 */
export type GrantKind = 'client_credentials' | 'authorization_code';

export interface Installation {
  shop: string;
  grant: GrantKind;
  status: 'installed' | 'uninstalled';
  accessToken: string | null;
  accessTokenExpiresAt: Date | null;
  refreshToken: string | null;
  refreshTokenExpiresAt: Date | null;
  scopes: string[];
  tokenVersion: number;
  installedAt: Date;
  uninstalledAt: Date | null;
}

export type ConsumeStateResult = 'ok' | 'unknown' | 'used' | 'expired' | 'other_shop';

export interface InstallationRepository {
  find(shop: string): Promise<Installation | null>;
  /** Whether the shop is installed, without opening any token (null: no row, e.g. a static token). */
  findStatus(shop: string): Promise<{ status: 'installed' | 'uninstalled'; grant: GrantKind; tokenVersion: number } | null>;
  /**
   * Runs `renew` holding the shop's row lock (the row is created first if absent) and stores the
   * token it returns; `renew` sees the row as it is once the lock is held, and returns null to
   * keep it (someone renewed meanwhile). Answers the row as stored.
   */
  renewLocked(shop: string, grant: GrantKind, renew: (current: Installation) => Promise<GrantedToken | null>, at: Date): Promise<Installation>;
  /** A completed install: the token stored, the shop installed (again). */
  saveInstall(shop: string, grant: GrantKind, token: GrantedToken, at: Date): Promise<void>;
  /** `app/uninstalled`: tokens dropped, the shop marked uninstalled. False when there was no row. */
  markUninstalled(shop: string, at: Date): Promise<boolean>;
  createState(nonce: string, shop: string, expiresAt: Date): Promise<void>;
  /** Uses the nonce (at most once, before it expires, for that shop); deletes expired ones. */
  consumeState(nonce: string, shop: string, at: Date): Promise<ConsumeStateResult>;
  /**
   * Seals every stored token again under the box's current key, in one transaction; answers how
   * many rows changed. `onProgress` hears the counts after each row; an aborted `signal` rolls
   * the whole transaction back (nothing half-done).
   */
  resealAll(options?: { onProgress?: (progress: { rows: number; checked: number; resealed: number }) => void; signal?: AbortSignal }): Promise<{ rows: number; resealed: number }>;
}

type Row = typeof shopifyInstallations.$inferSelect;

export function createInstallationRepository(db: Db, box: SecretBox | null): InstallationRepository {
  const requireBox = (): SecretBox => {
    if (!box) throw new AppError('CONFIG_INVALID', 'ENCRYPTION_KEY is needed to store or read Shopify tokens');
    return box;
  };
  const open = (sealed: string | null, shop: string) => (sealed === null ? null : requireBox().open(sealed, shop));
  const seal = (plain: string | null, shop: string) => (plain === null ? null : requireBox().seal(plain, shop));
  const toInstallation = (row: Row): Installation => ({
    shop: row.shop,
    grant: row.grant,
    status: row.status,
    accessToken: open(row.accessTokenSealed, row.shop),
    accessTokenExpiresAt: row.accessTokenExpiresAt,
    refreshToken: open(row.refreshTokenSealed, row.shop),
    refreshTokenExpiresAt: row.refreshTokenExpiresAt,
    scopes: row.scopes ? row.scopes.split(',').filter(Boolean) : [],
    tokenVersion: row.tokenVersion,
    installedAt: row.installedAt,
    uninstalledAt: row.uninstalledAt,
  });
  const tokenColumns = (shop: string, token: GrantedToken, at: Date) => ({
    accessTokenSealed: seal(token.accessToken, shop),
    accessTokenExpiresAt: token.expiresAt,
    refreshTokenSealed: seal(token.refreshToken, shop),
    refreshTokenExpiresAt: token.refreshTokenExpiresAt,
    scopes: token.scopes.join(','),
    updatedAt: at,
  });

  return {
    async find(shop) {
      const [row] = await db.select().from(shopifyInstallations).where(eq(shopifyInstallations.shop, shop));
      return row ? toInstallation(row) : null;
    },

    async findStatus(shop) {
      const [row] = await db
        .select({ status: shopifyInstallations.status, grant: shopifyInstallations.grant, tokenVersion: shopifyInstallations.tokenVersion })
        .from(shopifyInstallations)
        .where(eq(shopifyInstallations.shop, shop));
      return row ?? null;
    },

    async renewLocked(shop, grant, renew, at) {
      await db.insert(shopifyInstallations).values({ shop, grant, status: 'installed', installedAt: at, updatedAt: at }).onConflictDoNothing();
      return db.transaction(async (tx) => {
        const [row] = await tx.select().from(shopifyInstallations).where(eq(shopifyInstallations.shop, shop)).for('update');
        const current = toInstallation(row!);
        const token = await renew(current);
        if (!token) return current;
        const [stored] = await tx
          .update(shopifyInstallations)
          .set({ ...tokenColumns(shop, token, at), tokenVersion: sql`${shopifyInstallations.tokenVersion} + 1` })
          .where(eq(shopifyInstallations.shop, shop))
          .returning();
        return toInstallation(stored!);
      });
    },

    async saveInstall(shop, grant, token, at) {
      const columns = { ...tokenColumns(shop, token, at), grant, status: 'installed' as const, installedAt: at, uninstalledAt: null };
      await db
        .insert(shopifyInstallations)
        .values({ shop, ...columns, tokenVersion: 1 })
        .onConflictDoUpdate({ target: shopifyInstallations.shop, set: { ...columns, tokenVersion: sql`${shopifyInstallations.tokenVersion} + 1` } });
    },

    async markUninstalled(shop, at) {
      const rows = await db
        .update(shopifyInstallations)
        .set({ status: 'uninstalled', uninstalledAt: at, updatedAt: at, accessTokenSealed: null, accessTokenExpiresAt: null, refreshTokenSealed: null, refreshTokenExpiresAt: null, tokenVersion: sql`${shopifyInstallations.tokenVersion} + 1` })
        .where(eq(shopifyInstallations.shop, shop))
        .returning({ shop: shopifyInstallations.shop });
      return rows.length > 0;
    },

    async createState(nonce, shop, expiresAt) {
      await db.insert(shopifyOauthStates).values({ nonce, shop, expiresAt });
    },

    async consumeState(nonce, shop, at) {
      await db.delete(shopifyOauthStates).where(lt(shopifyOauthStates.expiresAt, new Date(at.getTime() - 24 * 60 * 60_000)));
      // One conditional update: of two callbacks with the same state, exactly one wins.
      const used = await db
        .update(shopifyOauthStates)
        .set({ usedAt: at })
        .where(and(eq(shopifyOauthStates.nonce, nonce), eq(shopifyOauthStates.shop, shop), isNull(shopifyOauthStates.usedAt), gt(shopifyOauthStates.expiresAt, at)))
        .returning({ nonce: shopifyOauthStates.nonce });
      if (used.length > 0) return 'ok';
      const [row] = await db.select().from(shopifyOauthStates).where(eq(shopifyOauthStates.nonce, nonce));
      if (!row) return 'unknown';
      if (row.shop !== shop) return 'other_shop';
      if (row.usedAt) return 'used';
      return 'expired';
    },

    async resealAll(options = {}) {
      const secrets = requireBox();
      return db.transaction(async (tx) => {
        const rows = await tx.select().from(shopifyInstallations).for('update');
        let resealed = 0;
        let checked = 0;
        for (const row of rows) {
          options.signal?.throwIfAborted();
          const stale = [row.accessTokenSealed, row.refreshTokenSealed].some((value) => value !== null && secrets.needsResealing(value));
          if (stale) {
            const again = (value: string | null) => (value === null ? null : secrets.seal(secrets.open(value, row.shop), row.shop));
            await tx
              .update(shopifyInstallations)
              .set({ accessTokenSealed: again(row.accessTokenSealed), refreshTokenSealed: again(row.refreshTokenSealed) })
              .where(eq(shopifyInstallations.shop, row.shop));
            resealed += 1;
          }
          checked += 1;
          options.onProgress?.({ rows: rows.length, checked, resealed });
          // The embedded database answers without I/O: let timers (progress lines, Ctrl-C) run now and then.
          if ((options.onProgress || options.signal) && checked % 25 === 0) await new Promise((resolve) => setImmediate(resolve));
        }
        return { rows: rows.length, resealed };
      });
    },
  };
}
