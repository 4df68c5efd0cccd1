/**
 * The one error base of the gateway. Every error carries a stable SCREAMING_SNAKE `code` that
 * callers (GraphQL clients, the CLI, alerts) can rely on; `message` is for people. Expected
 * outcomes of mutations are typed results, not errors; these are for the unexpected and for
 * adapter failures.
 */
export class AppError extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly details: Record<string, unknown> = {},
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = new.target.name;
  }
}

export class NotFoundError extends AppError {
  constructor(what: string, id: string) {
    super('NOT_FOUND', `${what} ${id} was not found`, { what, id });
  }
}

export class ValidationError extends AppError {
  constructor(message: string, details: Record<string, unknown> = {}) {
    super('BAD_USER_INPUT', message, details);
  }
}

export function isAppError(error: unknown): error is AppError {
  return error instanceof AppError;
}
