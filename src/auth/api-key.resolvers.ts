import type { Resolvers } from '../__generated__/graphql.js';

export const apiKeyResolvers: Resolvers = {
  ApiKey: {
    scopes: (key) => key.scopes.map((scope) => scope.toUpperCase() as 'READ' | 'SYNC' | 'RESERVE' | 'ADMIN'),
  },
  Query: {
    apiKeys: (_parent, { first }, { services }) => services.auth.apiKeys.list({ first }),
  },
  Mutation: {
    createApiKey: (_parent, { input }, { services }) =>
      services.auth.apiKeys.create({ name: input.name, scopes: input.scopes.map((scope) => scope.toLowerCase()) }),
    revokeApiKey: (_parent, { id }, { services }) => services.auth.apiKeys.revoke(id),
  },
};
