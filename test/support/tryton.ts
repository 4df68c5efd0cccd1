import { describe } from 'vitest';

/**
 * The one switch for tests against a real Tryton: they run when ERP_URL, ERP_DATABASE, ERP_USER
 * and ERP_PASSWORD are all set (`eval "$(bash scripts/tryton.sh env)"`), and report themselves
 * skipped otherwise.
 */

export interface TrytonCredentials {
  readonly url: string;
  readonly database: string;
  readonly user: string;
  readonly password: string;
}

function credentialsFrom(env: NodeJS.ProcessEnv): TrytonCredentials | null {
  const { ERP_URL, ERP_DATABASE, ERP_USER, ERP_PASSWORD } = env;
  return ERP_URL && ERP_DATABASE && ERP_USER && ERP_PASSWORD ? { url: ERP_URL, database: ERP_DATABASE, user: ERP_USER, password: ERP_PASSWORD } : null;
}

/** The real Tryton's credentials, or null when it is not configured. */
export const trytonCredentials = credentialsFrom(process.env);

/** `describe` when a real Tryton is configured, `describe.skip` otherwise. */
export const describeWithTryton = trytonCredentials ? describe : describe.skip;

/** The ERP_* variables of the real Tryton, for a gateway started by a test (empty when none is configured). */
export function trytonEnvironment(): Record<string, string> {
  if (!trytonCredentials) return {};
  const { url, database, user, password } = trytonCredentials;
  return { ERP_URL: url, ERP_DATABASE: database, ERP_USER: user, ERP_PASSWORD: password };
}
