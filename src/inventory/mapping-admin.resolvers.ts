import type { Resolvers, SetSkuNormalizationRulesUserError } from '../__generated__/graphql.js';
import type { NormalizationRules } from './inventory.models.js';
import { checkAbbreviations } from './sku-normalization.js';

function rulesView(rules: NormalizationRules) {
  return { ...rules, abbreviations: Object.entries(rules.abbreviations).map(([from, to]) => ({ from, to })) };
}

/**
 * The operator's mapping actions with typed payloads (`unmapSku`); each one that took effect is
 * recorded as an operator action.
 */
export const mappingAdminResolvers: Resolvers = {
  Query: {
    skuNormalizationRules: async (_parent, _args, { services }) => rulesView(await services.inventory.mapping.getNormalizationRules()),
  },
  Mutation: {
    setSkuNormalizationRules: async (_parent, { input }, { services, principal }) => {
      const dryRun = input.dryRun ?? false;
      const checked = checkAbbreviations(input.abbreviations);
      if (!checked.ok) {
        const userErrors: SetSkuNormalizationRulesUserError[] = checked.problems.map((problem) => ({
          field: ['input', 'abbreviations', String(problem.index), problem.side],
          message: problem.message,
          code: problem.code,
        }));
        return { rules: null, changes: [], dryRun, userErrors };
      }
      const current = await services.inventory.mapping.getNormalizationRules();
      const result = await services.inventory.mapping.changeNormalizationRules({ ...current, abbreviations: checked.abbreviations }, { dryRun });
      if (!dryRun) {
        await services.operatorActions.record({
          action: 'setSkuNormalizationRules',
          actor: principal.keyId,
          target: 'abbreviations',
          details: { abbreviations: checked.abbreviations, changes: result.changes.length },
        });
      }
      return { rules: rulesView(result.rules), changes: [...result.changes], dryRun, userErrors: [] };
    },
    unmapSku: async (_parent, { input }, { services, loaders, principal }) => {
      const erpSku = input.erpSku.trim();
      if (erpSku === '') return { product: null, userErrors: [{ field: ['input', 'erpSku'], message: 'erpSku is blank', code: 'BLANK_SKU' }] };
      const [mapping] = await services.inventory.mapping.findSkuMappingsBySkus([erpSku]);
      if (mapping?.source !== 'MANUAL') {
        return {
          product: null,
          userErrors: [{ field: ['input', 'erpSku'], message: `${erpSku} has no manual mapping`, code: 'NOT_MANUALLY_MAPPED' }],
        };
      }
      await services.inventory.mapping.unmapSku(erpSku);
      await services.operatorActions.record({ action: 'unmapSku', actor: principal.keyId, target: erpSku, details: { shopifyVariantId: mapping.shopifyVariantId } });
      return { product: (await loaders.inventory.productBySku.load(erpSku)) ?? null, userErrors: [] };
    },
  },
};
