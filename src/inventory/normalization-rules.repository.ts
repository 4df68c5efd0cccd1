import { asc, eq } from 'drizzle-orm';
import type { Db } from '../db/database.js';
import { skuAbbreviations, skuNormalizationSettings } from '../db/schema/index.js';
import type { NormalizationRules } from './inventory.models.js';

/** One shop's SKU normalization rules (`sku_normalization_settings`, `sku_abbreviations`): their one writer. */
export function createNormalizationRulesRepository(db: Db, shop: string) {
  return {
    async getNormalizationRules(): Promise<NormalizationRules | null> {
      const [settings] = await db.select().from(skuNormalizationSettings).where(eq(skuNormalizationSettings.shop, shop));
      if (!settings) return null;
      const abbreviations = await db.select().from(skuAbbreviations).where(eq(skuAbbreviations.shop, shop)).orderBy(asc(skuAbbreviations.abbreviation));
      return {
        ignoreCase: settings.ignoreCase,
        ignoreSeparators: settings.ignoreSeparators,
        separators: settings.separators,
        ignoreWhitespace: settings.ignoreWhitespace,
        abbreviations: Object.fromEntries(abbreviations.map((row) => [row.abbreviation, row.expansion])),
      };
    },

    async setNormalizationRules(rules: NormalizationRules, at: Date): Promise<void> {
      const values = {
        shop,
        ignoreCase: rules.ignoreCase,
        ignoreSeparators: rules.ignoreSeparators,
        separators: rules.separators,
        ignoreWhitespace: rules.ignoreWhitespace,
        updatedAt: at,
      };
      await db.insert(skuNormalizationSettings).values(values).onConflictDoUpdate({ target: skuNormalizationSettings.shop, set: values });
      await db.delete(skuAbbreviations).where(eq(skuAbbreviations.shop, shop));
      const pairs = Object.entries(rules.abbreviations);
      if (pairs.length > 0) await db.insert(skuAbbreviations).values(pairs.map(([abbreviation, expansion]) => ({ shop, abbreviation, expansion })));
    },

    /** Seeds the rules only when the shop has none yet (first start); true when it did. */
    async seedNormalizationRules(rules: NormalizationRules, at: Date): Promise<boolean> {
      const inserted = await db
        .insert(skuNormalizationSettings)
        .values({ shop, ignoreCase: rules.ignoreCase, ignoreSeparators: rules.ignoreSeparators, separators: rules.separators, ignoreWhitespace: rules.ignoreWhitespace, updatedAt: at })
        .onConflictDoNothing()
        .returning({ shop: skuNormalizationSettings.shop });
      if (inserted.length === 0) return false;
      const pairs = Object.entries(rules.abbreviations);
      if (pairs.length > 0) await db.insert(skuAbbreviations).values(pairs.map(([abbreviation, expansion]) => ({ shop, abbreviation, expansion }))).onConflictDoNothing();
      return true;
    },
  };
}

export type NormalizationRulesRepository = ReturnType<typeof createNormalizationRulesRepository>;
