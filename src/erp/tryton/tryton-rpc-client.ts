import { z } from 'zod';
import type { Logger } from '../../logger.js';
import { isAppError } from '../../shared/errors.js';
import { ErpConflictError, ErpInvalidResponseError, ErpRejectedError, ErpUnavailableError } from '../erp-errors.js';
import { TrytonDecodeError, decodeTrytonJson, encodeTrytonJson } from './tryton-codec.js';

/**
 * A JSON-RPC client for trytond 6.0 (trytond/protocols/dispatcher.py).
 *
 * Guarantee: every call either resolves with a result that passed the caller's zod schema, or
 * rejects with a typed ERP error, within `timeoutMs` per round trip (plus one re-login):
 * - `ERP_UNAVAILABLE`: connection refused/reset, timeout, HTTP 5xx or 429 (worth retrying
 *   later); `notApplied` when the request is known not to have reached trytond's transaction
 *   (refused connection, failed login before the call, 429), so that a write may be resent;
 * - `ERP_CONFLICT`: trytond answered that concurrent work stopped the request and rolled it
 *   back: a uniqueness violation ("The code on party must be unique."), psycopg2's
 *   UniqueViolation / LockNotAvailable ("could not obtain lock") / SerializationFailure /
 *   deadlock, SQLite's "database is locked", a `ConcurrencyException` (retry; not a refusal);
 * - `ERP_REJECTED`: a Tryton `UserError`/`UserWarning`/access error, bad credentials, any other
 *   server-side exception (the same request will fail again);
 * - `ERP_INVALID_RESPONSE`: a body that is not the JSON-RPC envelope, or a result that does not
 *   match the schema.
 * It never retries by itself (writes are not idempotent); callers wrap operations in the ERP
 * call policy. It logs in lazily, sends the session header, renews the session once on HTTP 401,
 * and appends the user's context (`get_preferences`, carrying the company) to every model call,
 * as trytond requires (pitfalls P4, P5). Envelopes carry exactly `id`, `method`, `params` (P13).
 */

export interface TrytonRpcClientOptions {
  /** trytond's base URL, e.g. `http://127.0.0.1:8000/`; model calls go to `<url>/<database>/`. */
  readonly url: string;
  readonly database: string;
  readonly user: string;
  readonly password: string;
  readonly logger: Logger;
  /** Bound on each HTTP round trip, body included. */
  readonly timeoutMs?: number;
  readonly language?: string;
  /** The HTTP client (the global fetch); tests put faults on the wire with it. */
  readonly fetch?: typeof fetch;
}

export type TrytonContext = Readonly<Record<string, unknown>>;

/** A trytond JSON-RPC envelope, before the result is checked against the caller's schema. */
const envelopeSchema = z.union([
  z.object({ id: z.number(), result: z.unknown() }).strict(),
  z.object({ id: z.number(), error: z.unknown() }).strict(),
]);

const loginResultSchema = z.tuple([z.number().int().positive(), z.string().min(1)]);
const preferencesSchema = z.record(z.string(), z.unknown());
const trytonErrorSchema = z.tuple([z.string(), z.unknown()]).rest(z.unknown());

interface Session {
  readonly userId: number;
  readonly header: string;
  readonly context: TrytonContext;
}

const DEFAULT_TIMEOUT_MS = 20_000;
const NEVER_CONNECTED = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH']);
/**
 * Server-side failures caused by concurrent work, which trytond rolled back: psycopg2's error
 * class names and PostgreSQL's messages (trytond 6.0 retries a few of them itself, per
 * `[database] retry`, before it gives up and answers), SQLite's lock.
 */
const CONFLICT_PATTERN =
  /UniqueViolation|duplicate key value|LockNotAvailable|could not obtain lock|lock timeout|SerializationFailure|could not serialize|TransactionRollbackError|deadlock detected|database is locked/i;
const MAX_BODY_IN_ERROR = 200;

/** Errors that mean "log in again and repeat", kept inside the client. */
class SessionExpired extends Error {}

export class TrytonRpcClient {
  private readonly baseUrl: string;
  private readonly databaseUrl: string;
  private readonly timeoutMs: number;
  private readonly logger: Logger;
  private readonly fetch: typeof fetch;
  private session: Promise<Session> | null = null;
  private nextId = 1;
  private trips = 0;

  constructor(private readonly options: TrytonRpcClientOptions) {
    this.baseUrl = options.url.endsWith('/') ? options.url : `${options.url}/`;
    this.databaseUrl = `${this.baseUrl}${encodeURIComponent(options.database)}/`;
    this.timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    this.logger = options.logger.child({ erp: 'tryton' });
    this.fetch = options.fetch ?? fetch;
  }

  /** HTTP round trips made so far (logins included): what the batching guarantees are counted in. */
  get roundTrips(): number {
    return this.trips;
  }

  /** The server's version string (`common.server.version`, no login needed). */
  async serverVersion(signal?: AbortSignal): Promise<string> {
    return this.send(this.baseUrl, 'common.server.version', [], null, z.string(), signal);
  }

