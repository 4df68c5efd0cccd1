import { describe, expect, it } from 'vitest';
import { matchSkusByRule, type MatchableVariant } from '../../src/inventory/sku-matching.js';
import { createSkuNormalizer, DEFAULT_NORMALIZATION_RULES } from '../../src/inventory/sku-normalization.js';

const normalize = createSkuNormalizer({ ...DEFAULT_NORMALIZATION_RULES, abbreviations: { BLU: 'blue' } });
let next = 1;
function variant(sku: string | null): MatchableVariant {
  const id = next++;
  return { variantId: `gid://shopify/ProductVariant/${id}`, sku, inventoryItemId: `gid://shopify/InventoryItem/${id}`, tracked: true };
}

describe('matching SKUs by rule', () => {
  it('maps identical SKUs and SKUs that normalize alike', () => {
    const exact = variant('HINGE-BUTT-75-SS');
    const spelled = variant('bracket-v2-blue');
    const { matches, ambiguous } = matchSkusByRule({ erpSkus: ['HINGE-BUTT-75-SS', 'BRACKET-V2-BLU', 'NUT-M6-A2'], variants: [exact, spelled, variant(null)], normalize });
    expect(matches.map((m) => [m.erpSku, m.variant.variantId])).toEqual([
      ['HINGE-BUTT-75-SS', exact.variantId],
      ['BRACKET-V2-BLU', spelled.variantId],
    ]);
    expect(ambiguous).toEqual([]);
  });

  it('calls a SKU with two Shopify variants of the same SKU ambiguous and maps neither', () => {
    const one = variant('PLATE-MEND-100-GLV');
    const two = variant('PLATE-MEND-100-GLV');
    const { matches, ambiguous } = matchSkusByRule({ erpSkus: ['PLATE-MEND-100-GLV'], variants: [one, two], normalize });
    expect(matches).toEqual([]);
    expect(ambiguous).toEqual([
      { erpSku: 'PLATE-MEND-100-GLV', reason: 'SEVERAL_SHOPIFY_VARIANTS', candidates: [one, two].map(({ tracked: _t, ...ref }) => ref), competingErpSkus: [] },
    ]);
  });

  it('calls two ERP SKUs that normalize to one variant ambiguous', () => {
    const only = variant('rail-din-1m');
    const { matches, ambiguous } = matchSkusByRule({ erpSkus: ['RAIL_DIN_1M', 'RAIL-DIN-1M '], variants: [only], normalize });
    expect(matches).toEqual([]);
    expect(ambiguous.map((a) => [a.erpSku, a.reason, a.competingErpSkus])).toEqual([
      ['RAIL_DIN_1M', 'SEVERAL_ERP_SKUS', ['RAIL-DIN-1M ']],
      ['RAIL-DIN-1M ', 'SEVERAL_ERP_SKUS', ['RAIL_DIN_1M']],
    ]);
  });

  it('prefers an identical SKU over a looser match, and never hands the loser a variant held by an ambiguity', () => {
    const exact = variant('BRACKET-L-RED');
    const loose = variant('bracket-l-red');
    const { matches, ambiguous } = matchSkusByRule({ erpSkus: ['BRACKET-L-RED'], variants: [exact, loose], normalize });
    expect(matches.map((m) => m.variant.variantId)).toEqual([exact.variantId]);
    expect(ambiguous).toEqual([]);

    const dupA = variant('WASHER-M6-A2-PK10');
    const dupB = variant('WASHER-M6-A2-PK10');
    const result = matchSkusByRule({ erpSkus: ['WASHER-M6-A2-PK10', 'washer-m6-a2-pk10'], variants: [dupA, dupB], normalize });
    expect(result.matches).toEqual([]);
    expect(result.ambiguous.map((a) => a.erpSku)).toEqual(['WASHER-M6-A2-PK10']);
  });
});
