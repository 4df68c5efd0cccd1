export const scopes = ['read', 'sync', 'reserve', 'admin'] as const;
export type ApiScope = (typeof scopes)[number];

export interface ApiKeyRecord {
  id: string;
  name: string;
  prefix: string;
  scopes: ApiScope[];
  createdAt: Date;
  lastUsedAt: Date | null;
  revokedAt: Date | null;
}

/** Who is calling: the API key a request authenticated with. */
export interface Principal {
  keyId: string;
  name: string;
  scopes: ReadonlySet<ApiScope>;
}

export function isApiScope(value: string): value is ApiScope {
  return (scopes as readonly string[]).includes(value);
}
