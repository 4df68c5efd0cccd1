import { setTimeout as sleep } from 'node:timers/promises';
// eslint-disable-next-line no-restricted-imports -- a gateway as a child process (a simulator), not the composition root the '**/gateway*' pattern guards
import type { GatewayProcess } from '../chaos/gateway-process.js';

/**
 * GraphQL calls to the gateway instances with the run's API key: each call goes to the next live
 * instance, and a refused or failed call is tried on another one a moment later (instances are
 * killed during the run). `failures` counts the calls that failed every attempt.
 */
export interface GatewayClient {
  request<T>(query: string, variables?: Record<string, unknown>): Promise<T>;
  readonly stats: { calls: number; retried: number; failures: number };
}

export class GraphqlAnswerError extends Error {
  constructor(readonly errors: readonly { message?: string; extensions?: { code?: string } }[]) {
    super(`GraphQL errors: ${errors.map((error) => `${error.extensions?.code ?? ''} ${error.message ?? ''}`.trim()).join('; ')}`);
    this.name = 'GraphqlAnswerError';
  }
}

export function gatewayClient(instances: () => readonly GatewayProcess[], key: string, options: { attempts?: number; timeoutMs?: number } = {}): GatewayClient {
  let next = 0;
  const stats = { calls: 0, retried: 0, failures: 0 };
  const attempts = options.attempts ?? 6;
  return {
    stats,
    async request<T>(query: string, variables: Record<string, unknown> = {}): Promise<T> {
      stats.calls += 1;
      for (let attempt = 1; ; attempt++) {
        const live = instances().filter((instance) => instance.running());
        const target = live.length > 0 ? live[next++ % live.length] : undefined;
        try {
          if (!target) throw new Error('no gateway instance is running');
          const answer = await fetch(`${target.url}/graphql`, {
            method: 'POST',
            headers: { 'content-type': 'application/json', authorization: `Bearer ${key}` },
            body: JSON.stringify({ query, variables }),
            signal: AbortSignal.timeout(options.timeoutMs ?? 30_000),
          });
          const body = (await answer.json()) as { data?: T; errors?: { message?: string; extensions?: { code?: string } }[] };
          if (body.errors?.length) throw new GraphqlAnswerError(body.errors);
          return body.data!;
        } catch (error) {
          // A GraphQL error the gateway chose to answer is its answer, not a transport failure.
          if (error instanceof GraphqlAnswerError && !error.errors.some((e) => /UNAVAILABLE|INTERNAL|BUSY|TIMEOUT/.test(e.extensions?.code ?? ''))) {
            stats.failures += 1;
            throw error;
          }
          if (attempt >= attempts) {
            stats.failures += 1;
            throw error;
          }
          stats.retried += 1;
          await sleep(300 * attempt);
        }
      }
    },
  };
}
