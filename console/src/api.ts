import type { TypedDocumentString } from './__generated__/graphql';

const keyName = 'stockbridge.apiKey';

/** The API key lives in session storage only: closing the tab signs out, nothing is persisted. */
export const session = {
  key: (): string | null => sessionStorage.getItem(keyName),
  signIn: (key: string) => sessionStorage.setItem(keyName, key),
  signOut: () => sessionStorage.removeItem(keyName),
};

/** A GraphQL error or a refused request, with the API's stable code (UNAUTHENTICATED, FORBIDDEN, ...). */
export class ApiError extends Error {
  constructor(
    message: string,
    readonly code: string,
  ) {
    super(message);
  }
}

interface GraphQLResponse<T> {
  data?: T | null;
  errors?: Array<{ message: string; extensions?: { code?: string } }>;
  error?: { code: string; message: string };
}

/** Sends one typed document to the public /graphql endpoint with the signed-in key. */
export async function execute<TResult, TVariables>(
  document: TypedDocumentString<TResult, TVariables>,
  variables?: TVariables,
): Promise<TResult> {
  const key = session.key();
  const response = await fetch('/graphql', {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(key ? { authorization: `Bearer ${key}` } : {}) },
    body: JSON.stringify({ query: document.toString(), variables }),
  });
  const body = (await response.json().catch(() => ({}))) as GraphQLResponse<TResult>;
  const first = body.errors?.[0];
  if (first) throw new ApiError(first.message, first.extensions?.code ?? 'ERROR');
  if (body.error) throw new ApiError(body.error.message, body.error.code);
  if (!response.ok || !body.data) throw new ApiError(`The gateway answered ${response.status}`, 'HTTP_ERROR');
  return body.data;
}