  /** The user context sent with every model call (company, language, ...), logging in if needed. */
  async context(): Promise<TrytonContext> {
    return (await this.currentSession()).context;
  }

  /** The id of the logged-in user. */
  async userId(): Promise<number> {
    return (await this.currentSession()).userId;
  }

  /**
   * Calls `model.<model>.<method>` with `args` followed by the user context merged with `extra`
   * (e.g. `{locations: [id]}`), and checks the result against `schema`. `signal` aborts the
   * round trip early (the call policy's own timeout).
   */
  async model<T>(model: string, method: string, args: readonly unknown[], schema: z.ZodType<T>, extra: TrytonContext = {}, signal?: AbortSignal): Promise<T> {
    return this.authenticated(`model.${model}.${method}`, (context) => [...args, { ...context, ...extra }], schema, signal);
  }

  /**
   * Calls an authenticated RPC method whose params are built from the user context (for
   * `wizard.*` calls and others whose context is not simply the last argument).
   */
  async authenticated<T>(method: string, params: (context: TrytonContext) => readonly unknown[], schema: z.ZodType<T>, signal?: AbortSignal): Promise<T> {
    for (let attempt = 0; ; attempt++) {
      const pending = this.currentSession();
      let session: Session;
      try {
        session = await pending;
      } catch (error) {
        // Failing to open a session sends nothing of the call itself.
        if (error instanceof ErpUnavailableError && !error.notApplied) {
          throw new ErpUnavailableError(error.message, error.details, { cause: error, notApplied: true });
        }
        throw error;
      }
      try {
        return await this.send(this.databaseUrl, method, params(session.context), session.header, schema, signal);
      } catch (error) {
        if (!(error instanceof SessionExpired)) throw error;
        if (attempt > 0) throw new ErpRejectedError('Tryton refused a session it had just opened', { method });
        this.logger.info({ method }, 'Tryton session expired; logging in again');
        // Concurrent calls may have renewed it already; only drop the one that failed.
        if (this.session === pending) this.session = null;
      }
    }
  }

  /** Forgets the session (and the cached context), e.g. after the company changed. */
  resetSession(): void {
    this.session = null;
  }

  private currentSession(): Promise<Session> {
    if (!this.session) {
      const opening = this.login();
      this.session = opening;
      // A failed login must not be cached: the next call tries again.
      opening.catch(() => {
        if (this.session === opening) this.session = null;
      });
    }
    return this.session;
  }

  private async login(): Promise<Session> {
    const { user, password, language = 'en' } = this.options;
    let result: z.infer<typeof loginResultSchema>;
    try {
      result = await this.send(this.databaseUrl, 'common.db.login', [user, { password }, language], null, loginResultSchema);
    } catch (error) {
      if (error instanceof SessionExpired) {
        throw new ErpRejectedError('Tryton refused the login: wrong ERP_USER or ERP_PASSWORD', { user, database: this.options.database });
      }
      throw error;
    }
    const [userId, key] = result;
    const header = `Session ${Buffer.from(`${user}:${userId}:${key}`).toString('base64')}`;
    // Preferences carry `company`; without it company defaults are empty and record rules hide
    // everything (P4). Only plain keys go back as context (not `company.rec_name` and the like).
    const preferences = await this.send(this.databaseUrl, 'model.res.user.get_preferences', [true, {}], header, preferencesSchema);
    const context = Object.fromEntries(Object.entries(preferences).filter(([key]) => !key.includes('.')));
    this.logger.debug({ userId, company: context.company }, 'logged in to Tryton');
    return { userId, header, context };
  }

