import { and, asc, eq } from 'drizzle-orm';
import type { Db } from '../db/database.js';
import { sellableShelfLifeRules } from '../db/schema/index.js';
import type { SellableShelfLifeRule } from './inventory.models.js';

/**
 * The per-SKU sellable shelf life rules (the default is `SELLABLE_SHELF_LIFE_DAYS`): the ATP
 * engine's own table, written only through here, read by the expiry rule
 * (./read-model/expiry.ts) inside the read model's statements.
 */
export function createShelfLifeRulesRepository(db: Db, shop: string) {
  return {
    async upsertRule(rule: { sku: string; days: number }, at: Date): Promise<SellableShelfLifeRule> {
      const [row] = await db
        .insert(sellableShelfLifeRules)
        .values({ shop, sku: rule.sku, days: rule.days, updatedAt: at })
        .onConflictDoUpdate({ target: [sellableShelfLifeRules.shop, sellableShelfLifeRules.sku], set: { days: rule.days, updatedAt: at } })
        .returning();
      return { sku: row!.sku, days: row!.days, updatedAt: row!.updatedAt };
    },

    async deleteRule(sku: string): Promise<void> {
      await db.delete(sellableShelfLifeRules).where(and(eq(sellableShelfLifeRules.shop, shop), eq(sellableShelfLifeRules.sku, sku)));
    },

    /** The rules in SKU order, optionally of one SKU, at most `limit`. */
    async listRules(args: { sku?: string | null; limit?: number } = {}): Promise<SellableShelfLifeRule[]> {
      const query = db
        .select({ sku: sellableShelfLifeRules.sku, days: sellableShelfLifeRules.days, updatedAt: sellableShelfLifeRules.updatedAt })
        .from(sellableShelfLifeRules)
        .where(and(eq(sellableShelfLifeRules.shop, shop), args.sku ? eq(sellableShelfLifeRules.sku, args.sku) : undefined))
        .orderBy(asc(sellableShelfLifeRules.sku));
      return args.limit === undefined ? query : query.limit(args.limit);
    },
  };
}
