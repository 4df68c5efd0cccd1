import type { Resolvers } from '../__generated__/graphql.js';
import type { SwitchesState } from './switches.service.js';

/** `health` and `setSwitches`: map the service's lower-case modes to the schema's enums. */
function toHealth(state: SwitchesState) {
  return {
    inventoryPush: (state.shopInstalled ? state.inventoryPush : 'off').toUpperCase() as 'ON' | 'SHADOW' | 'OFF',
    ordersToErp: (state.shopInstalled ? state.ordersToErp : 'off').toUpperCase() as 'ON' | 'OFF',
    shopInstalled: state.shopInstalled,
  };
}

export const switchesResolvers: Resolvers = {
  Query: {
    health: async (_parent, _args, { services }) => toHealth(await services.switches.state()),
  },
  Mutation: {
    setSwitches: async (_parent, { input }, { services, principal }) =>
      toHealth(
        await services.switches.set(
          {
            inventoryPush: input.inventoryPush ? (input.inventoryPush.toLowerCase() as 'on' | 'shadow' | 'off') : undefined,
            ordersToErp: input.ordersToErp ? (input.ordersToErp.toLowerCase() as 'on' | 'off') : undefined,
          },
          `graphql key ${principal.keyId}`,
        ),
      ),
  },
};
