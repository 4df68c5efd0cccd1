/**
 * Whether an error means the database could not be reached for a moment (a cut connection, a
 * restart, a refused connect), as opposed to a statement that failed. Such a failure is the
 * client's to retry: the HTTP layer answers it as `DATABASE_UNAVAILABLE` (503 with Retry-After,
 * or that code on a GraphQL error), not as an internal error. Drizzle wraps the driver's error
 * ("Failed query: …") with the original as its `cause`, so the whole cause chain is looked at.
 */

/** postgres.js's own codes for a connection that closed or never opened, and Node's socket codes. */
const connectionCodes = new Set([
  'CONNECTION_CLOSED',
  'CONNECTION_DESTROYED',
  'CONNECTION_ENDED',
  'CONNECT_TIMEOUT',
  'ECONNREFUSED',
  'ECONNRESET',
  'EPIPE',
  'ETIMEDOUT',
  // The order pipeline's group commit gave up on a statement that never came back (micro-batch.ts).
  'BATCH_TIMEOUT',
  // An acknowledgement's insert that did not answer in time; its connections are replaced (database.ts).
  'STATEMENT_TIMEOUT',
]);

/**
 * PostgreSQL's SQLSTATEs for the same: class 08 (connection exception) and the server shutting
 * down or starting (57P01 admin_shutdown, 57P02 crash_shutdown, 57P03 cannot_connect_now), and a
 * database refusing new connections for a while (below).
 */
function isConnectionState(code: string): boolean {
  return code.startsWith('08') || code === '57P01' || code === '57P02' || code === '57P03';
}

/** 55000 is generic; with this message it is a database closed to new connections (`ALLOW_CONNECTIONS false`). */
function isClosedDatabase(code: string, message: unknown): boolean {
  return code === '55000' && typeof message === 'string' && message.includes('not currently accepting connections');
}

export function isDatabaseUnavailable(error: unknown): boolean {
  for (let current = error, depth = 0; current && typeof current === 'object' && depth < 5; depth++) {
    const code = (current as { code?: unknown }).code;
    if (typeof code === 'string' && (connectionCodes.has(code) || isConnectionState(code) || isClosedDatabase(code, (current as { message?: unknown }).message))) return true;
    current = (current as { cause?: unknown }).cause;
  }
  return false;
}

/**
 * Whether an error is a transaction PostgreSQL gave up to let others through: a deadlock
 * (40P01) or a serialization failure (40001). The same work, run again, succeeds.
 */
export function isTransientConflict(error: unknown): boolean {
  for (let current = error, depth = 0; current && typeof current === 'object' && depth < 5; depth++) {
    const code = (current as { code?: unknown }).code;
    if (code === '40P01' || code === '40001') return true;
    current = (current as { cause?: unknown }).cause;
  }
  return false;
}