  private async send<T>(
    url: string,
    method: string,
    params: readonly unknown[],
    authorization: string | null,
    schema: z.ZodType<T>,
    callerSignal?: AbortSignal,
  ): Promise<T> {
    const id = this.nextId++;
    const headers: Record<string, string> = { 'content-type': 'application/json', accept: 'application/json' };
    if (authorization) headers.authorization = authorization;
    const started = performance.now();
    let status: number;
    let text: string;
    this.trips += 1;
    try {
      // One signal bounds connect, headers and body together.
      const timeout = AbortSignal.timeout(this.timeoutMs);
      const signal = callerSignal ? AbortSignal.any([timeout, callerSignal]) : timeout;
      const response = await this.fetch(url, { method: 'POST', headers, body: encodeTrytonJson({ id, method, params }), signal });
      status = response.status;
      text = await response.text();
    } catch (error) {
      // The caller's abort reason (the call policy's timeout) is already a typed error.
      if (isAppError(error)) throw error;
      const timedOut = error instanceof Error && (error.name === 'TimeoutError' || error.name === 'AbortError');
      const reason = timedOut ? `no answer within ${this.timeoutMs} ms` : describeNetworkError(error);
      // A refused or unresolvable connection never carried the request; a reset or a timeout may have.
      const notApplied = !timedOut && NEVER_CONNECTED.has(reason);
      throw new ErpUnavailableError(`Tryton is unreachable: ${reason}`, { method, reason: timedOut ? 'TIMEOUT' : 'NETWORK' }, { cause: error, notApplied });
    }
    const elapsedMs = Math.round(performance.now() - started);
    this.logger.trace({ method, status, elapsedMs }, 'tryton rpc');

    if (status === 401) throw new SessionExpired();
    if (status === 429) throw new ErpUnavailableError('Tryton rate-limited the request (HTTP 429)', { method, status }, { notApplied: true });
    if (status >= 500) throw new ErpUnavailableError(`Tryton answered HTTP ${status}`, { method, status, body: excerpt(text) });
    if (status === 403 || status === 404) {
      throw new ErpRejectedError(`Tryton answered HTTP ${status} (${status === 404 ? 'unknown database?' : 'forbidden'})`, { method, status, database: this.options.database });
    }
    if (status !== 200) throw new ErpInvalidResponseError(`Tryton answered HTTP ${status}`, { method, status, body: excerpt(text) });

    let body: unknown;
    try {
      body = decodeTrytonJson(text);
    } catch (error) {
      const what = error instanceof TrytonDecodeError ? error.message : 'the body is not JSON';
      throw new ErpInvalidResponseError(`Tryton answered something that is not a JSON-RPC response: ${what}`, { method, body: excerpt(text) }, { cause: error });
    }
    const envelope = envelopeSchema.safeParse(body);
    if (!envelope.success) {
      throw new ErpInvalidResponseError('Tryton answered an unexpected JSON-RPC envelope', { method, body: excerpt(text) });
    }
    if (envelope.data.id !== id) {
      throw new ErpInvalidResponseError(`Tryton answered request ${envelope.data.id} to request ${id}`, { method });
    }
    if ('error' in envelope.data) throw trytonError(method, envelope.data.error);

    const result = schema.safeParse(envelope.data.result);
    if (!result.success) {
      throw new ErpInvalidResponseError(`Tryton's answer to ${method} does not have the expected shape`, {
        method,
        issues: result.error.issues.slice(0, 5).map((issue) => `${issue.path.join('.')}: ${issue.message}`),
      });
    }
    return result.data;
  }
}

/** Maps a JSON-RPC `error` member to a typed error (shapes in trytond/exceptions.py). */
function trytonError(method: string, raw: unknown): Error {
  const parsed = trytonErrorSchema.safeParse(raw);
  if (!parsed.success) return new ErpInvalidResponseError('Tryton answered an error of unknown shape', { method });
  const [kind, args] = parsed.data;
  const texts = Array.isArray(args) ? args.filter((a): a is string => typeof a === 'string') : typeof args === 'string' ? [args] : [];
  switch (kind) {
    case 'UserError':
      // A SQL unique constraint comes back as a UserError naming it ("The code on party must
      // be unique."): another transaction made the same record first; look again, do not fail.
      if (/must be unique/i.test(texts[0] ?? '')) {
        return new ErpConflictError(texts[0]!, { method, kind: 'UNIQUE_VIOLATION' });
      }
      return new ErpRejectedError(texts[0] ?? 'Tryton refused the request', { method, kind, description: texts[1] || undefined });
    case 'UserWarning':
      // A warning needs a person to confirm it; an integration must not.
      return new ErpRejectedError(texts[1] ?? 'Tryton raised a warning', { method, kind, warning: texts[0] });
    case 'ConcurrencyException':
      return new ErpConflictError(texts.join(' ') || kind, { method, kind });
    case 'LoginException':
      return new ErpRejectedError(texts.join(' ') || kind, { method, kind });
    default: {
      // Any other exception comes back as [str(exception), traceback]; psycopg2 names its class
      // in the traceback's last line.
      const message = kind.slice(0, 500);
      const traceback = typeof args === 'string' ? args.slice(-2_000) : '';
      if (CONFLICT_PATTERN.test(message) || CONFLICT_PATTERN.test(traceback)) {
        return new ErpConflictError(`Tryton's database met concurrent work: ${message}`, { method, kind: 'DATABASE_CONFLICT' });
      }
      if (/OperationalError/i.test(message) || /OperationalError/i.test(traceback)) {
        // trytond answered, so its transaction was rolled back: nothing applied.
        return new ErpUnavailableError(`Tryton's database is unavailable: ${message}`, { method, kind: 'DATABASE_BUSY' }, { notApplied: true });
      }
      return new ErpRejectedError(`Tryton failed on ${method}: ${message}`, { method, kind: 'SERVER_EXCEPTION' });
    }
  }
}

function describeNetworkError(error: unknown): string {
  const cause = error instanceof Error ? (error.cause as { code?: string; message?: string } | undefined) : undefined;
  return cause?.code ?? cause?.message ?? (error instanceof Error ? error.message : String(error));
}

function excerpt(text: string): string {
  return text.length > MAX_BODY_IN_ERROR ? `${text.slice(0, MAX_BODY_IN_ERROR)}…` : text;
}
