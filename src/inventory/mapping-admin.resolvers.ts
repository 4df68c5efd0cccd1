import type { Resolvers } from '../__generated__/graphql.js';

/**
 * The operator's mapping actions with typed payloads (`unmapSku`); each one that took effect is
 * recorded as an operator action.
 */
export const mappingAdminResolvers: Resolvers = {
  Mutation: {
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
