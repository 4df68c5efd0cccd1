import type { ApolloServerPlugin } from '@apollo/server';
import { GraphQLError, Kind, type GraphQLSchema, type OperationDefinitionNode } from 'graphql';
import type { ApiScope } from '../auth/api-key.models.js';
import type { GraphQLContext } from './graphql-context.js';

/**
 * Reads `@requiresScope(scope:)` from the SDL's root fields once, then checks every operation's
 * root fields before any resolver runs. Deny by default: a mutation without the directive needs
 * admin, a query field without it needs read.
 */
export function requiredScopes(schema: GraphQLSchema): Map<string, ApiScope> {
  const required = new Map<string, ApiScope>();
  for (const [typeName, fallback] of [
    ['Query', 'read'],
    ['Mutation', 'admin'],
    ['Subscription', 'admin'],
  ] as const) {
    const type = schema.getType(typeName);
    if (!type || !('getFields' in type)) continue;
    for (const field of Object.values(type.getFields())) {
      const directive = field.astNode?.directives?.find((d: { name: { value: string } }) => d.name.value === 'requiresScope');
      const argument = directive?.arguments?.find((a: { name: { value: string } }) => a.name.value === 'scope');
      const value = argument?.value.kind === Kind.ENUM ? (argument.value.value.toLowerCase() as ApiScope) : fallback;
      required.set(`${typeName}.${field.name}`, value);
    }
  }
  return required;
}

function rootTypeName(operation: OperationDefinitionNode): string {
  return operation.operation === 'query' ? 'Query' : operation.operation === 'mutation' ? 'Mutation' : 'Subscription';
}

export function scopePlugin(schema: GraphQLSchema): ApolloServerPlugin<GraphQLContext> {
  const required = requiredScopes(schema);
  return {
    async requestDidStart() {
      return {
        async didResolveOperation({ operation, contextValue }) {
          if (!operation) return;
          const typeName = rootTypeName(operation);
          const missing = new Set<ApiScope>();
          for (const selection of operation.selectionSet.selections) {
            // Fragments on the root type are rare; check their fields too.
            const fields =
              selection.kind === Kind.FIELD
                ? [selection]
                : selection.kind === Kind.INLINE_FRAGMENT
                  ? selection.selectionSet.selections.filter((s) => s.kind === Kind.FIELD)
                  : [];
            for (const field of fields) {
              if (field.kind !== Kind.FIELD || field.name.value.startsWith('__')) continue;
              const scope = required.get(`${typeName}.${field.name.value}`) ?? 'admin';
              if (!contextValue.principal.scopes.has(scope)) missing.add(scope);
            }
          }
          if (missing.size > 0) {
            throw new GraphQLError(`This API key lacks the scope(s): ${[...missing].join(', ')}`, {
              extensions: { code: 'FORBIDDEN', requiredScopes: [...missing], http: { status: 200 } },
            });
          }
        },
      };
    },
  };
}
