import type { AmbiguousSku, ShopifyVariantRef } from './inventory.models.js';

export interface MatchableVariant extends ShopifyVariantRef {
  readonly tracked: boolean;
}

export interface RuleMatch {
  readonly erpSku: string;
  readonly variant: MatchableVariant;
}

export interface MatchResult {
  readonly matches: readonly RuleMatch[];
  readonly ambiguous: readonly AmbiguousSku[];
}

/**
 * Matches ERP SKUs to Shopify variants by rule, after the explicit mappings have taken theirs:
 *
 * 1. identical SKUs (exact string), then
 * 2. equal keys under the normalization rules, among what step 1 left.
 *
 * Within a step, a match is made only when it is one-to-one: an ERP SKU with several candidate
 * variants (duplicate Shopify SKUs, or two spellings that normalize alike) or a variant wanted by
 * several ERP SKUs is ambiguous, and ambiguous SKUs are never mapped by rule. Every variant an
 * ambiguity names is held back from later steps, so a guess never slips through a looser rule.
 */
export function matchSkusByRule(input: {
  /** ERP SKUs without an explicit mapping. */
  readonly erpSkus: readonly string[];
  /** Variants with a SKU that no explicit mapping uses. */
  readonly variants: readonly MatchableVariant[];
  readonly normalize: (sku: string) => string;
}): MatchResult {
  const matches: RuleMatch[] = [];
  const ambiguous: AmbiguousSku[] = [];
  const held = new Set<string>();
  let pending = [...new Set(input.erpSkus)];

  const steps: Array<(sku: string) => string> = [(sku) => sku, input.normalize];
  for (const keyOf of steps) {
    const byKey = new Map<string, MatchableVariant[]>();
    for (const variant of input.variants) {
      if (variant.sku === null || held.has(variant.variantId)) continue;
      const key = keyOf(variant.sku);
      if (key === '') continue;
      byKey.set(key, [...(byKey.get(key) ?? []), variant]);
    }
    const wanted = new Map<string, MatchableVariant[]>();
    const wantedBy = new Map<string, string[]>();
    for (const erpSku of pending) {
      const candidates = byKey.get(keyOf(erpSku));
      if (!candidates) continue;
      wanted.set(erpSku, candidates);
      for (const variant of candidates) wantedBy.set(variant.variantId, [...(wantedBy.get(variant.variantId) ?? []), erpSku]);
    }
    const stillPending: string[] = [];
    for (const erpSku of pending) {
      const candidates = wanted.get(erpSku);
      if (!candidates) {
        stillPending.push(erpSku);
        continue;
      }
      const competing = [...new Set(candidates.flatMap((variant) => wantedBy.get(variant.variantId) ?? []))].filter((sku) => sku !== erpSku).sort();
      if (candidates.length === 1 && competing.length === 0) {
        matches.push({ erpSku, variant: candidates[0]! });
      } else {
        ambiguous.push({
          erpSku,
          reason: candidates.length > 1 ? 'SEVERAL_SHOPIFY_VARIANTS' : 'SEVERAL_ERP_SKUS',
          candidates: candidates.map(({ variantId, sku, inventoryItemId }) => ({ variantId, sku, inventoryItemId })),
          competingErpSkus: competing,
        });
      }
      for (const variant of candidates) held.add(variant.variantId);
    }
    pending = stillPending;
  }
  return { matches, ambiguous };
}
