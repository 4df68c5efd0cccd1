import type { DomainModule, ModuleDeps } from '../domain-module.js';
import { createApiKeyRepository } from './api-key.repository.js';
import { apiKeyResolvers } from './api-key.resolvers.js';
import { createApiKeyService, type ApiKeyService } from './api-key.service.js';

export interface AuthServices {
  /** API keys: created, listed and revoked over GraphQL and the CLI; every request authenticates with one. */
  readonly apiKeys: ApiKeyService;
}

export type AuthModule = DomainModule<'auth', AuthServices>;

/** The auth domain: API keys and their scopes (`schema/auth.graphql`). */
export function createAuthModule(deps: Pick<ModuleDeps, 'database' | 'now'>): AuthModule {
  return {
    name: 'auth',
    services: { apiKeys: createApiKeyService({ repository: createApiKeyRepository(deps.database.db), now: deps.now }) },
    resolvers: apiKeyResolvers,
  };
}
